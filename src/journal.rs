//! The request journal: what the client under test sent, newest last, bounded, with secrets redacted.
//!
//! Like wiremock's `received_requests`, it lets a test verify what happened after the fact. Admin
//! calls (`/__admin/...`) are not journaled, so reading the journal does not change it.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

// `text` as a JSON string, as serde_json writes it; names and ids, which need no escaping, are
// copied (serde_json's writer per name and value was 1 % of a token request, issue 13).
use crate::jwt::write_json_str as json_str;
use crate::request::{Field, Params};

/// How many requests the journal keeps; the oldest are dropped first.
pub const DEFAULT_CAPACITY: usize = 1000;

/// Query and body parameter names whose values never appear in the journal ([`is_secret`] compares
/// their folded forms; a test keeps the two in step).
#[cfg(test)]
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
    // Members (issue 14): a new password, and the links and states that stand for a login.
    "new_password",
    "recovery_token",
    "state_token",
];

/// What redacted values are replaced with.
pub const REDACTED: &str = "[redacted]";

/// The longest string value (query or body) kept whole; longer ones keep this many bytes and say how
/// many were cut. Wix's request fields are ids, URLs, tokens and short texts: 1 KiB shows them all.
pub const FIELD_MAX: usize = 1024;
/// The body bytes one entry keeps (about); fields past it are replaced by one `…` field saying how
/// many were left out. With [`FIELD_MAX`], an entry costs a few KiB whatever the client sends.
pub const ENTRY_BODY_MAX: usize = 4 * 1024;
/// Journal bytes one namespace keeps by default (`--journal-max-bytes`).
pub const DEFAULT_NAMESPACE_BYTES: usize = 2 * 1024 * 1024;
/// Journal bytes every namespace together keeps by default (`--journal-total-bytes`).
pub const DEFAULT_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// The memory the journals of one server may hold: per namespace, and all together. Shared by every
/// namespace's journal (cheap to clone); entries are evicted oldest first, in the namespace that
/// records, until both fit. Sizes are estimates of the heap an entry holds, not exact.
#[derive(Debug)]
pub struct Budget {
    /// Bytes one namespace's journal may hold.
    pub per_namespace: usize,
    /// Bytes all journals together may hold (one entry per namespace may overshoot it).
    pub total: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `per_namespace` bytes per journal and `total` for all of them.
    pub fn new(per_namespace: usize, total: usize) -> Arc<Budget> {
        Arc::new(Budget {
            per_namespace: per_namespace.max(1),
            total: total.max(1),
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes the journals hold now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            per_namespace: DEFAULT_NAMESPACE_BYTES,
            total: DEFAULT_TOTAL_BYTES,
            used: AtomicUsize::new(0),
        }
    }
}

/// When a request arrived: kept as the instant, written as RFC 3339 (milliseconds, `Z`) only when
/// the journal is read.
pub use crate::ids::{RequestId, Stamp};

/// A method's name as an entry keeps it: borrowed for the methods every client sends.
fn method_name(method: &str) -> Cow<'static, str> {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    match STANDARD.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.to_string()),
    }
}

/// One journaled request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number, from 1, never reused until a reset.
    pub id: u64,
    /// The `x-wix-request-id` the answer carried (what an SDK error quotes); empty for requests the
    /// mock answered without one.
    #[serde(skip_serializing_if = "RequestId::is_empty")]
    pub request_id: RequestId,
    /// When it arrived, on the virtual clock (RFC 3339 with milliseconds when serialised).
    pub time: Stamp,
    /// The method; the standard ones are not copied per entry.
    pub method: Cow<'static, str>,
    /// The path as received; an endpoint's literal path is not copied per entry.
    pub path: Cow<'static, str>,
    /// Query parameters, secrets redacted.
    pub query: BTreeMap<String, String>,
    /// Body fields (JSON object or form), secrets redacted; absent when there were none.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub body: Fields,
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

