//! Serving: bind a listener and run the routes on it until a shutdown signal.
//!
//! `run` takes an already bound listener (as mini-redis's `server::run` does) so tests and `--port 0`
//! can learn the real port before the first request. `run_tls` serves the same routes over HTTPS:
//! warp 0.4.3 has no working TLS (its `tls` feature is not in its manifest and the code is stubbed),
//! so it drives hyper itself over tokio-rustls, the way warp's own server loop does over TCP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tower_service::Service;

use crate::app::App;
use crate::routes;

/// Binds `addr` (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests are finished first.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes::routes(app))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// How long a TLS handshake may take before the connection is dropped (a stuck client must not hold a
/// task forever).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` over HTTPS on `listener` until `shutdown` resolves; in-flight requests are finished
/// first. Every request reaches the routes with `x-forwarded-proto: https` (replacing any the client
/// sent), which is how the routes that build URLs from `Host` know to say `https://`.
pub async fn run_tls(
    listener: TcpListener,
    app: App,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let routes = warp::service(routes::routes(app));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let routes = routes.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    // Usually a client that does not trust the CA yet: say so at debug level.
                    tracing::debug!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.headers_mut().insert(
                        "x-forwarded-proto",
                        hyper::header::HeaderValue::from_static("https"),
                    );
                    routes.clone().call(req)
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!("HTTPS connection with {peer} ended: {e}");
            }
        });
    }
    graceful.shutdown().await;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
