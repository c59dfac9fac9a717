//! The conformance report: protocol violations the mock saw the client under test commit, each
//! with the requests that show it, plus the scenario's `expect:` checks as pass/fail.
//!
//! The observer sees every non-admin request after it was answered (journal entry, parsed request,
//! status, answer body, what the faults did). It keeps only what later checks need: which codes
//! were exchanged or delivered with a bad `state`, which tokens were refused as expired, when a
//! `Retry-After` ends, the last token of each grant. Raw codes and tokens are kept in memory to
//! correlate requests and are never shown: reports carry journal entries, which are redacted.
//!
//! Which behaviours count as violations, and which only as warnings, is a choice (INFERRED from
//! RFC 6749/7636/9700 and Wix's docs, docs/fidelity.md I-30); each kind documents why it is one, and
//! docs/conformance.md lists them all. A rule never fires on behaviour Wix documents as correct.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

use crate::faults::{Applied, matches, redirect_params};
use crate::journal::Entry;
use crate::request::Incoming;
use crate::scenario::Scenario;
use crate::scenario::faults::StateMode;
use crate::world::World;

/// How long before expiry a refresh still counts as timely (INFERRED: a minute of leeway, I-31).
const REFRESH_LEEWAY_SECS: i64 = 60;
/// How many early tokens for one grant, within [`WASTEFUL_WINDOW`] of real time, make a tight loop
/// (INFERRED, I-31): a client that builds a fresh SDK client per request stays well below it, a
/// loop that asks for a token before every call does not. Wix limits an instance to 200 requests a
/// minute (F-05), so such a loop is what gets throttled first.
const WASTEFUL_BURST: u32 = 10;
/// The real-time window of `WASTEFUL_BURST`; real time because tests often freeze the virtual clock.
const WASTEFUL_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// Wrong passwords for one e-mail within [`WASTEFUL_WINDOW`] that make a retry loop (INFERRED,
/// docs/fidelity.md I-67): a person mistyping stays below it.
const MEMBER_WRONG_PASSWORD_BURST: u32 = 5;
/// Violations kept; later ones are counted but not listed.
const MAX_VIOLATIONS: usize = 500;

/// A kind of protocol violation.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A code was exchanged although its redirect carried a tampered, replayed or missing `state`:
    /// the client did not check it (Wix: "the app should abort on a state mismatch").
    StateNotChecked,
    /// The install flow was started without `state` (no CSRF protection). Warning.
    InstallWithoutState,
    /// The same authorization code was exchanged twice (RFC 6749 §4.1.2: single use).
    CodeReused,
    /// `client_secret` sent in a URL, where logs and proxies keep it.
    SecretInUrl,
    /// `client_secret` sent by a browser (`Origin` header): the secret is in front-end code.
    SecretFromBrowser,
    /// An access token used again after the mock refused it as expired, instead of refreshing.
    ExpiredTokenReused,
    /// A tight loop: `WASTEFUL_BURST` new tokens of one `/oauth2/token` grant within a minute,
    /// each while the last was valid for more than a minute. Warning. Only successful requests
    /// count, and never `/oauth/access` refreshes: Wix's docs say to "request a new access token
    /// every time you call an API" there, and the SDK's AppStrategy does exactly that (F-14).
    WastefulRefresh,
    /// A request sent while a `Retry-After` from a 429/503 on the same path was still running.
    IgnoredRetryAfter,
    /// An instance installed in this run never sent `APP_FINISHED_CONFIGURATION` although its app
    /// did for another instance. Warning. Wix: once an app has sent it, every new install shows
    /// "Setup incomplete" until that instance sends it (F-30); an app that never sends it has no
    /// setup step, so its instances are never reported.
    SetupNotFinished,
    /// PKCE with `code_challenge_method=plain` (RFC 9700 §2.1.1: use S256).
    PkcePlain,
    /// A public client's code exchange without `code_verifier` (RFC 7636).
    PkceMissingVerifier,
    /// A Wix API (a stub) called with a token of a kind it does not accept, e.g. an app token
    /// where the API needs a member's (issue 15).
    WrongIdentityKind,
    /// A Wix API (a stub) called by an app that never asked for any of the scopes it needs: no
    /// token of that app can ever succeed (issue 15).
    ScopeNeverRequested,
    /// A Wix API (a stub) called with an access token past the `expires_in` it came with, instead
    /// of refreshing first. Warning: the 401 tells the client, and the SDK recovers (issue 15).
    ExpiredTokenSent,
    /// A member's `sessionToken` presented a second time (direct login or `authorized_client`):
    /// it is single use (docs/fidelity.md I-60).
    SessionTokenReused,
    /// `login` again for a member whose last answer was `REQUIRE_EMAIL_VERIFICATION`, instead of
    /// `processVerification` with the e-mailed code: every such login e-mails another code.
    LoginInsteadOfVerify,
    /// `MEMBER_WRONG_PASSWORD_BURST` wrong passwords for one e-mail within a minute of real time: a
    /// retry loop that only locks the member out (`resetPassword`). Warning.
    WrongPasswordLoop,
    /// A member-login redirect session (direct login's included) sent with the visitor token of
    /// another OAuth app than the `clientId` it names.
    ForeignVisitorToken,
}

