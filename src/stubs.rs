//! Stubs for the rest of wixapis.com (issue 15): the compiled matcher, its index, the near-miss
//! report, the state stubs keep (sequences, WireMock-style scenario states, counters) and the small
//! template engine their answers use.
//!
//! A domain module: it imports the request, the error type and the stub spec types, nothing of the
//! HTTP layer, the world or the scenario loader. Who the caller is comes in as a [`Who`] that `App`
//! fills from its token check, so authorization stays where the tokens are (`App::answer_stub`).
//!
//! Scaling (benches/stub_matching.rs): stubs are indexed by method, segment count and the literal
//! path prefix before their first `{param}`; a request looks up one bucket per prefix length of its
//! own path (a handful of hash lookups) and only the stubs there are matched in full. Regular
//! expressions are checked when a stub is loaded and compiled when a request first reaches them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::request::Incoming;
use crate::scenario::stubs::{
    BodyPattern, CALLER_FIELDS, IdentityKind, JsonPath, MAX_DELAY_MS, METHODS, ResponseSpec,
    StubSpec, ValueMatcher, valid_name,
};

/// What a wrong method or path segment weighs in a near miss's distance; every other failed part
/// weighs 1, so a stub for the right endpoint with a wrong body is nearer than one for another.
const STRUCTURAL: usize = 3;
/// How many near misses a 404 lists.
pub const NEAR_MISSES: usize = 3;
/// The state every WireMock scenario starts in.
pub const STARTED: &str = "Started";

// ---- Compiled matchers --------------------------------------------------------------------------

#[derive(Debug)]
enum Text {
    EqualTo(String),
    Contains(String),
    Matches(Pattern),
    DoesNotMatch(Pattern),
    /// `absent: true` (must be absent) or `absent: false` (must be present).
    Absent(bool),
}

impl Text {
    fn compile(m: &ValueMatcher) -> Result<Text, String> {
        let given = [
            m.equal_to.is_some(),
            m.contains.is_some(),
            m.matches.is_some(),
            m.does_not_match.is_some(),
            m.absent.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(
                "give exactly one of equalTo, contains, matches, doesNotMatch, absent".into(),
            );
        }
        Ok(if let Some(v) = &m.equal_to {
            Text::EqualTo(v.clone())
        } else if let Some(v) = &m.contains {
            Text::Contains(v.clone())
        } else if let Some(v) = &m.matches {
            Text::Matches(Pattern::new(v)?)
        } else if let Some(v) = &m.does_not_match {
            Text::DoesNotMatch(Pattern::new(v)?)
        } else {
            Text::Absent(m.absent.unwrap_or(true))
        })
    }

    /// Whether it holds: [`Text::check`] without building the reason (the matching path).
    fn holds(&self, have: Option<&str>) -> bool {
        match (self, have) {
            (Text::Absent(absent), v) => *absent == v.is_none(),
            (_, None) => false,
            (Text::EqualTo(w), Some(v)) => v == w,
            (Text::Contains(w), Some(v)) => v.contains(w.as_str()),
            (Text::Matches(r), Some(v)) => r.is_match(v),
            (Text::DoesNotMatch(r), Some(v)) => !r.is_match(v),
        }
    }

    /// `None` when it holds, else why not.
    fn check(&self, have: Option<&str>) -> Option<String> {
        match (self, have) {
            (Text::Absent(true), None) | (Text::Absent(false), Some(_)) => None,
            (Text::Absent(true), Some(v)) => Some(format!("is `{v}`, the stub wants it absent")),
            (_, None) => Some("is absent".into()),
            (Text::EqualTo(w), Some(v)) if v == w => None,
            (Text::EqualTo(w), Some(v)) => Some(format!("is `{v}`, not `{w}`")),
            (Text::Contains(w), Some(v)) if v.contains(w.as_str()) => None,
            (Text::Contains(w), Some(v)) => Some(format!("is `{v}`, which does not contain `{w}`")),
            (Text::Matches(r), Some(v)) if r.is_match(v) => None,
            (Text::Matches(r), Some(v)) => {
                Some(format!("is `{v}`, which does not match `{}`", r.shown()))
            }
            (Text::DoesNotMatch(r), Some(v)) if !r.is_match(v) => None,
            (Text::DoesNotMatch(r), Some(v)) => {
                Some(format!("is `{v}`, which matches `{}`", r.shown()))
            }
        }
    }
}

/// Compiled patterns by source, shared by every load (stub folders repeat their patterns, and a
/// `Regex` clone shares its compiled program). Bounded: emptied when it holds [`REGEX_CACHE`]
/// patterns (the admin API can add stubs without end).
static REGEXES: std::sync::LazyLock<Mutex<HashMap<String, Regex>>> =
    std::sync::LazyLock::new(Default::default);
const REGEX_CACHE: usize = 4096;

/// A regular expression, anchored (WireMock's `matches` is a whole-value match). Its syntax is
/// checked when the stub loads; the automaton is compiled when a request first reaches it, so
/// loading 1 000 stubs does not pay for 1 000 regex compilations (benches/RESULTS.md, issue 15).
#[derive(Debug)]
struct Pattern {
    source: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl Pattern {
    fn new(pattern: &str) -> Result<Pattern, String> {
        let source = format!("^(?:{pattern})$");
        regex_syntax::Parser::new().parse(&source).map_err(|e| {
            format!(
                "bad regular expression `{pattern}`: {}",
                e.to_string().lines().last().unwrap_or("")
            )
        })?;
        Ok(Pattern {
            source,
            compiled: std::sync::OnceLock::new(),
        })
    }

    fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| compile(&self.source))
            .is_match(text)
    }

    /// The pattern as written.
    fn shown(&self) -> &str {
        self.source
            .strip_prefix("^(?:")
            .and_then(|s| s.strip_suffix(")$"))
            .unwrap_or(&self.source)
    }
}