/// A journaled request's body fields: redacted and cut when recorded, and kept as one JSON object
/// text, so an entry is a handful of allocations instead of one per field and value. The journal
/// holds thousands of entries, and freeing the oldest (long out of the cache) cost a token request
/// more than recording the new one (issue 13). Serialised as the JSON object it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(String);

impl Fields {
    /// Whether the request had no body fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields by name (the object the admin API shows).
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        if self.0.is_empty() {
            return BTreeMap::new();
        }
        // Written by `redact_body` as a JSON object: this cannot fail.
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// One field's (redacted) value.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.to_map().remove(name)
    }

    /// The fields as JSON object text (empty when there are none).
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

/// A request as answered, for [`Journal::record_full`].
#[derive(Debug)]
pub struct Answered<'a> {
    /// The answer's `x-wix-request-id`.
    pub request_id: RequestId,
    pub method: &'a str,
    /// Borrowed from the endpoint table when it is one of its literal paths (no copy per request).
    pub path: Cow<'static, str>,
    pub raw_query: &'a str,
    /// Body fields, not yet redacted.
    pub body: &'a Params,
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
    budget: Arc<Budget>,
    /// Woken on every new entry, for `POST /__admin/requests/wait`.
    arrived: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Shared with the caller of [`Journal::record_full`], so recording costs no deep copy; each
    /// with its estimated size.
    entries: VecDeque<(Arc<Entry>, usize)>,
    /// The sum of the sizes of `entries`.
    bytes: usize,
}

