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
async fn headers_trickled_a_byte_at_a_time_are_closed_after_the_header_timeout() {
    // Arrange
    let addr = serve_with(Limits {
        max_connections: 8,
        header_read: Duration::from_millis(300),
    })
    .await;
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /__admin/health HTTP/1.1\r\nx-slow: ")
        .await
        .unwrap();
    let started = Instant::now();

    // Act: one more byte every 40 ms, far more often than the timeout, never finishing the headers.
    let mut closed_after = None;
    while started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(40)).await;
        let mut probe = [0u8; 64];
        let ended =
            match tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => true,
                Ok(Ok(_)) | Err(_) => false,
            };
        if ended || slow.write_all(b"a").await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
    }

    // Assert: bytes arriving do not keep a request that never completes.
    let closed_after = closed_after.expect("the trickling connection was still open after 3 s");
    assert!(
        closed_after >= Duration::from_millis(250),
        "{closed_after:?}"
    );
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
async fn at_the_connection_limit_a_new_client_is_served_at_once_in_place_of_the_oldest_half_sent_one()
 {
    // Arrange: two slots, both taken by clients that never finish their headers (a long header
    // timeout, so only the limit can free a slot).
    let addr = serve_with(Limits {
        max_connections: 2,
        header_read: Duration::from_secs(30),
    })
    .await;
    let mut hogs = Vec::new();
    for _ in 0..2 {
        let mut hog = TcpStream::connect(&addr).await.unwrap();
        hog.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        hogs.push(hog);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Act: a real client arrives while both slots are held.
    let started = Instant::now();
    let mut client = TcpStream::connect(&addr).await.unwrap();
    client
        .write_all(b"GET /__admin/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut client, Duration::from_secs(5)).await;

    // Assert: served at once; the oldest hog was closed, the younger one still waits.
    let got = String::from_utf8_lossy(&got.expect("the new client was never served")).to_string();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let mut younger = hogs.pop().unwrap();
    let mut oldest = hogs.pop().unwrap();
    assert!(
        read_to_close(&mut oldest, Duration::from_secs(2))
            .await
            .is_some()
    );
    assert!(
        read_to_close(&mut younger, Duration::from_millis(300))
            .await
            .is_none(),
        "the younger half-sent connection was closed too"
    );
}

#[tokio::test]
async fn when_every_connection_is_busy_a_new_client_waits_for_one_to_finish() {
    // Arrange: two slots, both in the middle of a long poll that ends after 700 ms.
    let addr = serve_with(Limits {
        max_connections: 2,
        header_read: Duration::from_secs(30),
    })
    .await;
    let body = r#"{"path":"/never","timeout_ms":700}"#;
    let poll = format!(
        "POST /__admin/requests/wait HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut polls = Vec::new();
    for _ in 0..2 {
        let mut p = TcpStream::connect(&addr).await.unwrap();
        p.write_all(poll.as_bytes()).await.unwrap();
        polls.push(p);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;

    // Act
    let started = Instant::now();
    let mut client = TcpStream::connect(&addr).await.unwrap();
    client.write_all(HEALTH.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut first))
        .await
        .expect("never served")
        .unwrap();

    // Assert: no long poll was cut short; the client got its turn when one ended.
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "served after {:?}: a busy connection was shed",
        started.elapsed()
    );
    for mut p in polls {
        let got = read_to_close(&mut p, Duration::from_secs(3)).await.unwrap();
        assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 408"));
    }
}

/// Sends `head` then `body` on a fresh connection and returns the status line and the body.
async fn exchange(addr: &str, head: &str, body: &[u8]) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before it has read everything: a failed write is fine.
    let _ = stream.write_all(body).await;
    let got = read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("an answer within 5 s");
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_on_the_real_socket_whether_announced_or_chunked() {
    // Arrange: the server's own body reader (routes::answer), not warp::test's.
    let addr = serve_with(Limits::default()).await;
    let big = vec![b'a'; 64 * 1024 + 1];

    // Act: a Content-Length over the limit, refused before the body is read.
    let (status, body) = exchange(
        &addr,
        &format!(
            "POST /oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            big.len()
        ),
        &big,
    )
    .await;
    // Assert
    assert!(status.contains(" 413 "), "{status}");
    assert!(
        body.contains("PAYLOAD_TOO_LARGE") || body.contains("too large"),
        "{body}"
    );

    // Act: the same size chunked, with no length announced: counted while it arrives.
    let mut chunked = format!("{:x}\r\n", big.len()).into_bytes();
    chunked.extend_from_slice(&big);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, _) = exchange(
        &addr,
        "POST /oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        &chunked,
    )
    .await;
    // Assert
    assert!(status.contains(" 413 "), "{status}");

    // Act: a body within the limit is read and answered by the endpoint.
    let (status, body) = exchange(
        &addr,
        "POST /oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 27\r\nconnection: close\r\n\r\n",
        br#"{"grant_type":"anonymous"} "#,
    )
    .await;
    // Assert: the handler saw the body (it asks for the client id next).
    assert!(status.contains(" 400 "), "{status}");
    assert!(body.contains("client_id"), "{body}");
}