/// Compiles a checked pattern (from the cache when it can). A pattern whose syntax is valid but
/// that the engine refuses (over its size limit) matches nothing.
fn compile(source: &str) -> Regex {
    if let Some(r) = REGEXES.lock().get(source) {
        return r.clone();
    }
    let compiled = Regex::new(source)
        .unwrap_or_else(|_| Regex::new(r"[^\s\S]").expect("a valid never-matching pattern"));
    let mut cache = REGEXES.lock();
    if cache.len() >= REGEX_CACHE {
        cache.clear();
    }
    cache.insert(source.to_string(), compiled.clone());
    compiled
}

#[derive(Debug)]
enum Body {
    EqualTo(String),
    Contains(String),
    Matches(Pattern),
    Json {
        want: Value,
        subset: bool,
    },
    Path {
        path: Vec<Step>,
        expr: String,
        value: Option<Text>,
    },
}

impl Body {
    fn compile(p: &BodyPattern) -> Result<Body, String> {
        let given = [
            p.equal_to.is_some(),
            p.contains.is_some(),
            p.matches.is_some(),
            p.equal_to_json.is_some(),
            p.matches_json_path.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err("a body pattern gives exactly one of equalTo, contains, matches, equalToJson, matchesJsonPath".into());
        }
        if p.ignore_extra_elements && p.equal_to_json.is_none() {
            return Err("ignoreExtraElements goes with equalToJson".into());
        }
        Ok(if let Some(v) = &p.equal_to {
            Body::EqualTo(v.clone())
        } else if let Some(v) = &p.contains {
            Body::Contains(v.clone())
        } else if let Some(v) = &p.matches {
            Body::Matches(Pattern::new(v)?)
        } else if let Some(v) = &p.equal_to_json {
            Body::Json {
                want: v.clone(),
                subset: p.ignore_extra_elements,
            }
        } else {
            match p.matches_json_path.as_ref() {
                Some(JsonPath::Exists(expr)) => Body::Path {
                    path: parse_json_path(expr)?,
                    expr: expr.clone(),
                    value: None,
                },
                Some(JsonPath::Value(v)) => Body::Path {
                    path: parse_json_path(&v.expression)?,
                    expr: v.expression.clone(),
                    value: Some(Text::compile(&v.matcher())?),
                },
                None => unreachable!("counted above"),
            }
        })
    }

    fn check(&self, text: &str, json: Option<&Value>) -> Option<String> {
        match self {
            Body::EqualTo(w) if text == w => None,
            Body::EqualTo(_) => Some("body is not equal to the stub's".into()),
            Body::Contains(w) if text.contains(w.as_str()) => None,
            Body::Contains(w) => Some(format!("body does not contain `{w}`")),
            Body::Matches(r) if r.is_match(text) => None,
            Body::Matches(r) => Some(format!("body does not match `{}`", r.shown())),
            Body::Json { want, subset } => match json {
                None => Some("body is not JSON".into()),
                Some(have) if json_equal(want, have, *subset) => None,
                Some(_) if *subset => Some("body does not contain the stub's JSON".into()),
                Some(_) => Some("body is not equal to the stub's JSON".into()),
            },
            Body::Path { path, expr, value } => {
                let found = json.and_then(|j| select(j, path));
                match (value, found) {
                    (None, Some(_)) => None,
                    (None, None) => Some(format!("body has nothing at `{expr}`")),
                    (Some(t), found) => {
                        let text = found.map(value_text);
                        t.check(text.as_deref())
                            .map(|why| format!("body at `{expr}` {why}"))
                    }
                }
            }
        }
    }
}

/// `want` equals `have`; with `subset`, `have` may carry more object fields and array elements
/// (each element of `want` matched by a distinct element of `have`, in any order).
fn json_equal(want: &Value, have: &Value, subset: bool) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            (subset || w.len() == h.len())
                && w.iter()
                    .all(|(k, wv)| h.get(k).is_some_and(|hv| json_equal(wv, hv, subset)))
        }
        (Value::Array(w), Value::Array(h)) if subset => {
            let mut used = vec![false; h.len()];
            w.iter().all(|wv| {
                let hit = h
                    .iter()
                    .enumerate()
                    .find(|(i, hv)| !used[*i] && json_equal(wv, hv, true));
                match hit {
                    Some((i, _)) => {
                        used[i] = true;
                        true
                    }
                    None => false,
                }
            })
        }
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| json_equal(a, b, false))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

// ---- JSONPath (a subset) ------------------------------------------------------------------------

/// One step of a JSONPath: a field or an array index.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// Parses the subset of JSONPath stubs need: `$`, `.name`, `['name']`, `[N]`. Hand-written: the
/// JSONPath crates bring filters and scripts no stub needs, and this is twenty lines.
pub fn parse_json_path(expr: &str) -> Result<Vec<Step>, String> {
    let bad =
        || format!("`{expr}` is not a JSONPath like `$.query.paging.limit` or `$.items[0].id`");
    let rest = expr.trim().strip_prefix('$').ok_or_else(bad)?;
    parse_steps(rest).ok_or_else(bad)
}

/// `.a.b[0]`, or the same without the leading dot (templates write `request.body.a.b[0]`).
fn parse_steps(mut rest: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut first = true;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            steps.push(Step::Field(r[..end].to_string()));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        } else {
            let r = match rest.strip_prefix('.') {
                Some(r) => r,
                None if first => rest,
                None => return None,
            };
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Field(r[..end].to_string()));
            rest = &r[end..];
        }
        first = false;
    }
    Some(steps)
}

