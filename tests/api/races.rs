//! Races over a real socket (issue 8): 64 clients at once, on a multi-threaded runtime, against what
//! must happen exactly once (a code exchange, a secret generation) or must never cross (install flows).

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::helpers::*;

const N: usize = 64;

/// A keep-alive client for the mock at `addr`.
#[derive(Clone)]
struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    fn new(addr: &str) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{addr}"),
        }
    }

    /// Status, the `Location` query (if any) and the JSON body (or null).
    async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (u16, BTreeMap<String, String>, Value) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let res = self
            .client
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url::Url::parse(l).ok())
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            location,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// App Market, then the installer: `(code, instance_id, state)`.
    async fn install(&self, state: &str) -> (String, String, String) {
        let (s, loc, _) = self
            .send(
                "GET",
                &format!("/app-market/install?appId={APP_ID}"),
                None,
                None,
            )
            .await;
        assert_eq!(s, 302);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("appId", APP_ID)
            .append_pair("redirectUrl", REDIRECT_URL)
            .append_pair("state", state)
            .append_pair("token", &loc["token"])
            .finish();
        let (s, loc, _) = self
            .send("GET", &format!("/installer/install?{query}"), None, None)
            .await;
        assert_eq!(s, 302);
        (
            loc["code"].clone(),
            loc["instanceId"].clone(),
            loc["state"].clone(),
        )
    }

    async fn exchange(&self, code: &str) -> (u16, Value) {
        let (s, _, body) = self
            .send(
                "POST",
                "/oauth/access",
                None,
                Some(
                    json!({"grant_type": "authorization_code", "client_id": APP_ID,
                    "client_secret": APP_SECRET, "code": code}),
                ),
            )
            .await;
        (s, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_code_exchanged_64_times_at_once_succeeds_exactly_once() {
    // Arrange
    let (addr, _app) = spawn_server(default_yaml()).await;
    let http = Http::new(&addr);
    let (code, _, _) = http.install("race").await;
    // Act
    let answers = join_all((0..N).map(|_| {
        let (http, code) = (http.clone(), code.clone());
        tokio::spawn(async move { http.exchange(&code).await })
    }))
    .await;
    // Assert
    let statuses: Vec<u16> = answers.into_iter().map(|a| a.unwrap().0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generate_secret_called_64_times_at_once_succeeds_exactly_once() {
    // Arrange: an OAuth app created by an app holding SCOPE.OAUTH_APP.MANAGE.
    let (addr, _app) = spawn_server(default_yaml()).await;
    let http = Http::new(&addr);
    let (_, _, tokens) = http
        .send(
            "POST",
            "/oauth/access",
            None,
            Some(json!({"grant_type": "refresh_token", "client_id": APP_ID,
                "client_secret": APP_SECRET, "refresh_token": REFRESH_TOKEN})),
        )
        .await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let (s, _, created) = http
        .send(
            "POST",
            "/oauth-app/v1/oauth-apps",
            Some(&token),
            Some(json!({"oAuthApp": {"name": "raced"}})),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    let id = created["oAuthApp"]["id"].as_str().unwrap().to_string();
    let path = format!("/oauth-app/v1/oauth-apps/{id}/generate-secret");
    // Act
    let answers = join_all((0..N).map(|_| {
        let (http, path, token, id) = (http.clone(), path.clone(), token.clone(), id.clone());
        tokio::spawn(async move {
            http.send("POST", &path, Some(&token), Some(json!({"oAuthAppId": id})))
                .await
        })
    }))
    .await;
    // Assert
    let answers: Vec<(u16, Value)> = answers
        .into_iter()
        .map(|a| {
            let (s, _, b) = a.unwrap();
            (s, b)
        })
        .collect();
    let ok: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(ok.len(), 1, "{answers:?}");
    assert!(ok[0].1["oAuthAppSecret"].is_string());
    assert!(
        answers.iter().all(|(s, _)| (200..500).contains(s)),
        "{answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_install_flows_at_once_all_succeed_and_never_cross() {
    // Arrange
    let (addr, _app) = spawn_server(default_yaml()).await;
    let http = Http::new(&addr);
    // Act: each flow installs, exchanges its code and asks what its token is.
    let flows = join_all((0..N).map(|i| {
        let http = http.clone();
        tokio::spawn(async move {
            let state = format!("state-{i}");
            let (code, instance, echoed) = http.install(&state).await;
            let (s, tokens) = http.exchange(&code).await;
            assert_eq!(s, 200, "{tokens}");
            let access = tokens["access_token"].as_str().unwrap().to_string();
            let (s, _, info) = http
                .send(
                    "POST",
                    "/oauth2/token-info",
                    None,
                    Some(json!({ "token": access })),
                )
                .await;
            assert_eq!(s, 200, "{info}");
            (state, echoed, code, instance, info["instanceId"].clone())
        })
    }))
    .await;
    // Assert: every flow got its own state back, and a token for its own instance.
    let mut codes = HashSet::new();
    let mut instances = HashSet::new();
    for flow in flows {
        let (state, echoed, code, instance, token_instance) = flow.unwrap();
        assert_eq!(state, echoed);
        assert_eq!(token_instance, json!(instance));
        assert!(codes.insert(code));
        assert!(instances.insert(instance));
    }
    assert_eq!(instances.len(), N);
}

/// Awaits every task, in order (tasks run concurrently from the moment they are spawned).
async fn join_all<T>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for t in tasks.collect::<Vec<_>>() {
        out.push(t.await);
    }
    out
}
