//! Fault and expectation specs: the data a scenario (or `POST /__admin/faults`) uses to make the mock
//! misbehave on purpose, and to state what a correct client must have done.
//!
//! A fault is a *match* (which requests), a *when* (which of those) and a list of *effects* applied
//! in a fixed order: delay, then state changes (revoke, expire), then an error or the real answer,
//! then rewrites of that answer (state, issued-token expiry), then a dropped or truncated connection.
//! This module only describes and checks faults; the fault engine (`src/faults.rs`) runs them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::Problem;

/// One fault: which requests it hits and what it does to them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Shown in the journal and by `GET /__admin/faults`; `fault-<n>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which requests count; every non-admin request when empty.
    #[serde(default, rename = "match")]
    pub matcher: Match,
    /// Which of the matching requests the fault fires on; always when empty.
    #[serde(default)]
    pub when: When,
    /// What happens, applied in the fixed order described in the module docs.
    pub effects: Vec<Effect>,
}

/// A friendly name for paths of Wix's surface (`match.endpoint`), so specs survive the exact spelling
/// of a path: `any` (every non-admin path) or a fault name of the endpoint table (`src/endpoints.rs`,
/// which says the paths each stands for). Nothing here lists the names: a new row of the table with a
/// new fault name is a new name here. Read and written as the name; an unknown name is refused with
/// the list of known ones, as serde words an unknown enum variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint(&'static str);

impl Endpoint {
    /// Every non-admin path.
    pub const ANY: Endpoint = Endpoint("any");

    /// Every name, `any` first, then the endpoint table's fault names in table order.
    pub fn names() -> &'static [&'static str] {
        static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        NAMES.get_or_init(|| {
            std::iter::once(Endpoint::ANY.0)
                .chain(crate::endpoints::fault_names())
                .collect()
        })
    }

    /// The endpoint name `name` (`None` when it is neither `any` nor a fault name of the table).
    pub fn named(name: &str) -> Option<Endpoint> {
        Endpoint::names()
            .iter()
            .find(|known| **known == name)
            .map(|known| Endpoint(known))
    }

    /// The name as a scenario spells it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Whether this name covers a request routed to the endpoint whose fault name is `routed`
    /// (`None`: a path no endpoint serves, which only `any` covers).
    pub fn covers(self, routed: Option<&str>) -> bool {
        self == Endpoint::ANY || routed == Some(self.name())
    }

    /// The paths this name stands for, from the endpoint table.
    pub fn paths(self) -> Vec<&'static str> {
        crate::endpoints::TABLE
            .iter()
            .filter(|e| e.fault_name.is_some_and(|n| n == self.name()))
            .flat_map(|e| e.paths.iter().copied())
            .collect()
    }
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Endpoint, D::Error> {
        // Read as a unit-only enum whose variants are the names, as the derive would: a scenario
        // file's error then points at the name, not at the `endpoint:` key.
        struct Name;
        impl<'de> serde::de::Visitor<'de> for Name {
            type Value = Endpoint;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an endpoint name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Endpoint, E> {
                Endpoint::named(name).ok_or_else(|| E::unknown_variant(name, Endpoint::names()))
            }
            fn visit_enum<A: serde::de::EnumAccess<'de>>(
                self,
                data: A,
            ) -> Result<Endpoint, A::Error> {
                use serde::de::VariantAccess as _;
                let (endpoint, variant) = data.variant_seed(Name)?;
                variant.unit_variant()?;
                Ok(endpoint)
            }
        }
        // The variant itself, inside `visit_enum`.
        impl<'de> serde::de::DeserializeSeed<'de> for Name {
            type Value = Endpoint;
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Endpoint, D::Error> {
                d.deserialize_identifier(self)
            }
        }
        d.deserialize_enum("Endpoint", Endpoint::names(), Name)
    }
}

/// A fault on webhook deliveries (`webhooks.faults` in a scenario, or `POST /__admin/webhooks/faults`):
/// plain data, applied by `delivery.rs` when a matching delivery is queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryFault {
    /// Only deliveries of this `eventType`; any when absent.
    pub event_type: Option<String>,
    /// Real-time wait before the first attempt, in milliseconds.
    pub delay_ms: u64,
    /// Extra copies to send right after the delivery (each recorded with `duplicate_of`).
    pub duplicates: u32,
    /// Park the delivery until `POST /__admin/webhooks/release`.
    pub hold: bool,
    /// How many deliveries it applies to; 0 counts as 1.
    pub times: u32,
}

