//! The HTTP client of the command line (`health`, `conformance`): one GET to a running mock.
//!
//! hyper-util's client, which webhook delivery already links, so chunked bodies, keep-alive and
//! `Host` are handled by code that is tested elsewhere. It speaks plain `http://` only: a mock
//! with `--tls` also serves plain HTTP, and these commands run next to it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// `GET url` → `(status, body)`, giving up after `timeout` (connecting and reading together).
pub async fn get(url: &str, timeout: Duration) -> Result<(u16, Bytes), String> {
    get_with_token(url, None, timeout).await
}

/// [`get`], sending `Authorization: Bearer <admin_token>` when given (a mock run with
/// `--admin-token` guards its admin API).
pub async fn get_with_token(
    url: &str,
    admin_token: Option<&str>,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL `{url}`: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("only http:// URLs are supported, not `{url}`"));
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut request = hyper::Request::get(uri).header(hyper::header::ACCEPT, "application/json");
    if let Some(token) = admin_token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Empty::new())
        .map_err(|e| format!("bad URL `{url}`: {e}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach {url}: {}", describe(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer of {url}: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{url} did not answer within {} s", timeout.as_secs_f32()))?
}

/// The error with its causes: hyper-util's own message is only "client error (Connect)". Webhook
/// delivery reports its attempts' errors with it too.
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_plain_http_urls_are_asked() {
        let https = get("https://127.0.0.1:1/", Duration::from_secs(1)).await;
        let garbage = get("not a url", Duration::from_secs(1)).await;
        assert!(https.unwrap_err().contains("only http://"));
        assert!(garbage.unwrap_err().contains("bad URL"));
    }

    #[tokio::test]
    async fn a_closed_port_is_reported_with_its_cause() {
        // Port 9 (discard) is closed on any machine that runs these tests.
        let err = get("http://127.0.0.1:9/", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(err.starts_with("cannot reach http://127.0.0.1:9/"), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
}
