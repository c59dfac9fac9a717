//! Namespaces: independent copies of the mock on one server, so parallel test suites never meet.
//!
//! A request names its namespace with the `X-Wix-Mock-Namespace: NAME` header or the path prefix
//! `/__ns/NAME/...` (for browsers and clients that cannot add headers; the prefix is stripped before
//! routing). Each namespace is a whole [`App`] (world, clock, seed sequence, faults, journal,
//! conformance observer, webhook log), made on first use from the loaded scenario. Every namespace is
//! served by the same route tree: `routes/wrap.rs` picks the app. Requests without either go to the
//! default namespace. [`Namespaces`] holds them all; an [`App`] is exactly one.
//!
//! The registry is an LRU map bounded by [`DEFAULT_LIMIT`] (or `--max-namespaces`): making one more
//! namespace evicts the least recently used. Evicting is a delete; the next request under that name
//! starts again from the scenario. A request costs one header lookup and, in a namespace, one map
//! lookup under a short lock.
//!
//! This module owns naming and the registry; it must not know any route.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::app::App;
use crate::error::{FieldViolation, WixError};

pub use crate::request::{NAMESPACE_HEADER as HEADER, NAMESPACE_PREFIX as PREFIX};
/// How many namespaces live at once unless configured otherwise (`WIX_MOCK_MAX_NAMESPACES`).
pub const DEFAULT_LIMIT: usize = 256;
/// The longest namespace name.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a namespace name: 1 to 64 of `A-Z a-z 0-9 . _ -`, and not `.` or `..` (which a browser
/// would fold away in a path).
pub fn validate(name: &str) -> Result<(), WixError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(WixError::Validation(vec![FieldViolation::new(
            "namespace",
            "INVALID_FORMAT",
            format!(
                "a namespace name is 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 . _ - (not . or ..); got `{}`",
                name.chars().take(80).collect::<String>()
            ),
        )]))
    }
}

/// Every namespace of one server: the default one and the LRU registry of named ones. Cloning is
/// shallow. This is the handle the routes, the server and library mode hold; an [`App`] is exactly
/// one namespace.
#[derive(Clone)]
pub struct Namespaces {
    shared: Arc<Shared>,
}

struct Shared {
    /// The namespace of requests that name none; named namespaces are made from its scenario.
    default: App,
    /// Set once the server is stopping: long polls answer at once.
    stopping: tokio::sync::watch::Sender<bool>,
    limit: usize,
    state: Mutex<State>,
    /// The CA certificate (PEM) clients must trust for the HTTPS port, once `--tls` made one.
    tls_ca: std::sync::OnceLock<String>,
    /// Host names the admin API answers besides the ones always allowed (`--allowed-host`).
    allowed_hosts: std::sync::OnceLock<Vec<String>>,
}

#[derive(Default)]
struct State {
    /// Bumped on every use; an entry's `used` is the tick of its last use (the LRU order).
    tick: u64,
    entries: HashMap<String, Entry>,
    evicted: u64,
}

#[derive(Clone)]
struct Entry {
    app: App,
    used: u64,
}

/// One namespace as `GET /__admin/namespaces` lists it.
#[derive(Clone)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its app.
    pub app: App,
}