fn select<'v>(mut v: &'v Value, path: &[Step]) -> Option<&'v Value> {
    for step in path {
        v = match step {
            Step::Field(f) => v.get(f.as_str())?,
            Step::Index(i) => v.get(*i)?,
        };
    }
    Some(v)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ---- One compiled stub --------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Lit(String),
    Param(String),
}

/// A stub ready to match: its spec, and what was compiled from it.
#[derive(Debug)]
pub struct Compiled {
    pub spec: StubSpec,
    pub name: String,
    priority: u32,
    /// Load order, the tie-break between equal priorities.
    order: u64,
    /// `None` is `ANY`.
    method: Option<String>,
    segs: Vec<Seg>,
    query: Vec<(String, Text)>,
    headers: Vec<(String, Text)>,
    body: Vec<Body>,
    /// Requests this stub matched (answered or refused).
    matched: AtomicU64,
}

impl Compiled {
    fn new(spec: StubSpec, order: u64) -> Result<Compiled, Vec<String>> {
        let mut problems = Vec::new();
        let method = spec.request.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            problems.push(format!(
                "request.method `{}` is not one of {}",
                spec.request.method,
                METHODS.join(", ")
            ));
        }
        let segs = match parse_template(&spec.request.path) {
            Ok(s) => s,
            Err(e) => {
                problems.push(e);
                Vec::new()
            }
        };
        let mut text = |what: &str, name: &str, m: &ValueMatcher| match Text::compile(m) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(format!("request.{what}.{name}: {e}"));
                None
            }
        };
        let query: Vec<(String, Text)> = spec
            .request
            .query
            .iter()
            .filter_map(|(k, m)| Some((k.clone(), text("query", k, m)?)))
            .collect();
        let headers: Vec<(String, Text)> = spec
            .request
            .headers
            .iter()
            .filter_map(|(k, m)| Some((k.to_ascii_lowercase(), text("headers", k, m)?)))
            .collect();
        let mut body = Vec::new();
        for (i, p) in spec.request.body.iter().enumerate() {
            match Body::compile(p) {
                Ok(b) => body.push(b),
                Err(e) => problems.push(format!("request.body[{i}]: {e}")),
            }
        }
        let params: Vec<&str> = segs
            .iter()
            .filter_map(|s| match s {
                Seg::Param(p) => Some(p.as_str()),
                Seg::Lit(_) => None,
            })
            .collect();
        let answers = spec.answers();
        if spec.response.is_some() != spec.responses.is_empty() {
            problems.push("give exactly one of `response` and `responses`".into());
        }
        for (i, r) in answers.iter().enumerate() {
            for p in response_problems(r, &params) {
                problems.push(if answers.len() > 1 {
                    format!("responses[{i}]: {p}")
                } else {
                    format!("response: {p}")
                });
            }
        }
        if (spec.required_state.is_some() || spec.new_state.is_some())
            && spec.scenario_name.is_none()
        {
            problems.push("required_state and new_state need a scenario_name".into());
        }
        let auth = &spec.auth;
        if auth.anonymous && (!auth.identities.is_empty() || !auth.scopes.is_empty()) {
            problems.push("auth.anonymous takes no identities or scopes".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Compiled {
            name: spec.derived_name(),
            priority: spec.priority.unwrap_or(5),
            order,
            method: (method != "ANY").then_some(method),
            segs,
            query,
            headers,
            body,
            matched: AtomicU64::new(0),
            spec,
        })
    }

    /// The literal segments before the first `{param}`, joined with `/`: the index key.
    fn prefix(&self) -> (usize, String) {
        let lits: Vec<&str> = self
            .segs
            .iter()
            .map_while(|s| match s {
                Seg::Lit(l) => Some(l.as_str()),
                Seg::Param(_) => None,
            })
            .collect();
        (lits.len(), lits.join("/"))
    }

    /// Whether the path fits the template (no allocation: the matching path).
    fn fits(&self, segs: &[&str]) -> bool {
        segs.len() == self.segs.len()
            && self.segs.iter().zip(segs).all(|(want, have)| match want {
                Seg::Lit(l) => l == have,
                Seg::Param(_) => !have.is_empty(),
            })
    }

    /// The path's `{param}` values, or `None` when the path does not fit the template.
    fn path_params(&self, segs: &[&str]) -> Option<Vec<(String, String)>> {
        if segs.len() != self.segs.len() {
            return None;
        }
        let mut out = Vec::new();
        for (want, have) in self.segs.iter().zip(segs) {
            match want {
                Seg::Lit(l) if l == have => {}
                Seg::Lit(_) => return None,
                Seg::Param(_) if have.is_empty() => return None,
                Seg::Param(p) => out.push((p.clone(), percent_decode(have))),
            }
        }
        Some(out)
    }

    /// Whether everything but method and path holds (checked by the index and the template): the
    /// matching path, which builds no reasons and stops at the first failure.
    fn accepts(&self, req: &Seen<'_>, states: &HashMap<String, String>) -> bool {
        self.query
            .iter()
            .all(|(name, t)| t.holds(req.req.query.get(name).map(String::as_str)))
            && self
                .headers
                .iter()
                .all(|(name, t)| t.holds(req.req.header(name)))
            && (self.body.is_empty() || {
                let text = String::from_utf8_lossy(&req.req.body);
                self.body
                    .iter()
                    .all(|b| b.check(&text, req.json()).is_none())
            })
            && match (&self.spec.scenario_name, &self.spec.required_state) {
                (Some(scenario), Some(want)) => {
                    states.get(scenario).map(String::as_str).unwrap_or(STARTED) == want
                }
                _ => true,
            }
    }

    /// Everything but method and path (checked by the index or the caller): why the rest misses.
    fn misses(&self, req: &Seen<'_>, states: &HashMap<String, String>, why: &mut Vec<String>) {
        for (name, t) in &self.query {
            if let Some(w) = t.check(req.req.query.get(name).map(String::as_str)) {
                why.push(format!("query parameter `{name}` {w}"));
            }
        }
        for (name, t) in &self.headers {
            if let Some(w) = t.check(req.req.header(name)) {
                why.push(format!("header `{name}` {w}"));
            }
        }
        if !self.body.is_empty() {
            let text = String::from_utf8_lossy(&req.req.body);
            for b in &self.body {
                if let Some(w) = b.check(&text, req.json()) {
                    why.push(w);
                }
            }
        }
        if let (Some(scenario), Some(want)) = (&self.spec.scenario_name, &self.spec.required_state)
        {
            let have = states.get(scenario).map(String::as_str).unwrap_or(STARTED);
            if have != want {
                why.push(format!(
                    "scenario `{scenario}` is in state `{have}`, the stub wants `{want}`"
                ));
            }
        }
    }

    /// Requests this stub matched since it was loaded.
    pub fn matched(&self) -> u64 {
        self.matched.load(Ordering::Relaxed)
    }
}

