//! Library mode: start a mock inside a Rust test, in the style of wiremock-rs.
//!
//! [`WixMock::start`] binds `127.0.0.1:0`, serves a scenario on a background task, and stops when the
//! value is dropped. The admin actions are typed methods of [`MockNamespace`] that act on the running
//! mock directly, so a test needs no HTTP client to move the clock or read the journal. A `WixMock`
//! is its default namespace (it dereferences to one), and [`WixMock::namespace`] gives another, so
//! parallel tests can share one mock; the methods are written once, for both.

use std::net::SocketAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::app::{App, Overrides};
use crate::journal::Entry;
use crate::namespaces::Namespaces;
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
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    /// The default namespace, which the mock dereferences to.
    default: MockNamespace,
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
        let namespaces = Namespaces::new(App::new(scenario, "library", overrides));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(crate::server::run(
            listener,
            namespaces.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        Ok(WixMock {
            addr,
            shutdown: Some(tx),
            default: MockNamespace {
                namespaces,
                name: None,
                base: format!("http://{addr}"),
            },
        })
    }

    /// The socket address the mock listens on.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Every namespace of the mock, for anything the typed methods do not cover.
    pub fn namespaces(&self) -> &Namespaces {
        &self.default.namespaces
    }

    /// A handle on namespace `name`: its own state, clock, seed sequence, faults and journal, made on
    /// first use from the scenario. Point a client at its [`MockNamespace::uri`] (which carries the
    /// `/__ns/NAME` prefix), or send `X-Wix-Mock-Namespace: NAME` to the mock's own URI. Panics on a
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
    pub fn namespace(&self, name: &str) -> MockNamespace {
        if let Err(e) = crate::namespaces::validate(name) {
            panic!("{e}");
        }
        MockNamespace {
            namespaces: self.default.namespaces.clone(),
            base: format!("{}{}{name}", self.default.base, crate::namespaces::PREFIX),
            name: Some(name.to_string()),
        }
    }
}

impl std::ops::Deref for WixMock {
    type Target = MockNamespace;

    /// A mock is its default namespace.
    fn deref(&self) -> &MockNamespace {
        &self.default
    }
}

/// One namespace of a running [`WixMock`]: the default one (the mock itself) or a named one (see
/// [`WixMock::namespace`]). Each call reaches the namespace as it lives now, so a handle stays valid
/// across resets, deletion and eviction.
pub struct MockNamespace {
    namespaces: Namespaces,
    /// `None` for the default namespace.
    name: Option<String>,
    /// The URL its clients use: the mock's, plus `/__ns/NAME` for a named one.
    base: String,
}

impl MockNamespace {
    /// The base URL, e.g. `http://127.0.0.1:41234` (the default namespace, to use in place of
    /// `https://www.wixapis.com`) or `http://127.0.0.1:41234/__ns/suite-a`.
    pub fn uri(&self) -> String {
        self.base.clone()
    }

    /// Its name, the value of the `X-Wix-Mock-Namespace` header; empty for the default namespace.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The namespace's state handle (made now if it does not live), for anything the typed
    /// methods do not cover.
    pub fn app(&self) -> App {
        match &self.name {
            None => self.namespaces.default_app().clone(),
            // The name was validated when the handle was made.
            Some(name) => match self.namespaces.in_namespace(name) {
                Ok(app) => app,
                Err(e) => panic!("{e}"),
            },
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

    /// Back to the scenario's initial state: world, clock, seed and journal, this namespace only.
    pub fn reset(&self) {
        self.app().reset();
    }

    /// The namespace's request journal, oldest first, secrets redacted.
    pub fn received_requests(&self) -> Vec<Entry> {
        self.app().journal().entries()
    }

    /// What `GET /__admin/state` shows for this namespace.
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