impl Namespaces {
    /// The namespaces of a server whose default namespace is `default`; at most
    /// `--max-namespaces` (from its overrides, [`DEFAULT_LIMIT`] when unset) named ones live at once.
    pub fn new(default: App) -> Namespaces {
        let limit = default.max_namespaces().unwrap_or(DEFAULT_LIMIT);
        Namespaces {
            shared: Arc::new(Shared {
                default,
                stopping: tokio::sync::watch::Sender::new(false),
                limit: limit.max(1),
                state: Mutex::new(State::default()),
                tls_ca: std::sync::OnceLock::new(),
                allowed_hosts: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Tells every long poll (`POST /__admin/requests/wait`) that the server is stopping.
    pub fn shut_down(&self) {
        self.shared.stopping.send_replace(true);
    }

    /// Resolves once [`Namespaces::shut_down`] was called (at once if it already was).
    pub async fn stopping(&self) {
        let mut rx = self.shared.stopping.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Records the CA certificate (PEM) of the HTTPS port, for `GET /__admin/tls/ca.pem`. Set once
    /// at start-up; a second call changes nothing.
    pub fn set_tls_ca(&self, pem: String) {
        let _ = self.shared.tls_ca.set(pem);
    }

    /// The CA certificate of the HTTPS port, when `--tls` issued the server certificate from one.
    pub fn tls_ca(&self) -> Option<&str> {
        self.shared.tls_ca.get().map(String::as_str)
    }

    /// Adds host names the admin API answers to (`--allowed-host`, the `--tls-host` names), besides
    /// IP addresses, `localhost`, names without a dot and Wix's own hosts. Set once at start-up.
    pub fn allow_hosts(&self, hosts: Vec<String>) {
        let hosts = hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect();
        let _ = self.shared.allowed_hosts.set(hosts);
    }

    /// The extra host names [`Namespaces::allow_hosts`] set.
    pub fn allowed_hosts(&self) -> &[String] {
        self.shared.allowed_hosts.get().map_or(&[], Vec::as_slice)
    }

    /// The default namespace.
    pub fn default_app(&self) -> &App {
        &self.shared.default
    }

    /// The app of namespace `name` (made on first use, marked used), as a request carrying
    /// `X-Wix-Mock-Namespace: name` would reach it. Fails for a bad name.
    pub fn in_namespace(&self, name: &str) -> Result<App, WixError> {
        validate(name)?;
        Ok(self.app(name))
    }

    /// Replaces the default namespace's scenario (already validated) and resets it; every live
    /// named namespace starts again from the new scenario, keeping its name and LRU place.
    pub fn replace_scenario(&self, scenario: crate::scenario::Scenario, origin: impl Into<String>) {
        self.shared.default.replace_scenario(scenario, origin);
        self.rebuild_all();
    }

    /// How many namespaces live at once.
    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// How many namespaces were evicted to make room since start.
    pub fn evicted(&self) -> u64 {
        self.shared.state.lock().evicted
    }

    /// The app of namespace `name` (validated by the caller), made from the default namespace on
    /// first use; marks it used.
    pub(crate) fn app(&self, name: &str) -> App {
        let parent = &self.shared.default;
        let mut state = self.shared.state.lock();
        state.tick += 1;
        let tick = state.tick;
        if let Some(entry) = state.entries.get_mut(name) {
            entry.used = tick;
            return entry.app.clone();
        }
        if state.entries.len() >= self.shared.limit {
            // O(n) over at most `limit` entries, and only when a namespace is made.
            if let Some(oldest) = state
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            {
                if let Some(gone) = state.entries.remove(&oldest) {
                    retire(&gone.app);
                }
                state.evicted += 1;
            }
        }
        // Made under the lock, so two first requests for one name cannot make two apps (a discarded
        // one could already have queued the scenario's webhooks).
        let entry = fresh(parent, name, tick);
        state.entries.insert(name.to_string(), entry.clone());
        entry.app
    }

    /// The app of namespace `name` if it lives, without marking it used.
    pub fn get(&self, name: &str) -> Option<App> {
        self.shared
            .state
            .lock()
            .entries
            .get(name)
            .map(|e| e.app.clone())
    }

    /// The live namespaces, most recently used first.
    pub fn list(&self) -> Vec<Listed> {
        let state = self.shared.state.lock();
        let mut entries: Vec<(&String, &Entry)> = state.entries.iter().collect();
        entries.sort_by_key(|(_, e)| std::cmp::Reverse(e.used));
        entries
            .into_iter()
            .map(|(name, e)| Listed {
                name: name.clone(),
                app: e.app.clone(),
            })
            .collect()
    }

    /// Deletes namespace `name`; the next request under that name starts from the scenario again.
    /// `false` if it did not live.
    pub fn remove(&self, name: &str) -> bool {
        let gone = self.shared.state.lock().entries.remove(name);
        match gone {
            Some(entry) => {
                retire(&entry.app);
                true
            }
            None => false,
        }
    }

    /// Deletes every namespace; returns how many there were.
    pub fn clear(&self) -> usize {
        let gone: Vec<Entry> = self
            .shared
            .state
            .lock()
            .entries
            .drain()
            .map(|(_, e)| e)
            .collect();
        for entry in &gone {
            retire(&entry.app);
        }
        gone.len()
    }

    /// Remakes every live namespace from the default one's (new) scenario, keeping names and LRU
    /// order.
    fn rebuild_all(&self) {
        let parent = &self.shared.default;
        let mut state = self.shared.state.lock();
        for (name, entry) in state.entries.iter_mut() {
            retire(&entry.app);
            *entry = fresh(parent, name, entry.used);
        }
    }
}

fn fresh(parent: &App, name: &str, used: u64) -> Entry {
    Entry {
        app: parent.for_namespace(name),
        used,
    }
}

/// Stops what a dropped namespace still runs in the background (webhook retries).
fn retire(app: &App) {
    app.webhooks().reset(&app.scenario());
}

/// Which namespace a request names: `None` for the default one, else the name (or why it is not
/// one) and the path with any `/__ns/NAME` prefix removed.
pub fn select(path: &str, header: Option<&str>) -> Option<Result<(String, String), WixError>> {
    let prefixed = path.strip_prefix(PREFIX).map(|rest| match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    });
    let (name, rest) = match (prefixed, header) {
        (None, None) => return None,
        (Some((name, rest)), None) => (name, rest),
        (None, Some(name)) => (name, path),
        (Some((a, rest)), Some(b)) if a == b => (a, rest),
        (Some((a, _)), Some(b)) => {
            return Some(Err(WixError::Validation(vec![FieldViolation::new(
                "namespace",
                "CONFLICT",
                format!(
                    "the path names namespace `{a}` but the {HEADER} header names `{}`",
                    b.chars().take(80).collect::<String>()
                ),
            )])));
        }
    };
    Some(validate(name).map(|()| (name.to_string(), rest.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_words() {
        for ok in ["a", "suite-1", "ci_run.42", &"x".repeat(64)] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü", "%41", &"x".repeat(65)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_prefix_or_the_header_selects_a_namespace() {
        assert!(select("/oauth/access", None).is_none());
        let ok = |p, h| select(p, h).unwrap().unwrap();
        assert_eq!(
            ok("/__ns/a/oauth/access", None),
            ("a".into(), "/oauth/access".into())
        );
        assert_eq!(ok("/__ns/a", None), ("a".into(), "/".into()));
        assert_eq!(
            ok("/oauth/access", Some("b")),
            ("b".into(), "/oauth/access".into())
        );
        assert_eq!(ok("/__ns/a/x", Some("a")), ("a".into(), "/x".into()));
        assert!(select("/__ns/a/x", Some("b")).unwrap().is_err());
        assert!(select("/__ns//x", None).unwrap().is_err());
        assert!(select("/x", Some("")).unwrap().is_err());
        // Only the exact prefix counts.
        assert!(select("/__nsa/x", None).is_none());
    }
}
