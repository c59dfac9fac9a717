//! The fault engine: which armed faults fire on a request, and what they do to the world and to the
//! answer, fed the request's one [`Incoming`]. Where it runs in a request (before the handler, after
//! it, dropping the connection) is `routes/wrap.rs`; the specs are `scenario/faults.rs`.
//!
//! Everything here is generic over endpoints: a request is seen as method, path, query, headers and
//! body fields, so faults apply to every route, including ones added later. Random choices (fault
//! probabilities, delay jitter) come from the seeded [`Ids`]; times come from the virtual clock.
//!
//! Besides the armed faults, the engine keeps two tables that outlive the request a fault fired on:
//! grants it made expire early, and refresh tokens it revoked. Every request is checked against them
//! before its route runs, so "this token is expired now" stays true for the rest of the run.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use http::HeaderMap;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::WixError;
use crate::ids::Ids;
use crate::request::Incoming;
use crate::scenario::Scenario;
use crate::scenario::faults::{
    Effect, ExpireTarget, FaultSpec, FieldMatch, Match, Preset, RevokeTarget, StateMode,
};
use crate::world::World;

/// How many early-expired grants and revoked tokens are remembered; the oldest go first.
const TABLE_CAP: usize = 10_000;
/// How many recent `state` values are kept for `state: replay`.
const STATES_KEPT: usize = 16;

/// Fills `app_id` and `instance_id` from the request and, for codes, refresh tokens and access
/// tokens, from what the world knows about them.
pub fn derive_ids(req: &mut Incoming, world: &World) {
    let claim = req.token.as_deref().and_then(|t| world.signer().decode(t));
    req.app_id = req
        .query
        .get("appId")
        .cloned()
        .or_else(|| req.text("client_id"))
        .or_else(|| claim.as_ref().map(|(c, _)| c.app_def_id.clone()));
    req.instance_id = req
        .text("instance_id")
        .or_else(|| req.query.get("instanceId").cloned())
        .or_else(|| claim.as_ref().map(|(c, _)| c.instance_id.clone()))
        .or_else(|| {
            let code = req.text("code")?;
            world.instance_of_code(&code).map(str::to_string)
        })
        .or_else(|| {
            let rt = req.text("refresh_token")?;
            world.instance_of_refresh_token(&rt).map(str::to_string)
        });
}

/// Whether a request matches; `status` is the answer's, for expectations (faults pass `None`).
pub fn matches(m: &Match, req: &Incoming, status: Option<u16>) -> bool {
    if let Some(e) = m.endpoint
        && !e.covers(req.endpoint)
    {
        return false;
    }
    if let Some(p) = &m.path
        && !path_matches(p, req.path())
    {
        return false;
    }
    if let Some(method) = &m.method
        && !method.eq_ignore_ascii_case(req.method.as_str())
    {
        return false;
    }
    if let Some(stub) = &m.stub
        && req.stub.as_deref() != Some(stub.as_str())
    {
        return false;
    }
    let eq = |want: &Option<String>, have: Option<&str>| match want {
        None => true,
        Some(w) => have == Some(w.as_str()),
    };
    if !eq(&m.grant_type, req.grant_type().as_deref())
        || !eq(&m.client_id, req.text_ref("client_id").as_deref())
        || !eq(&m.app_id, req.app_id.as_deref())
        || !eq(&m.instance_id, req.instance_id.as_deref())
    {
        return false;
    }
    if let Some(f) = &m.field
        && !field_matches(f, req.text(&f.name))
    {
        return false;
    }
    if let Some(h) = &m.header
        && !field_matches(
            h,
            req.header(h.name.to_ascii_lowercase()).map(str::to_string),
        )
    {
        return false;
    }
    match (m.status, status) {
        (Some(want), Some(have)) => want == have,
        (Some(_), None) => false,
        _ => true,
    }
}

fn field_matches(f: &FieldMatch, have: Option<String>) -> bool {
    match (&f.equals, have) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(want), Some(have)) => *want == have,
    }
}

/// `pattern` is an exact path (trailing `/` ignored), `*`, or a prefix ending in `*`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix.trim_end_matches('/')),
        None => {
            let p = pattern.trim_end_matches('/');
            path == if p.is_empty() { "/" } else { p }
        }
    }
}

