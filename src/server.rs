//! Serving: bind a listener and run the routes on it until a shutdown signal.
//!
//! [`serve`] is the `serve` command: logs, scenario, state file, runtime, listeners, the start-up
//! lines on stdout, autosave and reload, and shutdown. `run` takes an already bound listener (as mini-redis's `server::run` does) so tests and `--port 0`
//! can learn the real port before the first request. `run_tls` serves the same routes over HTTPS:
//! warp 0.4.3 has no working TLS (its `tls` feature is not in its manifest and the code is stubbed),
//! so it drives hyper itself over tokio-rustls, the way warp's own server loop does over TCP.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use crate::app::{App, Overrides};
use crate::cli::ServeArgs;
use crate::namespaces::Namespaces;
use crate::scenario::Scenario;
use crate::{routes, state_file, tls, watch};

/// The `serve` command: runs the mock until SIGINT or SIGTERM. Every problem is logged through
/// `tracing` (on stderr, as `--log-format` says); stdout carries only the start-up lines that
/// scripts read, the first of which contains `listening on http://ADDR`.
pub fn serve(args: ServeArgs) -> ExitCode {
    // Half the cores (at least one) unless `--workers` or tokio's TOKIO_WORKER_THREADS say
    // otherwise: the client under test almost always runs on the same machine, and on 2 cores with
    // the load generator beside it a second worker cost 20-50 % more CPU per request for at most
    // 2 % more throughput (benches/RESULTS.md, issue 13). On a bigger machine the spare cores serve.
    // tokio's own variable is read here, so a value it would panic on (`0`, `two`) means the default.
    let tokio_workers = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0);
    let workers = args.workers.or(tokio_workers).unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        (cores / 2).max(1)
    });
    malloc_arenas(workers);
    crate::cli::init_logs(&args.log, args.log_format);
    let (scenario, origin) = match &args.scenario {
        Some(path) => match Scenario::from_file(path) {
            Ok(s) => (s, format!("file {}", path.display())),
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        },
        None => (Scenario::builtin(), "built-in".to_string()),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(workers);
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A state file is read before anything listens: one that cannot be used stops the start.
    let state = match &args.state_file {
        Some(path) => match state_file::load(path, &scenario) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = match bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let local = listener.local_addr().unwrap_or(addr);
        if let Some(path) = &args.port_file {
            // Not fatal: only `health` reads it, and it falls back to `$WIX_MOCK_PORT`.
            if let Err(e) = state_file::write_atomic(path, format!("{}\n", local.port()).as_bytes())
            {
                tracing::warn!("cannot write the port to {}: {e}", path.display());
            }
        }
        let name = scenario.name.clone();
        let recorder = match &args.record {
            None => None,
            Some((upstream, out)) => {
                match crate::record::Credentials::from_env()
                    .and_then(|c| crate::record::Recorder::new(upstream, out.clone(), c))
                {
                    Ok(r) => {
                        println!("recording: requests no endpoint serves go to {upstream}; stubs are written to {}", out.display());
                        Some(std::sync::Arc::new(r))
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        };
        let overrides = Overrides {
            seed: args.seed,
            admin_token: args.admin_token.clone().filter(|t| !t.is_empty()),
            max_namespaces: Some(args.max_namespaces),
            recorder,
            journal_budget: Some(crate::journal::Budget::new(
                args.journal_mib << 20,
                args.journal_total_mib << 20,
            )),
            ..Default::default()
        };
        let restored = state.is_some();
        let token_hint = if overrides.admin_token.is_some() {
            " (add ?token=<admin token> once)"
        } else {
            ""
        };
        let app = match state {
            Some(state) => App::from_state(scenario, origin.clone(), overrides, state),
            None => App::new(scenario, origin.clone(), overrides),
        };
        let https = match args.tls_options() {
            Some(options) => match start_tls(&args, &options, &app).await {
                Ok(https) => Some(https),
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::FAILURE;
                }
            },
            None => None,
        };
        if let Some(path) = &args.state_file {
            // Saved at once: this checks the file is writable now rather than at shutdown, and
            // records the new generator stream of a restored state.
            if let Err(e) = state_file::save(path, &app.capture_state()) {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        }
        let namespaces = Namespaces::new(app.clone());
        namespaces.allow_hosts(
            args.allowed_hosts
                .iter()
                .chain(&args.tls_hosts)
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect(),
        );
        if let Some(pem) = https.as_ref().and_then(|h| h.4.clone()) {
            namespaces.set_tls_ca(pem);
        }
        if let (Some(path), false) = (args.scenario.clone(), args.no_watch) {
            tokio::spawn(watch::watch(
                namespaces.clone(),
                path,
                watch::POLL,
                watch::SETTLE,
            ));
        }
        // `writeln!`, not `println!`: a parent that read the first line and closed the pipe must
        // not make the server panic.
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "wix-oauth-mock listening on http://{local} with scenario \"{name}\" ({origin})"
        );
        // A line of its own: scripts parse the first line containing "listening on". The address
        // is one a browser can open, even when the bind address is 0.0.0.0.
        let _ = writeln!(
            out,
            "dashboard: {}/__admin/ui{token_hint}",
            crate::cli::browsable(local)
        );
        if let Some((_, tls_local, note, _, _)) = &https {
            let _ = writeln!(
                out,
                "wix-oauth-mock listening on https://{tls_local} {note}"
            );
        }
        if let Some(path) = &args.state_file {
            let how = if restored {
                "restored from"
            } else {
                "new, saving to"
            };
            let _ = writeln!(out, "wix-oauth-mock state {how} {}", path.display());
        }
        let _ = out.flush();
        // One signal stops every listener and the autosave.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
        let signalled = namespaces.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            // Long polls answer now (503 SHUTTING_DOWN) instead of holding the shutdown up.
            signalled.shut_down();
            let _ = stop_tx.send(());
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<()>| async move {
            let _ = rx.changed().await;
        };
        let autosave = args.state_file.clone().map(|path| {
            tokio::spawn(state_file::autosave(
                app.clone(),
                path,
                state_file::SAVE_EVERY,
                stopped(stop_rx.clone()),
            ))
        });
        let limits = Limits {
            max_connections: args.max_connections,
            ..Limits::default()
        };
        let https = https.map(|(listener, _, _, config, _)| {
            tokio::spawn(serve_on(
                listener,
                namespaces.clone(),
                Some(config),
                limits,
                stopped(stop_rx.clone()),
            ))
        });
        // In-flight requests get a short grace after the signal; a client that keeps a connection
        // half-sent or idle must not keep the process (and the state file's last save) waiting.
        let grace = {
            let rx = stop_rx.clone();
            async move {
                stopped(rx).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            }
        };
        tokio::select! {
            () = serve_on(listener, namespaces, None, limits, stopped(stop_rx)) => {}
            () = grace => tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after the signal: closing anyway"),
        }
        if let Some(task) = https {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        if let Some(task) = autosave {
            let _ = task.await;
        }
        if let Some(path) = &args.state_file
            && let Err(e) = state_file::save(path, &app.capture_state())
        {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
        ExitCode::SUCCESS
    })
}

/// What [`start_tls`] prepared: the listener, its address, what to say about it, and the rustls
/// configuration.
type Https = (
    TcpListener,
    SocketAddr,
    String,
    Arc<rustls::ServerConfig>,
    Option<String>,
);

/// Prepares the certificates, writes the CA for clients to trust and binds the HTTPS port.
async fn start_tls(
    args: &ServeArgs,
    options: &tls::TlsOptions,
    app: &App,
) -> Result<Https, String> {
    let material = tls::prepare(options, app.ids()).map_err(|e| e.to_string())?;
    let addr = SocketAddr::new(args.bind, args.tls_port);
    let listener = bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for HTTPS: {e}"))?;
    let local = listener.local_addr().unwrap_or(addr);
    let note = match &material.ca_pem {
        Some(pem) => {
            state_file::write_atomic(&args.tls_ca_out, pem.as_bytes()).map_err(|e| {
                format!(
                    "cannot write the CA certificate to {}: {e}",
                    args.tls_ca_out.display()
                )
            })?;
            format!(
                "for {}; trust the CA in {}",
                material.hosts.join(", "),
                args.tls_ca_out.display()
            )
        }
        None => "with the given certificate".to_string(),
    };
    Ok((listener, local, note, material.config, material.ca_pem))
}

/// Asks glibc for one malloc arena per runtime worker, without fastbins. It otherwise makes an arena
/// per thread that allocates (up to eight per core), which adds about 2 MiB of peak RSS under load
/// for nothing (benches/RESULTS.md, issue 8); fewer arenas than workers, though, and the workers
/// queue on the arena's lock: with two workers sharing one, that lock's futex calls were 14 % of the
/// server's CPU, 21-25 µs per token request against 18-19 with an arena each (one worker: 12-13;
/// benches/RESULTS.md, issue 13, fourth session). Same effect as `MALLOC_ARENA_MAX`, which still
/// wins (and then the fastbins stay too).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_arenas(workers: usize) {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let arenas = libc::c_int::try_from(workers.max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: called before the runtime starts any thread, so no allocation races the change.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            // No fastbins: tcache already serves small blocks, and fastbins made every
            // allocation of 1 KiB or more (a token answer) consolidate them first (issue 13's
            // profile: malloc_consolidate ~1.3 % of a token request).
            libc::mallopt(libc::M_MXFAST, 0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_arenas(_workers: usize) {}

/// Binds `addr` (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves every namespace on `listener` until `shutdown` resolves; in-flight requests are finished
/// first. Connections are bounded as [`Limits::default`] says.
pub async fn run(
    listener: TcpListener,
    namespaces: Namespaces,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_on(listener, namespaces, None, Limits::default(), shutdown).await;
}

/// How long in-flight requests may take to finish after SIGTERM or SIGINT before the process
/// saves its state and exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(800);

/// How long a TLS handshake may take before the connection is dropped (a stuck client must not hold a
/// task forever).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one client may hold of the server, on both ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once (as mini-redis's `MAX_CONNECTIONS`), so a flood of sockets cannot
    /// take every file descriptor; at the limit the oldest idle one makes room for the next.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, counted from when it opened or
    /// finished its last response: an idle keep-alive connection is closed after it too.
    pub header_read: Duration,
}

/// Connections served at once by default: well under the common `ulimit -n` of 1,024, so the
/// files, the state file and the webhook client always find a descriptor.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// How long headers may take (and a keep-alive connection may idle): the TLS handshake's 10 s.
/// Longer than the 4-5 s keep-alive of Node's and Python's client pools, so they close first.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read: HEADER_READ_TIMEOUT,
        }
    }
}

