//! Issue 18: what a client can hold of the server. An idle or half-sent connection is closed after
//! the header timeout, a stalled body gets 408, and at the connection limit new clients wait for a
//! slot instead of the server running out of file descriptors. Driven on a real socket with short
//! limits (the defaults are 512 connections and 10 s).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wix_oauth_mock::app::{App, Overrides};
use wix_oauth_mock::namespaces::Namespaces;
use wix_oauth_mock::scenario::Scenario;
use wix_oauth_mock::server::{self, Limits};

/// A mock on a real socket with `limits`; returns its address.
async fn serve_with(limits: Limits) -> String {
    let scenario = Scenario::builtin();
    let app = App::new(scenario, "<test>", Overrides::default());
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(server::serve_on(
        listener,
        Namespaces::new(app),
        None,
        limits,
        std::future::pending(),
    ));
    addr
}

/// Reads until the server closes the connection (or `limit` passes); what arrived.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok()?;
    Some(out)
}

const HEALTH: &str = "GET /__admin/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout() {
    // Arrange
    let addr = serve_with(Limits {
        max_connections: 8,
        header_read: Duration::from_millis(300),
    })
    .await;
    let mut slow = TcpStream::connect(&addr).await.unwrap();

    // Act: the request line and one header, then nothing.
    slow.write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let closed = read_to_close(&mut slow, Duration::from_secs(5)).await;

    // Assert
    assert!(
        closed.is_some(),
        "the half-sent connection was still open after 5 s"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    // Arrange
    let addr = serve_with(Limits {
        max_connections: 8,
        header_read: Duration::from_millis(300),
    })
    .await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();

    // Act: one complete request, then silence on the kept-alive connection.
    conn.write_all(HEALTH.as_bytes()).await.unwrap();
    let got = read_to_close(&mut conn, Duration::from_secs(5)).await;

    // Assert: the answer arrived, then the server closed the idle connection.
    let got =
        String::from_utf8_lossy(&got.expect("the idle connection was never closed")).to_string();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_in_the_wix_envelope() {
    // Arrange
    let addr = serve_with(Limits::default()).await;
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    tokio::time::pause();

    // Act: headers promise 100 bytes; 10 arrive.
    conn.write_all(
        b"POST /oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"grant_ty",
    )
    .await
    .unwrap();
    // Paused time jumps ahead once the server is idle waiting for the rest of the body.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let got = read_to_close(&mut conn, Duration::from_secs(5)).await;

    // Assert
    let got = String::from_utf8_lossy(&got.expect("no answer to the stalled body")).to_string();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains(r#""code":"REQUEST_TIMEOUT""#), "{got}");
}

#[tokio::test]
async fn at_the_connection_limit_a_new_client_waits_for_a_slot_and_is_then_served() {
    // Arrange: two slots, both taken by clients that never finish their headers.
    let addr = serve_with(Limits {
        max_connections: 2,
        header_read: Duration::from_millis(500),
    })
    .await;
    let mut hogs = Vec::new();
    for _ in 0..2 {
        let mut hog = TcpStream::connect(&addr).await.unwrap();
        hog.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        hogs.push(hog);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Act: a real client arrives while both slots are held.
    let started = Instant::now();
    let mut client = TcpStream::connect(&addr).await.unwrap();
    client
        .write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut client, Duration::from_secs(5)).await;

    // Assert: served once the hogs timed out, not refused and not before.
    let got =
        String::from_utf8_lossy(&got.expect("the waiting client was never served")).to_string();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "served after {:?}: the limit did not hold",
        started.elapsed()
    );
    for mut hog in hogs {
        assert!(
            read_to_close(&mut hog, Duration::from_secs(2))
                .await
                .is_some()
        );
    }
}