fn parse_template(path: &str) -> Result<Vec<Seg>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("request.path `{path}` must start with `/`"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('?') {
        return Err(format!(
            "request.path `{path}` has a query string; match it with request.query"
        ));
    }
    let mut segs = Vec::new();
    for s in rest.split('/') {
        if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                return Err(format!("request.path `{path}`: bad parameter `{s}`"));
            }
            segs.push(Seg::Param(name.to_string()));
        } else if s.is_empty() && !rest.is_empty() {
            return Err(format!("request.path `{path}` has an empty segment"));
        } else {
            segs.push(Seg::Lit(s.to_string()));
        }
    }
    Ok(segs)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// What is wrong with a stub, or nothing (the scenario loader and the admin API call this).
pub fn problems(spec: &StubSpec) -> Vec<String> {
    match Compiled::new(spec.clone(), 0) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    }
}

/// Gives every stub its name (derived ones made unique with `-2`, `-3`, ...) and reports what is
/// wrong, each message starting with the stub's name. `taken` are names already in use.
pub fn name_and_check(stubs: &mut [StubSpec], taken: &[String]) -> Vec<String> {
    let mut problems_out = Vec::new();
    let mut names: Vec<String> = taken.to_vec();
    for stub in stubs.iter_mut() {
        let explicit = stub.name.is_some();
        let base = stub.derived_name();
        let mut name = base.clone();
        if !explicit {
            let mut n = 2;
            while names.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
        } else if names.contains(&name) {
            problems_out.push(format!("stub `{name}`: the name is used twice"));
        }
        if !valid_name(&name) {
            problems_out.push(format!(
                "stub `{name}`: a name is 1 to 128 letters, digits, `.`, `_` or `-`"
            ));
        }
        stub.name = Some(name.clone());
        names.push(name.clone());
        for p in problems(stub) {
            problems_out.push(format!("stub `{name}`: {p}"));
        }
    }
    problems_out
}

// ---- Templates ----------------------------------------------------------------------------------
//
// Hand-written rather than handlebars/tera/minijinja: a template here is `{{ dotted.path }}` and
// nothing else (no helpers, loops or conditions), checked when the stub is loaded; a general
// engine would accept far more than this mock can document and test, and pull in a large crate.

/// The roots a template may read.
const ROOTS: &[&str] = &["request", "caller", "member", "now", "randomId"];

fn response_problems(r: &ResponseSpec, params: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if !(100..=599).contains(&r.status) {
        out.push(format!("status {} is not an HTTP status", r.status));
    }
    if r.body.is_some() && r.body_text.is_some() {
        out.push("give `body` or `body_text`, not both".into());
    }
    if r.delay_ms.is_some_and(|d| d > MAX_DELAY_MS) {
        out.push(format!("delay_ms is at most {MAX_DELAY_MS}"));
    }
    for (name, value) in &r.headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            out.push(format!("header name `{name}` is not valid"));
        }
        template_problems(value, params, &mut out);
    }
    if let Some(body) = &r.body {
        walk_strings(body, &mut |s| template_problems(s, params, &mut out));
    }
    out
}

fn walk_strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|v| walk_strings(v, f)),
        Value::Object(o) => o.iter().for_each(|(k, v)| {
            f(k);
            walk_strings(v, f)
        }),
        _ => {}
    }
}

/// The `{{ … }}` expressions of a string, or an error for an unclosed one.
fn expressions(s: &str) -> Result<Vec<(usize, usize, &str)>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find("{{") {
        let open = from + open;
        let close = s[open..]
            .find("}}")
            .map(|c| open + c)
            .ok_or_else(|| format!("`{s}` opens `{{{{` without closing it"))?;
        out.push((open, close + 2, s[open + 2..close].trim()));
        from = close + 2;
    }
    Ok(out)
}

fn template_problems(s: &str, params: &[&str], out: &mut Vec<String>) {
    match expressions(s) {
        Err(e) => out.push(e),
        Ok(exprs) => {
            for (_, _, e) in exprs {
                if let Err(p) = check_expression(e, params) {
                    out.push(p);
                }
            }
        }
    }
}

