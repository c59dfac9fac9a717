//! The ceiling that `benches/run.sh` measures the mock against: a minimal warp 0.4 server answering
//! every request with the same static JSON, on tokio's default multi-threaded runtime.
//!
//! `cargo run --release --example static_server -- [PORT]` (default 0: a free port). It prints one
//! line, `listening on http://ADDR`, as the mock does, and serves on loopback only.

use std::io::Write;
use std::net::SocketAddr;

use warp::Filter;

/// A token answer's shape with a placeholder token: 80 bytes, where the mock's `/oauth2/token` answer
/// is about 710 (a Wix access token is a ~600-character JWT). Kept as it is so the ceiling stays
/// comparable across benches/RESULTS.md; what the longer answer costs the kernel is measured with
/// `STATIC_BODY_BYTES` (below).
const BODY: &str =
    r#"{"access_token":"OauthNG.JWS.static","token_type":"Bearer","expires_in":14400}"#;

#[tokio::main]
async fn main() {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0u16);
    // STATIC_BODY_BYTES=N pads the placeholder token so the answer is N bytes (at least the 80 of
    // BODY): `bench.py ab` uses it for a ceiling whose answer is as long as the mock's token answer.
    let body: &'static str = match std::env::var("STATIC_BODY_BYTES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) if n > BODY.len() => BODY
            .replacen("static", &"x".repeat(n - BODY.len() + "static".len()), 1)
            .leak(),
        _ => BODY,
    };
    let route =
        warp::any().map(move || warp::reply::with_header(body, "content-type", "application/json"));
    let listener =
        match tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on port {port}: {e}");
                std::process::exit(1);
            }
        };
    if let Ok(addr) = listener.local_addr() {
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
    }
    warp::serve(route).incoming(listener).run().await;
}