/// One of Wix's real error answers, for faults (docs/fidelity.md F-42), with `Retry-After` when given.
///
/// 401/403/404 reuse the bodies the mock sends for the real conditions. Wix's 429 body is
/// undocumented: it is the `RESOURCE_EXHAUSTED` envelope (INFERRED, docs/fidelity.md I-02). System
/// errors "are sent empty by design", so 500 and 503 carry only a message and empty details.
pub fn preset(preset: Preset, retry_after_secs: Option<u64>) -> WixError {
    let envelope = |status: u16, message: &str, code: Option<&str>| {
        let details = match code {
            Some(code) => {
                json!({"applicationError": {"code": code, "description": message, "data": {}}})
            }
            None => json!({}),
        };
        (status, json!({"message": message, "details": details}))
    };
    let (status, body) = match preset {
        Preset::TokenExpired => {
            let e = WixError::Unauthenticated {
                code: "TOKEN_EXPIRED",
                message: "access token expired".into(),
            };
            (401, e.body())
        }
        Preset::PermissionDenied => (
            403,
            WixError::PermissionDenied("the access token lacks the required permission".into())
                .body(),
        ),
        Preset::NotFound => (
            404,
            WixError::NotFound {
                code: "NOT_FOUND",
                message: "entity not found".into(),
            }
            .body(),
        ),
        Preset::RateLimited => envelope(
            429,
            "RESOURCE_EXHAUSTED: too many requests",
            Some("TOO_MANY_REQUESTS"),
        ),
        Preset::Internal => envelope(500, "INTERNAL: internal server error", None),
        Preset::Unavailable => envelope(503, "UNAVAILABLE: service unavailable", None),
        Preset::InvalidGrant => (
            400,
            WixError::InvalidGrant("the grant is invalid, expired or revoked".into()).body(),
        ),
    };
    let retry_after = retry_after_secs.or(match preset {
        Preset::RateLimited | Preset::Unavailable => Some(60),
        _ => None,
    });
    WixError::Injected {
        status,
        body,
        headers: retry_after
            .map(|s| vec![("retry-after".to_string(), s.to_string())])
            .unwrap_or_default(),
    }
}

/// An armed fault and its counters.
#[derive(Debug, Clone, Serialize)]
pub struct Armed {
    /// The fault's name (`fault-<n>` when the spec has none).
    pub name: String,
    /// `scenario` or `admin`.
    pub source: &'static str,
    /// How many requests matched so far.
    pub matched: u64,
    /// How many times it fired so far.
    pub fired: u64,
    pub spec: FaultSpec,
}

/// What the faults that fired on one request want done, in the order it is done.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Names of the faults that fired, for the journal.
    pub fired: Vec<String>,
    /// Total latency to add, in milliseconds.
    pub delay_ms: u64,
    pub revokes: Vec<RevokeTarget>,
    pub expires: Vec<(ExpireTarget, u64)>,
    /// The first error effect, if any: the route does not run.
    pub error: Option<WixError>,
    pub state: Option<StateMode>,
    pub drop: Option<crate::scenario::faults::DropMode>,
}

/// What the answer-side effects did, for the conformance report.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// `state` was changed on a redirect carrying this code.
    pub tainted_code: Option<(String, StateMode)>,
    /// An access token in the answer will be refused from this time on.
    pub issued_token_expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct State {
    armed: Vec<Armed>,
    next_id: u64,
    /// Grants made to expire early: value → when.
    expiring: HashMap<String, DateTime<Utc>>,
    expiring_order: VecDeque<String>,
    /// Refresh tokens revoked by a fault.
    revoked: HashSet<String>,
    revoked_order: VecDeque<String>,
    /// Recent `state` values seen on redirects, newest last.
    states: VecDeque<String>,
}

/// The armed faults and what they left behind. Shared through [`crate::App`].
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<State>,
}

impl Faults {
    /// The scenario's faults, armed, with nothing left behind.
    pub fn new(scenario: &Scenario) -> Faults {
        let faults = Faults::default();
        faults.reset(scenario);
        faults
    }

    /// Back to the scenario's faults with fresh counters; faults armed through the admin API are dropped.
    pub fn reset(&self, scenario: &Scenario) {
        let mut s = self.inner.lock();
        *s = State::default();
        for f in &scenario.faults {
            s.arm(f.value.clone(), "scenario");
        }
    }

    /// Whether no fault is armed and none left anything behind (an early expiry, a revocation): then
    /// no request can be changed, and the layer skips the fault work entirely (issue 8).
    pub fn is_quiet(&self) -> bool {
        let s = self.inner.lock();
        s.armed.is_empty() && s.expiring.is_empty() && s.revoked.is_empty()
    }

    /// Arms more faults (from `POST /__admin/faults`); returns their names.
    pub fn arm(&self, specs: Vec<FaultSpec>) -> Vec<String> {
        let mut s = self.inner.lock();
        specs.into_iter().map(|f| s.arm(f, "admin")).collect()
    }

