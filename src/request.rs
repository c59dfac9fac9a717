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
/// into the caller's map, with names borrowed from the body: no list of members and no copy of a
/// name per field (issue 13).
struct Members<'f, F>(&'f mut F);

impl<'de, F: FnMut(Cow<'de, str>, Value)> serde::de::DeserializeSeed<'de> for Members<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Cow<'de, str>, Value)> serde::de::Visitor<'de> for Members<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Name(name)) = map.next_key()? {
            let value = map.next_value()?;
            (self.0)(name, value);
        }
        Ok(())
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(BTreeMap<Cow<'static, str>, Value>);

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
        let mut params = BTreeMap::new();
        let mut error = None;
        let mut put = |key: Cow<'_, str>, value: Value, error: &mut Option<WixError>| {
            match params.entry(param_name(key)) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                std::collections::btree_map::Entry::Occupied(slot) => {
                    // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more
                    // than once."
                    let name = slot.key();
                    error.get_or_insert_with(|| {
                        WixError::InvalidRequest(format!(
                            "parameter `{name}` is given more than once"
                        ))
                    });
                }
            }
        };
        if trimmed.is_empty() {
        } else if trimmed.starts_with('{') {
            use serde::de::DeserializeSeed as _;
            let mut repeated = None;
            let mut de = serde_json::Deserializer::from_str(trimmed);
            let read = Members(&mut |k, v| put(k, v, &mut repeated))
                .deserialize(&mut de)
                .and_then(|()| de.end());
            match read {
                Ok(()) => error = repeated,
                Err(e) => {
                    // As if nothing had been read: a malformed body has no fields.
                    params.clear();
                    error = Some(WixError::InvalidRequest(format!(
                        "malformed JSON body: {e}"
                    )))
                }
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
                put(k, Value::String(v.into_owned()), &mut error);
            }
        }
        (Params(params), error)
    }

    /// A string parameter; absent and empty are both `None`, any other JSON type is an error.
    pub fn optional(&self, name: &str) -> Result<Option<&str>, WixError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(WixError::InvalidRequest(format!(
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
    pub fn fields(&self) -> &BTreeMap<Cow<'static, str>, Value> {
        &self.0
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
        let value = self.params.0.get(snake).map(value_text).or_else(|| {
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

fn value_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
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
        assert_eq!(params.fields()["code"], "a");
        assert!(error.is_some());
        let (params, _) = Params::read(&[0xff]);
        assert!(params.fields().is_empty());
    }

    #[test]
    fn a_malformed_json_body_has_no_fields_even_after_good_members() {
        let (params, error) = Params::read(br#"{"grant_type":"client_credentials","client_id":"#);
        assert!(params.fields().is_empty(), "{params:?}");
        assert!(
            matches!(error, Some(WixError::InvalidRequest(m)) if m.starts_with("malformed JSON body"))
        );
        // Trailing text after the object is malformed too, as `serde_json::from_str` says.
        let (params, error) = Params::read(br#"{"code":"a"} {"code":"b"}"#);
        assert!(params.fields().is_empty());
        assert!(error.is_some());
    }

    #[test]
    fn names_with_escapes_read_like_plain_ones_and_unknown_names_are_kept() {
        let (params, error) =
            Params::read(br#"{"grant\u005ftype":"anonymous","clientId":"c","myField":"x"}"#);
        assert!(error.is_none());
        assert_eq!(params.required("grant_type").unwrap(), "anonymous");
        assert_eq!(params.required("client_id").unwrap(), "c");
        let names: Vec<&str> = params.fields().keys().map(|k| &**k).collect();
        assert_eq!(names, ["client_id", "grant_type", "my_field"]);
        // A repeat spelled once with an escape is still a repeat.
        assert!(Params::parse(br#"{"code":"a","c\u006fde":"b"}"#).is_err());
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
