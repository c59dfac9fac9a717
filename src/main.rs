use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use wix_oauth_mock::cli::{Cli, Command, LogFormat, ServeArgs};
use wix_oauth_mock::{
    App, Overrides, Scenario, conformance, http_get, server, state_file, tls, watch,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match (&cli.command, cli.serve_args()) {
        (Some(Command::Check { files }), _) => check(files),
        (Some(Command::Health { port }), _) => health(*port),
        (Some(Command::Conformance { url, json }), _) => conformance(url, *json),
        (Some(Command::Schema), _) => {
            let schema = wix_oauth_mock::schema::scenario_schema();
            // `schema | head` closes the pipe early; that is not an error worth a panic.
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        (_, Some(args)) => serve(args.clone()),
        _ => ExitCode::FAILURE,
    }
}

fn check(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match Scenario::from_file(file) {
            Ok(s) => println!("{}: ok (scenario \"{}\")", file.display(), s.name),
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn health(port: u16) -> ExitCode {
    use std::io::Read;
    use std::time::Duration;
    let probe = || -> std::io::Result<bool> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(
            b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.ends_with(b" 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// Fetches `GET /__admin/conformance` and prints it; 0 passed, 1 failed, 2 could not ask.
fn conformance(url: &str, json: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let target = format!("{}/__admin/conformance", url.trim_end_matches('/'));
    let report: serde_json::Value = match runtime.block_on(http_get::get(&target)) {
        Ok((200, body)) => match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{target} did not answer JSON: {e}");
                return ExitCode::from(2);
            }
        },
        Ok((status, body)) => {
            eprintln!(
                "{target} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", conformance::render_text(&report));
    }
    if report["passed"].as_bool() == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    one_malloc_arena();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let (scenario, origin) = match &args.scenario {
        Some(path) => match Scenario::from_file(path) {
            Ok(s) => (s, format!("file {}", path.display())),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        },
        None => (Scenario::builtin(), "built-in".to_string()),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // One worker unless TOKIO_WORKER_THREADS says otherwise. Every request takes the one world lock
    // (and the journal's and the observer's), so a second worker adds lock hand-offs and cross-core
    // wake-ups, not throughput: on 2 cores it measured 50 µs of CPU per token against 22 with one
    // (benches/RESULTS.md, issue 8).
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A state file is read before anything listens: one that cannot be used stops the start.
    let state = match &args.state_file {
        Some(path) => match state_file::load(path, &scenario) {
            Ok(state) => state,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = match server::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let local = listener.local_addr().unwrap_or(addr);
        let name = scenario.name.clone();
        let overrides = Overrides {
            seed: args.seed,
            admin_token: args.admin_token.clone().filter(|t| !t.is_empty()),
            max_namespaces: Some(args.max_namespaces),
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
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            },
            None => None,
        };
        if let Some(path) = &args.state_file {
            // Saved at once: this checks the file is writable now rather than at shutdown, and
            // records the new generator stream of a restored state.
            if let Err(e) = state_file::save(path, &app.capture_state()) {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
        if let (Some(path), false) = (args.scenario.clone(), args.no_watch) {
            tokio::spawn(watch::watch(app.clone(), path, watch::POLL));
        }
        // `writeln!`, not `println!`: a parent that read the first line and closed the pipe must
        // not make the server panic.
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "wix-oauth-mock listening on http://{local} with scenario \"{name}\" ({origin})"
        );
        // A line of its own: scripts parse the first line containing "listening on".
        let _ = writeln!(out, "dashboard: http://{local}/__admin/ui{token_hint}");
        if let Some((_, tls_local, note, _)) = &https {
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
        tokio::spawn(async move {
            server::shutdown_signal().await;
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
        let https = https.map(|(listener, _, _, config)| {
            tokio::spawn(server::run_tls(
                listener,
                app.clone(),
                config,
                stopped(stop_rx.clone()),
            ))
        });
        server::run(listener, app.clone(), stopped(stop_rx)).await;
        if let Some(task) = https {
            let _ = task.await;
        }
        if let Some(task) = autosave {
            let _ = task.await;
        }
        if let Some(path) = &args.state_file
            && let Err(e) = state_file::save(path, &app.capture_state())
        {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
        ExitCode::SUCCESS
    })
}

/// Prepares the certificates, writes the CA for clients to trust and binds the HTTPS port: the
/// listener, its address, what to say about it, and the rustls configuration.
async fn start_tls(
    args: &ServeArgs,
    options: &tls::TlsOptions,
    app: &App,
) -> Result<
    (
        tokio::net::TcpListener,
        SocketAddr,
        String,
        Arc<rustls::ServerConfig>,
    ),
    String,
> {
    let material = tls::prepare(options, app.ids()).map_err(|e| e.to_string())?;
    let addr = SocketAddr::new(args.bind, args.tls_port);
    let listener = server::bind(addr)
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
    Ok((listener, local, note, material.config))
}

/// Asks glibc for a single malloc arena. It otherwise makes one per thread that allocates, which
/// adds about 2 MiB of peak RSS under load for nothing: every request takes the one world lock
/// anyway (benches/RESULTS.md, issue 8). Same effect as `MALLOC_ARENA_MAX=1`, which still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    const M_ARENA_MAX: i32 = -8;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: glibc's mallopt takes two ints and is called here before any thread exists.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}
