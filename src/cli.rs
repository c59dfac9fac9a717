//! The command line: `serve` (the default), `check`, `conformance` and `schema`. Every flag can also come from the environment.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The port the mock listens on when none is given.
pub const DEFAULT_PORT: u16 = 8787;
/// The HTTPS port when `--tls` is on and no `--tls-port` is given.
pub const DEFAULT_TLS_PORT: u16 = 8443;

/// wix-oauth-mock: an in-memory emulator of Wix's OAuth and app-authentication servers.
#[derive(Debug, Parser)]
#[command(
    name = "wix-oauth-mock",
    version,
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
    /// Probe a running mock's `/__admin/health`; exits 0 when it answers 200. For container health
    /// checks, where an image built `FROM scratch` has no curl.
    Health {
        /// Port of the mock on 127.0.0.1.
        #[arg(long, env = "WIX_MOCK_PORT", default_value_t = DEFAULT_PORT)]
        port: u16,
    },
    /// Print the conformance report of a running mock; exits 1 when it failed, 2 when unreachable.
    Conformance {
        /// The mock's base URL.
        #[arg(long, env = "WIX_MOCK_URL", default_value = "http://127.0.0.1:8787")]
        url: String,
        /// Print the JSON report instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of scenario files (for editors).
    Schema,
}

/// How to serve.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
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
    /// Do not reload the scenario file when it changes on disk.
    #[arg(long, env = "WIX_MOCK_NO_WATCH")]
    pub no_watch: bool,
    /// Also serve HTTPS (on `--tls-port`) with a certificate for Wix's hosts; see docs/tls.md.
    #[arg(long, env = "WIX_MOCK_TLS")]
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
    pub fn serve_args(&self) -> Option<&ServeArgs> {
        match &self.command {
            None => Some(&self.serve),
            Some(Command::Serve(args)) => Some(args),
            Some(_) => None,
        }
    }
}