fn check_expression(e: &str, params: &[&str]) -> Result<(), String> {
    let root = e.split(['.', '[']).next().unwrap_or("");
    let rest = &e[root.len()..];
    let bad = |why: &str| Err(format!("template `{{{{{e}}}}}`: {why}"));
    match root {
        "now" | "randomId" if rest.is_empty() => Ok(()),
        "caller" => match rest.strip_prefix('.') {
            Some(f) if CALLER_FIELDS.contains(&f) => Ok(()),
            _ => bad(&format!("caller has {}", CALLER_FIELDS.join(", "))),
        },
        "member" => match rest {
            "" => Ok(()),
            r if parse_steps(r).is_some() => Ok(()),
            _ => bad("not a path into the member"),
        },
        "request" => {
            let r = rest.strip_prefix('.').unwrap_or("");
            let (part, tail) = r.split_once('.').unwrap_or((r, ""));
            match (part, tail) {
                ("method" | "url", "") | ("body", "") => Ok(()),
                ("path", "") => Ok(()),
                ("path", p) if params.contains(&p) => Ok(()),
                ("path", p) => bad(&format!("the path template has no `{{{p}}}`")),
                ("query" | "headers", n) if !n.is_empty() => Ok(()),
                ("body", p) if parse_steps(p).is_some() => Ok(()),
                _ => bad(
                    "request has method, url, path, path.NAME, query.NAME, headers.NAME, body, body.PATH",
                ),
            }
        }
        _ => bad(&format!("a template reads one of {}", ROOTS.join(", "))),
    }
}

/// What a template can read about the request and the caller.
pub struct Context<'a> {
    pub req: &'a Seen<'a>,
    pub params: &'a [(String, String)],
    pub who: Option<&'a Who>,
    /// The caller's member (`{{member.profile.nickname}}`), when the caller is one.
    pub member: Option<&'a Value>,
    /// The virtual clock's now, RFC 3339.
    pub now: &'a str,
    pub random_id: &'a str,
}

impl Context<'_> {
    fn resolve(&self, e: &str) -> Value {
        let root = e.split(['.', '[']).next().unwrap_or("");
        let rest = &e[root.len()..];
        let pick = |v: Option<&Value>, path: &str| -> Value {
            let steps = parse_steps(path).unwrap_or_default();
            v.and_then(|v| select(v, &steps))
                .cloned()
                .unwrap_or(Value::Null)
        };
        match root {
            "now" => Value::String(self.now.to_string()),
            "randomId" => Value::String(self.random_id.to_string()),
            "caller" => {
                let caller = self.who.map(Who::json);
                pick(caller.as_ref(), rest)
            }
            "member" => pick(self.member, rest),
            _ => {
                let r = rest.strip_prefix('.').unwrap_or("");
                let (part, tail) = r.split_once('.').unwrap_or((r, ""));
                let req = self.req.req;
                let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.into()));
                match (part, tail) {
                    ("method", _) => Value::String(req.method.to_string()),
                    ("url", _) => Value::String(if req.raw_query.is_empty() {
                        req.raw_path.clone()
                    } else {
                        format!("{}?{}", req.raw_path, req.raw_query)
                    }),
                    ("path", "") => Value::String(req.raw_path.clone()),
                    ("path", p) => text(
                        self.params
                            .iter()
                            .find(|(k, _)| k == p)
                            .map(|(_, v)| v.as_str()),
                    ),
                    ("query", n) => text(req.query.get(n).map(String::as_str)),
                    ("headers", n) => text(req.header(n.to_ascii_lowercase())),
                    ("body", "") => self.req.json().cloned().unwrap_or(Value::Null),
                    ("body", p) => pick(self.req.json(), p),
                    _ => Value::Null,
                }
            }
        }
    }

    /// A string with its templates filled in. A string that is one template and nothing else takes
    /// the value's JSON type (`"{{request.body.limit}}"` → `10`); elsewhere values are spliced as text.
    fn render_str(&self, s: &str) -> Value {
        let Ok(exprs) = expressions(s) else {
            return Value::String(s.to_string());
        };
        if exprs.is_empty() {
            return Value::String(s.to_string());
        }
        if let [(0, end, e)] = exprs[..]
            && end == s.len()
        {
            return self.resolve(e);
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (open, close, e) in exprs {
            out.push_str(&s[at..open]);
            match self.resolve(e) {
                Value::Null => {}
                v => out.push_str(&value_text(&v)),
            }
            at = close;
        }
        out.push_str(&s[at..]);
        Value::String(out)
    }

    /// A JSON body with every string (and object key) rendered.
    pub fn render(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => self.render_str(s),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.render(v)).collect()),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    out.insert(value_text(&self.render_str(k)), self.render(v));
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// A header value, rendered as text.
    pub fn render_text(&self, s: &str) -> String {
        value_text(&self.render_str(s))
    }
}

/// Who called, as templates and the journal see it (filled by `App` from the token check).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Who {
    pub kind: IdentityKind,
    pub instance_id: Option<String>,
    pub app_id: Option<String>,
    pub site_id: Option<String>,
    pub user_id: Option<String>,
    pub member_id: Option<String>,
    pub visitor_id: Option<String>,
    pub scopes: Vec<String>,
}

impl Who {
    fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

// ---- A request, as the matchers see it ----------------------------------------------------------

/// The request with its path split and its body parsed as JSON at most once.
pub struct Seen<'a> {
    pub req: &'a Incoming,
    segs: Vec<&'a str>,
    json: std::sync::OnceLock<Option<Value>>,
}

