//! The ceiling that `benches/run.sh` measures the mock against: a minimal warp 0.4 server answering
//! every request with the same static JSON, on tokio's default multi-threaded runtime.
//!
//! `cargo run --release --example static_server -- [PORT]` (default 0: a free port). It prints one
//! line, `listening on http://ADDR`, as the mock does, and serves on loopback only.

use std::io::Write;
use std::net::SocketAddr;

use warp::Filter;

/// About the size of a `/oauth2/token` answer, so both servers write similar bodies.
const BODY: &str =
    r#"{"access_token":"OauthNG.JWS.static","token_type":"Bearer","expires_in":14400}"#;

#[tokio::main]
async fn main() {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0u16);
    let route =
        warp::any().map(|| warp::reply::with_header(BODY, "content-type", "application/json"));
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