/// Which requests a fault (or an expectation) is about. Every given condition must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// A friendly endpoint name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// An exact path (a trailing `/` is ignored), or a prefix ending in `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The HTTP method, any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The stub that matched the request, by name (docs/stubs.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<String>,
    /// The `grant_type` (or `grantType`) of a token request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// The app: `appId` of the installer, `client_id` of a legacy grant, or the access token's app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The instance: a request field, the access token's, or that of the code / refresh token sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The `client_id` (or `clientId`) field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Any query or body field (names compared in snake_case, so `eventName` = `event_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldMatch>,
    /// Any request header (name in any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<FieldMatch>,
    /// The status the mock answered with (expectations only: a fault decides before the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// A named field that must be present, and equal to `equals` when given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// Which matching requests a fault fires on. Matching requests are counted from 1; every given
/// condition must hold, so `{after: 1, first: 3}` fires on the 2nd and 3rd.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Only the first N matching requests ("fail twice, then succeed" is `first: 2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Only the Nth matching request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Every matching request after the first N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Each matching request with this probability (0 to 1), drawn from the seeded generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Not before this virtual time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Only before this virtual time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Fire at most this many times in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// One effect of a fault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Wait before answering: `{ms: 1500}` or seeded-random `{min_ms: 100, max_ms: 2000}`.
    Delay(Delay),
    /// Answer with an error instead of running the endpoint.
    Error(ErrorSpec),
    /// Close the connection without an answer, or after part of the body.
    Drop(DropMode),
    /// The code / access token / refresh token involved is expired, or expires after `ttl_secs`.
    Expire(Expire),
    /// Change `state` on the redirect that carries the code (install or member login).
    State(StateMode),
    /// Revoke something at this moment, before the endpoint runs.
    Revoke(RevokeTarget),
}

/// A fixed (`ms`) or seeded-random (`min_ms`..=`max_ms`) latency.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<u64>,
}

/// An injected error: a preset, a custom status and body, or a preset with overrides.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// One of Wix's real error answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// The status (overrides the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The JSON body (overrides the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Extra response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Sends `Retry-After: <secs>` (presets `rate_limited` and `unavailable` default to 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// Wix's real error answers (docs/fidelity.md F-42, F-43).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// 401 `TOKEN_EXPIRED`, as for an access token past its expiry.
    TokenExpired,
    /// 403 `PERMISSION_DENIED`.
    PermissionDenied,
    /// 404 `NOT_FOUND`.
    NotFound,
    /// 429 `RESOURCE_EXHAUSTED` with `Retry-After`.
    RateLimited,
    /// 500, body sent empty by design.
    Internal,
    /// 503, body sent empty by design, with `Retry-After`.
    Unavailable,
    /// 400 RFC 6749 `invalid_grant`, as the token endpoints answer.
    InvalidGrant,
}

/// How the connection ends.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DropMode {
    /// Close the connection without an answer.
    Connection,
    /// Send the head and half of the body, then close.
    Truncated,
}

/// What expires, and when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expire {
    pub target: ExpireTarget,
    /// Seconds of life left from now, on the virtual clock; 0 (the default) means already expired.
    #[serde(default)]
    pub ttl_secs: u64,
}

/// A kind of grant that can be made to expire.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpireTarget {
    /// The authorization code sent in the request, or issued on the redirect.
    Code,
    /// The access token sent in `Authorization`, or issued in the answer.
    AccessToken,
    /// The refresh token sent in the request, or issued in the answer.
    RefreshToken,
}

/// What happens to `state` on the redirect back to the app.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StateMode {
    /// Replace it with a different value.
    Tamper,
    /// Leave it out.
    Drop,
    /// Use the state of an earlier flow (a different value when there was none).
    Replay,
}

/// What is revoked.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RevokeTarget {
    /// The refresh token sent, or every refresh token of the instance involved.
    RefreshToken,
    /// The instance involved: the app is uninstalled from the site (`AppRemoved` included).
    Instance,
    /// The Headless OAuth app named by `client_id`.
    OauthApp,
}

