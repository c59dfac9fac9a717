//! Test harness: an in-process mock on a frozen clock with a fixed seed, and one method per action.
// Not every helper is used by every area yet; they are the shared vocabulary of the suite.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Value, json};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use wix_oauth_mock::namespaces::Namespaces;
use wix_oauth_mock::{App, Overrides, Scenario};

/// The demo app of the built-in scenario.
pub const APP_ID: &str = "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10";
/// Its secret.
pub const APP_SECRET: &str = "mock-app-secret-0001";
/// One of its registered redirect URLs.
pub const REDIRECT_URL: &str = "http://localhost:3000/wix/oauth/callback";
/// The demo site, on which the demo app is installed.
pub const SITE_ID: &str = "6354435d-e875-4113-8645-ccc901f07efd";
/// The demo app's instance on the demo site.
pub const INSTANCE_ID: &str = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3";
/// The refresh token the built-in scenario gives that instance.
pub const REFRESH_TOKEN: &str = "OAUTH2.REFRESH.demo-site-refresh-token";
/// Where every test's clock stands.
pub const START: &str = "2026-01-01T00:00:00Z";
/// The Headless OAuth app of the built-in scenario.
pub const CLIENT_ID: &str = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5";
/// Its secret (for Headless admin tokens).
pub const CLIENT_SECRET: &str = "mock-oauth-app-secret-0001";
/// One of its allowed redirect URIs.
pub const CLIENT_REDIRECT: &str = "http://localhost:3000/callback";
/// The demo site's first member (auto-login picks it) and its password.
pub const MEMBER_ID: &str = "e63bf15d-beaa-4319-a09f-41be2512f0c3";
pub const MEMBER_EMAIL: &str = "member@demo-site.example.com";
pub const MEMBER_PASSWORD: &str = "member-password-0001";
/// The demo site's owner (every scope) and an editor whose role allows only MANAGE-PRODUCTS.
pub const OWNER_USER_ID: &str = "1f0c2a7e-3b4d-4c5e-8f60-7a8b9c0d1e2f";
pub const EDITOR_USER_ID: &str = "2e1d3b8f-4c5e-4d6f-9071-8b9c0d1e2f30";
/// The demo site's API key.
pub const API_KEY: &str = "mock-api-key-0001";
/// RFC 7636 Appendix B: a PKCE verifier and its S256 challenge.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A mock under test, driven in-process through its real routes.
#[derive(Clone)]
pub struct TestApp {
    pub app: App,
    /// Every namespace of the server (`app` is one of them).
    pub namespaces: Namespaces,
    routes: BoxedFilter<(Response,)>,
    /// Sent as `X-Wix-Mock-Namespace` on every request when set (see [`TestApp::in_namespace`]).
    namespace: Option<String>,
}

/// A response, with helpers to read it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: warp::http::HeaderMap,
    pub body: Bytes,
}

/// The built-in scenario on a frozen clock at [`START`] with seed 42.
pub fn spawn_app() -> TestApp {
    spawn_scenario(Scenario::builtin())
}

/// A scenario given as YAML (or JSON) text, on a frozen clock at [`START`] with seed 42.
pub fn spawn_app_with(text: &str) -> TestApp {
    spawn_scenario(Scenario::parse(text, "<test>").unwrap_or_else(|e| panic!("{e}")))
}

fn spawn_scenario(scenario: Scenario) -> TestApp {
    let overrides = Overrides {
        seed: Some(42),
        clock_start: Some(START.parse().unwrap()),
        frozen: Some(true),
        ..Default::default()
    };
    spawn_with_overrides(scenario, overrides)
}

/// Any scenario with any overrides (e.g. an admin token).
pub fn spawn_with_overrides(scenario: Scenario, overrides: Overrides) -> TestApp {
    TestApp::from_app(App::new(scenario, "<test>", overrides))
}

/// The overrides every in-process test uses: seed 42, frozen at [`START`].
pub fn test_overrides() -> Overrides {
    Overrides {
        seed: Some(42),
        clock_start: Some(START.parse().unwrap()),
        frozen: Some(true),
        ..Default::default()
    }
}

/// The built-in scenario served with `--admin-token let-me-in` ([`ADMIN_TOKEN`]).
pub fn spawn_with_admin_token() -> TestApp {
    let overrides = Overrides {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..test_overrides()
    };
    spawn_with_overrides(Scenario::builtin(), overrides)
}

/// The admin token of [`spawn_with_admin_token`].
pub const ADMIN_TOKEN: &str = "let-me-in";

/// The result of a completed install redirect.
#[derive(Debug, Clone)]
pub struct Installed {
    pub code: String,
    pub instance_id: String,
    pub state: Option<String>,
}

impl TestApp {
    /// Drives an `App` made elsewhere (restored from a state file, shared with a socket server).
    pub fn from_app(app: App) -> TestApp {
        let namespaces = Namespaces::new(app.clone());
        let routes = wix_oauth_mock::routes::routes(namespaces.clone());
        TestApp {
            app,
            namespaces,
            routes,
            namespace: None,
        }
    }

