//! wix-oauth-mock: an in-memory emulator of Wix's OAuth and app-authentication servers.
//!
//! # Layout
//!
//! - [`cli`]: the command line (`check`, `health`, `conformance`, `schema`), its exit codes and
//!   log set-up; `main.rs` only calls it. [`client`]: the HTTP GET those commands send.
//! - [`scenario`]: scenario files (YAML or JSON): types, loading and `file:line:col` checks.
//! - [`world`]: the simulated Wix state (apps, sites, instances, codes, tokens) and its rules. Pure:
//!   no warp, no locks, every function takes `now`. `world::identity` says who a token speaks for
//!   (apps, Wix users, visitors, members, Headless admins), `world::grants` holds the `/oauth2/token`
//!   grants, `world::member_login` the Headless redirect sessions and logout.
//!   `world::query` is Wix's query language (filters, sort, offset and cursor paging) over OAuth apps.
//! - [`app`]: the [`App`] handle, the shared state of one server and the only place that locks it.
//! - [`clock`]: the virtual clock, the only reader of the system clock.
//! - [`ids`]: the one seeded random generator, the only reader of OS randomness.
//! - [`jwt`]: `OauthNG.JWS.<JWT>` access tokens, signed and checked against the virtual clock.
//! - [`keys`]: per-app RS256 key pairs that sign webhooks (scenario PEM or generated from the seed).
//! - [`delivery`]: webhook delivery in the background: signing, retries, the attempt log, fault hooks.
//! - [`signed_instance`]: the HMAC-signed `instance` parameter of iframes and dashboards (codec only).
//! - [`journal`]: the bounded request journal, secrets redacted.
//! - [`faults`]: the fault engine (which armed faults fire, what they change); specs are in
//!   `scenario/faults.rs`, the HTTP side in `routes/layer.rs`.
//! - [`conformance`]: the report of the client's protocol violations and `expect:` checks.
//! - `scenario::library`: the shipped scenarios embedded in the binary, and the fault presets the
//!   dashboard arms.
//! - [`schema`]: the JSON Schema of scenario files; [`watch`]: reload on file change.
//! - [`error`]: [`WixError`], the one place that builds Wix error bodies.
//! - [`pages`]: the HTML pages (installer error, consent, member login, close-window); their CSS
//!   is `src/assets/pages.css`, inlined. The dashboard's files are in `src/assets/` too, served by
//!   `routes/admin_ui.rs`.
//! - [`redirect`]: redirect hygiene, the one check of every URL the mock redirects or posts to.
//! - [`routes`]: the HTTP surface, one file per area, wrapped in `routes/layer.rs` (faults, journal,
//!   conformance); [`server`]: the `serve` command, binding and serving (HTTP, and HTTPS with
//!   [`tls`]'s certificates).
//! - [`state_file`]: `--state-file`, the world saved across restarts (format, atomic writes).
//! - [`tls`]: the local CA and server certificate for HTTPS (`--tls`).
//! - [`mock`]: library mode, [`WixMock`], for Rust tests.
//! - [`namespaces`]: independent copies of the mock on one server (`X-Wix-Mock-Namespace`,
//!   `/__ns/NAME/...`), an LRU registry held by the default [`App`], and the filter that dispatches.

pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod conformance;
pub mod delivery;
pub mod endpoints;
pub mod error;
pub mod faults;
pub mod ids;
pub mod journal;
pub mod jwt;
pub mod keys;
pub mod mock;
pub mod namespaces;
pub mod pages;
pub mod redirect;
pub mod request;
pub mod routes;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod signed_instance;
pub mod state_file;
pub mod tls;
pub mod watch;
pub mod world;

pub use app::{App, Overrides};
pub use error::WixError;
pub use mock::{MockNamespace, WixMock};
pub use scenario::Scenario;
