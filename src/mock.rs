//! Library mode: start a mock inside a Rust test, in the style of wiremock-rs.
//!
//! [`WixMock::start`] binds `127.0.0.1:0`, serves a scenario on a background task, and stops when the
//! value is dropped. The admin actions are typed methods that act on the running mock directly, so a
//! test needs no HTTP client to move the clock or read the journal. [`WixMock::namespace`] gives the
//! same methods for one namespace, so parallel tests can share one mock.

use std::net::SocketAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::app::{App, Overrides};
use crate::journal::Entry;
use crate::scenario::Scenario;

/// A running mock on a random local port. Dropping it shuts the server down.
///
/// ```
/// # #[tokio::main] async fn main() {
/// use wix_oauth_mock::{Scenario, WixMock};
///
/// let wix = WixMock::start(Scenario::default()).await;
/// assert!(wix.uri().starts_with("http://127.0.0.1:"));
///
/// // Point the client under test at `wix.uri()`, then steer and inspect the mock:
/// wix.advance_clock(301); // the legacy access token has expired now
/// assert!(wix.received_requests().is_empty());
/// # }
/// ```
pub struct WixMock {
    app: App,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl WixMock {
    /// Serves `scenario` with its own seed and clock settings. Panics if no local port can be bound,
    /// as a test helper should; see [`WixMock::try_start`] to handle that instead.
    pub async fn start(scenario: Scenario) -> WixMock {
        WixMock::try_start(scenario, Overrides::default())
            .await
            .expect("wix-oauth-mock could not bind 127.0.0.1:0")
    }

    /// Serves `scenario` on a deterministic footing: seed 42 and a clock frozen at `start`.
    pub async fn start_frozen(scenario: Scenario, start: DateTime<Utc>) -> WixMock {
        let overrides = Overrides {
            seed: Some(42),
            clock_start: Some(start),
            frozen: Some(true),
            ..Default::default()
        };
        WixMock::try_start(scenario, overrides)
            .await
            .expect("wix-oauth-mock could not bind 127.0.0.1:0")
    }

    /// Serves `scenario` with `overrides` on a random local port.
    pub async fn try_start(scenario: Scenario, overrides: Overrides) -> std::io::Result<WixMock> {
        let listener = crate::server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let app = App::new(scenario, "library", overrides);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(crate::server::run(listener, app.clone(), async move {
            let _ = rx.await;
        }));
        Ok(WixMock {
            app,
            addr,
            shutdown: Some(tx),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`, to use in place of `https://www.wixapis.com`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the mock listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state handle, for anything the typed methods do not cover.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        self.app.now()
    }

    /// Moves the virtual clock by `secs` seconds (negative moves back).
    pub fn advance_clock(&self, secs: i64) {
        self.app.clock().advance(Duration::seconds(secs));
    }

    /// Sets the virtual clock to `at`.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.app.clock().set(at);
    }

    /// Stops the virtual clock.
    pub fn freeze_clock(&self) {
        self.app.clock().freeze();
    }

    /// Back to the scenario's initial state: world, clock, seed and journal.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// The request journal, oldest first, secrets redacted.
    pub fn received_requests(&self) -> Vec<Entry> {
        self.app.journal().entries()
    }

    /// What `GET /__admin/state` shows.
    pub fn state(&self) -> Value {
        self.app.state()
    }

    /// A handle on namespace `name`: its own state, clock, seed sequence, faults and journal, made on
    /// first use from the scenario. Point a client at its [`MockNamespace::uri`] (which carries the
    /// `/__ns/NAME` prefix), or send `X-Wix-Mock-Namespace: NAME` to [`WixMock::uri`]. Panics on a
    /// bad name (1 to 64 of `A-Z a-z 0-9 . _ -`), as a test helper should.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use wix_oauth_mock::{Scenario, WixMock};
    ///
    /// let wix = WixMock::start(Scenario::default()).await;
    /// let suite = wix.namespace("suite-a");
    /// assert!(suite.uri().ends_with("/__ns/suite-a"));
    /// suite.advance_clock(3600); // only suite-a's clock moves
    /// assert!(suite.now() > wix.now());
    /// # }
    /// ```
    pub fn namespace(&self, name: &str) -> MockNamespace<'_> {
        if let Err(e) = crate::namespaces::validate(name) {
            panic!("{e}");
        }
        MockNamespace {
            mock: self,
            name: name.to_string(),
        }
    }
}

/// One namespace of a running [`WixMock`] (see [`WixMock::namespace`]). Each call reaches the
/// namespace as it lives now, so a handle stays valid across resets, deletion and eviction.
pub struct MockNamespace<'a> {
    mock: &'a WixMock,
    name: String,
}

impl MockNamespace<'_> {
    /// The namespace's base URL, e.g. `http://127.0.0.1:41234/__ns/suite-a`.
    pub fn uri(&self) -> String {
        format!(
            "{}{}{}",
            self.mock.uri(),
            crate::namespaces::PREFIX,
            self.name
        )
    }

    /// Its name, the value of the `X-Wix-Mock-Namespace` header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's state handle (made now if it does not live).
    pub fn app(&self) -> App {
        // The name was validated when the handle was made, and the mock's app is the default one.
        match self.mock.app.in_namespace(&self.name) {
            Ok(app) => app,
            Err(e) => panic!("{e}"),
        }
    }

    /// The namespace's virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        self.app().now()
    }

    /// Moves the namespace's clock by `secs` seconds (negative moves back).
    pub fn advance_clock(&self, secs: i64) {
        self.app().clock().advance(Duration::seconds(secs));
    }

    /// Sets the namespace's clock to `at`.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.app().clock().set(at);
    }

    /// Stops the namespace's clock.
    pub fn freeze_clock(&self) {
        self.app().clock().freeze();
    }

    /// Back to the scenario's initial state, this namespace only.
    pub fn reset(&self) {
        self.app().reset();
    }

    /// The namespace's request journal, oldest first, secrets redacted.
    pub fn received_requests(&self) -> Vec<Entry> {
        self.app().journal().entries()
    }

    /// What `GET /__ns/NAME/__admin/state` shows.
    pub fn state(&self) -> Value {
        self.app().state()
    }
}

impl Drop for WixMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