impl<'a> Seen<'a> {
    pub fn new(req: &'a Incoming) -> Seen<'a> {
        let p = req.raw_path.strip_prefix('/').unwrap_or(&req.raw_path);
        let p = p.strip_suffix('/').unwrap_or(p);
        Seen {
            req,
            segs: p.split('/').collect(),
            json: std::sync::OnceLock::new(),
        }
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(&self.req.body).ok())
            .as_ref()
    }
}

// ---- The set of stubs ---------------------------------------------------------------------------

/// A stub that almost matched, and why it did not.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NearMiss {
    pub stub: String,
    /// `METHOD /path/template`.
    pub request: String,
    pub why: Vec<String>,
    /// Lower is closer.
    #[serde(skip)]
    pub distance: usize,
}

/// What matching a request gave.
pub enum Found {
    Stub {
        stub: Arc<Compiled>,
        params: Vec<(String, String)>,
    },
    Unmatched(Vec<NearMiss>),
}

/// Index key: method (`""` for ANY), segment count, literal prefix.
type Key = (String, usize, String);

#[derive(Default)]
struct Set {
    stubs: Vec<Arc<Compiled>>,
    index: HashMap<Key, Vec<usize>>,
    /// Whether any stub has a required state (then matching reads the states).
    stateful: bool,
    next_order: u64,
}

impl Set {
    fn rebuild(&mut self) {
        self.stubs.sort_by_key(|s| (s.priority, s.order));
        self.index.clear();
        self.stateful = false;
        for (i, s) in self.stubs.iter().enumerate() {
            let (lits, prefix) = s.prefix();
            let _ = lits;
            let key = (s.method.clone().unwrap_or_default(), s.segs.len(), prefix);
            self.index.entry(key).or_default().push(i);
            self.stateful |= s.spec.required_state.is_some();
        }
    }
}

/// Progress of stateful stubs.
#[derive(Debug, Default)]
struct Progress {
    /// Stub name → how many times it answered (the position in its `responses`).
    answered: HashMap<String, u64>,
    /// Scenario name → state.
    states: HashMap<String, String>,
}

/// The stubs of one running mock. Matching takes the read lock; adding and removing the write lock.
#[derive(Default)]
pub struct Stubs {
    set: RwLock<Set>,
    progress: Mutex<Progress>,
    /// Answers rendered since the last reset: numbers each `{{randomId}}`.
    rendered: AtomicU64,
}

impl Stubs {
    /// The stubs of a scenario (already checked when it was loaded; a stub that fails to compile
    /// here is skipped, which cannot happen for a checked scenario).
    pub fn new(specs: &[StubSpec]) -> Stubs {
        let stubs = Stubs::default();
        stubs.replace(specs);
        stubs
    }

    /// Drops every stub and every bit of progress, then loads `specs`.
    pub fn replace(&self, specs: &[StubSpec]) {
        let mut set = self.set.write();
        *set = Set::default();
        for spec in specs {
            if let Ok(c) = Compiled::new(spec.clone(), set.next_order) {
                set.next_order += 1;
                set.stubs.push(Arc::new(c));
            }
        }
        set.rebuild();
        *self.progress.lock() = Progress::default();
        self.rendered.store(0, Ordering::Relaxed);
    }

