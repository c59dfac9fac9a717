//! Record mode (issue 15): `wix-oauth-mock record --upstream URL --out DIR` serves like `serve`, but
//! a request no endpoint serves is sent on to the upstream with a token the recorder obtained there,
//! and each exchange is written to `DIR` as a stub file that `serve` (a scenario with
//! `stubs_dir: DIR`) replays.
//!
//! The upstream token comes from the upstream's own `/oauth2/token` with credentials from the
//! environment (app id, secret and instance id; or an API key and a site id). They are never logged,
//! never written to a stub file, and `Debug` leaves them out. What is written is redacted first:
//! e-mail addresses, `OauthNG.` tokens and JWTs, and the values of fields named like a token, secret,
//! password or key; the body is kept as text (`body_text`) so a replay is byte for byte the redacted
//! answer. GUIDs in the request path become `{id1}`, `{id2}`… so the replay matches any id there.
//!
//! Only `http://` upstreams: recording through a TLS proxy is out of scope for this mock; tests
//! record from a second mock on loopback.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;
use regex::Regex;
use serde_json::{Value, json};

use crate::request::Incoming;
use crate::scenario::stubs::{AuthSpec, RequestSpec, ResponseSpec, StubSpec};

/// How the recorder authenticates at the upstream.
#[derive(Clone)]
pub enum Credentials {
    /// `client_credentials` for one app instance.
    App {
        app_id: String,
        secret: String,
        instance_id: String,
    },
    /// An API key, sent raw, with `wix-site-id`.
    ApiKey { key: String, site_id: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::App { app_id, .. } => write!(f, "App {{ app_id: {app_id}, .. }}"),
            Credentials::ApiKey { site_id, .. } => write!(f, "ApiKey {{ site_id: {site_id}, .. }}"),
        }
    }
}

/// The environment variables the credentials come from.
pub const ENV_APP_ID: &str = "WIX_RECORD_APP_ID";
pub const ENV_APP_SECRET: &str = "WIX_RECORD_APP_SECRET";
pub const ENV_INSTANCE_ID: &str = "WIX_RECORD_INSTANCE_ID";
pub const ENV_API_KEY: &str = "WIX_RECORD_API_KEY";
pub const ENV_SITE_ID: &str = "WIX_RECORD_SITE_ID";

impl Credentials {
    /// From the environment: the app trio, else the API key pair.
    pub fn from_env() -> Result<Credentials, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (
            var(ENV_APP_ID),
            var(ENV_APP_SECRET),
            var(ENV_INSTANCE_ID),
            var(ENV_API_KEY),
            var(ENV_SITE_ID),
        ) {
            (Some(app_id), Some(secret), Some(instance_id), _, _) => Ok(Credentials::App {
                app_id,
                secret,
                instance_id,
            }),
            (_, _, _, Some(key), Some(site_id)) => Ok(Credentials::ApiKey { key, site_id }),
            _ => Err(format!(
                "record needs credentials for the upstream: {ENV_APP_ID}, {ENV_APP_SECRET} and {ENV_INSTANCE_ID}, or {ENV_API_KEY} and {ENV_SITE_ID}"
            )),
        }
    }
}

/// One exchange as the client gets it: the upstream's answer, unredacted.
pub struct Exchange {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// The stub file written for it.
    pub stub: String,
}