    /// Sends any request.
    pub async fn send(&self, req: warp::test::RequestBuilder) -> Resp {
        let req = match &self.namespace {
            Some(name) => req.header("x-wix-mock-namespace", name.as_str()),
            None => req,
        };
        let res = req.reply(&self.routes).await;
        let (parts, body) = res.into_parts();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(warp::test::request().method("GET").path(path))
            .await
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Resp {
        self.send(
            warp::test::request()
                .method("GET")
                .path(path)
                .header("authorization", token),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.send(
            warp::test::request()
                .method("POST")
                .path(path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn post_json_with_token(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            warp::test::request()
                .method("POST")
                .path(path)
                .header("content-type", "application/json")
                .header("authorization", token)
                .body(body.to_string()),
        )
        .await
    }

    pub async fn post_form(&self, path: &str, body: &str) -> Resp {
        self.send(
            warp::test::request()
                .method("POST")
                .path(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// The App Market click: returns the `token` appended to the App URL.
    pub async fn app_market_token(&self) -> String {
        let res = self
            .get(&format!("/app-market/install?appId={APP_ID}"))
            .await;
        assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
        res.location_query()["token"].clone()
    }

    /// The installer URL for the demo app with `state` and an optional App Market token.
    pub fn install_path(&self, state: Option<&str>, token: Option<&str>) -> String {
        let mut q = vec![("appId", APP_ID), ("redirectUrl", REDIRECT_URL)];
        if let Some(s) = state {
            q.push(("state", s));
        }
        if let Some(t) = token {
            q.push(("token", t));
        }
        format!(
            "/installer/install?{}",
            serde_urlencoded::to_string(q).unwrap()
        )
    }

    /// The whole browser part: App Market click, then the installer (automatic consent).
    pub async fn install(&self) -> Installed {
        let token = self.app_market_token().await;
        let res = self
            .get(&self.install_path(Some("state-1"), Some(&token)))
            .await;
        assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
        let q = res.location_query();
        Installed {
            code: q["code"].clone(),
            instance_id: q["instanceId"].clone(),
            state: q.get("state").cloned(),
        }
    }

    /// `POST /oauth/access` with the authorization_code grant.
    pub async fn exchange_code(&self, code: &str) -> Resp {
        self.post_json(
            "/oauth/access",
            &json!({"grant_type": "authorization_code", "client_id": APP_ID, "client_secret": APP_SECRET, "code": code}),
        )
        .await
    }

    /// `POST /oauth/access` with the refresh_token grant.
    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.post_json(
            "/oauth/access",
            &json!({"grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET, "refresh_token": refresh_token}),
        )
        .await
    }

    /// Install and exchange: returns `(access_token, refresh_token, instance_id)`.
    pub async fn installed_tokens(&self) -> (String, String, String) {
        let installed = self.install().await;
        let res = self.exchange_code(&installed.code).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let body = res.json();
        (
            body["access_token"].as_str().unwrap().to_string(),
            body["refresh_token"].as_str().unwrap().to_string(),
            installed.instance_id,
        )
    }

    /// `POST /oauth2/token` with a JSON body.
    pub async fn oauth2_token(&self, body: &Value) -> Resp {
        self.post_json("/oauth2/token", body).await
    }

    /// `POST /oauth2/token-info` for `token`.
    pub async fn token_info(&self, token: &str) -> Resp {
        self.post_json("/oauth2/token-info", &json!({ "token": token }))
            .await
    }

    /// `POST /__admin/tokens`: the access token (and refresh token, if any) minted for `body`.
    pub async fn mint(&self, body: &Value) -> (String, Option<String>) {
        let res = self.post_json("/__admin/tokens", body).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let b = res.json();
        (
            b["access_token"].as_str().unwrap().to_string(),
            b["refresh_token"].as_str().map(str::to_string),
        )
    }

    /// A client-credentials app token for the demo instance.
    pub async fn app_token(&self) -> String {
        let res = self
            .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET, "instance_id": INSTANCE_ID}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        res.json()["access_token"].as_str().unwrap().to_string()
    }

    /// Moves the virtual clock through the admin API.
    pub async fn advance_clock(&self, secs: i64) {
        let res = self
            .post_json("/__admin/clock", &json!({"advance_secs": secs}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }

    /// `GET /__admin/state`.
    pub async fn state(&self) -> Value {
        self.get("/__admin/state").await.json()
    }

    /// The same server, seen from namespace `name`: every request carries `X-Wix-Mock-Namespace`,
    /// and `app` is that namespace's state.
    pub fn in_namespace(&self, name: &str) -> TestApp {
        TestApp {
            app: self
                .namespaces
                .in_namespace(name)
                .expect("a valid namespace name"),
            namespaces: self.namespaces.clone(),
            routes: self.routes.clone(),
            namespace: Some(name.to_string()),
        }
    }
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header, parsed.
    pub fn location(&self) -> url::Url {
        url::Url::parse(self.header("location").expect("a Location header"))
            .expect("an absolute Location")
    }

    /// The `Location` header's query as a map.
    pub fn location_query(&self) -> BTreeMap<String, String> {
        self.location().query_pairs().into_owned().collect()
    }
}

/// A response as a snapshot: status, the headers that matter, and the body (JSON parsed, HTML as text).
/// The `Location` query is split into a map so redirect parameters can be redacted by path.
pub fn snap(res: &Resp) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(ct) = res.header("content-type") {
        headers.insert("content-type".into(), json!(ct));
    }
    if let Some(loc) = res.header("location") {
        let value = match url::Url::parse(loc) {
            Ok(mut u) => {
                let query: BTreeMap<String, String> = u.query_pairs().into_owned().collect();
                u.set_query(None);
                json!({"url": u.as_str(), "query": query})
            }
            Err(_) => json!(loc),
        };
        headers.insert("location".into(), value);
    }
    let body = if res.body.is_empty() {
        Value::Null
    } else if res
        .header("content-type")
        .is_some_and(|c| c.contains("json"))
    {
        res.json()
    } else {
        json!(res.text())
    };
    json!({"status": res.status.as_u16(), "headers": headers, "body": body})
}

/// Decodes the claims of an `OauthNG.JWS.<JWT>` token without checking it, with `data` parsed.
pub fn decode_claims(token: &str) -> Value {
    use base64::Engine as _;
    let jwt = token
        .strip_prefix("OauthNG.JWS.")
        .expect("an OauthNG.JWS. token");
    let mut parts = jwt.split('.');
    let header = parts.next().unwrap();
    let payload = parts.next().unwrap();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = serde_json::from_slice(&engine.decode(header).unwrap()).unwrap();
    let mut claims: Value = serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
    let data: Value = serde_json::from_str(claims["data"].as_str().unwrap()).unwrap();
    claims["data"] = data;
    json!({"header": header, "claims": claims})
}

/// An insta redaction that checks a value starts with `prefix` before hiding it.
pub fn redact_prefixed(prefix: &'static str) -> insta::internals::Redaction {
    insta::dynamic_redaction(move |value, _path| {
        let s = value.as_str().unwrap_or_default();
        assert!(
            s.starts_with(prefix),
            "expected a value starting with {prefix}, got {s}"
        );
        format!("[{prefix}…]")
    })
}

/// A shipped scenario from `scenarios/<name>.yaml`, on a frozen clock at [`START`] with seed 42.
pub fn spawn_library(name: &str) -> TestApp {
    let path = format!("{}/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    spawn_app_with(&text)
}

impl TestApp {
    /// Arms faults through `POST /__admin/faults` (YAML or JSON); returns their names.
    pub async fn arm(&self, faults: &str) -> Vec<String> {
        let res = self
            .send(
                warp::test::request()
                    .method("POST")
                    .path("/__admin/faults")
                    .body(faults),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        serde_json::from_value(res.json()["armed"].clone()).unwrap()
    }

    /// `GET /__admin/conformance`.
    pub async fn conformance(&self) -> Value {
        self.get("/__admin/conformance").await.json()
    }

    /// `POST /apps/v1/bi-event` with `eventName`.
    pub async fn bi_event(&self, token: &str, event: &str) -> Resp {
        self.post_json_with_token("/apps/v1/bi-event", token, &json!({"eventName": event}))
            .await
    }

    /// The journal's entries as `(path, status, faults)`.
    pub async fn journal_summary(&self) -> Vec<(String, u16, Vec<String>)> {
        let body = self.get("/__admin/requests").await.json();
        body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_string(),
                    e["status"].as_u64().unwrap() as u16,
                    e["faults"]
                        .as_array()
                        .map(|f| f.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// A mock on a real socket (for what only a socket shows: dropped connections, truncated bodies).
/// Returns its address and the app; the server stops when the test's runtime ends.
pub async fn spawn_server(text: &str) -> (String, App) {
    let scenario = Scenario::parse(text, "<test>").unwrap_or_else(|e| panic!("{e}"));
    let overrides = Overrides {
        seed: Some(42),
        clock_start: Some(START.parse().unwrap()),
        frozen: Some(true),
        ..Default::default()
    };
    let app = App::new(scenario, "<test>", overrides);
    let listener = wix_oauth_mock::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(wix_oauth_mock::server::run(
        listener,
        Namespaces::new(app.clone()),
        std::future::pending(),
    ));
    (addr, app)
}

/// Sends raw bytes and reads until the server closes, keeping whatever arrived before an error.
pub async fn raw_exchange(addr: &str, request: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// The built-in scenario's text, to build variants of it in tests.
pub fn default_yaml() -> &'static str {
    wix_oauth_mock::scenario::DEFAULT_YAML
}