impl Kind {
    /// Whether this kind fails the report (warnings are listed but pass).
    pub fn severity(self) -> Severity {
        match self {
            Kind::InstallWithoutState
            | Kind::WastefulRefresh
            | Kind::SetupNotFinished
            | Kind::ExpiredTokenSent
            | Kind::WrongPasswordLoop => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Whether a violation fails the report.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One violation, with the requests that show it (journal entries, redacted).
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub kind: Kind,
    pub severity: Severity,
    pub message: String,
    pub requests: Vec<Entry>,
}

/// One `expect:` check.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectationResult {
    pub name: String,
    pub count: u64,
    pub min: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    pub passed: bool,
}

/// What `GET /__admin/conformance` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No error-severity violation and every expectation met.
    pub passed: bool,
    pub errors: usize,
    pub warnings: usize,
    /// Violations beyond the listed ones (the list is bounded).
    pub unlisted: usize,
    pub violations: Vec<Violation>,
    pub expectations: Vec<ExpectationResult>,
}

/// Everything the observer needs about one answered request.
pub struct Observed<'a> {
    pub entry: &'a Entry,
    pub req: &'a Incoming,
    pub status: u16,
    pub headers: &'a warp::http::HeaderMap,
    pub body: &'a [u8],
    pub applied: &'a Applied,
    pub now: DateTime<Utc>,
    /// Real (monotonic) time, for `Retry-After`, which a client honours by waiting for real.
    pub instant: tokio::time::Instant,
    /// Why a stub refused the caller, when one did (issue 15).
    pub refusal: Option<crate::stubs::Refusal>,
    /// The tokens the answer carries, as the handler issued them; `None` when the handler issued
    /// none or a fault rewrote the body (then the body is read instead).
    pub issued: Option<&'a Issued>,
}

pub use crate::request::Issued;

#[derive(Debug, Default)]
struct State {
    violations: Vec<Violation>,
    unlisted: usize,
    /// Code → how its redirect's state was spoiled, and the redirect's entry.
    tainted: Recent<(StateMode, Entry)>,
    /// Code → instance, from install redirects.
    code_instance: Recent<String>,
    /// Code → its first exchange.
    exchanged: Recent<Entry>,
    /// Instances installed in this run → the code exchange that completed the install.
    installed: BTreeMap<String, Entry>,
    /// Access tokens the mock refused as expired → that first refusal.
    expired: Recent<Entry>,
    /// Grant (refresh token, or client + instance) → the last access token issued and its expiry.
    /// (The token is the handler's own, shared: no copy of its ~700 bytes per request.)
    last_token: Recent<(crate::jwt::Token, DateTime<Utc>)>,
    /// Grant → (start of the current burst of early tokens, how many so far).
    early: Recent<(tokio::time::Instant, u32)>,
    /// Path → (virtual time, real time, seconds, the 429/503 entry).
    retry_after: Recent<(DateTime<Utc>, tokio::time::Instant, u64, Entry)>,
    /// Per `expect:` item, how many requests matched.
    counts: Vec<u64>,
    /// Member session tokens → their first use.
    session_tokens: Recent<Entry>,
    /// E-mail (lower case) → the answer that asked for its verification code.
    awaiting_code: Recent<Entry>,
    /// E-mail (lower case) → (start of the current burst of wrong passwords, how many).
    wrong_passwords: Recent<(tokio::time::Instant, u32)>,
}

