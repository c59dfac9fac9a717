//! The command line: `serve` (the default), `check`, `health`, `conformance` and `schema`. Every
//! flag can also come from the environment. [`parse`] reads the arguments and [`run`] runs every
//! command other than `serve` (which is [`crate::server::serve`]); each has its own file here. This
//! module owns the exit codes and the log set-up; it must not know how a request is served.
//!
//! Exit codes, the same for every command:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the command ran and the answer is "no": a bad scenario, failed conformance, an unhealthy mock, a server that could not start |
//! | 2 | usage error: an unknown flag, a bad value (clap's own code) |
//! | 3 | the mock could not be reached (`health`, `conformance`) |

mod check;
mod conformance;
mod health;

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// `--version`: the crate version and the commit it was built from (`build.rs`; `unknown` when built
/// without git, as in a container build).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WIX_MOCK_GIT_COMMIT"),
    ")"
);

/// Exit code of a usage error (clap's).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the mock a command talks to cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;

/// The port the mock listens on when none is given.
pub const DEFAULT_PORT: u16 = 8787;
/// The HTTPS port when `--tls` is on and no `--tls-port` is given.
pub const DEFAULT_TLS_PORT: u16 = 8443;

/// wix-oauth-mock: an in-memory emulator of Wix's OAuth and app-authentication servers.
#[derive(Debug, Parser)]
#[command(
    name = "wix-oauth-mock",
    version = VERSION,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s flags, so a bare `wix-oauth-mock --port 0` serves.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What to do.
// Parsed once per process: the size of the `serve` variant costs nothing worth a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Validate scenario files; prints `file:line:col: message` per problem, exits 1 on any.
    Check {
        /// Scenario files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Probe a running mock's `/__admin/health`; exits 0 when it answers 200, 1 when it answers
    /// anything else, 3 when it cannot be reached. For container health checks, where an image
    /// built `FROM scratch` has no curl.
    Health(HealthArgs),
    /// Print the conformance report of a running mock; exits 1 when it failed, 3 when unreachable.
    Conformance {
        /// The mock's base URL.
        #[arg(long, env = "WIX_MOCK_URL", default_value = "http://127.0.0.1:8787")]
        url: String,
        /// Print the JSON report instead of text.
        #[arg(long)]
        json: bool,
        /// The admin token of a mock run with `--admin-token`.
        #[arg(long, env = "WIX_MOCK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Print the JSON Schema of scenario files (for editors).
    Schema,
    /// Serve, and send every request no endpoint serves to `--upstream` with a token obtained there
    /// (credentials from WIX_RECORD_APP_ID, WIX_RECORD_APP_SECRET and WIX_RECORD_INSTANCE_ID, or
    /// WIX_RECORD_API_KEY and WIX_RECORD_SITE_ID), writing each exchange, redacted, as a stub file
    /// in `--out`. Replay with a scenario that has `stubs_dir: <out>` (docs/stubs.md).
    Record(RecordArgs),
}

/// `record`'s flags: the upstream, the folder, and everything `serve` takes.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The upstream's base URL (`http://` only).
    #[arg(long, env = "WIX_RECORD_UPSTREAM")]
    pub upstream: String,
    /// The folder the stub files are written to (made if absent).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Where `health` looks for the mock.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Port of the mock on 127.0.0.1. Found as `serve` finds it: this flag, else the port written
    /// to `--port-file` by a running `serve`, else `$WIX_MOCK_PORT`, else 8787.
    #[arg(long, env = "WIX_MOCK_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The file `serve --port-file` wrote its port to.
    #[arg(long, env = "WIX_MOCK_PORT_FILE")]
    pub port_file: Option<PathBuf>,
    /// Whether `--port` was given on the command line (then the port file is not read).
    #[arg(skip)]
    pub port_given: bool,
}