    /// The number of the next rendered answer (from 1), for a seeded `{{randomId}}`.
    pub fn next_render(&self) -> u64 {
        self.rendered.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Adds stubs at run time, after naming and checking them; answers their names.
    pub fn add(&self, mut specs: Vec<StubSpec>) -> Result<Vec<String>, Vec<String>> {
        let mut set = self.set.write();
        let taken: Vec<String> = set.stubs.iter().map(|s| s.name.clone()).collect();
        let problems = name_and_check(&mut specs, &taken);
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut names = Vec::new();
        for spec in specs {
            let c = Compiled::new(spec, set.next_order)?;
            set.next_order += 1;
            names.push(c.name.clone());
            set.stubs.push(Arc::new(c));
        }
        set.rebuild();
        Ok(names)
    }

    /// Removes one stub; whether it existed.
    pub fn remove(&self, name: &str) -> bool {
        let mut set = self.set.write();
        let before = set.stubs.len();
        set.stubs.retain(|s| s.name != name);
        let removed = set.stubs.len() != before;
        if removed {
            set.rebuild();
            self.progress.lock().answered.remove(name);
        }
        removed
    }

    /// Every stub, in matching order.
    pub fn all(&self) -> Vec<Arc<Compiled>> {
        self.set.read().stubs.clone()
    }

    /// One stub by name.
    pub fn get(&self, name: &str) -> Option<Arc<Compiled>> {
        self.set
            .read()
            .stubs
            .iter()
            .find(|s| s.name == name)
            .cloned()
    }

    /// How many stubs are loaded.
    pub fn len(&self) -> usize {
        self.set.read().stubs.len()
    }

    /// Whether no stub is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The states of the named scenarios (absent ones are `Started`).
    pub fn states(&self) -> HashMap<String, String> {
        self.progress.lock().states.clone()
    }

    /// The stub that answers `req`: the first by priority whose every part matches; or the
    /// nearest misses. Counts the match.
    pub fn find(&self, req: &Seen<'_>) -> Found {
        let set = self.set.read();
        let states = if set.stateful {
            self.progress.lock().states.clone()
        } else {
            HashMap::new()
        };
        let method = req.req.method.as_str();
        let n = req.segs.len();
        let mut candidates: Vec<usize> = Vec::new();
        let mut prefix = String::new();
        for k in 0..=n {
            if k > 0 {
                if k > 1 {
                    prefix.push('/');
                }
                prefix.push_str(req.segs[k - 1]);
            }
            for m in [method, ""] {
                // The key is built per lookup; a handful per request.
                if let Some(hits) = set.index.get(&(m.to_string(), n, prefix.clone())) {
                    candidates.extend_from_slice(hits);
                }
            }
        }
        // The set is sorted by priority then order, so index order is matching order.
        candidates.sort_unstable();
        for i in candidates {
            let stub = &set.stubs[i];
            if stub.fits(&req.segs) && stub.accepts(req, &states) {
                let params = stub.path_params(&req.segs).unwrap_or_default();
                stub.matched.fetch_add(1, Ordering::Relaxed);
                return Found::Stub {
                    stub: stub.clone(),
                    params,
                };
            }
        }
        Found::Unmatched(near_misses(&set.stubs, req, &states))
    }

    /// Advances a stub's sequence and its scenario's state; answers the response to send (`None`
    /// when the stub has none, which a checked stub always has).
    pub fn advance(&self, stub: &Compiled) -> Option<ResponseSpec> {
        let answers = stub.spec.answers();
        let mut p = self.progress.lock();
        let n = p.answered.entry(stub.name.clone()).or_default();
        let at = (*n as usize).min(answers.len().saturating_sub(1));
        *n += 1;
        if let (Some(scenario), Some(next)) = (&stub.spec.scenario_name, &stub.spec.new_state) {
            p.states.insert(scenario.clone(), next.clone());
        }
        answers.get(at).map(|r| (*r).clone())
    }
}

/// The stubs nearest to `req`, closest first: every part that fails is one reason, and each
/// segment off the path template one more.
fn near_misses(
    stubs: &[Arc<Compiled>],
    req: &Seen<'_>,
    states: &HashMap<String, String>,
) -> Vec<NearMiss> {
    let method = req.req.method.as_str();
    let mut out: Vec<NearMiss> = Vec::new();
    for stub in stubs {
        let mut why = Vec::new();
        let mut distance = 0;
        let path_off = if stub.path_params(&req.segs).is_some() {
            0
        } else {
            path_distance(&stub.segs, &req.segs)
        };
        // Only stubs for this path, or one segment off it (a typo, a wrong id shape), are near:
        // a request for an unrelated path lists none.
        if path_off > 1 {
            continue;
        }
        if let Some(m) = &stub.method
            && m != method
        {
            why.push(format!("method is {method}, the stub wants {m}"));
            distance += STRUCTURAL;
        }
        if path_off > 0 {
            why.push(format!(
                "path {} does not fit {}",
                req.req.raw_path, stub.spec.request.path
            ));
            distance += STRUCTURAL * path_off;
        }
        let before = why.len();
        stub.misses(req, states, &mut why);
        distance += why.len() - before;
        out.push(NearMiss {
            stub: stub.name.clone(),
            request: format!(
                "{} {}",
                stub.spec.request.method.to_ascii_uppercase(),
                stub.spec.request.path
            ),
            why,
            distance,
        });
    }
    out.sort_by_key(|m| m.distance);
    out.truncate(NEAR_MISSES);
    out
}

/// How many segments differ, counting a missing or extra segment as different.
fn path_distance(want: &[Seg], have: &[&str]) -> usize {
    let n = want.len().max(have.len());
    (0..n)
        .filter(|i| match (want.get(*i), have.get(*i)) {
            (Some(Seg::Lit(l)), Some(h)) => l != h,
            (Some(Seg::Param(_)), Some(h)) => h.is_empty(),
            _ => true,
        })
        .count()
}

/// Why a stub refused its caller (for the journal and the conformance report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The token is missing, malformed, expired or revoked (401).
    Token,
    /// A valid token of a kind the stub does not accept (403).
    Identity,
    /// The app never asked for any of the scopes the stub needs (403).
    ScopeNotRequested,
    /// The app asked for one, but the caller lacks it (a user's role, an API key) (403).
    ScopeNotGranted,
}

/// What a matched stub did with the request.
pub enum Answer {
    /// It answered.
    Sent(Rendered),
    /// It refused the caller, with Wix's error.
    Refused(crate::error::WixError, Refusal),
}

/// A rendered answer.
pub struct Rendered {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay_ms: u64,
}

impl Rendered {
    /// Renders `response` for a request, in the caller's name.
    pub fn new(response: &ResponseSpec, ctx: &Context<'_>) -> Rendered {
        let mut headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), ctx.render_text(v)))
            .collect();
        let has_type = headers.iter().any(|(k, _)| k == "content-type");
        let body = match (&response.body, &response.body_text) {
            (Some(v), _) => {
                if !has_type {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                serde_json::to_vec(&ctx.render(v)).unwrap_or_default()
            }
            (None, Some(text)) => {
                if !has_type {
                    headers.push(("content-type".into(), "text/plain; charset=utf-8".into()));
                }
                text.as_bytes().to_vec()
            }
            (None, None) => Vec::new(),
        };
        Rendered {
            status: response.status,
            headers,
            body,
            delay_ms: response.delay_ms.unwrap_or(0).min(MAX_DELAY_MS),
        }
    }
}