/// Serves `app` over HTTPS on `listener` until `shutdown` resolves; in-flight requests are finished
/// first. Every request reaches the routes with `x-forwarded-proto: https` (replacing any the client
/// sent), which is how the routes that build URLs from `Host` know to say `https://`.
pub async fn run_tls(
    listener: TcpListener,
    namespaces: Namespaces,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_on(
        listener,
        namespaces,
        Some(config),
        Limits::default(),
        shutdown,
    )
    .await;
}

/// The one accept loop of both ports (warp 0.4's `serve` has no timeouts or connection limit, and
/// no TLS): a slot per connection, the TLS handshake when `tls` is given, then hyper's HTTP/1 and
/// HTTP/2, each connection watched for a graceful shutdown.
///
/// The header timeout ([`Limits::header_read`]) is the loop's own sweep, not hyper's: hyper's arms
/// a runtime timer for every request (a boxed sleep, registered in the timer wheel while the next
/// request is awaited, cancelled when it arrives; without it a token request runs 1.4 k fewer of
/// its ~80 k instructions, issue 13). Here each connection notes when it last finished an answer
/// or wrote bytes, and ten times per timeout the loop closes those with no request in progress
/// that have done neither for the whole timeout. Reads do not count, so headers trickled a byte
/// at a time are cut as before. An idle HTTP/2 connection is closed the same way.
///
/// At the limit, a new connection takes the slot of the oldest one that is not in the middle of a
/// request (half-sent headers, or idle between requests), which is closed: a flood of sockets that
/// never finish their headers cannot keep a real client out, not even for the header timeout.
/// Only when every connection is busy does the new one wait for a slot.
pub async fn serve_on(
    listener: TcpListener,
    namespaces: Namespaces,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let https = acceptor.is_some();
    let max = limits.max_connections.max(1);
    let permits = Arc::new(tokio::sync::Semaphore::new(max));
    let mut open = OpenConnections::default();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shed_since_warning = 0u64;
    let mut sweep = Sweep::new(limits.header_read);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = sweep.interval.tick() => {
                sweep.close_idle(&mut open);
                continue;
            }
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
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if open.shed_oldest_idle() {
                    if shed_since_warning == 0 {
                        tracing::warn!(
                            "{max} connections open: closing the oldest idle or half-sent ones to serve new ones (--max-connections)"
                        );
                    }
                    shed_since_warning += 1;
                } else {
                    tracing::warn!(
                        "{max} connections open, all busy: the next waits for one to finish"
                    );
                }
                let waited = loop {
                    tokio::select! {
                        permit = permits.clone().acquire_owned() => break permit.ok(),
                        // An idle connection closed here frees a slot for this one.
                        _ = sweep.interval.tick() => sweep.close_idle(&mut open),
                        _ = &mut shutdown => break None,
                    }
                };
                match waited {
                    Some(p) => p,
                    None => break,
                }
            }
        };
        if permits.available_permits() > max / 2 {
            shed_since_warning = 0;
        }
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let namespaces = namespaces.clone();
        let watcher = graceful.watcher();
        let conn = Arc::new(Conn {
            busy: AtomicUsize::new(0),
            active: AtomicU64::new(sweep.ticks.load(Ordering::Relaxed)),
            ticks: sweep.ticks.clone(),
        });
        let in_service = conn.clone();
        let tcp = Watched {
            io: tcp,
            conn: conn.clone(),
        };
        let task = tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    if https {
                        req.headers_mut().insert(
                            "x-forwarded-proto",
                            hyper::header::HeaderValue::from_static("https"),
                        );
                    }
                    let busy = Busy::start(&in_service);
                    let namespaces = namespaces.clone();
                    async move {
                        let res = routes::answer(&namespaces, req).await;
                        drop(busy);
                        Ok::<_, std::convert::Infallible>(res)
                    }
                },
            );
            // No timer, so no header timeout of hyper's: the accept loop's sweep is the timeout.
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let ended = match acceptor {
                None => {
                    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
                    watcher.watch(conn.into_owned()).await
                }
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                // Usually a client that does not trust the CA yet: say so at debug level.
                                tracing::debug!("TLS handshake with {peer} failed: {e}");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            // A client that hung up, sent garbage or idled past the timeout: its business, not an
            // error of the mock's.
            if let Err(e) = ended {
                tracing::debug!("connection with {peer} ended: {e}");
            }
        });
        open.push(task.abort_handle(), conn, max);
    }
    graceful.shutdown().await;
}