/// How to serve.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Record mode's upstream and folder (set by `record`, never a flag of `serve`).
    #[arg(skip)]
    pub record: Option<(String, PathBuf)>,
    /// Address to listen on. The default keeps the mock off the network.
    #[arg(long, env = "WIX_MOCK_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one (the real one is printed).
    #[arg(long, env = "WIX_MOCK_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Scenario file (YAML or JSON); the built-in default scenario when absent.
    #[arg(long, env = "WIX_MOCK_SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Seed of the random generator (overrides the scenario's).
    #[arg(long, env = "WIX_MOCK_SEED")]
    pub seed: Option<u64>,
    /// Log filter, in tracing's EnvFilter syntax (`info` logs one line per request).
    #[arg(long, env = "WIX_MOCK_LOG", default_value = "warn")]
    pub log: String,
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "WIX_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Protects `/__admin/*` (except health, ready and version) with this token.
    #[arg(long, env = "WIX_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How many namespaces (`X-Wix-Mock-Namespace`, `/__ns/NAME/`) live at once; making one more
    /// evicts the least recently used.
    #[arg(long, env = "WIX_MOCK_MAX_NAMESPACES", default_value_t = crate::namespaces::DEFAULT_LIMIT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_namespaces: usize,
    /// MiB of journal (`/__admin/requests`) one namespace keeps; the oldest entries go first.
    #[arg(long, env = "WIX_MOCK_JOURNAL_MIB", default_value_t = 2,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub journal_mib: usize,
    /// MiB of journal every namespace together keeps (shown in `/__admin/health`).
    #[arg(long, env = "WIX_MOCK_JOURNAL_TOTAL_MIB", default_value_t = 64,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65536))]
    pub journal_total_mib: usize,
    /// A host name the admin API answers to besides IP addresses, `localhost`, names without a dot
    /// and Wix's hosts (a guard against DNS rebinding); repeat or comma-separate.
    #[arg(
        long = "allowed-host",
        env = "WIX_MOCK_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Connections served at once; more wait in the listen backlog until one closes. An idle or
    /// half-sent connection is closed after 10 s either way.
    #[arg(long, env = "WIX_MOCK_MAX_CONNECTIONS", default_value_t = crate::server::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,
    /// Runtime worker threads; half the cores (at least one) when unset (`TOKIO_WORKER_THREADS` is
    /// read too).
    #[arg(long, env = "WIX_MOCK_WORKERS",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub workers: Option<usize>,
    /// Write the port actually listened on to this file (what `health` reads; handy with `--port 0`).
    #[arg(long, env = "WIX_MOCK_PORT_FILE")]
    pub port_file: Option<PathBuf>,
    /// Do not reload the scenario file when it changes on disk. From the environment: 1/0,
    /// yes/no, true/false or on/off, in any case.
    #[arg(long, env = "WIX_MOCK_NO_WATCH", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub no_watch: bool,
    /// Also serve HTTPS (on `--tls-port`) with a certificate for Wix's hosts; see docs/tls.md.
    /// From the environment: 1/0, yes/no, true/false or on/off, in any case.
    #[arg(long, env = "WIX_MOCK_TLS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub tls: bool,
    /// Port of the HTTPS listener (443 for clients that cannot be told a port); 0 picks a free one.
    #[arg(long, env = "WIX_MOCK_TLS_PORT", default_value_t = DEFAULT_TLS_PORT)]
    pub tls_port: u16,
    /// Another name (or IP address) the server certificate covers; repeat or comma-separate.
    #[arg(long = "tls-host", env = "WIX_MOCK_TLS_HOSTS", value_delimiter = ',')]
    pub tls_hosts: Vec<String>,
    /// Where to write the CA certificate clients should trust.
    #[arg(long, env = "WIX_MOCK_TLS_CA_OUT", default_value = crate::tls::DEFAULT_CA_OUT)]
    pub tls_ca_out: PathBuf,
    /// Issue the server certificate from this CA certificate (PEM) instead of a seed-derived CA.
    #[arg(
        long,
        env = "WIX_MOCK_TLS_CA_CERT",
        requires = "tls_ca_key",
        conflicts_with = "tls_cert"
    )]
    pub tls_ca_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-ca-cert`.
    #[arg(long, env = "WIX_MOCK_TLS_CA_KEY", requires = "tls_ca_cert")]
    pub tls_ca_key: Option<PathBuf>,
    /// Serve this certificate chain (PEM) as it is, instead of issuing one.
    #[arg(long, env = "WIX_MOCK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, env = "WIX_MOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Keep the world in this file across restarts (loaded at start, saved every 30 s when changed
    /// and on shutdown); see docs/state-file.md.
    #[arg(long, env = "WIX_MOCK_STATE_FILE")]
    pub state_file: Option<PathBuf>,
}

impl ServeArgs {
    /// The TLS options, when `--tls` is on; giving a certificate or a CA turns it on too (asking for
    /// a certificate to be served and getting plain HTTP would be a silent surprise).
    pub fn tls_options(&self) -> Option<crate::tls::TlsOptions> {
        use crate::tls::{TlsOptions, TlsSource};
        if !self.tls && self.tls_cert.is_none() && self.tls_ca_cert.is_none() {
            return None;
        }
        let source = match (
            &self.tls_cert,
            &self.tls_key,
            &self.tls_ca_cert,
            &self.tls_ca_key,
        ) {
            (Some(cert), Some(key), _, _) => TlsSource::Server {
                cert: cert.clone(),
                key: key.clone(),
            },
            (_, _, Some(cert), Some(key)) => TlsSource::Ca {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => TlsSource::Generated,
        };
        Some(TlsOptions {
            source,
            extra_hosts: self.tls_hosts.clone(),
        })
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Cli {
    /// The serve arguments, whether given after `serve` or bare.
    pub fn serve_args(&self) -> Option<ServeArgs> {
        match &self.command {
            None => Some(self.serve.clone()),
            Some(Command::Serve(args)) => Some(args.clone()),
            Some(Command::Record(r)) => Some(ServeArgs {
                record: Some((r.upstream.clone(), r.out.clone())),
                ..r.serve.clone()
            }),
            Some(_) => None,
        }
    }
}

/// Parses the process's arguments; a usage error exits here with status 2 (clap's).
pub fn parse() -> Cli {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let (Some(Command::Health(args)), Some(("health", sub))) =
        (&mut cli.command, matches.subcommand())
    {
        args.port_given = sub.value_source("port") == Some(clap::parser::ValueSource::CommandLine);
    }
    cli
}

/// Runs every command but `serve` (which is [`crate::server::serve`], called by `main.rs`: this
/// module stays below the server in the import graph).
pub fn run(cli: &Cli) -> ExitCode {
    match &cli.command {
        Some(Command::Check { files }) => check::run(files),
        Some(Command::Health(args)) => health::run(args),
        Some(Command::Conformance {
            url,
            json,
            admin_token,
        }) => conformance::run(url, *json, admin_token.as_deref()),
        Some(Command::Schema) => {
            let schema = crate::schema::scenario_schema();
            // `schema | head` closes the pipe early; that is not an error worth a panic.
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        // A caller's mistake, not the user's: main.rs sends `serve` to `server::serve`.
        Some(Command::Serve(_)) | Some(Command::Record(_)) | None => {
            eprintln!("`serve` is run by server::serve, not cli::run");
            ExitCode::FAILURE
        }
    }
}

/// Sends `tracing`'s events to stderr, filtered by `filter`, in `format`. Colour only when stderr
/// is a terminal and `NO_COLOR` is unset or empty (no-color.org): logs piped to a file or a
/// collector must not carry escape codes.
pub fn init_logs(filter: &str, format: LogFormat) {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    // `try_init`: a second call (library users, tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs.json().try_init(),
    };
}

/// A URL a browser can open for a server listening on `addr`: an unspecified bind (`0.0.0.0`,
/// `::`) is reached on the loopback address of its family.
pub fn browsable(addr: std::net::SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_is_advertised_on_loopback() {
        assert_eq!(
            browsable("0.0.0.0:8787".parse().unwrap()),
            "http://127.0.0.1:8787"
        );
        assert_eq!(browsable("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(
            browsable("192.0.2.7:1".parse().unwrap()),
            "http://192.0.2.7:1"
        );
    }

    #[test]
    fn the_version_names_the_commit() {
        assert!(VERSION.contains(" (commit "), "{VERSION}");
    }
}