/// Whether an answer's body names an `"access_token"` (and may therefore hold one).
fn names_access_token(body: &[u8]) -> bool {
    // Every 200 answer a handler did not hand a token for is searched (an 18 KB query page
    // compared window by window was 14 % of its CPU). The searcher for the one needle is built
    // once, not per answer (callgrind: no measurable difference on a protected call's 2 bytes).
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"access_token\""));
    FINDER.find(body).is_some()
}

/// How many codes, tokens or grants each of the observer's maps remembers at least (at most twice
/// as many): a load test mints millions, and memory must stay flat (issue 8). An entry holds a
/// token or two (about 1.5 KiB), so 10 000 of them cost 30 MiB in the soak; 1 000 cost 3.
const MAX_TRACKED: usize = 1_000;

/// A map that keeps at least the newest [`MAX_TRACKED`] keys: when the current generation is full it
/// becomes the previous one, and the one before is dropped. Unlike evicting an arbitrary `HashMap`
/// key this is deterministic, and a lookup is two probes. A client that reuses a code more than
/// `MAX_TRACKED` exchanges later is no longer caught, which no real test does.
///
/// Hashed with foldhash rather than std's SipHash: the observer hashes a grant key or a path four to
/// six times per request, and SipHash over those ~80 bytes was 2 % of a token request's
/// instructions (issue 13). Its seed is per process, as std's is; no report depends on map order.
#[derive(Debug)]
struct Recent<V> {
    current: foldhash::HashMap<String, V>,
    previous: foldhash::HashMap<String, V>,
}

impl<V> Default for Recent<V> {
    fn default() -> Self {
        Recent {
            current: foldhash::HashMap::default(),
            previous: foldhash::HashMap::default(),
        }
    }
}

