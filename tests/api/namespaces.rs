use serde_json::json;
use warp::http::StatusCode;
use wix_oauth_mock::{Overrides, Scenario, WixMock};

use crate::helpers::*;

const NS: &str = "x-wix-mock-namespace";

fn limited(max: usize) -> TestApp {
    let overrides = Overrides {
        seed: Some(42),
        clock_start: Some(START.parse().unwrap()),
        frozen: Some(true),
        max_namespaces: Some(max),
        ..Default::default()
    };
    spawn_with_overrides(Scenario::builtin(), overrides)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_parallel_suites_in_their_own_namespaces_never_see_each_others_state() {
    // Arrange
    let server = spawn_app();

    // Act: each suite moves its own clock, installs, exchanges and calls the API, all at once.
    let suites = (0..16).map(|i| {
        let suite = server.in_namespace(&format!("suite-{i}"));
        tokio::spawn(async move {
            suite.advance_clock(1000 * i).await;
            let (access, refresh, instance) = suite.installed_tokens().await;
            assert_eq!(
                suite
                    .bi_event(&access, "APP_FINISHED_CONFIGURATION")
                    .await
                    .status,
                StatusCode::OK
            );
            suite.advance_clock(7).await;
            (i, access, refresh, instance)
        })
    });
    let mut results = Vec::new();
    for s in suites {
        results.push(s.await.unwrap());
    }

    // Assert: every suite sees its own clock, journal and instance, and nobody else's tokens.
    for (i, _, _, instance) in &results {
        let suite = server.in_namespace(&format!("suite-{i}"));
        let clock = suite.get("/__admin/clock").await.json();
        assert_eq!(
            clock["unix"],
            json!(1_767_225_600 + 1000 * i + 7),
            "suite-{i}"
        );
        let paths: Vec<String> = suite
            .journal_summary()
            .await
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(
            paths,
            [
                "/app-market/install",
                "/installer/install",
                "/oauth/access",
                "/apps/v1/bi-event"
            ],
            "suite-{i}"
        );
        let state = suite.state().await;
        let instances = state["instances"].as_array().unwrap();
        assert!(
            instances
                .iter()
                .any(|x| x["instance_id"] == json!(instance)),
            "suite-{i}"
        );
        assert_eq!(
            instances.len(),
            2,
            "the demo instance and this suite's own: {state}"
        );
        let webhooks = suite.get("/__admin/webhooks").await.json();
        assert_eq!(
            webhooks["webhooks"].as_array().unwrap().len(),
            1,
            "suite-{i}: {webhooks}"
        );
    }
    // The default namespace saw none of it.
    assert!(server.journal_summary().await.is_empty());
    assert_eq!(
        server.get("/__admin/clock").await.json()["now"],
        json!("2026-01-01T00:00:00.000Z")
    );
    let listed = server.get("/__admin/namespaces").await.json();
    assert_eq!(listed["count"], json!(16));
    // And no token works anywhere but where it was issued.
    for (i, access, refresh, _) in &results {
        let neighbour = server.in_namespace(&format!("suite-{}", (i + 1) % 16));
        let res = neighbour
            .bi_event(access, "APP_FINISHED_CONFIGURATION")
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "suite-{i}'s token in its neighbour"
        );
        assert_eq!(
            neighbour.refresh(refresh).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            server
                .bi_event(access, "APP_FINISHED_CONFIGURATION")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn a_token_minted_in_one_namespace_does_not_verify_in_another() {
    // Arrange: the same identity minted in namespace a; the instance exists everywhere.
    let server = spawn_app();
    let (a, b) = (server.in_namespace("a"), server.in_namespace("b"));
    let token = a.app_token().await;

    // Act
    let in_a = a.get_with_token("/apps/v1/instance", &token).await;
    let in_b = b.get_with_token("/apps/v1/instance", &token).await;
    let in_default = server.get_with_token("/apps/v1/instance", &token).await;

    // Assert: keys are per namespace, so b and the default do not know a's signature.
    assert_eq!(in_a.status, StatusCode::OK, "{}", in_a.text());
    insta::assert_json_snapshot!("namespaces__foreign_token", snap(&in_b));
    assert_eq!(in_default.status, StatusCode::UNAUTHORIZED);
    let kid = |t: &str| decode_claims(t)["header"]["kid"].clone();
    assert_ne!(kid(&token), kid(&b.app_token().await));
    assert_ne!(kid(&token), kid(&server.app_token().await));
}

#[tokio::test]
async fn a_namespace_replays_the_same_way_on_every_server_with_the_same_seed() {
    // Arrange
    let (one, two) = (spawn_app(), spawn_app());

    // Act
    let a = one.in_namespace("replay").install().await;
    let b = two.in_namespace("replay").install().await;
    let other = one.in_namespace("other").install().await;

    // Assert
    assert_eq!(a.code, b.code);
    assert_eq!(a.instance_id, b.instance_id);
    assert_ne!(a.code, other.code);
}

#[tokio::test]
async fn the_path_prefix_selects_a_namespace_and_the_urls_the_mock_builds_keep_it() {
    // Arrange: a browser cannot add headers, so it uses /__ns/web/ throughout.
    let server = spawn_app();
    let web = server.in_namespace("web");

    // Act: the legacy install flow, and the admin API, under the prefix.
    let market = server
        .get(&format!("/__ns/web/app-market/install?appId={APP_ID}"))
        .await;
    let token = market.location_query()["token"].clone();
    let install = server
        .get(&format!(
            "/__ns/web{}",
            server.install_path(Some("s"), Some(&token))
        ))
        .await;
    let code = install.location_query()["code"].clone();
    let access = server
        .post_json(
            "/__ns/web/oauth/access",
            &json!({"grant_type": "authorization_code", "client_id": APP_ID, "client_secret": APP_SECRET, "code": code}),
        )
        .await;
    let clock = server
        .post_json("/__ns/web/__admin/clock", &json!({"advance_secs": 60}))
        .await;

    // Assert
    assert_eq!(access.status, StatusCode::OK, "{}", access.text());
    assert_eq!(clock.json()["unix"], json!(1_767_225_660));
    let paths: Vec<String> = web
        .journal_summary()
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        paths,
        ["/app-market/install", "/installer/install", "/oauth/access"]
    );
    assert!(server.journal_summary().await.is_empty());
    // The header form reaches the same namespace.
    assert_eq!(
        web.get("/__admin/clock").await.json()["unix"],
        json!(1_767_225_660)
    );

    // Act: a Headless redirect session created with the header form (as an SDK would).
    let visitor = web
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0;
    let session = web
        .send(
            warp::test::request()
                .method("POST")
                .path("/_api/redirects-api/v1/redirect-session")
                .header("host", "127.0.0.1:34567")
                .header("authorization", visitor.as_str())
                .body(json!({"auth": {"authRequest": {"redirectUri": CLIENT_REDIRECT, "clientId": CLIENT_ID,
                    "codeChallenge": PKCE_CHALLENGE, "codeChallengeMethod": "S256", "responseMode": "query",
                    "responseType": "code", "scope": "offline_access", "state": "st"}}}).to_string()),
        )
        .await;
    let full = session.json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let u = url::Url::parse(&full).unwrap();
    // The browser follows it without any header.
    let page = server
        .get(&format!("{}?{}", u.path(), u.query().unwrap()))
        .await;

    // Assert: the URL carries the prefix, and following it logs in inside the namespace.
    assert!(
        full.starts_with("http://127.0.0.1:34567/__ns/web/oauth2/authorize?redirectSessionId="),
        "{full}"
    );
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.text());
    assert!(page.location_query().contains_key("code"));
}

#[tokio::test]
async fn the_consent_page_posts_back_into_its_namespace() {
    // Arrange
    let server = spawn_app_with(&default_yaml().replace("consent: auto", "consent: page"));

    // Act
    let page = server
        .get(&format!(
            "/__ns/web{}",
            server.install_path(Some("s"), None)
        ))
        .await;

    // Assert: a relative action, which a browser resolves to /__ns/web/installer/consent.
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text()
            .contains(r#"<form method="post" action="consent">"#),
        "{}",
        page.text()
    );
    let id = page
        .text()
        .split(r#"name="consent_id" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let done = server
        .post_form(
            "/__ns/web/installer/consent",
            &format!("consent_id={id}&decision=approve"),
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text());
    // The consent lives in namespace web only.
    let elsewhere = server
        .post_form(
            "/installer/consent",
            &format!("consent_id={id}&decision=approve"),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn faults_armed_in_a_namespace_fire_only_there() {
    // Arrange
    let server = spawn_app();
    let a = server.in_namespace("a");
    a.arm("match: {endpoint: oauth_access}\neffects: [{error: {preset: unavailable}}]")
        .await;

    // Act
    let in_a = a.refresh(REFRESH_TOKEN).await;
    let in_b = server.in_namespace("b").refresh(REFRESH_TOKEN).await;
    let in_default = server.refresh(REFRESH_TOKEN).await;

    // Assert
    assert_eq!(
        in_a.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        in_a.text()
    );
    assert_eq!(in_b.status, StatusCode::OK, "{}", in_b.text());
    assert_eq!(in_default.status, StatusCode::OK);
}

#[tokio::test]
async fn the_least_recently_used_namespace_is_evicted_beyond_the_limit() {
    // Arrange: room for two; a is used after b, so b is the least recently used.
    let server = limited(2);
    server.in_namespace("a").advance_clock(10).await;
    server.in_namespace("b").advance_clock(20).await;
    server.in_namespace("a").get("/__admin/clock").await;

    // Act
    server.in_namespace("c").get("/__admin/clock").await;

    // Assert: b is gone (and comes back fresh), a kept its clock.
    let listed = server.get("/__admin/namespaces").await.json();
    let names: Vec<&str> = listed["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "a"]);
    assert_eq!(listed["evicted"], json!(1));
    assert_eq!(listed["limit"], json!(2));
    assert_eq!(
        server.in_namespace("a").get("/__admin/clock").await.json()["unix"],
        json!(1_767_225_610)
    );
    assert_eq!(
        server.get("/__ns/b/__admin/clock").await.json()["unix"],
        json!(1_767_225_600)
    );
}

#[tokio::test]
async fn reset_and_delete_put_a_namespace_back_to_the_scenario() {
    // Arrange
    let server = spawn_app();
    let a = server.in_namespace("a");
    a.advance_clock(500).await;
    a.install().await;

    // Act
    let reset = server
        .send(
            warp::test::request()
                .method("POST")
                .path("/__admin/namespaces/a/reset"),
        )
        .await;

    // Assert: clock, journal and world are back to the scenario.
    insta::assert_json_snapshot!("namespaces__reset", snap(&reset));
    assert!(a.journal_summary().await.is_empty());
    assert_eq!(a.state().await["instances"].as_array().unwrap().len(), 1);

    // Act
    a.advance_clock(500).await;
    let listed = server.get("/__admin/namespaces").await;
    let deleted = server
        .send(
            warp::test::request()
                .method("DELETE")
                .path("/__admin/namespaces/a"),
        )
        .await;
    let again = server
        .send(
            warp::test::request()
                .method("DELETE")
                .path("/__admin/namespaces/a"),
        )
        .await;

    // Assert
    insta::assert_json_snapshot!("namespaces__list", snap(&listed));
    assert_eq!(deleted.status, StatusCode::OK);
    insta::assert_json_snapshot!("namespaces__delete_unknown", snap(&again));
    assert_eq!(
        server.get("/__ns/a/__admin/clock").await.json()["unix"],
        json!(1_767_225_600)
    );
}

#[tokio::test]
async fn bad_namespace_names_get_a_wix_validation_error() {
    // Arrange
    let server = spawn_app();

    // Act
    let spaced = server
        .send(
            warp::test::request()
                .path("/__admin/clock")
                .header(NS, "my suite"),
        )
        .await;

    // Assert
    insta::assert_json_snapshot!("namespaces__bad_name", snap(&spaced));
    let long = "x".repeat(65);
    let bad = [
        warp::test::request()
            .path("/__admin/clock")
            .header(NS, long.as_str()),
        warp::test::request().path("/__admin/clock").header(NS, ""),
        warp::test::request()
            .path("/__admin/clock")
            .header(NS, &b"caf\xc3\xa9"[..]),
        warp::test::request().path("/__ns/%2e%2e/__admin/clock"),
        warp::test::request().path("/__ns/../__admin/clock"),
        warp::test::request().path("/__ns//__admin/clock"),
        warp::test::request()
            .path("/__ns/a/__admin/clock")
            .header(NS, "b"),
        warp::test::request()
            .method("POST")
            .path("/__admin/namespaces/a%20b/reset"),
        warp::test::request()
            .method("DELETE")
            .path("/__admin/namespaces/.."),
    ];
    for req in bad {
        let res = server.send(req).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert!(res.json()["details"].is_object(), "{}", res.text());
    }
    // Namespaces do not nest, and none was made.
    let nested = server.get("/__ns/a/__admin/namespaces").await;
    assert_eq!(nested.status, StatusCode::BAD_REQUEST, "{}", nested.text());
    assert_eq!(
        server.get("/__admin/namespaces").await.json()["count"],
        json!(1)
    );
}

#[tokio::test]
async fn replacing_the_scenario_resets_every_live_namespace_from_the_new_one() {
    // Arrange
    let server = spawn_app();
    let a = server.in_namespace("a");
    a.advance_clock(500).await;
    a.install().await;
    let renamed = default_yaml().replacen("name: default", "name: renamed", 1);
    assert_ne!(renamed, default_yaml());

    // Act
    let res = server
        .send(
            warp::test::request()
                .method("PUT")
                .path("/__admin/scenario")
                .body(renamed),
        )
        .await;

    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let listed = server.get("/__admin/namespaces").await.json();
    assert_eq!(listed["namespaces"][0]["scenario"], json!("renamed"));
    assert_eq!(
        listed["namespaces"][0]["clock"]["unix"],
        json!(1_767_225_600)
    );
    assert_eq!(a.state().await["instances"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_namespace_of_a_library_mock_has_its_own_clock_and_journal() {
    // Arrange
    let wix = WixMock::start_frozen(Scenario::default(), START.parse().unwrap()).await;
    let suite = wix.namespace("suite-a");

    // Act
    suite.advance_clock(60);
    let limit = std::time::Duration::from_secs(30);
    let (status, body) =
        wix_oauth_mock::client::get(&format!("{}/__admin/clock", suite.uri()), limit)
            .await
            .unwrap();
    wix_oauth_mock::client::get(&format!("{}/oauth2/token-info", suite.uri()), limit)
        .await
        .unwrap();

    // Assert
    assert_eq!(status, 200);
    let clock: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(clock["unix"], json!(1_767_225_660));
    assert_eq!(
        wix.now(),
        START.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    );
    assert_eq!(suite.received_requests().len(), 1);
    assert!(wix.received_requests().is_empty());
}

#[tokio::test]
async fn the_admin_token_guards_the_admin_api_of_every_namespace() {
    // Arrange
    let server = spawn_with_admin_token();

    // Act
    let bare = server.get("/__ns/a/__admin/clock").await;
    let listing = server.get("/__admin/namespaces").await;
    let with_token = server
        .send(
            warp::test::request()
                .path("/__ns/a/__admin/clock")
                .header("x-wix-mock-admin-token", ADMIN_TOKEN),
        )
        .await;

    // Assert
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "{}", bare.text());
    assert_eq!(listing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_token.status, StatusCode::OK);
}

#[tokio::test]
async fn a_namespace_applies_the_body_limit_and_journals_the_refusal_itself() {
    // Arrange
    let server = spawn_app();
    let big = "x".repeat(70 * 1024);

    // Act
    let res = server
        .send(
            warp::test::request()
                .method("POST")
                .path("/__ns/big/oauth/access")
                .body(big),
        )
        .await;

    // Assert
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text());
    let journal = server.in_namespace("big").journal_summary().await;
    assert_eq!(journal, [("/oauth/access".to_string(), 413, vec![])]);
    assert!(server.journal_summary().await.is_empty());
}
