//! The command line: `serve` (the default), `check`, `conformance` and `schema`. Every flag can also come from the environment.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The port the mock listens on when none is given.
pub const DEFAULT_PORT: u16 = 8787;

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