/// What the accept loop knows of one connection.
struct Conn {
    /// Requests in progress.
    busy: AtomicUsize,
    /// The sweep tick at which it last finished an answer or wrote bytes (its accept, at first).
    active: AtomicU64,
    /// The server's sweep counter ([`Sweep::ticks`]).
    ticks: Arc<AtomicU64>,
}

impl Conn {
    fn touch(&self) {
        self.active
            .store(self.ticks.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Counts a request in progress on a connection for as long as it lives; its end is activity.
struct Busy(Arc<Conn>);

impl Busy {
    fn start(conn: &Arc<Conn>) -> Busy {
        conn.busy.fetch_add(1, Ordering::Relaxed);
        Busy(conn.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's socket, which notes every write that made progress as activity: a client reading
/// a long answer slowly is not idle. Reads do not count (see [`serve_on`]).
struct Watched<T> {
    io: T,
    conn: Arc<Conn>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> Watched<T> {
    fn wrote(&self, done: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = done
            && n > 0
        {
            self.conn.touch();
        }
        done
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let done = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(done)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let done = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(done)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The header timeout as the accept loop keeps it: a tick every tenth of the timeout, and a
/// connection idle for more than the timeout's worth of ticks is closed.
struct Sweep {
    interval: tokio::time::Interval,
    /// Ticks so far; connections read it to date their activity.
    ticks: Arc<AtomicU64>,
    /// Whole ticks of inactivity after which a connection is closed.
    limit: u64,
}

impl Sweep {
    /// Ticks of a tenth of `timeout` (at least a millisecond): a connection is closed between
    /// `timeout` and `timeout` plus a tick after its last activity.
    fn new(timeout: Duration) -> Sweep {
        const TICKS: u32 = 10;
        let every = (timeout / TICKS).max(Duration::from_millis(1));
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Sweep {
            interval,
            ticks: Arc::new(AtomicU64::new(0)),
            // Activity is dated by the tick before it, so one more tick makes the whole timeout.
            limit: u64::from(TICKS) + 1,
        }
    }

    /// One tick: closes every connection with no request in progress that has been inactive for
    /// the whole timeout, and forgets those that ended.
    fn close_idle(&mut self, open: &mut OpenConnections) {
        let now = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
        open.live.retain(|(task, conn)| {
            if task.is_finished() {
                return false;
            }
            let idle = conn.busy.load(Ordering::Relaxed) == 0
                && now.saturating_sub(conn.active.load(Ordering::Relaxed)) >= self.limit;
            if idle {
                task.abort();
            }
            !idle
        });
    }
}

/// The connections being served, oldest first: each task's abort handle and what the loop knows
/// of it. Only the accept loop touches it.
#[derive(Default)]
struct OpenConnections {
    live: std::collections::VecDeque<(tokio::task::AbortHandle, Arc<Conn>)>,
}

impl OpenConnections {
    fn push(&mut self, task: tokio::task::AbortHandle, conn: Arc<Conn>, max: usize) {
        // Forget connections that ended on their own, so the list stays about `max` long.
        if self.live.len() >= 2 * max {
            self.live.retain(|(t, _)| !t.is_finished());
        }
        self.live.push_back((task, conn));
    }

    /// Closes the oldest connection with no request in progress; whether there was one. Its slot
    /// comes free once the aborted task is dropped, at the runtime's next turn.
    fn shed_oldest_idle(&mut self) -> bool {
        let found = self
            .live
            .iter()
            .position(|(task, conn)| !task.is_finished() && conn.busy.load(Ordering::Relaxed) == 0);
        match found {
            Some(i) => {
                if let Some((task, _)) = self.live.remove(i) {
                    task.abort();
                }
                true
            }
            None => false,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(ticks: &Arc<AtomicU64>) -> Arc<Conn> {
        Arc::new(Conn {
            busy: AtomicUsize::new(0),
            active: AtomicU64::new(ticks.load(Ordering::Relaxed)),
            ticks: ticks.clone(),
        })
    }

    #[tokio::test]
    async fn the_sweep_closes_only_connections_idle_for_the_whole_timeout_and_not_in_a_request() {
        // Arrange: three connections, each a task that would run for ever.
        let mut sweep = Sweep::new(Duration::from_secs(10));
        let mut open = OpenConnections::default();
        let (idle, writing, serving) = (conn(&sweep.ticks), conn(&sweep.ticks), conn(&sweep.ticks));
        let mut tasks = Vec::new();
        for c in [&idle, &writing, &serving] {
            let task = tokio::spawn(std::future::pending::<()>());
            open.push(task.abort_handle(), (*c).clone(), 8);
            tasks.push(task);
        }
        let request = Busy::start(&serving);

        // Act: ten ticks (the timeout) with `writing` moving bytes on every one, then one more.
        for _ in 0..10 {
            sweep.close_idle(&mut open);
            writing.touch();
        }
        let before_the_last = open.live.len();
        sweep.close_idle(&mut open);

        // Assert: all three lived through the timeout's ten ticks; at the eleventh only the one
        // that did nothing was closed.
        assert_eq!(before_the_last, 3);
        assert_eq!(open.live.len(), 2);
        tokio::task::yield_now().await;
        assert!(tasks[0].is_finished(), "the idle connection was not closed");
        assert!(!tasks[1].is_finished() && !tasks[2].is_finished());

        // Act: `writing` stops (its last bytes at tick 10); the request ends at tick 11, which is
        // activity too.
        drop(request);
        for _ in 0..10 {
            sweep.close_idle(&mut open);
        }
        let after_writing_timed_out = open.live.len();
        sweep.close_idle(&mut open);

        // Assert: each is closed a whole timeout after its own last activity.
        assert_eq!(after_writing_timed_out, 1);
        assert!(open.live.is_empty());
    }
}
