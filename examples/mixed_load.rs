//! The 60-second mixed-flow load of issue 8, driven by `bash benches/run.sh mixed`.
//!
//! `mixed_load BASE_URL SECONDS WORKERS`: each worker loops over the whole life of an app as a client
//! lives it (App Market install → installer → code exchange → BI event → refresh → client credentials
//! → token-info → OAuth-apps query → an anonymous visitor token) over keep-alive connections, and
//! checks every answer. It prints the counts and exits 1 on the first unexpected answer's kind.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const APP_ID: &str = "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10";
const APP_SECRET: &str = "mock-app-secret-0001";
const REDIRECT: &str = "http://localhost:3000/wix/oauth/callback";
const OAUTH_APP: &str = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5";

type Http = Client<HttpConnector, Full<Bytes>>;

struct Worker {
    http: Http,
    base: String,
}

impl Worker {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        auth: Option<&str>,
    ) -> Result<(u16, HashMap<String, String>, Value), String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let res = self
            .http
            .request(req)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| {
                url::Url::parse(l)
                    .map(|u| u.query_pairs().into_owned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, location, json))
    }

    /// One whole flow; the error names the step that went wrong.
    async fn flow(&self, n: u64) -> Result<u32, String> {
        let expect = |step: &str, got: u16, want: u16| {
            if got == want {
                Ok(())
            } else {
                Err(format!("{step}: status {got}, expected {want}"))
            }
        };
        let (s, loc, _) = self
            .send(
                Method::GET,
                &format!("/app-market/install?appId={APP_ID}"),
                None,
                None,
            )
            .await?;
        expect("app-market install", s, 302)?;
        let install_token = loc.get("token").ok_or("app-market: no token")?;
        let state = format!("state-{n}");
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("appId", APP_ID)
            .append_pair("redirectUrl", REDIRECT)
            .append_pair("state", &state)
            .append_pair("token", install_token)
            .finish();
        let (s, loc, _) = self
            .send(
                Method::GET,
                &format!("/installer/install?{query}"),
                None,
                None,
            )
            .await?;
        expect("installer", s, 302)?;
        if loc.get("state") != Some(&state) {
            return Err("installer: state crossed flows".into());
        }
        let code = loc.get("code").ok_or("installer: no code")?;
        let instance = loc.get("instanceId").ok_or("installer: no instanceId")?;
        let (s, _, tokens) = self
            .send(
                Method::POST,
                "/oauth/access",
                Some(
                    json!({"grant_type": "authorization_code", "client_id": APP_ID,
                    "client_secret": APP_SECRET, "code": code}),
                ),
                None,
            )
            .await?;
        expect("code exchange", s, 200)?;
        let access = tokens["access_token"]
            .as_str()
            .ok_or("exchange: no token")?;
        let refresh = tokens["refresh_token"]
            .as_str()
            .ok_or("exchange: no refresh")?;
        let (s, _, _) = self
            .send(
                Method::POST,
                "/apps/v1/bi-event",
                Some(json!({"eventName": "APP_FINISHED_CONFIGURATION"})),
                Some(access),
            )
            .await?;
        expect("bi-event", s, 200)?;
        let (s, _, _) = self
            .send(
                Method::POST,
                "/oauth/access",
                Some(json!({"grant_type": "refresh_token", "client_id": APP_ID,
                    "client_secret": APP_SECRET, "refresh_token": refresh})),
                None,
            )
            .await?;
        expect("refresh", s, 200)?;
        let (s, _, cc) = self
            .send(
                Method::POST,
                "/oauth2/token",
                Some(
                    json!({"grant_type": "client_credentials", "client_id": APP_ID,
                    "client_secret": APP_SECRET, "instance_id": instance}),
                ),
                None,
            )
            .await?;
        expect("client credentials", s, 200)?;
        let cc_token = cc["access_token"].as_str().ok_or("cc: no token")?;
        let (s, _, info) = self
            .send(
                Method::POST,
                "/oauth2/token-info",
                Some(json!({"token": cc_token})),
                None,
            )
            .await?;
        expect("token-info", s, 200)?;
        if info["instanceId"].as_str() != Some(instance.as_str()) {
            return Err(format!("token-info: token of another instance: {info}"));
        }
        let (s, _, _) = self
            .send(
                Method::POST,
                "/oauth-app/v1/oauth-apps/query",
                Some(json!({"query": {"paging": {"limit": 10}}})),
                Some(access),
            )
            .await?;
        expect("oauth-apps query", s, 200)?;
        let (s, _, _) = self
            .send(
                Method::POST,
                "/oauth2/token",
                Some(json!({"grant_type": "anonymous", "client_id": OAUTH_APP})),
                None,
            )
            .await?;
        expect("anonymous", s, 200)?;
        Ok(9)
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8787".into());
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let workers: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(16);
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let requests = Arc::new(AtomicU64::new(0));
    let flows = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let worker = Worker {
            http: http.clone(),
            base: base.clone(),
        };
        let (requests, flows) = (requests.clone(), flows.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = w << 32;
            while Instant::now() < deadline {
                n += 1;
                let sent = worker.flow(n).await?;
                requests.fetch_add(sent.into(), Ordering::Relaxed);
                flows.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let (r, f) = (
        requests.load(Ordering::Relaxed),
        flows.load(Ordering::Relaxed),
    );
    println!(
        "{f} flows, {r} requests in {secs} s ({:.0} req/s), {} workers, {} errors",
        r as f64 / secs as f64,
        workers,
        errors.len()
    );
    for e in &errors {
        println!("error: {e}");
    }
    std::process::exit(if errors.is_empty() { 0 } else { 1 });
}