impl<V> Recent<V> {
    fn get(&self, key: &str) -> Option<&V> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }

    /// Keeps `value` under `key` in the newest generation. A key already there is updated in place:
    /// one probe and no new key, where a token request's two updates (the grant's last token, its
    /// burst) each hashed the key three times and copied it (issue 13). A key is never in both
    /// generations, so nothing is left behind in `previous`.
    fn insert<K: AsRef<str> + Into<String>>(&mut self, key: K, value: V) {
        if let Some(slot) = self.current.get_mut(key.as_ref()) {
            *slot = value;
            return;
        }
        let key = key.into();
        self.previous.remove(&key);
        if self.current.len() >= MAX_TRACKED {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, value);
    }

    fn remove(&mut self, key: &str) -> Option<V> {
        self.current
            .remove(key)
            .or_else(|| self.previous.remove(key))
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.current.values_mut().chain(self.previous.values_mut())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// The observer. Shared through [`crate::App`].
#[derive(Debug, Default)]
pub struct Conformance {
    inner: Mutex<State>,
}

impl Conformance {
    /// Forgets everything observed (reset and scenario reload).
    pub fn reset(&self) {
        *self.inner.lock() = State::default();
    }

    /// Looks at one answered request.
    pub fn observe(&self, o: Observed<'_>, scenario: &Scenario) {
        let mut s = self.inner.lock();
        let req = o.req;
        if s.counts.len() != scenario.expect.len() {
            s.counts = vec![0; scenario.expect.len()];
        }
        for (i, e) in scenario.expect.iter().enumerate() {
            if matches(&e.value.matcher(), req, Some(o.status)) {
                s.counts[i] += 1;
            }
        }
        let entry = o.entry;
        let has_secret = |m: &dyn Fn(&str) -> bool| m("client_secret") || m("clientSecret");

        // Secrets where they do not belong.
        if has_secret(&|k| req.query.contains_key(k)) {
            s.add(Kind::SecretInUrl, || {
                (
                    format!(
                        "client_secret sent in the query string of {} {}",
                        req.method,
                        req.path()
                    ),
                    vec![entry.clone()],
                )
            });
        }
        let secret_sent = req.text_ref("client_secret").is_some();
        if secret_sent && let Some(origin) = req.header(http::header::ORIGIN) {
            s.add(Kind::SecretFromBrowser, || {
                (
                    format!("client_secret sent from a browser context (Origin: {origin})"),
                    vec![entry.clone()],
                )
            });
        }

        // State and PKCE on the way in.
        if req.method == "GET"
            && req.path() == "/installer/install"
            && !req.query.contains_key("state")
        {
            s.add(Kind::InstallWithoutState, || {
                (
                    "the install flow was started without `state`".into(),
                    vec![entry.clone()],
                )
            });
        }
        if uses_plain_pkce(req) {
            s.add(Kind::PkcePlain, || {
                (
                    "PKCE with code_challenge_method=plain; use S256".into(),
                    vec![entry.clone()],
                )
            });
        }
        let grant = req.grant_type();
        if grant.as_deref() == Some("authorization_code") {
            if req.path() != "/oauth/access"
                && !secret_sent
                && req.text_ref("code_verifier").is_none()
            {
                s.add(Kind::PkceMissingVerifier, || {
                    (
                        "authorization code exchanged without code_verifier".into(),
                        vec![entry.clone()],
                    )
                });
            }
            if let Some(code) = req.text("code") {
                if let Some(first) = s.exchanged.get(&code).cloned() {
                    s.add(Kind::CodeReused, || (format!("an authorization code first exchanged in request {} was exchanged again", first.id), vec![first, entry.clone()]));
                } else {
                    s.exchanged.insert(code.as_str(), entry.clone());
                }
                // Reported once per code: a second exchange of it is `code_reused`.
                if let Some((mode, redirect)) = s.tainted.remove(&code) {
                    let how = match mode {
                        StateMode::Tamper => "a tampered",
                        StateMode::Drop => "no",
                        StateMode::Replay => "a replayed",
                    };
                    s.add(Kind::StateNotChecked, || (format!("a code whose redirect carried {how} state was exchanged: the client did not check state"), vec![redirect, entry.clone()]));
                }
                if o.status == 200
                    && let Some(instance) = s.code_instance.get(&code).cloned()
                {
                    s.installed.entry(instance).or_insert_with(|| entry.clone());
                }
            }
        }

        // Redirects carrying a code.
        if let Some(location) = o
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        {
            let params = redirect_params(location);
            if let Some(code) = params.get("code") {
                if let Some(instance) = params.get("instanceId") {
                    s.code_instance.insert(code.as_str(), instance.clone());
                }
                if let Some((c, mode)) = &o.applied.tainted_code {
                    s.tainted.insert(c.as_str(), (*mode, entry.clone()));
                }
            }
        }

        // Calls to the rest of wixapis.com that a stub refused (issue 15).
        match o.refusal {
            Some(crate::stubs::Refusal::Identity) => s.add(Kind::WrongIdentityKind, || {
                (
                    format!(
                        "{} {} was called with a token of a kind it does not accept",
                        req.method, req.path()
                    ),
                    vec![entry.clone()],
                )
            }),
            Some(crate::stubs::Refusal::ScopeNotRequested) => {
                s.add(Kind::ScopeNeverRequested, || {
                    (
                        format!(
                            "{} {} needs a permission scope the app never requested",
                            req.method, req.path()
                        ),
                        vec![entry.clone()],
                    )
                })
            }
            Some(crate::stubs::Refusal::Token)
                if o.status == 401
                    && req.token.as_ref().is_some_and(|t| s.expired.get(t).is_none())
                    && serde_json::from_slice::<Value>(o.body).is_ok_and(|b| {
                        b.pointer("/details/applicationError/code")
                            .and_then(Value::as_str)
                            == Some("TOKEN_EXPIRED")
                    }) =>
            {
                s.add(Kind::ExpiredTokenSent, || {
                    (
                        format!(
                            "{} {} was called with an access token past its expires_in; refresh before it runs out",
                            req.method, req.path()
                        ),
                        vec![entry.clone()],
                    )
                })
            }
            _ => {}
        }

        // Expired tokens.
        if let Some(token) = &req.token {
            let refused_expired = o.status == 401
                && serde_json::from_slice::<Value>(o.body).is_ok_and(|b| {
                    b.pointer("/details/applicationError/code")
                        .and_then(Value::as_str)
                        == Some("TOKEN_EXPIRED")
                });
            if refused_expired {
                if let Some(first) = s.expired.get(token).cloned() {
                    s.add(Kind::ExpiredTokenReused, || (format!("an access token refused as expired in request {} was used again instead of refreshing", first.id), vec![first, entry.clone()]));
                } else {
                    s.expired.insert(token.as_str(), entry.clone());
                }
                // The grant's last token is known expired now: refreshing is the right move.
                for (t, exp) in s.last_token.values_mut() {
                    if t.as_str() == token {
                        *exp = o.now;
                    }
                }
            }
        }

        // Wasteful refreshes, then remember what this answer issued.
        let grant_key = match grant.as_deref() {
            Some("refresh_token") => req.text_ref("refresh_token").map(|t| key(&["rt:", &t])),
            Some("client_credentials") => Some(key(&[
                "cc:",
                &req.text_ref("client_id").unwrap_or_default(),
                ":",
                &req.text_ref("instance_id").unwrap_or_default(),
            ])),
            _ => None,
        };
        // A failed request issued nothing, and `/oauth/access` refreshes are the documented way.
        let legacy = req.path().trim_end_matches('/') == "/oauth/access";
        if o.status == 200
            && !legacy
            && let Some(key) = &grant_key
            && let Some((_, exp)) = s.last_token.get(key)
            && *exp - o.now > Duration::seconds(REFRESH_LEEWAY_SECS)
        {
            let left = (*exp - o.now).num_seconds();
            let (start, count) = match s.early.get(key) {
                Some((start, n)) if o.instant.duration_since(*start) < WASTEFUL_WINDOW => {
                    (*start, n + 1)
                }
                _ => (o.instant, 1),
            };
            if count >= WASTEFUL_BURST {
                s.early.remove(key);
                s.add(Kind::WastefulRefresh, || (format!("{count} new access tokens of one grant were requested within a minute, each while the last was still valid (this one for {left} more seconds): cache the token until it expires"), vec![entry.clone()]));
            } else {
                s.early.insert(key.as_str(), (start, count));
            }
        }
        // What the answer issued: handed over by the handler, or parsed from the body when a
        // fault rewrote it or the handler did not say (only when it can hold a token: issue 8).
        let issued = match o.issued {
            Some(i) if o.status == 200 => Some((
                i.access_token.clone(),
                i.refresh_token.as_ref().map(|t| t.as_str().to_string()),
                i.expires_in.and_then(|s| i64::try_from(s).ok()),
                i.access_token.expires_at(),
            )),
            Some(_) => None,
            None if o.status == 200 && names_access_token(o.body) => {
                serde_json::from_slice::<Value>(o.body)
                    .ok()
                    .and_then(|body| {
                        let token = crate::jwt::Token::from(
                            body.get("access_token")?.as_str()?.to_string(),
                        );
                        let refresh = body
                            .get("refresh_token")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        let expires_in = body.get("expires_in").and_then(Value::as_i64);
                        Some((token, refresh, expires_in, None))
                    })
            }
            None => None,
        };
        if let Some((token, refresh, expires_in, known_exp)) = issued {
            let issued_key = grant_key.or_else(|| refresh.map(|t| format!("rt:{t}")));
            let exp = o
                .applied
                .issued_token_expiry
                .or_else(|| {
                    expires_in
                        .and_then(Duration::try_seconds)
                        .and_then(|d| o.now.checked_add_signed(d))
                })
                .or(known_exp)
                .or_else(|| unverified_exp(token.as_str()));
            if let (Some(key), Some(exp)) = (issued_key, exp) {
                s.last_token.insert(key, (token, exp));
            }
        }

        observe_members(&mut s, &o);

        // Retry-After.
        if let Some((at, instant, secs, limited)) = s.retry_after.get(req.path()).cloned() {
            let virtual_waited = (o.now - at).num_seconds() >= secs as i64;
            let really_waited = o.instant.duration_since(instant).as_secs() >= secs;
            if virtual_waited || really_waited {
                s.retry_after.remove(req.path());
            } else {
                s.add(Kind::IgnoredRetryAfter, || {
                    (
                        format!(
                            "{} {} sent before the Retry-After: {secs} of request {} had passed",
                            req.method,
                            req.path(),
                            limited.id
                        ),
                        vec![limited, entry.clone()],
                    )
                });
            }
        }
        if matches!(o.status, 429 | 503)
            && let Some(secs) = o
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        {
            s.retry_after.insert(
                req.path().to_string(),
                (o.now, o.instant, secs, entry.clone()),
            );
        }
    }

    /// The report now. `world` tells whether installed instances finished their setup.
    pub fn report(&self, scenario: &Scenario, world: &World) -> Report {
        let s = self.inner.lock();
        let mut violations = s.violations.clone();
        for (instance, exchange) in &s.installed {
            // Only an app with a setup step (it finished one somewhere) leaves an install incomplete.
            let unfinished = world.setup_unfinished(instance);
            if unfinished {
                violations.push(Violation {
                    kind: Kind::SetupNotFinished,
                    severity: Kind::SetupNotFinished.severity(),
                    message: format!(
                        "instance {instance} was installed but never sent APP_FINISHED_CONFIGURATION, which its app sent for another instance (Wix shows \"Setup incomplete\")"
                    ),
                    requests: vec![exchange.clone()],
                });
            }
        }
        let expectations: Vec<ExpectationResult> = scenario
            .expect
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let count = s.counts.get(i).copied().unwrap_or(0);
                let (min, max) = e.value.bounds();
                ExpectationResult {
                    name: e.value.label(),
                    count,
                    min,
                    max,
                    passed: count >= min && max.is_none_or(|m| count <= m),
                }
            })
            .collect();
        let errors = violations
            .iter()
            .filter(|v| v.severity == Severity::Error)
            .count();
        let warnings = violations.len() - errors;
        Report {
            passed: errors == 0 && expectations.iter().all(|e| e.passed),
            errors,
            warnings,
            unlisted: s.unlisted,
            violations,
            expectations,
        }
    }
}