impl Inner {
    fn pop_oldest(&mut self, budget: &Budget) -> bool {
        match self.entries.pop_front() {
            Some((_, size)) => {
                self.bytes -= size;
                budget.used.fetch_sub(size, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    fn forget_all(&mut self, budget: &Budget) {
        budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
        self.entries.clear();
        self.bytes = 0;
    }
}

impl Drop for Journal {
    /// A deleted namespace gives its bytes back to the server's budget.
    fn drop(&mut self) {
        self.inner.get_mut().forget_all(&self.budget);
    }
}

impl Journal {
    /// An empty journal keeping at most `capacity` entries, within the default byte budget.
    pub fn new(capacity: usize) -> Journal {
        Journal::with_budget(capacity, Arc::new(Budget::default()))
    }

    /// An empty journal keeping at most `capacity` entries and what `budget` allows.
    pub fn with_budget(capacity: usize, budget: Arc<Budget>) -> Journal {
        Journal {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            budget,
            arrived: Notify::new(),
        }
    }

    /// Bytes this journal holds (estimated).
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }

    /// The server-wide budget this journal counts against.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Appends a request, dropping the oldest when full.
    pub fn record(&self, time: Stamp, method: &str, path: &str, raw_query: &str, status: u16) {
        self.record_full(
            time,
            Answered {
                request_id: RequestId::default(),
                method,
                path: Cow::Owned(path.to_string()),
                raw_query,
                body: &Params::default(),
                status,
                faults: Vec::new(),
                stub: None,
                near_misses: Vec::new(),
            },
        );
    }

    /// Appends a request with its body fields (redacted here) and the faults that fired; returns
    /// the entry as stored.
    pub fn record_full(&self, time: Stamp, answered: Answered<'_>) -> Arc<Entry> {
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
        let body = redact_body(body);
        let size = 160
            + 24 // the time, as it is written
            + method.len()
            + path.len().min(FIELD_MAX)
            + query
                .iter()
                .map(|(k, v)| 48 + k.len() + v.len())
                .sum::<usize>()
            + body.0.capacity()
            + faults.iter().map(|f| 24 + f.len()).sum::<usize>()
            + stub.as_ref().map_or(0, |s| 24 + s.len())
            + near_misses
                .iter()
                .map(|m| {
                    96 + m.stub.len()
                        + m.request.len()
                        + m.why.iter().map(|w| 24 + w.len()).sum::<usize>()
                })
                .sum::<usize>();
        let budget = &*self.budget;
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        while inner.entries.len() >= self.capacity
            || inner.bytes + size > budget.per_namespace
            || budget.used() + size > budget.total
        {
            if !inner.pop_oldest(budget) {
                break;
            }
        }
        let entry = Arc::new(Entry {
            id,
            request_id,
            time,
            method: method_name(method),
            path: match truncated(&path) {
                Cow::Borrowed(_) => path,
                Cow::Owned(cut) => Cow::Owned(cut),
            },
            query,
            body,
            status,
            faults,
            stub,
            near_misses,
        });
        inner.entries.push_back((entry.clone(), size));
        inner.bytes += size;
        budget.used.fetch_add(size, Ordering::Relaxed);
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
            .map(|(e, _)| (**e).clone())
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
        self.inner.lock().forget_all(&self.budget);
    }

    /// Forgets every entry and restarts ids at 1.
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        inner.forget_all(&self.budget);
        inner.next_id = 0;
    }
}

/// Whether a parameter's value must never be shown.
pub fn is_secret(name: &str) -> bool {
    // The names token requests send, as the body's map keeps them: decided without folding (the
    // fold was 0.8 % of a token request's instructions, issue 13). A test checks each against the
    // fold.
    match name {
        "grant_type" | "client_id" | "instance_id" | "redirect_uri" | "scope" | "state" => false,
        "client_secret" | "code" | "code_verifier" | "refresh_token" | "access_token" | "token" => {
            true
        }
        _ => is_secret_folded(name),
    }
}

/// [`is_secret`] for any spelling.
fn is_secret_folded(name: &str) -> bool {
    // Compared without case, `_` or `-`: `CLIENT_SECRET`, `client-secret`, `clientSecret` and the
    // folded `_c_l_i_e_n_t__s_e_c_r_e_t` are all the client secret (issue 18). The name is folded
    // once onto the stack and compared with the folded names as byte slices: it runs for every
    // parameter of every journaled request (issue 13's profile had an allocating version at 13 %
    // of a token request, then a per-entry folding one at 1.5 %). `_` and `-` never occur inside a
    // UTF-8 multi-byte sequence, so skipping them byte-wise is the same as skipping them char-wise.
    fn fold(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|c| *c != b'_' && *c != b'-')
            .map(|c| c.to_ascii_lowercase())
    }
    let mut buf = [0u8; 32];
    let mut len = 0;
    for c in fold(name) {
        // Longer than any secret's name.
        if len == buf.len() {
            return false;
        }
        buf[len] = c;
        len += 1;
    }
    // SECRET_PARAMS folded (a test holds the two lists together): one comparison by length and
    // bytes, where walking the folded list compared up to 18 (about 1 % of a token request).
    matches!(
        &buf[..len],
        b"accesstoken"
            | b"clientsecret"
            | b"code"
            | b"codeverifier"
            | b"password"
            | b"refreshtoken"
            | b"secret"
            | b"token"
            | b"sessiontoken"
            | b"apikey"
            | b"newpassword"
            | b"recoverytoken"
            | b"statetoken"
    )
}

/// `value` with every secret-named field inside it redacted and every long string cut, at any
/// depth; at most about `room` bytes of it are kept (`room` is reduced by what is kept).
fn redact_value(name: &str, value: &Value, room: &mut usize) -> Value {
    // `snake_case` only inserts `_` and lowers letters, which `is_secret` ignores: no need to fold.
    if is_secret(name) {
        return Value::String(REDACTED.to_string());
    }
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            let mut left_out = 0;
            for (k, v) in map {
                if *room == 0 {
                    left_out += 1;
                    continue;
                }
                *room = room.saturating_sub(k.len().min(FIELD_MAX));
                out.insert(truncated(k).into_owned(), redact_value(k, v, room));
            }
            if left_out > 0 {
                out.insert(
                    "…".into(),
                    Value::String(format!("[{left_out} more fields not kept]")),
                );
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for v in items {
                if *room == 0 {
                    out.push(Value::String(format!(
                        "[{} more items not kept]",
                        items.len() - out.len()
                    )));
                    break;
                }
                out.push(redact_value(name, v, room));
            }
            Value::Array(out)
        }
        Value::String(s) => {
            let kept = truncated(s).into_owned();
            *room = room.saturating_sub(kept.len());
            Value::String(kept)
        }
        other => {
            *room = room.saturating_sub(8);
            other.clone()
        }
    }
}