    /// Disarms every fault (`DELETE /__admin/faults`), or the one named; returns how many went.
    pub fn clear(&self, name: Option<&str>) -> usize {
        let mut s = self.inner.lock();
        let before = s.armed.len();
        match name {
            Some(n) => s.armed.retain(|a| a.name != n),
            None => s.armed.clear(),
        }
        before - s.armed.len()
    }

    /// The armed faults with their counters.
    pub fn list(&self) -> Vec<Armed> {
        self.inner.lock().armed.clone()
    }

    /// Counts the request against every fault and collects the effects of those that fire.
    pub fn plan(&self, req: &Incoming, now: DateTime<Utc>, ids: &Ids) -> Plan {
        let mut s = self.inner.lock();
        let mut plan = Plan::default();
        for armed in s.armed.iter_mut() {
            if !matches(&armed.spec.matcher, req, None) {
                continue;
            }
            armed.matched += 1;
            let n = armed.matched;
            let w = &armed.spec.when;
            let fires = w.first.is_none_or(|k| n <= k)
                && w.nth.is_none_or(|k| n == k)
                && w.after.is_none_or(|k| n > k)
                && w.from.is_none_or(|t| now >= t)
                && w.until.is_none_or(|t| now < t)
                && w.times.is_none_or(|k| armed.fired < k)
                // Drawn last and only when everything else holds, so the draws follow the fault's
                // own matches rather than every request.
                && w.probability.is_none_or(|p| (ids.below(1_000_000) as f64) < p * 1_000_000.0);
            if !fires {
                continue;
            }
            armed.fired += 1;
            plan.fired.push(armed.name.clone());
            for effect in &armed.spec.effects {
                match effect {
                    Effect::Delay(d) => {
                        plan.delay_ms += match (d.ms, d.min_ms, d.max_ms) {
                            (Some(ms), _, _) => ms,
                            (None, Some(lo), Some(hi)) => lo + ids.below(hi - lo + 1),
                            _ => 0,
                        }
                    }
                    Effect::Error(spec) => {
                        if plan.error.is_none() {
                            plan.error = Some(injected(spec));
                        }
                    }
                    Effect::Drop(mode) => plan.drop = plan.drop.or(Some(*mode)),
                    Effect::Expire(e) => plan.expires.push((e.target, e.ttl_secs)),
                    Effect::State(mode) => plan.state = plan.state.or(Some(*mode)),
                    Effect::Revoke(target) => plan.revokes.push(*target),
                }
            }
        }
        plan
    }

