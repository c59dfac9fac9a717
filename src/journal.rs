//! The request journal: what the client under test sent, newest last, bounded, with secrets redacted.
//!
//! Like wiremock's `received_requests`, it lets a test verify what happened after the fact. Admin
//! calls (`/__admin/...`) are not journaled, so reading the journal does not change it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

/// How many requests the journal keeps; the oldest are dropped first.
pub const DEFAULT_CAPACITY: usize = 1000;

/// Query and body parameter names whose values never appear in the journal.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "client_secret",
    "clientSecret",
    "code",
    "code_verifier",
    "codeVerifier",
    "password",
    "refresh_token",
    "refreshToken",
    "secret",
    "token",
    "session_token",
    "sessionToken",
    "api_key",
    "apiKey",
];

/// What redacted values are replaced with.
pub const REDACTED: &str = "[redacted]";

/// One journaled request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number, from 1, never reused until a reset.
    pub id: u64,
    /// The `x-wix-request-id` the answer carried (what an SDK error quotes); empty for requests the
    /// mock answered without one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_id: String,
    /// When it arrived, on the virtual clock (RFC 3339).
    pub time: String,
    pub method: String,
    pub path: String,
    /// Query parameters, secrets redacted.
    pub query: BTreeMap<String, String>,
    /// Body fields (JSON object or form), secrets redacted; absent when there were none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, Value>,
    /// The status the mock answered with.
    pub status: u16,
    /// The faults that fired on this request, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// The stub that answered (or refused the caller), by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<String>,
    /// For a request no endpoint and no stub matched: the stubs that came closest, and why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub near_misses: Vec<crate::stubs::NearMiss>,
}

/// A request as answered, for [`Journal::record_full`].
#[derive(Debug)]
pub struct Answered<'a> {
    /// The answer's `x-wix-request-id`.
    pub request_id: String,
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    /// Body fields, not yet redacted.
    pub body: &'a BTreeMap<String, Value>,
    pub status: u16,
    /// Names of the faults that fired.
    pub faults: Vec<String>,
    /// The stub that answered, by name.
    pub stub: Option<String>,
    /// The nearest misses of an unmatched request.
    pub near_misses: Vec<crate::stubs::NearMiss>,
}

/// The bounded journal. Shared through [`crate::App`].
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Inner>,
    capacity: usize,
    /// Woken on every new entry, for `POST /__admin/requests/wait`.
    arrived: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Shared with the caller of [`Journal::record_full`], so recording costs no deep copy.
    entries: VecDeque<Arc<Entry>>,
}

impl Journal {
    /// An empty journal keeping at most `capacity` entries.
    pub fn new(capacity: usize) -> Journal {
        Journal {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            arrived: Notify::new(),
        }
    }

    /// Appends a request, dropping the oldest when full.
    pub fn record(&self, time: String, method: &str, path: &str, raw_query: &str, status: u16) {
        self.record_full(
            time,
            Answered {
                request_id: String::new(),
                method,
                path,
                raw_query,
                body: &BTreeMap::new(),
                status,
                faults: Vec::new(),
                stub: None,
                near_misses: Vec::new(),
            },
        );
    }

    /// Appends a request with its body fields (redacted here) and the faults that fired; returns
    /// the entry as stored.
    pub fn record_full(&self, time: String, answered: Answered<'_>) -> Arc<Entry> {
        let Answered {
            request_id,
            method,
            path,
            raw_query,
            body,
            status,
            faults,
            stub,
            near_misses,
        } = answered;
        let query = redact_query(raw_query);
        let body = body
            .iter()
            .map(|(k, v)| (k.clone(), redact_value(k, v)))
            .collect();
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        if inner.entries.len() == self.capacity {
            inner.entries.pop_front();
        }
        let entry = Arc::new(Entry {
            id,
            request_id,
            time,
            method: method.to_string(),
            path: path.to_string(),
            query,
            body,
            status,
            faults,
            stub,
            near_misses,
        });
        inner.entries.push_back(entry.clone());
        drop(inner);
        self.arrived.notify_waiters();
        entry
    }

    /// Resolves at the next new entry. Create it before checking, so no entry slips between.
    pub fn arrival(&self) -> tokio::sync::futures::Notified<'_> {
        self.arrived.notified()
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.inner
            .lock()
            .entries
            .iter()
            .map(|e| (**e).clone())
            .collect()
    }

    /// How many entries are kept (without copying them).
    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry (ids go on counting).
    pub fn clear(&self) {
        self.inner.lock().entries.clear();
    }

    /// Forgets every entry and restarts ids at 1.
    pub fn reset(&self) {
        *self.inner.lock() = Inner::default();
    }
}

/// Whether a parameter's value must never be shown.
pub fn is_secret(name: &str) -> bool {
    // Compared without case, `_` or `-`: `CLIENT_SECRET`, `client-secret`, `clientSecret` and the
    // folded `_c_l_i_e_n_t__s_e_c_r_e_t` are all the client secret (issue 18).
    let plain = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let name = plain(name);
    SECRET_PARAMS.iter().any(|s| plain(s) == name)
}

/// `value` with every secret-named field inside it redacted, at any depth.
fn redact_value(name: &str, value: &Value) -> Value {
    if is_secret(name) || is_secret(&crate::request::snake_case(name)) {
        return Value::String(REDACTED.to_string());
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_value(k, v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(name, v)).collect()),
        other => other.clone(),
    }
}

fn redact_query(raw: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| {
            let v = if is_secret(&k) {
                REDACTED.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_in_any_case_and_spelling() {
        for name in [
            "CLIENT_SECRET",
            "client-secret",
            "clientSecret",
            "_c_l_i_e_n_t__s_e_c_r_e_t",
            "api_key",
            "API-KEY",
            "access_token",
        ] {
            assert!(is_secret(name), "{name}");
        }
        assert!(!is_secret("client_id"));
    }

    #[test]
    fn secrets_in_the_query_are_redacted() {
        let j = Journal::new(10);
        j.record(
            "t".into(),
            "GET",
            "/installer/close-window",
            "access_token=abc&x=1",
            200,
        );
        let e = &j.entries()[0];
        assert_eq!(e.query["access_token"], REDACTED);
        assert_eq!(e.query["x"], "1");
    }

    #[test]
    fn the_journal_keeps_only_the_newest_entries() {
        let j = Journal::new(2);
        for i in 0..5 {
            j.record("t".into(), "GET", &format!("/{i}"), "", 200);
        }
        let paths: Vec<_> = j.entries().into_iter().map(|e| (e.id, e.path)).collect();
        assert_eq!(paths, vec![(4, "/3".to_string()), (5, "/4".to_string())]);
    }
}
