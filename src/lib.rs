//! wix-oauth-mock: an in-memory emulator of Wix's OAuth and app-authentication servers.
//!
//! # Layout
//!
//! A request's path, in order: [`server`] accepts it → `routes/mod.rs` reads it once into a
//! [`request::Incoming`] → `routes/wrap.rs` picks the namespace ([`namespaces`]), checks the admin
//! token, routes it through [`endpoints::TABLE`] and runs the handler between the fault engine
//! ([`faults`]), the [`journal`] and the [`conformance`] observer → the handler in `routes/<area>.rs`
//! calls a named operation of [`App`] (`app.rs`), which locks the [`world`] for exactly its map
//! updates → the answer is serialised (and its tokens signed, [`jwt`]) after the lock is released.
//!
//! **Where is…**
//! - *an endpoint*: its row in `src/endpoints.rs` (method, paths and aliases, fault name, what it
//!   does); its handler is named in the `dispatch` match of `routes/mod.rs` (Wix's surface in
//!   `routes/{installer,oauth,oauth2,redirect_session,members,apps,bi_event,oauth_apps}.rs`, the admin API in
//!   `routes/admin/`, one file per resource: `clock`, `scenario`, `requests`, `faults`,
//!   `conformance`, `namespaces`, `tokens`, `webhooks`, `apps`, `instances`, `ui`); its rules in
//!   `world/` behind a named operation in `app.rs`.
//! - *a fault*: the spec format in `scenario/faults.rs` (its `match.endpoint` names are the fault
//!   names of `src/endpoints.rs`), the engine (which fire, what they do) in `faults.rs`, its place in
//!   a request in `routes/wrap.rs`; webhook delivery faults in `delivery.rs`.
//! - *an admin action*: `routes/admin/<resource>.rs`, and the `App` or [`namespaces::Namespaces`]
//!   method it calls.
//!
//! **Modules**
//! - [`request`] (leaf): [`request::Incoming`], `Params` (the body parsed once), `snake_case`,
//!   `strip_bearer`, `BODY_LIMIT`. [`endpoints`] (leaf): the one table of endpoints.
//! - [`error`] (leaf): [`WixError`], the one place that builds Wix error bodies.
//! - [`clock`]: the virtual clock, the only reader of the system clock (an atomic, no lock to read).
//!   [`ids`]: the one seeded random generator, the only reader of OS randomness.
//! - [`jwt`]: `OauthNG.JWS.<JWT>` access tokens, signed when first read and checked against the
//!   virtual clock. [`keys`]: per-app RS256 webhook keys. [`signed_instance`]: the `instance` codec.
//! - [`scenario`]: scenario files (YAML or JSON): types, loading, `file:line:col` checks, fault
//!   specs, the shipped library. [`schema`]: their JSON Schema. [`watch`]: reload on file change.
//! - [`world`]: the simulated Wix (apps, sites, instances, codes, grants, identities, members with
//!   credentials and their outbox (`world/members.rs`, `world/credentials.rs`), OAuth apps, Wix's
//!   query language, webhook events, the saved state of `world/saved.rs`). Its fields are private:
//!   the rest of the server calls its named operations and read-only views. Pure: no warp, no
//!   locks, every function takes `now`.
//!   [`redirect`] (leaf): redirect hygiene, the one check of every URL the mock redirects or posts to.
//! - [`app`]: [`App`], one namespace's state and its named operations, which own their lock scope.
//!   [`namespaces`]: [`namespaces::Namespaces`], the default namespace and the LRU of named ones.
//! - [`faults`], [`journal`], [`conformance`]: the engines around every request, fed the same
//!   `Incoming`. [`delivery`]: webhook delivery (signing, retries, the attempt log, delivery faults).
//! - [`routes`]: the HTTP surface (see above); [`pages`]: the HTML pages a person sees (their CSS and
//!   the dashboard's files are in `src/assets/`).
//! - [`server`]: the `serve` command, listeners (HTTP, HTTPS with [`tls`]), workers, autosave and
//!   shutdown; [`state_file`]: `--state-file` (the file around `world/saved.rs`). [`cli`]: the other commands; `main.rs` only
//!   dispatches; [`client`]: the HTTP GET the commands send.
//! - [`mock`]: library mode, [`WixMock`], for Rust tests.

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
pub mod openapi;
pub mod pages;
pub mod record;
pub mod redirect;
pub mod request;
pub mod routes;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod signed_instance;
pub mod state_file;
pub mod stubs;
pub mod tls;
pub mod watch;
pub mod world;

pub use app::{App, Overrides};
pub use error::WixError;
pub use mock::{MockNamespace, WixMock};
pub use scenario::Scenario;