/// A stub as the admin API lists it.
pub fn describe(stub: &Compiled) -> Value {
    let mut v = serde_json::to_value(&stub.spec).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("name".into(), json!(stub.name));
        o.insert("matched".into(), json!(stub.matched()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, Method};

    fn req(method: &str, path: &str, query: &str, body: &str) -> Incoming {
        Incoming::new(
            Method::from_bytes(method.as_bytes()).unwrap(),
            path.into(),
            query.into(),
            HeaderMap::new(),
            Bytes::from(body.to_string()),
        )
    }

    fn stubs(yaml: &str) -> Stubs {
        let mut specs = crate::scenario::stubs::parse_file(yaml).unwrap();
        assert_eq!(name_and_check(&mut specs, &[]), Vec::<String>::new());
        Stubs::new(&specs)
    }

    type Params = Vec<(String, String)>;

    fn found(s: &Stubs, r: &Incoming) -> Result<(String, Params), Vec<NearMiss>> {
        match s.find(&Seen::new(r)) {
            Found::Stub { stub, params } => Ok((stub.name.clone(), params)),
            Found::Unmatched(near) => Err(near),
        }
    }

    const TWO: &str = r#"
- name: one
  request: {method: GET, path: "/stores/v1/products/{productId}"}
  response: {body: {id: "{{request.path.productId}}"}}
- name: query
  request:
    method: POST
    path: /stores/v1/products/query
    body:
      - matchesJsonPath: {expression: "$.query.paging.limit", matches: "[0-9]+"}
      - equalToJson: {query: {filter: {}}}
        ignoreExtraElements: true
  response: {body: {}}
"#;

    #[test]
    fn a_path_template_matches_and_captures_its_parameters() {
        let s = stubs(TWO);
        let (name, params) = found(&s, &req("GET", "/stores/v1/products/p%201", "", "")).unwrap();
        assert_eq!(name, "one");
        assert_eq!(params, vec![("productId".into(), "p 1".into())]);
        assert!(found(&s, &req("GET", "/stores/v1/products", "", "")).is_err());
    }

    #[test]
    fn body_patterns_must_all_hold_and_a_miss_says_which_failed() {
        let s = stubs(TWO);
        let ok = r#"{"query":{"filter":{},"paging":{"limit":10}},"extra":1}"#;
        assert_eq!(
            found(&s, &req("POST", "/stores/v1/products/query", "", ok))
                .unwrap()
                .0,
            "query"
        );
        let bad = r#"{"query":{"paging":{"limit":"ten"}}}"#;
        let near = found(&s, &req("POST", "/stores/v1/products/query", "", bad)).unwrap_err();
        assert_eq!(near[0].stub, "query");
        assert_eq!(
            near[0].why,
            vec![
                "body at `$.query.paging.limit` is `ten`, which does not match `[0-9]+`",
                "body does not contain the stub's JSON"
            ]
        );
    }

    #[test]
    fn priority_beats_declaration_order() {
        let s = stubs(
            "- {name: late, priority: 1, request: {method: ANY, path: '/a/{x}'}, response: {}}\n- {name: early, request: {method: GET, path: /a/b}, response: {}}\n",
        );
        assert_eq!(found(&s, &req("GET", "/a/b", "", "")).unwrap().0, "late");
    }

    #[test]
    fn sequences_repeat_their_last_answer_and_states_gate_matching() {
        let s = stubs(
            r#"
- name: first
  request: {method: GET, path: /x}
  scenario_name: flow
  required_state: Started
  new_state: second
  responses: [{status: 201}, {status: 202}]
- name: then
  request: {method: GET, path: /x}
  scenario_name: flow
  required_state: second
  response: {status: 203}
"#,
        );
        let r = req("GET", "/x", "", "");
        let hit = |s: &Stubs| match s.find(&Seen::new(&r)) {
            Found::Stub { stub, .. } => s.advance(&stub).unwrap().status,
            Found::Unmatched(_) => 0,
        };
        assert_eq!(hit(&s), 201);
        assert_eq!(hit(&s), 203);
        assert_eq!(hit(&s), 203);
    }

    #[test]
    fn templates_read_the_request_and_the_caller_and_keep_json_types() {
        let r = req("POST", "/m/abc", "q=1", r#"{"limit":10,"names":["a"]}"#);
        let seen = Seen::new(&r);
        let who = Who {
            kind: IdentityKind::Member,
            instance_id: None,
            app_id: Some("app".into()),
            site_id: Some("site".into()),
            user_id: None,
            member_id: Some("m1".into()),
            visitor_id: None,
            scopes: vec![],
        };
        let member = json!({"profile": {"nickname": "Nick"}});
        let ctx = Context {
            req: &seen,
            params: &[("id".into(), "abc".into())],
            who: Some(&who),
            member: Some(&member),
            now: "2026-01-01T00:00:00.000Z",
            random_id: "r",
        };
        let out = ctx.render(&json!({
            "id": "{{request.path.id}}", "limit": "{{request.body.limit}}",
            "first": "{{ request.body.names[0] }}", "q": "q={{request.query.q}}",
            "me": "{{caller.memberId}} {{member.profile.nickname}}", "at": "{{now}}",
            "missing": "{{request.body.nope}}"
        }));
        assert_eq!(
            out,
            json!({"id": "abc", "limit": 10, "first": "a", "q": "q=1", "me": "m1 Nick",
                   "at": "2026-01-01T00:00:00.000Z", "missing": null})
        );
    }

    #[test]
    fn bad_stubs_are_reported_when_loaded() {
        let mut specs = crate::scenario::stubs::parse_file(
            "- {request: {method: FETCH, path: '/a/{b}', query: {x: {matches: '('}}}, response: {body: '{{request.path.c}} {{nope}}'}}\n",
        )
        .unwrap();
        let problems = name_and_check(&mut specs, &[]);
        assert_eq!(problems.len(), 4, "{problems:#?}");
    }

    #[test]
    fn json_paths_cover_fields_indexes_and_quoted_names() {
        let v = json!({"a": {"b c": [1, {"d": true}]}});
        let p = parse_json_path("$.a['b c'][1].d").unwrap();
        assert_eq!(select(&v, &p), Some(&json!(true)));
        assert!(parse_json_path("a.b").is_err());
        assert!(parse_json_path("$..a").is_err());
    }
}