    /// Request-side effects before the route runs (revocations, grants sent made to expire), then the
    /// standing checks against what earlier faults left behind. An error here replaces the route.
    /// Only the revocations need `world`: `App` passes it, under the write lock, when the plan has any.
    pub fn before(
        &self,
        world: Option<&mut World>,
        req: &Incoming,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Option<WixError> {
        let mut s = self.inner.lock();
        if let Some(world) = world {
            for target in &plan.revokes {
                match target {
                    RevokeTarget::RefreshToken => {
                        // The one sent (known or not), else every one of the instance involved.
                        let revoked = match req.text("refresh_token") {
                            Some(rt) => {
                                world.revoke_refresh_token(&rt);
                                vec![rt]
                            }
                            None => req
                                .instance_id
                                .as_deref()
                                .map(|id| world.revoke_refresh_tokens_of(id))
                                .unwrap_or_default(),
                        };
                        for t in revoked {
                            s.revoke(t);
                        }
                    }
                    // What the site owner's uninstall does, AppRemoved included (an unknown or
                    // already removed instance is left as it is).
                    RevokeTarget::Instance => {
                        if let Some(id) = &req.instance_id {
                            let _ = world.uninstall(id, now);
                        }
                    }
                    RevokeTarget::OauthApp => {
                        if let Some(id) = req.text("client_id") {
                            world.revoke_oauth_app(&id);
                        }
                    }
                }
            }
        }
        for (target, ttl) in &plan.expires {
            let sent = match target {
                ExpireTarget::Code => req.text("code"),
                ExpireTarget::AccessToken => req.token.clone(),
                ExpireTarget::RefreshToken => req.text("refresh_token"),
            };
            if let Some(value) = sent {
                s.expire(value, later(now, *ttl));
            }
        }
        // Standing checks: what earlier faults made expire or revoked stays so.
        let expired = |v: &Option<String>| {
            v.as_ref()
                .and_then(|v| s.expiring.get(v))
                .is_some_and(|at| now >= *at)
        };
        if expired(&req.token) {
            return Some(WixError::Unauthenticated {
                code: "TOKEN_EXPIRED",
                message: "access token expired".into(),
            });
        }
        match req.grant_type().as_deref() {
            Some("authorization_code") if expired(&req.text("code")) => {
                Some(WixError::InvalidGrant("authorization code expired".into()))
            }
            Some("refresh_token") => {
                let rt = req.text("refresh_token");
                if rt.as_ref().is_some_and(|t| s.revoked.contains(t)) {
                    Some(WixError::InvalidGrant(
                        "refresh token is unknown or was revoked".into(),
                    ))
                } else if expired(&rt) {
                    Some(WixError::InvalidGrant("refresh token expired".into()))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Answer-side effects: `state` on a redirect, and early expiry of what the answer issued.
    /// `body` is rewritten in place when `expires_in` changes.
    pub fn after(
        &self,
        req: &Incoming,
        plan: &Plan,
        headers: &mut HeaderMap,
        body: &mut bytes::Bytes,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Applied {
        let mut s = self.inner.lock();
        let mut applied = Applied::default();
        // Every redirect carrying a state is remembered, so a later flow can replay it.
        if let Some(location) = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        {
            let params = redirect_params(&location);
            let code = params.get("code").cloned();
            if let Some(state) = params.get("state") {
                if s.states.len() == STATES_KEPT {
                    s.states.pop_front();
                }
                s.states.push_back(state.clone());
            }
            if let (Some(mode), Some(code)) = (plan.state, code.as_ref()) {
                let original = params.get("state").cloned();
                let replacement = match mode {
                    StateMode::Drop => None,
                    StateMode::Tamper => Some(format!("tampered-{}", ids.token("", 12))),
                    StateMode::Replay => Some(
                        s.states
                            .iter()
                            .rev()
                            .find(|st| Some(*st) != original.as_ref())
                            .cloned()
                            .unwrap_or_else(|| format!("replayed-{}", ids.token("", 12))),
                    ),
                };
                if let Some(new) = rewrite_state(&location, replacement.as_deref())
                    && let Ok(v) = warp::http::HeaderValue::from_str(&new)
                {
                    headers.insert("location", v);
                    applied.tainted_code = Some((code.clone(), mode));
                }
            }
            for (target, ttl) in &plan.expires {
                if *target == ExpireTarget::Code
                    && req.text("code").is_none()
                    && let Some(code) = &code
                {
                    s.expire(code.clone(), later(now, *ttl));
                }
            }
        }
        let issued = plan
            .expires
            .iter()
            .any(|(t, _)| *t != ExpireTarget::Code)
            .then(|| serde_json::from_slice::<serde_json::Map<String, Value>>(body).ok())
            .flatten();
        if let Some(mut json) = issued {
            let mut changed = false;
            for (target, ttl) in &plan.expires {
                let (field, sent) = match target {
                    ExpireTarget::AccessToken => ("access_token", req.token.is_some()),
                    ExpireTarget::RefreshToken => {
                        ("refresh_token", req.text("refresh_token").is_some())
                    }
                    ExpireTarget::Code => continue,
                };
                // The grant sent in the request was handled before the route; this is for a new one.
                let Some(value) = json.get(field).and_then(Value::as_str).map(str::to_string)
                else {
                    continue;
                };
                if sent && *target == ExpireTarget::RefreshToken {
                    // A legacy refresh returns the same refresh token: it was already handled.
                    continue;
                }
                let at = later(now, *ttl);
                s.expire(value, at);
                if *target == ExpireTarget::AccessToken {
                    applied.issued_token_expiry = Some(at);
                    if json.contains_key("expires_in") {
                        json.insert("expires_in".into(), Value::from(*ttl));
                        changed = true;
                    }
                }
            }
            if changed && let Ok(new) = serde_json::to_vec(&json) {
                *body = bytes::Bytes::from(new);
            }
        }
        applied
    }

    /// When a grant was made to expire early by a fault, if it was.
    pub fn expiry_of(&self, value: &str) -> Option<DateTime<Utc>> {
        self.inner.lock().expiring.get(value).copied()
    }
}

impl State {
    fn arm(&mut self, spec: FaultSpec, source: &'static str) -> String {
        self.next_id += 1;
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("fault-{}", self.next_id));
        self.armed.push(Armed {
            name: name.clone(),
            source,
            matched: 0,
            fired: 0,
            spec,
        });
        name
    }

    fn expire(&mut self, value: String, at: DateTime<Utc>) {
        if self.expiring.insert(value.clone(), at).is_none() {
            self.expiring_order.push_back(value);
            if self.expiring_order.len() > TABLE_CAP
                && let Some(old) = self.expiring_order.pop_front()
            {
                self.expiring.remove(&old);
            }
        }
    }

    fn revoke(&mut self, token: String) {
        if self.revoked.insert(token.clone()) {
            self.revoked_order.push_back(token);
            if self.revoked_order.len() > TABLE_CAP
                && let Some(old) = self.revoked_order.pop_front()
            {
                self.revoked.remove(&old);
            }
        }
    }
}

/// The error an `error:` effect answers with.
pub fn injected(spec: &crate::scenario::faults::ErrorSpec) -> WixError {
    let base = match spec.preset {
        Some(p) => preset(p, spec.retry_after_secs),
        None => WixError::Injected {
            status: 500,
            body: serde_json::json!({"message": "injected fault", "details": {}}),
            headers: spec
                .retry_after_secs
                .map(|s| vec![("retry-after".to_string(), s.to_string())])
                .unwrap_or_default(),
        },
    };
    let WixError::Injected {
        status,
        body,
        mut headers,
    } = base
    else {
        return base;
    };
    for (k, v) in &spec.headers {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.to_ascii_lowercase(), v.clone()));
    }
    WixError::Injected {
        status: spec.status.unwrap_or(status),
        body: spec.body.clone().unwrap_or(body),
        headers,
    }
}

/// The parameters of a redirect, from its query and its fragment (member login may use either).
pub fn redirect_params(location: &str) -> BTreeMap<String, String> {
    let Ok(url) = url::Url::parse(location) else {
        return BTreeMap::new();
    };
    let mut out: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        for (k, v) in url::form_urlencoded::parse(fragment.as_bytes()) {
            out.entry(k.into_owned()).or_insert(v.into_owned());
        }
    }
    out
}

/// `location` with `state` replaced (or removed when `None`), in the query or the fragment that
/// carries the code.
fn rewrite_state(location: &str, state: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(location).ok()?;
    let rewrite = |pairs: Vec<(String, String)>| -> String {
        let had_state = pairs.iter().any(|(k, _)| k == "state");
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if k == "state" {
                if let Some(s) = state {
                    out.append_pair("state", s);
                }
                continue;
            }
            out.append_pair(&k, &v);
            // No state was sent: a tampered one is added right after the code.
            if k == "code"
                && !had_state
                && let Some(s) = state
            {
                out.append_pair("state", s);
            }
        }
        out.finish()
    };
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if query.iter().any(|(k, _)| k == "code") {
        let q = rewrite(query);
        url.set_query(Some(&q));
    } else if let Some(fragment) = url.fragment().map(str::to_string) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
        let f = rewrite(pairs);
        url.set_fragment(Some(&f));
    } else {
        return None;
    }
    Some(url.to_string())
}