/// Body fields as the journal keeps them: redacted and cut to [`ENTRY_BODY_MAX`] bytes, written
/// straight into one JSON object text (no intermediate map).
fn redact_body(body: &Params) -> Fields {
    if body.is_empty() {
        return Fields::default();
    }
    let mut room = ENTRY_BODY_MAX;
    // Room for names and short values as they usually come (a token request's ids are 36 bytes):
    // growing mid-way was a realloc per journaled request.
    let mut out: Vec<u8> = Vec::with_capacity(2 + body.len() * 64);
    out.push(b'{');
    let mut left_out = 0;
    for (k, v) in body.fields() {
        if room == 0 {
            left_out += 1;
            continue;
        }
        room = room.saturating_sub(k.len().min(FIELD_MAX));
        if out.len() > 1 {
            out.push(b',');
        }
        json_str(&mut out, &truncated(k));
        out.push(b':');
        match v {
            _ if is_secret(k) => json_str(&mut out, REDACTED),
            Field::Text(text) => {
                let kept = truncated(text);
                room = room.saturating_sub(kept.len());
                json_str(&mut out, &kept);
            }
            Field::Other(other) => {
                // Writing to a Vec cannot fail.
                let _ = serde_json::to_writer(&mut out, &redact_value(k, other, &mut room));
            }
        }
    }
    if left_out > 0 {
        // `…` sorts after every ASCII name, where the map kept it.
        if out.len() > 1 {
            out.push(b',');
        }
        json_str(&mut out, "…");
        out.push(b':');
        json_str(&mut out, &format!("[{left_out} more fields not kept]"));
    }
    out.push(b'}');
    // serde_json writes UTF-8 only.
    // Kept at the capacity it was written in: shrinking it was a realloc per request (issue 13).
    Fields(String::from_utf8(out).unwrap_or_default())
}

/// `s`, or its first [`FIELD_MAX`] bytes (on a character boundary) and how many were cut.
fn truncated(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= FIELD_MAX {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = FIELD_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{}…[{} more bytes not kept]",
        &s[..end],
        s.len() - end
    ))
}

