use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use wix_oauth_mock::cli::{Cli, Command, LogFormat, ServeArgs};
use wix_oauth_mock::{App, Overrides, Scenario, conformance, http_get, server, watch};

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
            ..Default::default()
        };
        let app = App::new(scenario, origin.clone(), overrides);
        if let (Some(path), false) = (args.scenario.clone(), args.no_watch) {
            tokio::spawn(watch::watch(app.clone(), path, watch::POLL));
        }
        println!("wix-oauth-mock listening on http://{local} with scenario \"{name}\" ({origin})");
        let _ = std::io::stdout().flush();
        server::run(listener, app, server::shutdown_signal()).await;
        ExitCode::SUCCESS
    })
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