fn secs(s: u64) -> Duration {
    Duration::seconds(s.min(i64::MAX as u64 / 1000) as i64)
}

/// `now + ttl`, saturating instead of panicking when the clock was set near the end of time.
fn later(now: DateTime<Utc>, ttl: u64) -> DateTime<Utc> {
    now.checked_add_signed(secs(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_exactly_or_by_prefix() {
        assert!(path_matches("/oauth/access", "/oauth/access"));
        assert!(path_matches("/oauth/access/", "/oauth/access"));
        assert!(!path_matches("/oauth/access", "/oauth/accessx"));
        assert!(path_matches(
            "/oauth-app/v1/oauth-apps*",
            "/oauth-app/v1/oauth-apps/x"
        ));
        assert!(path_matches("*", "/anything"));
    }

    #[test]
    fn state_is_replaced_dropped_or_added_next_to_the_code() {
        let loc = "http://a.example/cb?code=C&state=S&instanceId=I";
        assert_eq!(
            rewrite_state(loc, Some("X")).unwrap(),
            "http://a.example/cb?code=C&state=X&instanceId=I"
        );
        assert_eq!(
            rewrite_state(loc, None).unwrap(),
            "http://a.example/cb?code=C&instanceId=I"
        );
        assert_eq!(
            rewrite_state("http://a.example/cb?code=C&instanceId=I", Some("X")).unwrap(),
            "http://a.example/cb?code=C&state=X&instanceId=I"
        );
        assert_eq!(
            rewrite_state("http://a.example/cb#code=C&state=S", Some("X")).unwrap(),
            "http://a.example/cb#code=C&state=X"
        );
    }
}
