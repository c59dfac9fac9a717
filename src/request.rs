//! One request, read once: [`Incoming`] holds the method, path, query, headers and the body parsed
//! into [`Params`]; the fault engine, the handler, the journal and the conformance observer all read
//! this same value (one pass per request, as wiremock-rs does with its `Request`).
//!
//! A leaf: it imports nothing of the crate but [`crate::error`], so both the HTTP layer and the
//! engines around it may use it. The small helpers everyone shares live here too: [`snake_case`],
//! [`strip_bearer`], [`query_params`] and [`BODY_LIMIT`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::error::WixError;

/// The header that names a namespace.
pub const NAMESPACE_HEADER: &str = "x-wix-mock-namespace";
/// The path prefix that names a namespace: `/__ns/NAME/...`.
pub const NAMESPACE_PREFIX: &str = "/__ns/";

/// Largest request body accepted, in bytes; larger ones get `413` (documented in docs/endpoints.md).
pub const BODY_LIMIT: u64 = 64 * 1024;

/// How long a request body may take to arrive once the headers are in (a client that stalls
/// mid-body gets 408 and its connection back, instead of holding it for ever).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON object's members in order, handed to `put` one by one, repeated names included:
/// `serde_json`'s `Map` keeps only the last of a repeated name, which would let
/// `{"grant_type": "a", "grant_type": "b"}` through where the same form body is refused. Straight
/// into the caller's map, with names borrowed from the body and string values appended to the
/// params' one text buffer: no list of members, no copy of a name and no allocation per value
/// (issue 13).
struct Members<'f, F>(&'f mut F, &'f mut String);

impl<'de, F: FnMut(Cow<'de, str>, Slot)> serde::de::DeserializeSeed<'de> for Members<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Cow<'de, str>, Slot)> serde::de::Visitor<'de> for Members<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Name(name)) = map.next_key()? {
            let slot = map.next_value_seed(SlotOf(&mut *self.1))?;
            (self.0)(name, slot);
        }
        Ok(())
    }
}

/// One member's value: a string goes to the text buffer, anything else becomes a [`Value`] as
/// `serde_json` reads it.
struct SlotOf<'t>(&'t mut String);