fn redact_query(raw: &str) -> BTreeMap<String, String> {
    let mut room = ENTRY_BODY_MAX;
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if room == 0 {
            out.insert("…".into(), "[more parameters not kept]".into());
            break;
        }
        let v = if is_secret(&k) {
            REDACTED.to_string()
        } else {
            truncated(&v).into_owned()
        };
        let k = truncated(&k).into_owned();
        room = room.saturating_sub(k.len() + v.len());
        out.insert(k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Stamp = Stamp(chrono::DateTime::UNIX_EPOCH);

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
        // Near misses: a prefix, a longer name, one past the folding buffer, and non-ASCII.
        for name in [
            "client_secre",
            "client_secrets",
            "codes",
            "",
            &"x".repeat(40),
            "cödé",
        ] {
            assert!(!is_secret(name), "{name}");
        }
        assert!(is_secret(&format!("{}code", "_".repeat(40))));
    }

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "client_id",
            "a\"b",
            "back\\slash",
            "\u{1}\n\t",
            "é 😀 \u{7f}",
            "/ok",
        ] {
            let mut out = Vec::new();
            json_str(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn secrets_in_the_query_are_redacted() {
        let j = Journal::new(10);
        j.record(
            T0,
            "GET",
            "/installer/close-window",
            "access_token=abc&x=1",
            200,
        );
        let e = &j.entries()[0];
        assert_eq!(e.query["access_token"], REDACTED);
        assert_eq!(e.query["x"], "1");
    }

    fn big_body(n: usize) -> BTreeMap<String, Value> {
        let mut body = BTreeMap::new();
        for i in 0..n {
            body.insert(format!("field{i}"), Value::String("x".repeat(64 * 1024)));
        }
        body
    }

    fn record_body(j: &Journal, body: &BTreeMap<String, Value>) -> Arc<Entry> {
        let body = Params::parse(&serde_json::to_vec(body).unwrap()).unwrap();
        j.record_full(
            T0,
            Answered {
                request_id: RequestId::default(),
                method: "POST",
                path: Cow::Borrowed("/oauth2/token"),
                raw_query: "",
                body: &body,
                status: 400,
                faults: Vec::new(),
                stub: None,
                near_misses: Vec::new(),
            },
        )
    }

    #[test]
    fn a_huge_body_is_kept_as_a_few_kib_with_markers_saying_what_was_cut() {
        let j = Journal::new(10);
        let entry = record_body(&j, &big_body(20));
        let body = entry.body.to_map();
        let first = body["field0"].as_str().unwrap();
        assert!(first.len() < FIELD_MAX + 40, "{}", first.len());
        assert!(
            first.ends_with("…[64512 more bytes not kept]"),
            "{}",
            &first[FIELD_MAX..]
        );
        assert_eq!(body["…"], "[16 more fields not kept]");
        assert!(j.bytes() < 2 * ENTRY_BODY_MAX, "{}", j.bytes());
    }

    #[test]
    fn journals_sharing_a_budget_evict_their_oldest_to_stay_within_it() {
        let budget = Budget::new(20_000, 30_000);
        let a = Journal::with_budget(1000, budget.clone());
        let b = Journal::with_budget(1000, budget.clone());
        for _ in 0..100 {
            record_body(&a, &big_body(1));
            record_body(&b, &big_body(1));
        }
        assert!(a.bytes() <= 20_000 && b.bytes() <= 20_000);
        assert!(
            budget.used() <= 30_000 + 2 * 2 * FIELD_MAX,
            "{}",
            budget.used()
        );
        assert_eq!(budget.used(), a.bytes() + b.bytes());
        assert!(!a.is_empty() && !b.is_empty());
        // The newest entry survives, the ids go on.
        assert_eq!(b.entries().last().unwrap().id, 100);
        drop(a);
        assert_eq!(
            budget.used(),
            b.bytes(),
            "a dropped journal gives its bytes back"
        );
        b.reset();
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_common_names_are_decided_as_their_fold_decides_them() {
        for name in [
            "grant_type",
            "client_id",
            "instance_id",
            "redirect_uri",
            "scope",
            "state",
            "client_secret",
            "code",
            "code_verifier",
            "refresh_token",
            "access_token",
            "token",
        ] {
            assert_eq!(is_secret(name), is_secret_folded(name), "{name}");
        }
    }

    #[test]
    fn is_secret_knows_exactly_the_listed_names_in_every_spelling() {
        let folded: std::collections::BTreeSet<String> = SECRET_PARAMS
            .iter()
            .map(|s| s.replace(['_', '-'], "").to_ascii_lowercase())
            .collect();
        // As many spellings in `is_secret`'s match as folded names here: none missing, none extra.
        assert_eq!(folded.len(), 13);
        for name in SECRET_PARAMS {
            assert!(is_secret(name), "{name}");
            assert!(is_secret(&name.to_ascii_uppercase()), "{name}");
            assert!(is_secret(&name.replace('_', "-")), "{name}");
            assert!(!is_secret(&format!("{name}x")), "{name}x");
        }
        for name in [
            "grant_type",
            "client_id",
            "instance_id",
            "codes",
            "",
            "tokens",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn the_journal_keeps_only_the_newest_entries() {
        let j = Journal::new(2);
        for i in 0..5 {
            j.record(T0, "GET", &format!("/{i}"), "", 200);
        }
        let paths: Vec<_> = j
            .entries()
            .into_iter()
            .map(|e| (e.id, e.path.to_string()))
            .collect();
        assert_eq!(paths, vec![(4, "/3".to_string()), (5, "/4".to_string())]);
    }
}