impl State {
    /// Records a violation; the message and entries are built only when the bounded list has room
    /// (a load test repeats the same violation on every request: issue 8, CPU per request).
    fn add(&mut self, kind: Kind, violation: impl FnOnce() -> (String, Vec<Entry>)) {
        if self.violations.len() >= MAX_VIOLATIONS {
            self.unlisted += 1;
            return;
        }
        let (message, requests) = violation();
        self.violations.push(Violation {
            kind,
            severity: kind.severity(),
            message,
            requests,
        });
    }
}

/// Whether any field named `code_challenge_method` (any case style, at any depth, or in the
/// query) says `plain`.
fn uses_plain_pkce(req: &Incoming) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::Object(map) => map.iter().any(|(k, v)| {
                (crate::request::snake_case(k) == "code_challenge_method"
                    && v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("plain")))
                    || walk(v)
            }),
            Value::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    req.text("code_challenge_method")
        .is_some_and(|m| m.eq_ignore_ascii_case("plain"))
        || req
            .params
            .fields()
            .any(|(_, f)| matches!(f, crate::request::Field::Other(v) if walk(v)))
}

/// `parts` joined into one map key, allocated once at its final size (`format!` grew it from 8
/// bytes, four reallocations for a `client_credentials` key, on every token request).
fn key(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The member rules (issue 14): re-used session tokens, login instead of verifying, wrong-password
/// loops, and another OAuth app's visitor token.
fn observe_members(s: &mut State, o: &Observed<'_>) {
    let (req, entry) = (o.req, o.entry);
    let endpoint = req.endpoint.unwrap_or_default();
    if !matches!(
        endpoint,
        "register" | "login" | "verify" | "redirect_session" | "token"
    ) {
        return;
    }
    // The body is parsed again only for the member calls that nest what the rules read (the token
    // endpoint, a hot path, is read through the already parsed params).
    let body: Value = if matches!(endpoint, "register" | "login" | "redirect_session") {
        serde_json::from_slice(&req.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let answer = || serde_json::from_slice::<Value>(o.body).unwrap_or(Value::Null);
    // (`pointer` allocates its path's parts even on `null`: the token endpoint skips it.)
    let email = (!body.is_null())
        .then(|| body.pointer("/loginId/email"))
        .flatten()
        .and_then(Value::as_str)
        .map(|e| e.trim().to_ascii_lowercase());

    // The session token presented, if any.
    let session = match endpoint {
        "redirect_session" => body
            .pointer("/auth/authRequest/sessionToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        "token" if req.grant_type().as_deref() == Some("authorized_client") => {
            req.text("session_token")
        }
        _ => None,
    };
    if let Some(token) = session {
        if let Some(first) = s.session_tokens.get(&token).cloned() {
            s.add(Kind::SessionTokenReused, || {
                (
                    format!(
                        "a sessionToken first used in request {} was used again: it is single use; log in again for a new one",
                        first.id
                    ),
                    vec![first, entry.clone()],
                )
            });
        } else {
            s.session_tokens.insert(token, entry.clone());
        }
    }

    // Another app's visitor token.
    let named_client = match endpoint {
        "redirect_session" => body
            .pointer("/auth/authRequest/clientId")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    };
    if let (Some(client), Some(token)) = (named_client, req.token.as_deref())
        && let Some(token_app) = unverified_app_id(token)
        && token_app != client
    {
        s.add(Kind::ForeignVisitorToken, || {
            (
                format!("a member login for OAuth app {client} was sent with a token of OAuth app {token_app}: use the visitor token of the same client"),
                vec![entry.clone()],
            )
        });
    }

    match endpoint {
        "login" | "register" => {
            let Some(email) = email else { return };
            if endpoint == "login"
                && let Some(asked) = s.awaiting_code.get(&email).cloned()
            {
                s.add(Kind::LoginInsteadOfVerify, || {
                    (
                        format!("login was called again after request {} answered REQUIRE_EMAIL_VERIFICATION: call processVerification with the e-mailed code", asked.id),
                        vec![asked, entry.clone()],
                    )
                });
            }
            let a = answer();
            if a.get("state").and_then(Value::as_str) == Some("REQUIRE_EMAIL_VERIFICATION") {
                s.awaiting_code.insert(email.as_str(), entry.clone());
            }
            let code = a
                .pointer("/details/applicationError/code")
                .and_then(Value::as_str);
            if endpoint == "login" && matches!(code, Some("-19976") | Some("-19973")) {
                let (start, count) = match s.wrong_passwords.get(&email) {
                    Some((start, n)) if o.instant.duration_since(*start) < WASTEFUL_WINDOW => {
                        (*start, n + 1)
                    }
                    _ => (o.instant, 1),
                };
                if count >= MEMBER_WRONG_PASSWORD_BURST {
                    s.wrong_passwords.remove(&email);
                    s.add(Kind::WrongPasswordLoop, || {
                        (format!("{count} wrong passwords for one member within a minute: a retry loop locks the member out (resetPassword); ask the person instead"), vec![entry.clone()])
                    });
                } else {
                    s.wrong_passwords.insert(email, (start, count));
                }
            }
        }
        "verify" if o.status == 200 => {
            if let Some(email) = answer()
                .pointer("/identity/email/address")
                .and_then(Value::as_str)
            {
                s.awaiting_code.remove(&email.to_ascii_lowercase());
            }
        }
        _ => {}
    }
}

/// The app (OAuth app for Headless tokens) a token names, without checking its signature: the
/// observer only correlates, the handler already decided.
fn unverified_app_id(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token
        .strip_prefix(crate::jwt::TOKEN_PREFIX)?
        .split('.')
        .nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let data: Value = serde_json::from_str(claims.get("data")?.as_str()?).ok()?;
    data.pointer("/instance/appDefId")?
        .as_str()
        .map(str::to_string)
}

/// The `exp` of an `OauthNG.JWS.<JWT>` token, read without checking it (only to time refreshes).
fn unverified_exp(token: &str) -> Option<DateTime<Utc>> {
    use base64::Engine as _;
    let payload = token
        .strip_prefix(crate::jwt::TOKEN_PREFIX)?
        .split('.')
        .nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

/// The report as text, for people and CI logs.
pub fn render_text(report: &Value) -> String {
    let mut out = String::new();
    let passed = report["passed"].as_bool().unwrap_or(false);
    out.push_str(&format!(
        "conformance: {} ({} error(s), {} warning(s))\n",
        if passed { "PASSED" } else { "FAILED" },
        report["errors"].as_u64().unwrap_or(0),
        report["warnings"].as_u64().unwrap_or(0)
    ));
    let empty = Vec::new();
    let violations = report["violations"].as_array().unwrap_or(&empty);
    if !violations.is_empty() {
        out.push_str("\nviolations:\n");
    }
    for v in violations {
        out.push_str(&format!(
            "  [{}] {}: {}\n",
            v["severity"].as_str().unwrap_or("?"),
            v["kind"].as_str().unwrap_or("?"),
            v["message"].as_str().unwrap_or("")
        ));
        for r in v["requests"].as_array().unwrap_or(&empty) {
            out.push_str(&format!(
                "      #{} {} {} {} -> {}\n",
                r["id"],
                r["time"].as_str().unwrap_or(""),
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or(""),
                r["status"]
            ));
        }
    }
    if let Some(n) = report["unlisted"].as_u64().filter(|n| *n > 0) {
        out.push_str(&format!("  … and {n} more not listed\n"));
    }
    let expectations = report["expectations"].as_array().unwrap_or(&empty);
    if !expectations.is_empty() {
        out.push_str("\nexpectations:\n");
    }
    for e in expectations {
        out.push_str(&format!(
            "  [{}] {} (count {})\n",
            if e["passed"].as_bool().unwrap_or(false) {
                "pass"
            } else {
                "FAIL"
            },
            e["name"].as_str().unwrap_or(""),
            e["count"]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_searched_for_a_token_anywhere_in_it() {
        assert!(names_access_token(br#"{"access_token":"x"}"#));
        assert!(names_access_token(br#"{"a":1,"access_token":"x"}"#));
        let mut page = br#"{"items":["#.to_vec();
        page.extend(b"0,".repeat(10_000));
        page.extend(br#"0],"access_token":"x"}"#);
        assert!(names_access_token(&page));
        assert!(!names_access_token(br#"{"accessToken":"x"}"#));
        assert!(!names_access_token(br#"access_token"#));
        assert!(!names_access_token(b""));
    }

    #[test]
    fn recent_maps_stay_bounded_and_keep_the_newest_keys() {
        let mut r = Recent::default();
        for i in 0..5 * MAX_TRACKED {
            r.insert(i.to_string(), i);
        }
        assert!(r.len() <= 2 * MAX_TRACKED);
        let newest = 5 * MAX_TRACKED - 1;
        assert_eq!(r.get(&newest.to_string()), Some(&newest));
        assert!(r.get(&(newest - MAX_TRACKED + 1).to_string()).is_some());
        assert_eq!(r.get("0"), None);
    }

    #[test]
    fn updating_a_recent_key_keeps_one_value_whichever_generation_held_it() {
        let mut r = Recent::default();
        r.insert("grant", 1);
        r.insert("grant", 2);
        assert_eq!((r.get("grant"), r.len()), (Some(&2), 1));
        // Enough new keys to move "grant" to the previous generation, then update it.
        for i in 0..MAX_TRACKED {
            r.insert(i.to_string(), 0);
        }
        assert!(r.previous.contains_key("grant"));
        r.insert("grant", 3);
        assert_eq!(r.get("grant"), Some(&3));
        assert!(!r.previous.contains_key("grant"));
        assert_eq!(r.remove("grant"), Some(3));
        assert_eq!(r.get("grant"), None);
    }
}