impl<'de> serde::de::DeserializeSeed<'de> for SlotOf<'_> {
    type Value = Slot;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Slot, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SlotOf<'_> {
    type Value = Slot;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Slot, E> {
        Ok(Slot::text(self.0, v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Slot, E> {
        Ok(Slot::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Slot, E> {
        Ok(Slot::Other(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Slot, E> {
        Ok(Slot::Other(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Slot, E> {
        // As serde_json's own `Value` reads it (JSON has no NaN or infinity anyway).
        Ok(Slot::Other(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_unit<E>(self) -> Result<Slot, E> {
        Ok(Slot::Other(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Slot, E> {
        Ok(Slot::Other(Value::Null))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Slot, D::Error> {
        serde::Deserialize::deserialize(d).map(Slot::Other)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Slot, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
            .map(Slot::Other)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Slot, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            .map(Slot::Other)
    }
}

/// Where a parameter's value is kept: a string's place in [`Params`]'s text buffer, or any other
/// JSON value.
#[derive(Debug, Clone)]
enum Slot {
    Text(std::ops::Range<usize>),
    Other(Value),
}

impl Slot {
    fn text(buffer: &mut String, value: &str) -> Slot {
        let start = buffer.len();
        buffer.push_str(value);
        Slot::Text(start..buffer.len())
    }
}

/// A parameter's value as read from the body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// A string (a form's values are all strings).
    Text(&'a str),
    /// Any other JSON value (`null`, a number, an object…).
    Other(&'a Value),
}

impl Field<'_> {
    /// The value as JSON.
    pub fn to_value(self) -> Value {
        match self {
            Field::Text(text) => Value::String(text.to_string()),
            Field::Other(value) => value.clone(),
        }
    }
}

impl PartialEq<&str> for Field<'_> {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, Field::Text(text) if text == other)
    }
}

/// A member's name, borrowed from the body unless it holds an escape. (`Cow<str>`'s own
/// `Deserialize` always copies.)
struct Name<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name<'de>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// A parameter's name as the map keeps it: snake_case, and one of the names the endpoints read
/// borrowed from this list instead of copied per request.
fn param_name(name: Cow<'_, str>) -> Cow<'static, str> {
    let name = match name {
        n if n.bytes().any(|c| c.is_ascii_uppercase()) => Cow::Owned(snake_case(&n)),
        n => n,
    };
    let known = match &*name {
        "grant_type" => "grant_type",
        "client_id" => "client_id",
        "client_secret" => "client_secret",
        "instance_id" => "instance_id",
        "refresh_token" => "refresh_token",
        "access_token" => "access_token",
        "code" => "code",
        "code_verifier" => "code_verifier",
        "code_challenge_method" => "code_challenge_method",
        "redirect_uri" => "redirect_uri",
        "state" => "state",
        "scope" => "scope",
        "token" => "token",
        "member_id" => "member_id",
        "session_token" => "session_token",
        "email" => "email",
        "password" => "password",
        _ => return Cow::Owned(name.into_owned()),
    };
    Cow::Borrowed(known)
}

/// Request parameters from a JSON object or a form body, with lowerCamel names folded to snake_case.
///
/// Wix's token endpoints take both case styles and both encodings "whatever the Content-Type says"
/// (docs/fidelity.md I-03: an old client sent JSON as text/plain), so the body is sniffed instead.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Every string value's text, one after another: one allocation for all of a body's strings.
    text: String,
    /// The fields sorted by name. A request has a handful, and a token request looks them up
    /// about 26 times (handler, faults, observer): a binary search over one small vector costs
    /// fewer instructions than a B-tree node's linear scan and the node's allocation (issue 13).
    fields: Vec<(Cow<'static, str>, Slot)>,
}

impl PartialEq for Params {
    /// The same fields with the same values (wherever their text sits in the buffer).
    fn eq(&self, other: &Params) -> bool {
        self.fields().eq(other.fields())
    }
}

impl Params {
    /// Parses a body: empty, a JSON object, or `application/x-www-form-urlencoded`. Strict: a
    /// repeated parameter or any other shape is an error.
    pub fn parse(body: &[u8]) -> Result<Params, WixError> {
        let (params, error) = Params::read(body);
        match error {
            Some(e) => Err(e),
            None => Ok(params),
        }
    }

    /// One pass over a body giving both readings: the fields (the first of a repeated name kept, for
    /// the fault matchers and the journal) and the strict verdict a handler answers with.
    pub fn read(body: &[u8]) -> (Params, Option<WixError>) {
        let Ok(text) = std::str::from_utf8(body) else {
            let e = WixError::InvalidRequest("request body is not valid UTF-8".into());
            return (Params::default(), Some(e));
        };
        let trimmed = text.trim();
        // Room for a token request's fields and values (ids, a secret, a grant type) without
        // regrowth. Read in body order, each with its position, and sorted once at the end:
        // inserting each in place would move the vector's tail at every field (quadratic in a
        // 64 KiB body of reverse-ordered names).
        let mut read: Vec<(Cow<'static, str>, Slot, usize)> = Vec::with_capacity(8);
        let mut buffer = String::with_capacity(trimmed.len().min(1024));
        let mut error = None;
        let mut put = |key: Cow<'_, str>, value: Slot| {
            let at = read.len();
            read.push((param_name(key), value, at));
        };
        if trimmed.is_empty() {
        } else if trimmed.starts_with('{') {
            use serde::de::DeserializeSeed as _;
            let mut de = serde_json::Deserializer::from_str(trimmed);
            let parsed = Members(&mut put, &mut buffer)
                .deserialize(&mut de)
                .and_then(|()| de.end());
            if let Err(e) = parsed {
                // As if nothing had been read: a malformed body has no fields.
                read.clear();
                buffer.clear();
                error = Some(WixError::InvalidRequest(format!(
                    "malformed JSON body: {e}"
                )));
            }
        } else if trimmed.starts_with(['[', '"'])
            || trimmed.parse::<f64>().is_ok()
            || trimmed == "null"
        {
            error = Some(WixError::InvalidRequest(
                "request body must be a JSON object or a form".into(),
            ));
        } else {
            for (k, v) in url::form_urlencoded::parse(trimmed.as_bytes()) {
                let value = Slot::text(&mut buffer, &v);
                put(k, value);
            }
        }
        // Stable: of a repeated name, the first occurrence stays first and is the one kept.
        read.sort_by(|a, b| a.0.cmp(&b.0));
        // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
        // The error names the repetition that came first in the body.
        let mut repeated: Option<(usize, Cow<'static, str>)> = None;
        read.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same && repeated.as_ref().is_none_or(|(at, _)| later.2 < *at) {
                repeated = Some((later.2, later.0.clone()));
            }
            same
        });
        if let Some((_, name)) = repeated {
            error.get_or_insert_with(|| {
                WixError::InvalidRequest(format!("parameter `{name}` is given more than once"))
            });
        }
        let params = Params {
            text: buffer,
            // Collected in place: the same allocation, without the positions.
            fields: read
                .into_iter()
                .map(|(name, slot, _)| (name, slot))
                .collect(),
        };
        (params, error)
    }

    /// A field by its snake_case name.
    pub fn get(&self, name: &str) -> Option<Field<'_>> {
        // A handful of fields: a scan whose string comparisons stop at the length (one `bcmp` for
        // the name that matches) beats a binary search, whose ordering compares call `memcmp` at
        // every step (callgrind: 177 instructions a lookup against 88). A body of many fields is searched.
        let slot = if self.fields.len() <= 16 {
            &self.fields.iter().find(|(k, _)| **k == *name)?.1
        } else {
            let at = self
                .fields
                .binary_search_by(|(k, _)| (**k).cmp(name))
                .ok()?;
            &self.fields[at].1
        };
        Some(self.field(slot))
    }

    fn field<'a>(&'a self, slot: &'a Slot) -> Field<'a> {
        match slot {
            Slot::Text(at) => Field::Text(self.text.get(at.clone()).unwrap_or_default()),
            Slot::Other(value) => Field::Other(value),
        }
    }

    /// A string parameter; absent and empty are both `None`, any other JSON type is an error.
    pub fn optional(&self, name: &str) -> Result<Option<&str>, WixError> {
        match self.get(name) {
            None | Some(Field::Other(Value::Null)) => Ok(None),
            Some(Field::Text("")) => Ok(None),
            Some(Field::Text(s)) => Ok(Some(s)),
            Some(Field::Other(_)) => Err(WixError::InvalidRequest(format!(
                "`{name}` must be a string"
            ))),
        }
    }

    /// A string parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<&str, WixError> {
        self.optional(name)?
            .ok_or_else(|| WixError::InvalidRequest(format!("missing required parameter `{name}`")))
    }

    /// Every field, snake_case names.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Field<'_>)> {
        self.fields
            .iter()
            .map(|(name, slot)| (&**name, self.field(slot)))
    }

    /// Whether the body had no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// How many fields the body had.
    pub fn len(&self) -> usize {
        self.fields.len()
    }
}

/// `grantType` → `grant_type`; snake_case names are returned unchanged.
pub fn snake_case(name: &str) -> String {
    // A name with no lower-case letter (`CLIENT_ID`) is no lowerCamel name: kept as sent, rather
    // than mangled into `_c_l_i_e_n_t__i_d` (issue 18). It matches no parameter either way.
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `snake_case(name) == snake`, without building the folded name.
fn folds_to(name: &str, snake: &str) -> bool {
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        return name == snake;
    }
    let mut want = snake.bytes();
    for c in name.bytes() {
        if c.is_ascii_uppercase() {
            if want.next() != Some(b'_') || want.next() != Some(c.to_ascii_lowercase()) {
                return false;
            }
        } else if want.next() != Some(c) {
            return false;
        }
    }
    want.next().is_none()
}

/// `Bearer <token>` → `<token>` (any case); a raw token is returned as it is.
pub fn strip_bearer(value: &str) -> &str {
    let v = value.trim();
    match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => v[7..].trim_start(),
        _ => v,
    }
}

/// Parses a query string into single-valued parameters; a repeated or undecodable one is an error.
pub fn query_params(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| format!("malformed query string: {e}"))?;
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if out.contains_key(&k) {
            return Err(format!("query parameter `{k}` is given more than once"));
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The tokens a token endpoint's answer carries, handed over by the handler (through
/// [`Incoming::issued`]) so the conformance observer need not parse the JSON it just wrote (issue
/// 13: the re-parse was ~3 % of a token request).
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: crate::jwt::Token,
    pub refresh_token: Option<crate::jwt::Token>,
    /// `None` for `/oauth/access`, whose answer has no `expires_in` (F-12).
    pub expires_in: Option<u64>,
}

/// One request as every part of the pipeline sees it.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// The method, upper case.
    pub method: Method,
    /// The path as the routes see it: any `/__ns/NAME` prefix removed, otherwise as received.
    pub raw_path: String,
    /// The query string, empty when there is none.
    pub raw_query: String,
    /// The query's parameters, leniently (the first of a repeated name kept).
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body's top-level fields, snake_case names, first occurrence kept.
    pub params: Params,
    /// Why the body is not acceptable as parameters, if it is not.
    params_error: Option<WixError>,
    /// The `Authorization` token, `Bearer ` stripped (not Basic credentials).
    pub token: Option<String>,
    /// The fault name (`match.endpoint`) of the endpoint the path routes to.
    pub endpoint: Option<&'static str>,
    /// The stub that matched (`match.stub`), when no endpoint serves the path.
    pub stub: Option<String>,
    /// The app: `appId` query, `client_id` field, or the access token's (derived for faults).
    pub app_id: Option<String>,
    /// The instance: a field, the access token's, or that of the code or refresh token sent.
    pub instance_id: Option<String>,
    /// The tokens the handler's answer issued, set once by the handler. A field rather than a
    /// response extension: an extension costs three allocations per answer (issue 13).
    pub issued: std::sync::OnceLock<Issued>,
}

impl Incoming {
    /// Reads a request once.
    pub fn new(
        method: Method,
        raw_path: String,
        raw_query: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Incoming {
        let mut query = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
            query.entry(k.into_owned()).or_insert(v.into_owned());
        }
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| strip_bearer(v).to_string())
            .filter(|t| !t.is_empty() && !t.starts_with("Basic ") && !t.starts_with("basic "));
        let (params, params_error) = Params::read(&body);
        Incoming {
            method,
            raw_path,
            raw_query,
            query,
            headers,
            body,
            params,
            params_error,
            token,
            endpoint: None,
            stub: None,
            app_id: None,
            instance_id: None,
            issued: std::sync::OnceLock::new(),
        }
    }

    /// The path without a trailing `/` (except for `/` itself), as fault patterns compare it.
    pub fn path(&self) -> &str {
        match self.raw_path.trim_end_matches('/') {
            "" => "/",
            p => p,
        }
    }

    /// The body as parameters, or why it cannot be read as such (see [`Params::parse`]).
    pub fn params(&self) -> Result<&Params, WixError> {
        match &self.params_error {
            Some(e) => Err(e.clone()),
            None => Ok(&self.params),
        }
    }

    /// A body field (snake_case name) or else a query parameter, as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.text_ref(name).map(Cow::into_owned)
    }

    /// [`Incoming::text`], borrowed where the request holds the text as it is (a string field or a
    /// query parameter): the conformance observer reads several fields of every request.
    pub fn text_ref(&self, name: &str) -> Option<Cow<'_, str>> {
        // Callers name fields in snake_case already; fold only when they do not (no allocation on
        // the hot path, where faults and the observer ask for several fields per request).
        let folded;
        let snake = if name.bytes().any(|c| c.is_ascii_uppercase()) {
            folded = snake_case(name);
            folded.as_str()
        } else {
            name
        };
        let value = self.params.get(snake).map(field_text).or_else(|| {
            self.query
                .iter()
                .find(|(k, _)| folds_to(k, snake))
                .map(|(_, v)| Cow::Borrowed(v.as_str()))
        });
        value.filter(|v| !v.is_empty())
    }

    /// The `grant_type` field.
    pub fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.text_ref("grant_type")
    }

    /// A header's value as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header's value as an owned string, as warp's `header::optional::<String>` gave it.
    pub fn header_string(&self, name: &str) -> Option<String> {
        self.header(name).map(str::to_string)
    }

    /// The `Authorization` header's token: raw, as Wix documents it, or after `Bearer `
    /// (docs/fidelity.md F-03, I-01).
    pub fn access_token(&self) -> Option<String> {
        self.header(http::header::AUTHORIZATION)
            .map(|v| strip_bearer(v).to_string())
    }
}

fn field_text(field: Field<'_>) -> Cow<'_, str> {
    match field {
        Field::Text(s) => Cow::Borrowed(s),
        Field::Other(Value::Null) => Cow::Borrowed(""),
        Field::Other(other) => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_accept_json_in_both_cases_and_forms() {
        let a = Params::parse(br#"{"grantType":"refresh_token","client_id":"x"}"#).unwrap();
        assert_eq!(a.required("grant_type").unwrap(), "refresh_token");
        assert_eq!(a.required("client_id").unwrap(), "x");
        let b = Params::parse(b"grant_type=refresh_token&clientId=x").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn params_refuse_repeats_wrong_types_and_garbage() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        assert!(Params::parse(br#"{"clientId":"a","client_id":"b"}"#).is_err());
        assert!(
            Params::parse(br#"{"code":1}"#)
                .unwrap()
                .required("code")
                .is_err()
        );
        assert!(Params::parse(br#"{"code":"#).is_err());
        assert!(Params::parse(b"[1,2]").is_err());
        assert!(Params::parse(&[0xff, 0xfe]).is_err());
        assert!(Params::parse(b"").unwrap().optional("x").unwrap().is_none());
    }

    #[test]
    fn a_repeated_field_keeps_the_first_for_the_journal_and_fails_for_the_handler() {
        let (params, error) = Params::read(b"code=a&code=b");
        assert_eq!(params.get("code"), Some(Field::Text("a")));
        assert!(error.is_some());
        // The error names the name whose repetition came first in the body; the rest are kept once.
        let (params, error) = Params::read(br#"{"zeta":"1","code":"a","zeta":"2","code":"b"}"#);
        assert_eq!(params.get("zeta"), Some(Field::Text("1")));
        assert_eq!(params.get("code"), Some(Field::Text("a")));
        assert_eq!(params.len(), 2);
        assert!(
            matches!(&error, Some(WixError::InvalidRequest(m)) if m.contains("`zeta`")),
            "{error:?}"
        );
        let (params, _) = Params::read(&[0xff]);
        assert!(params.is_empty());
    }

    #[test]
    fn every_field_of_a_body_is_found_however_many_there_are() {
        // Up to 16 fields are scanned, more are searched: both find each field and only those.
        for n in [1, 16, 17, 40] {
            // Names in reverse order, the order a sorted insert handles worst.
            let body = (0..n)
                .rev()
                .map(|i| format!("f{i}=v{i}"))
                .collect::<Vec<_>>()
                .join("&");
            let (params, error) = Params::read(body.as_bytes());
            assert!(error.is_none());
            assert_eq!(params.len(), n);
            for i in 0..n {
                assert_eq!(
                    params.optional(&format!("f{i}")).unwrap(),
                    Some(&*format!("v{i}"))
                );
            }
            assert_eq!(params.get(&format!("f{n}")), None);
            assert_eq!(params.get("f"), None);
        }
    }

    #[test]
    fn a_malformed_json_body_has_no_fields_even_after_good_members() {
        let (params, error) = Params::read(br#"{"grant_type":"client_credentials","client_id":"#);
        assert!(params.is_empty(), "{params:?}");
        assert!(
            matches!(error, Some(WixError::InvalidRequest(m)) if m.starts_with("malformed JSON body"))
        );
        // Trailing text after the object is malformed too, as `serde_json::from_str` says.
        let (params, error) = Params::read(br#"{"code":"a"} {"code":"b"}"#);
        assert!(params.is_empty());
        assert!(error.is_some());
    }

    #[test]
    fn names_with_escapes_read_like_plain_ones_and_unknown_names_are_kept() {
        let (params, error) =
            Params::read(br#"{"grant\u005ftype":"anonymous","clientId":"c","myField":"x"}"#);
        assert!(error.is_none());
        assert_eq!(params.required("grant_type").unwrap(), "anonymous");
        assert_eq!(params.required("client_id").unwrap(), "c");
        let names: Vec<&str> = params.fields().map(|(k, _)| k).collect();
        assert_eq!(names, ["client_id", "grant_type", "my_field"]);
        // A repeat spelled once with an escape is still a repeat.
        assert!(Params::parse(br#"{"code":"a","c\u006fde":"b"}"#).is_err());
    }

    #[test]
    fn every_json_value_reads_as_serde_json_reads_it() {
        let body = br#"{"s":"t\u00e9xt\n","n":-1,"u":18446744073709551615,"f":1.5e3,"b":true,
            "z":null,"a":[1,"x",{"k":null}],"o":{"deep":{"x":[]}},"e":""}"#;
        let (params, error) = Params::read(body);
        assert!(error.is_none(), "{error:?}");
        let want: serde_json::Map<String, Value> = serde_json::from_slice(body).unwrap();
        let got: serde_json::Map<String, Value> = params
            .fields()
            .map(|(k, v)| (k.to_string(), v.to_value()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(params.get("s"), Some(Field::Text("téxt\n")));
        assert_eq!(params.optional("e").unwrap(), None);
        assert!(params.optional("n").is_err() && params.optional("z").unwrap().is_none());
        // Equal fields are equal params, wherever their text sits in the buffer.
        assert_eq!(
            Params::parse(br#"{"b":"2","a":"1"}"#).unwrap(),
            Params::parse(b"a=1&b=2").unwrap()
        );
        assert_ne!(
            Params::parse(b"a=1").unwrap(),
            Params::parse(b"a=2").unwrap()
        );
    }

    #[test]
    fn folding_compares_like_snake_case() {
        for (name, snake) in [
            ("grantType", "grant_type"),
            ("grant_type", "grant_type"),
            ("a", "a"),
        ] {
            assert!(folds_to(name, snake), "{name}");
            assert_eq!(snake_case(name), snake);
        }
        for name in [
            "grantType",
            "grant_type",
            "CLIENT_ID",
            "clientID",
            "",
            "é_x",
            "xÉy",
        ] {
            assert_eq!(param_name(Cow::Borrowed(name)), snake_case(name), "{name}");
            assert_eq!(
                param_name(Cow::Owned(name.to_string())),
                snake_case(name),
                "{name}"
            );
        }
        assert!(!folds_to("grantType", "grant_typ"));
        assert!(!folds_to("grantTypes", "grant_type"));
        assert!(!folds_to("grant_type", "grantType"));
    }

    #[test]
    fn bearer_is_optional_in_authorization() {
        assert_eq!(strip_bearer("Bearer OauthNG.JWS.x"), "OauthNG.JWS.x");
        assert_eq!(strip_bearer("bearer  OauthNG.JWS.x"), "OauthNG.JWS.x");
        assert_eq!(strip_bearer("OauthNG.JWS.x"), "OauthNG.JWS.x");
    }
}