/// A check the conformance report makes at the end of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// How the check is shown; derived from the rest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Count the requests that match this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Match>,
    /// Shorthand: accepted `POST /apps/v1/bi-event` calls with this `eventName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bi_event: Option<String>,
    /// Exactly this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// At least this many (1 when no bound is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// At most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

impl Expectation {
    /// The matcher this expectation counts with (the `bi_event` shorthand expanded).
    pub fn matcher(&self) -> Match {
        if let Some(event) = &self.bi_event {
            return Match {
                // The bi-event endpoint's fault name, by its id in the table (no spelling here).
                endpoint: crate::endpoints::get(crate::endpoints::Id::BiEvent)
                    .fault_name
                    .map(Endpoint),
                method: Some("POST".into()),
                field: Some(FieldMatch {
                    name: "eventName".into(),
                    equals: Some(event.clone()),
                }),
                status: Some(200),
                ..Match::default()
            };
        }
        self.requests.clone().unwrap_or_default()
    }

    /// `(min, max)` bounds on the count.
    pub fn bounds(&self) -> (u64, Option<u64>) {
        match (self.count, self.min, self.max) {
            (Some(n), _, _) => (n, Some(n)),
            (None, None, None) => (1, None),
            (None, min, max) => (min.unwrap_or(0), max),
        }
    }

    /// How the check is shown.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let (min, max) = self.bounds();
        let what = match &self.bi_event {
            Some(e) => format!("bi-event {e} sent"),
            None => format!(
                "requests matching {}",
                serde_json::to_string(&self.matcher()).unwrap_or_default()
            ),
        };
        match max {
            Some(m) if m == min => format!("{what}: exactly {min}"),
            Some(m) => format!("{what}: {min} to {m}"),
            None => format!("{what}: at least {min}"),
        }
    }
}

/// Checks what the types cannot; `at` gives the position of item `i` (0:0 when unknown).
pub fn check_faults(faults: &[Spanned<FaultSpec>], problems: &mut Vec<Problem>) {
    for (i, f) in faults.iter().enumerate() {
        let label = f
            .value
            .name
            .clone()
            .unwrap_or_else(|| format!("faults[{i}]"));
        let mut push = |message: String| {
            problems.push(Problem {
                line: f.referenced.line(),
                column: f.referenced.column(),
                message: format!("fault `{label}`: {message}"),
            })
        };
        for m in fault_problems(&f.value) {
            push(m);
        }
    }
}

/// The problems of one fault, as messages (used for scenario files and `POST /__admin/faults`).
pub fn fault_problems(f: &FaultSpec) -> Vec<String> {
    let mut out = Vec::new();
    if f.effects.is_empty() {
        out.push("`effects` must list at least one effect".to_string());
    }
    if let Some(p) = f.when.probability
        && !(0.0..=1.0).contains(&p)
    {
        out.push(format!("when.probability must be between 0 and 1, not {p}"));
    }
    if f.when.nth == Some(0) {
        out.push("when.nth counts from 1".to_string());
    }
    if let (Some(from), Some(until)) = (f.when.from, f.when.until)
        && from >= until
    {
        out.push("when.from must be before when.until".to_string());
    }
    match_problems(&f.matcher, &mut out);
    if f.matcher.status.is_some() {
        out.push("match.status is only for expectations: a fault fires before the answer".into());
    }
    for e in &f.effects {
        match e {
            Effect::Delay(d) => match (d.ms, d.min_ms, d.max_ms) {
                (Some(ms), None, None) if ms <= MAX_DELAY_MS => {}
                (None, Some(lo), Some(hi)) if lo <= hi && hi <= MAX_DELAY_MS => {}
                _ => out.push(format!(
                    "delay takes `ms`, or `min_ms` <= `max_ms`, all at most {MAX_DELAY_MS}"
                )),
            },
            Effect::Error(spec) => {
                if spec.preset.is_none() && spec.status.is_none() {
                    out.push("error needs a `preset` or a `status`".to_string());
                }
                if let Some(s) = spec.status
                    && !(100..=599).contains(&s)
                {
                    out.push(format!("error.status must be 100 to 599, not {s}"));
                }
                for (k, v) in &spec.headers {
                    if http::HeaderName::from_bytes(k.as_bytes()).is_err()
                        || http::HeaderValue::from_str(v).is_err()
                    {
                        out.push(format!("error.headers: `{k}` is not a valid header"));
                    }
                }
            }
            Effect::Expire(e) if e.ttl_secs > 10 * 365 * 24 * 3600 => {
                out.push("expire.ttl_secs must be at most 10 years".to_string())
            }
            _ => {}
        }
    }
    out
}

