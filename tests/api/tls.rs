//! HTTPS for unmodified clients (issue 7): a real rustls client that trusts only the mock's CA
//! reaches it as `www.wixapis.com` on 127.0.0.1, as an app with `/etc/hosts` and
//! `NODE_EXTRA_CA_CERTS` would.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use wix_oauth_mock::tls::{TlsOptions, TlsSource};
use wix_oauth_mock::{App, Scenario, server, tls};

use crate::helpers::*;

/// A mock serving HTTPS on a free port, its CA PEM, and the sender that shuts it down.
struct HttpsMock {
    port: u16,
    ca_pem: String,
    app: App,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn spawn_https() -> HttpsMock {
    let app = App::new(Scenario::builtin(), "<test>", test_overrides());
    let options = TlsOptions {
        source: TlsSource::Generated,
        extra_hosts: Vec::new(),
    };
    let material = tls::prepare(&options, app.ids()).unwrap();
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run_tls(
        listener,
        wix_oauth_mock::namespaces::Namespaces::new(app.clone()),
        material.config,
        async move {
            let _ = stopped.await;
        },
    ));
    HttpsMock {
        port,
        ca_pem: material.ca_pem.unwrap(),
        app,
        stop,
        task,
    }
}

/// A client configuration whose only root is `ca_pem` (no system roots).
fn client_trusting(ca_pem: Option<&str>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request over TLS to 127.0.0.1:`port` with SNI `host`; `(status, body)`.
async fn https_request(
    connector: &tokio_rustls::TlsConnector,
    port: u16,
    host: &str,
    head: &str,
    body: &Value,
) -> std::io::Result<(u16, Value)> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(host.to_string()).unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    let body = body.to_string();
    let request = format!(
        "{head}\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    // The server closes after the response (`Connection: close`); a missing close_notify is fine.
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text[9..12].parse().unwrap();
    let json_body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    Ok((
        status,
        serde_json::from_str(json_body).unwrap_or(Value::Null),
    ))
}

fn client_credentials() -> Value {
    json!({"grant_type": "client_credentials", "client_id": APP_ID,
           "client_secret": APP_SECRET, "instance_id": INSTANCE_ID})
}

#[tokio::test]
async fn a_client_trusting_only_the_ca_gets_a_token_from_www_wixapis_com() {
    // Arrange
    let mock = spawn_https().await;
    let client = client_trusting(Some(&mock.ca_pem));
    // Act
    let (status, body) = https_request(
        &client,
        mock.port,
        "www.wixapis.com",
        "POST /oauth2/token HTTP/1.1",
        &client_credentials(),
    )
    .await
    .unwrap();
    // Assert
    assert_eq!(status, 200, "{body}");
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("OauthNG.JWS.")
    );
    // Every default name is served from the same certificate.
    for host in ["edge.wixapis.com", "www.wix.com", "localhost"] {
        let (status, _) = https_request(
            &client,
            mock.port,
            host,
            "POST /oauth2/token HTTP/1.1",
            &client_credentials(),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{host}");
    }
    let _ = mock.stop.send(());
    tokio::time::timeout(Duration::from_secs(10), mock.task)
        .await
        .expect("the HTTPS server stops on its shutdown signal")
        .unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_or_asks_for_another_name_is_refused() {
    // Arrange
    let mock = spawn_https().await;
    // Act
    let untrusting = https_request(
        &client_trusting(None),
        mock.port,
        "www.wixapis.com",
        "POST /oauth2/token HTTP/1.1",
        &client_credentials(),
    )
    .await;
    let elsewhere = https_request(
        &client_trusting(Some(&mock.ca_pem)),
        mock.port,
        "www.example.com",
        "POST /oauth2/token HTTP/1.1",
        &client_credentials(),
    )
    .await;
    // Assert
    assert!(untrusting.is_err(), "{untrusting:?}");
    assert!(elsewhere.is_err(), "{elsewhere:?}");
    // The server survives failed handshakes.
    let (status, _) = https_request(
        &client_trusting(Some(&mock.ca_pem)),
        mock.port,
        "www.wixapis.com",
        "POST /oauth2/token HTTP/1.1",
        &client_credentials(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn urls_built_from_the_host_say_https_when_served_over_tls() {
    // Arrange
    let mock = spawn_https().await;
    let visitor = TestApp::from_app(mock.app.clone())
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0;
    let client = client_trusting(Some(&mock.ca_pem));
    let body = json!({"auth": {"authRequest": {
        "redirectUri": CLIENT_REDIRECT, "clientId": CLIENT_ID, "codeChallenge": PKCE_CHALLENGE,
        "codeChallengeMethod": "S256", "responseMode": "query", "responseType": "code",
        "scope": "offline_access", "state": "st-1"
    }, "prompt": "login"}});
    // Act
    let (status, session) = https_request(
        &client,
        mock.port,
        "www.wixapis.com",
        &format!(
            "POST /_api/redirects-api/v1/redirect-session HTTP/1.1\r\nAuthorization: {visitor}\r\nX-Forwarded-Proto: http"
        ),
        &body,
    )
    .await
    .unwrap();
    // Assert: the TLS listener's own word beats a client's X-Forwarded-Proto.
    assert_eq!(status, 200, "{session}");
    let full = session["redirectSession"]["fullUrl"].as_str().unwrap();
    assert!(
        full.starts_with("https://www.wixapis.com/oauth2/authorize?redirectSessionId="),
        "{full}"
    );
}