/// The recorder of one running mock.
pub struct Recorder {
    upstream: String,
    out: PathBuf,
    credentials: Credentials,
    /// The upstream token and when to stop using it (real time: the upstream's clock is its own).
    token: Mutex<Option<(String, Instant)>>,
    written: AtomicU64,
    redactions: Vec<(Regex, &'static str)>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("upstream", &self.upstream)
            .field("out", &self.out)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl Recorder {
    /// A recorder for `upstream` (an `http://` base URL) writing to `out` (created if absent).
    pub fn new(upstream: &str, out: PathBuf, credentials: Credentials) -> Result<Recorder, String> {
        let upstream = upstream.trim_end_matches('/').to_string();
        if !upstream.starts_with("http://") {
            return Err(format!(
                "--upstream must be an http:// URL, not `{upstream}`"
            ));
        }
        std::fs::create_dir_all(&out)
            .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let rx = |p: &str| Regex::new(p).expect("a valid redaction pattern");
        Ok(Recorder {
            upstream,
            out,
            credentials,
            token: Mutex::new(None),
            written: AtomicU64::new(0),
            redactions: vec![
                // Values of fields named like a credential, whatever they hold.
                (
                    rx(
                        r#"("[A-Za-z_]*(?:[Tt]oken|[Ss]ecret|[Pp]assword|[Aa]pi[Kk]ey)"\s*:\s*")(?:[^"\\]|\\.)*""#,
                    ),
                    r#"${1}[redacted]""#,
                ),
                (rx(r"OauthNG\.JWS\.[A-Za-z0-9._~+/=-]+"), "[redacted-token]"),
                (
                    rx(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
                    "[redacted-jwt]",
                ),
                (
                    rx(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
                    "redacted@example.com",
                ),
            ],
        })
    }

    /// Redacts a recorded text (see the module docs).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (rx, with) in &self.redactions {
            out = rx.replace_all(&out, *with).into_owned();
        }
        out
    }

    /// Sends `req` to the upstream with the recorder's own authorization, writes the stub file, and
    /// answers what the upstream answered.
    pub async fn forward(&self, req: &Incoming) -> Result<Exchange, String> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut url = format!("{}{}", self.upstream, req.raw_path);
        if !req.raw_query.is_empty() {
            url = format!("{url}?{}", req.raw_query);
        }
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL `{url}`: {e}"))?;
        let mut builder = hyper::Request::builder()
            .method(req.method.clone())
            .uri(uri);
        for name in ["content-type", "accept"] {
            if let Some(v) = req.header(name) {
                builder = builder.header(name, v);
            }
        }
        match &self.credentials {
            Credentials::ApiKey { key, site_id } => {
                builder = builder
                    .header("authorization", key.as_str())
                    .header("wix-site-id", site_id.as_str());
            }
            Credentials::App { .. } => {
                builder = builder.header("authorization", self.token(&client).await?);
            }
        }
        let request = builder
            .body(Full::new(req.body.clone()))
            .map_err(|e| format!("cannot build the upstream request: {e}"))?;
        let (status, content_type, body) = send(&client, request).await?;
        let stub = self.write(req, status, content_type.as_deref(), &body)?;
        Ok(Exchange {
            status,
            content_type,
            body,
            stub,
        })
    }

    /// The upstream token, fetched once and again a minute before it runs out.
    async fn token(
        &self,
        client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    ) -> Result<String, String> {
        if let Some((token, until)) = self.token.lock().clone()
            && Instant::now() < until
        {
            return Ok(token);
        }
        let Credentials::App {
            app_id,
            secret,
            instance_id,
        } = &self.credentials
        else {
            return Err("no app credentials".into());
        };
        let body = json!({"grant_type": "client_credentials", "client_id": app_id, "client_secret": secret, "instance_id": instance_id});
        let request = hyper::Request::post(format!("{}/oauth2/token", self.upstream))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| format!("cannot build the token request: {e}"))?;
        let (status, _, answer) = send(client, request).await?;
        let parsed: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        let Some(token) = parsed["access_token"].as_str() else {
            // The answer is not echoed: it could carry what the credentials were.
            return Err(format!(
                "the upstream's /oauth2/token answered {status} without an access token"
            ));
        };
        let secs = parsed["expires_in"]
            .as_u64()
            .unwrap_or(300)
            .saturating_sub(60);
        let until = Instant::now() + Duration::from_secs(secs);
        *self.token.lock() = Some((token.to_string(), until));
        Ok(token.to_string())
    }

    /// Writes one exchange as `NNNN-method-path.json` (JSON is YAML): a stub with a literal path
    /// (GUID segments templated), the method, and the redacted answer as text.
    fn write(
        &self,
        req: &Incoming,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<String, String> {
        let n = self.written.fetch_add(1, Ordering::Relaxed) + 1;
        let mut ids = 0;
        let path: Vec<String> = req
            .raw_path
            .split('/')
            .map(|seg| {
                if crate::ids::is_guid(seg) {
                    ids += 1;
                    format!("{{id{ids}}}")
                } else {
                    seg.to_string()
                }
            })
            .collect();
        let path = path.join("/");
        let method = req.method.as_str().to_string();
        let mut spec = StubSpec {
            name: None,
            source: Some(format!("recorded from {}", self.upstream)),
            priority: None,
            request: RequestSpec {
                method: method.clone(),
                path: path.clone(),
                query: Default::default(),
                headers: Default::default(),
                body: Vec::new(),
            },
            auth: AuthSpec::default(),
            response: Some(ResponseSpec {
                status,
                headers: content_type
                    .map(|ct| [("content-type".to_string(), ct.to_string())].into())
                    .unwrap_or_default(),
                body: None,
                body_text: Some(self.redact(&String::from_utf8_lossy(body))),
                delay_ms: None,
            }),
            responses: Vec::new(),
            scenario_name: None,
            required_state: None,
            new_state: None,
        };
        let name = format!("rec-{n:04}-{}", spec.derived_name());
        spec.name = Some(name.clone());
        let file = self.out.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
        std::fs::write(&file, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        Ok(name)
    }
}

async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(u16, Option<String>, Bytes), String> {
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach the upstream: {}", crate::client::describe(&e)))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("cannot read the upstream's answer: {e}"))?
            .to_bytes();
        Ok((status, content_type, body))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("the upstream did not answer within {} s", TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_emails_tokens_and_secret_fields_and_keeps_the_rest_byte_for_byte() {
        let dir = std::env::temp_dir().join(format!("wix-record-unit-{}", std::process::id()));
        let r = Recorder::new(
            "http://127.0.0.1:1",
            dir.clone(),
            Credentials::ApiKey {
                key: "k".into(),
                site_id: "s".into(),
            },
        )
        .unwrap();
        let text = r#"{"loginEmail":"ann@x.example.com", "accessToken" : "abc\"d", "n":1,"t":"OauthNG.JWS.aa.bb-cc"}"#;
        assert_eq!(
            r.redact(text),
            r#"{"loginEmail":"redacted@example.com", "accessToken" : "[redacted]", "n":1,"t":"[redacted-token]"}"#
        );
        assert!(!format!("{r:?}").contains("\"k\""));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