/// Checks the scenario's `expect:` list.
pub fn check_expectations(expect: &[Spanned<Expectation>], problems: &mut Vec<Problem>) {
    for (i, e) in expect.iter().enumerate() {
        let mut messages = Vec::new();
        match (&e.value.requests, &e.value.bi_event) {
            (Some(m), None) => match_problems(m, &mut messages),
            (None, Some(_)) => {}
            _ => messages.push("give exactly one of `requests` or `bi_event`".to_string()),
        }
        if e.value.count.is_some() && (e.value.min.is_some() || e.value.max.is_some()) {
            messages.push("give `count`, or `min`/`max`, not both".to_string());
        }
        if let (Some(min), Some(max)) = (e.value.min, e.value.max)
            && min > max
        {
            messages.push("`min` must not exceed `max`".to_string());
        }
        for m in messages {
            problems.push(Problem {
                line: e.referenced.line(),
                column: e.referenced.column(),
                message: format!("expect[{i}]: {m}"),
            });
        }
    }
}

fn match_problems(m: &Match, out: &mut Vec<String>) {
    if let Some(p) = &m.path
        && !p.starts_with('/')
        && p != "*"
    {
        out.push(format!("match.path `{p}` must start with `/`"));
    }
    if let Some(method) = &m.method
        && http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).is_err()
    {
        out.push(format!("match.method `{method}` is not an HTTP method"));
    }
}

/// The longest delay a fault may add, so a typo cannot hang a test run for hours.
pub const MAX_DELAY_MS: u64 = 120_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_name_of_the_endpoint_table_is_an_endpoint_name_read_and_written_as_spelled() {
        assert_eq!(Endpoint::names()[0], "any");
        assert_eq!(&Endpoint::names()[1..], crate::endpoints::fault_names());
        for name in Endpoint::names() {
            let read: Endpoint = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read.name(), *name);
            assert_eq!(serde_json::to_value(read).unwrap(), serde_json::json!(name));
        }
        let shorthand = Expectation {
            bi_event: Some("APP_FINISHED_CONFIGURATION".into()),
            ..Default::default()
        };
        assert_eq!(shorthand.matcher().endpoint, Endpoint::named("bi_event"));
    }

    #[test]
    fn an_unknown_endpoint_name_is_refused_with_the_known_ones() {
        let err = serde_json::from_value::<Endpoint>(serde_json::json!("tokens")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("unknown variant `tokens`, expected one of `any`, `app_market`"),
            "{text}"
        );
        assert!(
            text.contains("`token`") && text.contains("`oauth_apps`"),
            "{text}"
        );
        assert_eq!(Endpoint::named("Token"), None);
    }

    #[test]
    fn a_fault_reads_from_yaml_with_every_kind_of_effect() {
        let yaml = r#"
- name: everything
  match: {endpoint: oauth_access, grant_type: refresh_token, field: {name: clientId, equals: x}}
  when: {first: 2, probability: 0.5}
  effects:
    - delay: {min_ms: 10, max_ms: 20}
    - error: {preset: rate_limited, retry_after_secs: 3}
    - drop: truncated
    - expire: {target: access_token, ttl_secs: 60}
    - state: replay
    - revoke: instance
"#;
        let faults: Vec<FaultSpec> = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(faults[0].effects.len(), 6);
        assert_eq!(faults[0].effects[2], Effect::Drop(DropMode::Truncated));
        assert!(fault_problems(&faults[0]).is_empty());
    }

    #[test]
    fn nonsense_in_a_fault_is_reported() {
        let f = FaultSpec {
            name: None,
            matcher: Match::default(),
            when: When {
                probability: Some(2.0),
                ..When::default()
            },
            effects: vec![Effect::Error(ErrorSpec::default())],
        };
        let problems = fault_problems(&f);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
