//! Access tokens in Wix's form: `OauthNG.JWS.<JWT>`, HS256 with a `kid` header and a `data` claim that
//! holds the instance as a JSON string (docs/fidelity.md F-28).
//!
//! Tokens are self-contained: verifying one needs the key and the virtual clock, not a table of every
//! token ever issued, so memory stays flat however many tokens a load test mints. Whether the app is
//! still installed is checked by the caller against the world. jsonwebtoken checks `exp` against the
//! *system* clock, so that check is switched off here and done against the virtual clock instead.

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What every Wix access token starts with.
pub const TOKEN_PREFIX: &str = "OauthNG.JWS.";

/// Signs and verifies access tokens with one per-server key (drawn from the seeded generator).
#[derive(Clone)]
pub struct Signer {
    kid: String,
    /// The HMAC already keyed, cloned per token instead of re-keyed.
    mac: Hmac<Sha256>,
    /// The header, serialised and encoded once: it is the same in every token.
    header_b64: String,
    decoding: DecodingKey,
    validation: Validation,
    /// Access tokens this key verified lately (shared by clones, which hold the same key).
    verified: Arc<parking_lot::Mutex<Verified>>,
}

/// Access tokens a signer decoded lately, by their signature: an SDK sends one token with every
/// call, and decoding it again (base64, the HMAC, two JSON parses) was a fifth of a protected call's
/// CPU (issue 13). A hit still compares the whole token, so only a token this key verified is ever
/// answered from here; expiry stays the caller's check, against the clock, on every call.
#[derive(Default)]
struct Verified {
    by_signature: std::collections::HashMap<Box<str>, (Box<str>, InstanceClaim, Claims)>,
}

/// How many verified tokens a signer remembers before it starts over (~300 KiB at most).
const VERIFIED_MAX: usize = 256;

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The registered claims of a Wix access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The identity as a JSON string, as Wix encodes it.
    pub data: String,
    /// Issued at, Unix seconds on the virtual clock.
    pub iat: i64,
    /// Expires at, Unix seconds on the virtual clock.
    pub exp: i64,
}

/// The instance object inside `data` (`{"instance": {...}}`), with Wix's field names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct InstanceClaim {
    /// The app instance the token speaks for.
    pub instance_id: String,
    /// The app id.
    pub app_def_id: String,
    /// When the token was signed, RFC 3339 (written when the token is signed).
    pub sign_date: crate::ids::Stamp,
    /// The Wix user the token acts for, when it acts for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Permissions, as Wix writes them (a comma-joined string).
    #[serde(default)]
    pub permissions: String,
    /// Always false in the mock.
    #[serde(default)]
    pub demo_mode: bool,
    /// The site owner's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_owner_id: Option<String>,
    /// The site member the token acts for, when it acts for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_member_id: Option<String>,
    /// The site (metasite) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_site_id: Option<String>,
    /// When the token expires, RFC 3339.
    pub expiration_date: crate::ids::Stamp,
    /// The anonymous visitor id, when the token acts for a visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aid: Option<String>,
    /// The member's session generation (Wix's tokens carry a `sid`). A member logout bumps the
    /// generation, which revokes every token carrying an older one without a table of tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Data {
    instance: InstanceClaim,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a token the mock signed (wrong prefix, bad signature, garbled).
    Unknown,
    /// Signed by the mock, but its `exp` is past on the virtual clock.
    Expired,
    /// Signed by the mock, but issued after the virtual clock's now: the clock was moved back before
    /// its `iat` (issue 18). Like `nbf` in RFC 7519 §4.1.5, a token is not accepted before it exists.
    NotYetValid,
}

impl Signer {
    /// A signer with the given key bytes and key id.
    pub fn new(key: &[u8], kid: String) -> Signer {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        header.typ = None; // Wix's header is exactly {"kid", "alg"}.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        // What jsonwebtoken::encode would write for this header, computed once.
        let header_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        Signer {
            kid,
            mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length"),
            header_b64,
            decoding: DecodingKey::from_secret(key),
            validation,
            verified: Arc::default(),
        }
    }

    /// The `kid` in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A token for `instance`, valid from `iat` until `exp`, signed when first read (see [`Token`]).
    pub fn mint(
        self: &Arc<Self>,
        instance: InstanceClaim,
        iat: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) -> Token {
        Token::unsigned(self, TOKEN_PREFIX, Unsigned::Instance(instance), iat, exp)
    }

    /// Verifies a token's signature and its expiry against `now`.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(InstanceClaim, Claims), Invalid> {
        let (claim, claims) = self.decode(token).ok_or(Invalid::Unknown)?;
        if claims.exp <= now.timestamp() {
            return Err(Invalid::Expired);
        }
        if claims.iat > now.timestamp() {
            return Err(Invalid::NotYetValid);
        }
        Ok((claim, claims))
    }

    /// Signs a token that is not an access token (a Headless refresh token): `prefix` then a JWT whose
    /// `data` is `value` as a JSON string. Its `data` has no `instance` key, so it can never pass as
    /// an access token, whatever prefix it is given.
    pub fn mint_other<T: Serialize>(
        self: &Arc<Self>,
        prefix: &'static str,
        value: &T,
        iat: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) -> Token {
        // The value is a borrowed domain type: it becomes JSON now, the signing waits.
        let data = serde_json::to_string(value).unwrap_or_default();
        Token::unsigned(self, prefix, Unsigned::Data(data), iat, exp)
    }

    /// `prefix` + an HS256 JWT of `claims`, byte for byte what `jsonwebtoken::encode` makes (the
    /// tests decode every token with jsonwebtoken), without re-serialising the header or re-keying
    /// the HMAC for each token (issue 8: the token endpoint's CPU per request).
    #[cfg(test)]
    fn sign(&self, prefix: &str, claims: &Claims) -> String {
        self.sign_payload(prefix, &serde_json::to_vec(claims).unwrap_or_default())
    }

    /// `prefix` + an HS256 JWT of the claims already written as JSON.
    fn sign_payload(&self, prefix: &str, payload: &[u8]) -> String {
        // Base64 straight into the buffer (`encode_slice`): `encode_string` goes through 1 KiB
        // chunks and checks each one's UTF-8 again (issue 13: base64 was 3 % of a token request).
        fn put_base64(out: &mut Vec<u8>, bytes: &[u8]) {
            let at = out.len();
            out.resize(at + base64::encoded_len(bytes.len(), false).unwrap_or(0), 0);
            // The room is exactly the encoded length, so this cannot fail.
            let _ = URL_SAFE_NO_PAD.encode_slice(bytes, &mut out[at..]);
        }
        let mut out =
            Vec::with_capacity(prefix.len() + self.header_b64.len() + payload.len() * 4 / 3 + 48);
        out.extend_from_slice(prefix.as_bytes());
        let signed_from = out.len();
        out.extend_from_slice(self.header_b64.as_bytes());
        out.push(b'.');
        put_base64(&mut out, payload);
        let mut mac = self.mac.clone();
        mac.update(&out[signed_from..]);
        let signature = mac.finalize().into_bytes();
        out.push(b'.');
        put_base64(&mut out, &signature);
        // The prefix is text and base64 is ASCII: always UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Checks the signature of a token made by [`Signer::mint_other`] and reads its `data`; expiry
    /// is left to the caller.
    pub fn decode_other<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
        token: &str,
    ) -> Option<(T, Claims)> {
        let jwt = token.strip_prefix(prefix)?;
        let decoded = jsonwebtoken::decode::<Claims>(jwt, &self.decoding, &self.validation).ok()?;
        let value: T = serde_json::from_str(&decoded.claims.data).ok()?;
        Some((value, decoded.claims))
    }

    /// Checks the signature only, for callers that report on expired tokens too (token-info, admin).
    pub fn decode(&self, token: &str) -> Option<(InstanceClaim, Claims)> {
        let jwt = token.strip_prefix(TOKEN_PREFIX)?;
        let signature = jwt.rsplit('.').next()?;
        if let Some((known, claim, claims)) = self.verified.lock().by_signature.get(signature)
            && **known == *token
        {
            return Some((claim.clone(), claims.clone()));
        }
        let decoded = jsonwebtoken::decode::<Claims>(jwt, &self.decoding, &self.validation).ok()?;
        let data: Data = serde_json::from_str(&decoded.claims.data).ok()?;
        let mut verified = self.verified.lock();
        if verified.by_signature.len() >= VERIFIED_MAX {
            verified.by_signature.clear();
        }
        verified.by_signature.insert(
            signature.into(),
            (token.into(), data.instance.clone(), decoded.claims.clone()),
        );
        Some((data.instance, decoded.claims))
    }
}

/// A token minted under the world lock and signed when first read, which is after the lock is
/// released: the answer's serialisation signs it (issue 13: no signing while the world is locked).
/// A clone shares the one signature, so the world's list of recent tokens and the answer agree.
#[derive(Clone)]
pub struct Token(Arc<Lazy>);

struct Lazy {
    /// What to sign; `None` for a token given as text.
    unsigned: Option<(Arc<Signer>, &'static str, Unsigned, i64, i64)>,
    text: OnceLock<String>,
}

// One per token, inside its Arc: the claim is not worth a second allocation.
#[allow(clippy::large_enum_variant)]
enum Unsigned {
    /// An access token's instance claim (its `data` is `{"instance": …}`).
    Instance(InstanceClaim),
    /// Any other `data`, already JSON.
    Data(String),
}

impl Token {
    fn unsigned(
        signer: &Arc<Signer>,
        prefix: &'static str,
        unsigned: Unsigned,
        iat: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) -> Token {
        Token(Arc::new(Lazy {
            unsigned: Some((
                signer.clone(),
                prefix,
                unsigned,
                iat.timestamp(),
                exp.timestamp(),
            )),
            text: OnceLock::new(),
        }))
    }

    /// When the token expires (its `exp`), known without decoding for a token the mock minted.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let (_, _, _, _, exp) = self.0.unsigned.as_ref()?;
        DateTime::from_timestamp(*exp, 0)
    }

    /// The instance claim of an access token the mock minted (`None` for other tokens).
    pub fn claim(&self) -> Option<&InstanceClaim> {
        match &self.0.unsigned {
            Some((_, _, Unsigned::Instance(claim), _, _)) => Some(claim),
            _ => None,
        }
    }

    /// The token's text, signed now if it was not yet.
    pub fn as_str(&self) -> &str {
        self.0.text.get_or_init(|| match &self.0.unsigned {
            Some((signer, prefix, unsigned, iat, exp)) => {
                // The claims' JSON only lives until it is encoded: one buffer per thread, reused,
                // instead of an allocation per token (issue 13).
                thread_local! {
                    static CLAIMS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
                }
                CLAIMS.with(|buf| match buf.try_borrow_mut() {
                    Ok(mut buf) => {
                        buf.clear();
                        write_claims(&mut buf, unsigned, *iat, *exp);
                        let text = signer.sign_payload(prefix, &buf);
                        // A rare huge claim (a long `data`) is not kept for ever.
                        if buf.capacity() > 16 * 1024 {
                            *buf = Vec::new();
                        }
                        text
                    }
                    // Not reached: signing never signs another token meanwhile. A fresh buffer is right anyway.
                    Err(_) => signer.sign_payload(prefix, &claims_json(unsigned, *iat, *exp)),
                })
            }
            None => String::new(),
        })
    }
}

impl From<String> for Token {
    /// A token known by its text (a legacy refresh token, say).
    fn from(text: String) -> Token {
        Token(Arc::new(Lazy {
            unsigned: None,
            text: OnceLock::from(text),
        }))
    }
}

impl PartialEq<str> for Token {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The JSON of [`Claims`] for `unsigned`, byte for byte what `serde_json::to_vec(&Claims {..})`
/// writes, in one pass: the `data` JSON is escaped as it is written instead of being built as a
/// string and escaped again (issue 13: ~0.5 µs of a token request).
fn claims_json(unsigned: &Unsigned, iat: i64, exp: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_claims(&mut out, unsigned, iat, exp);
    out
}

/// [`claims_json`] appended to `out`.
fn write_claims(out: &mut Vec<u8>, unsigned: &Unsigned, iat: i64, exp: i64) {
    out.extend_from_slice(b"{\"data\":\"");
    match unsigned {
        Unsigned::Instance(instance) => write_instance_data(out, instance),
        Unsigned::Data(data) => escape_json_string_body(out, data.as_bytes()),
    }
    // Integers through serde_json's integer writer: `write!` formats through `fmt` (0.5 %).
    out.extend_from_slice(b"\",\"iat\":");
    let _ = serde_json::to_writer(&mut *out, &iat);
    out.extend_from_slice(b",\"exp\":");
    let _ = serde_json::to_writer(&mut *out, &exp);
    out.push(b'}');
}

/// The `data` of an access token (`{"instance":{…}}`, what `serde_json` writes for [`DataRef`]),
/// already escaped as the content of the claims' `data` string. Written field by field: through
/// serde's serializer and the [`InsideString`] formatter it was 3 % of a token request (issue 13).
/// The field order and the skipped `None`s follow [`InstanceClaim`]'s declaration; a test compares
/// the bytes with serde_json's for claims with every field set and with none.
fn write_instance_data(out: &mut Vec<u8>, c: &InstanceClaim) {
    // A string value: as it is when nothing in it needs escaping (ids, dates, scopes), else
    // through serde_json with the escaping formatter.
    fn text(out: &mut Vec<u8>, name: &[u8], value: &str) {
        out.extend_from_slice(name);
        if !needs_escape(value) {
            out.extend_from_slice(b"\\\"");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\\\"");
        } else {
            let mut ser = serde_json::Serializer::with_formatter(&mut *out, InsideString);
            let _ = serde::Serializer::serialize_str(&mut ser, value);
        }
    }
    fn some(out: &mut Vec<u8>, name: &[u8], value: &Option<String>) {
        if let Some(value) = value {
            text(out, name, value);
        }
    }
    let stamp = |out: &mut Vec<u8>, name: &[u8], at: &crate::ids::Stamp| {
        at.with_text(|at| text(out, name, at));
    };
    text(out, br#"{\"instance\":{\"instanceId\":"#, &c.instance_id);
    text(out, br#",\"appDefId\":"#, &c.app_def_id);
    stamp(out, br#",\"signDate\":"#, &c.sign_date);
    some(out, br#",\"uid\":"#, &c.uid);
    text(out, br#",\"permissions\":"#, &c.permissions);
    out.extend_from_slice(if c.demo_mode {
        br#",\"demoMode\":true"#
    } else {
        br#",\"demoMode\":false"#
    });
    some(out, br#",\"siteOwnerId\":"#, &c.site_owner_id);
    some(out, br#",\"siteMemberId\":"#, &c.site_member_id);
    some(out, br#",\"metaSiteId\":"#, &c.meta_site_id);
    stamp(out, br#",\"expirationDate\":"#, &c.expiration_date);
    some(out, br#",\"aid\":"#, &c.aid);
    some(out, br#",\"sid\":"#, &c.sid);
    out.extend_from_slice(b"}}");
}

/// Writes JSON as the content of a JSON string: what serde_json's compact output would be once
/// escaped again, in the same pass. A string's plain fragments hold no `"`, `\` or control byte
/// (serde_json hands those to `write_char_escape`), so only the quotes and escapes it writes
/// itself change: `"` becomes `\"` and an escape's backslash is doubled.
struct InsideString;

impl serde_json::ser::Formatter for InsideString {
    fn begin_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"\\\"")
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"\\\"")
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // serde_json's escape (`\n`, `\"`, `\u001f`), each of its bytes escaped once more.
        let escaped: &[u8] = match escape {
            CharEscape::Quote => b"\\\\\\\"",
            CharEscape::ReverseSolidus => b"\\\\\\\\",
            CharEscape::Solidus => b"\\\\/",
            CharEscape::Backspace => b"\\\\b",
            CharEscape::FormFeed => b"\\\\f",
            CharEscape::LineFeed => b"\\\\n",
            CharEscape::CarriageReturn => b"\\\\r",
            CharEscape::Tab => b"\\\\t",
            CharEscape::AsciiControl(byte) => {
                return w.write_all(&[
                    b'\\',
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xf)],
                ]);
            }
        };
        w.write_all(escaped)
    }
}

/// A JSON answer the mock writes itself, byte for byte what `serde_json::to_vec` writes for the
/// same value: the token answers, whose ~700-byte tokens never need escaping but cost serde_json
/// its per-byte escape scan (issue 13: 9 % of a token request's own instructions).
pub trait WriteJson: Serialize {
    fn write_json(&self, out: &mut Vec<u8>);
}

impl WriteJson for Token {
    /// The token as a JSON string. A token signed here is its prefix and base64url, so only the
    /// prefix is checked for anything to escape, not its ~700 bytes (issue 13: the scan was 1.6 %
    /// of a token request's instructions).
    fn write_json(&self, out: &mut Vec<u8>) {
        let text = self.as_str();
        match &self.0.unsigned {
            Some((_, prefix, ..)) if !needs_escape(prefix) => {
                out.push(b'"');
                out.extend_from_slice(text.as_bytes());
                out.push(b'"');
            }
            _ => write_json_str(out, text),
        }
    }
}

/// Appends `text` as a JSON string: copied as it is when nothing in it needs escaping, else
/// escaped as serde_json escapes.
pub fn write_json_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    if needs_escape(text) {
        escape_json_string_body(out, text.as_bytes());
    } else {
        out.extend_from_slice(text.as_bytes());
    }
    out.push(b'"');
}

/// Whether serde_json would escape anything in `text` (a `"`, a `\\` or a control byte).
fn needs_escape(text: &str) -> bool {
    // A fold, not `any`: with no early exit the compiler checks 16 or 32 bytes at a time.
    text.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Appends `bytes` (UTF-8) escaped the way serde_json escapes a string's content: a table lookup
/// per byte, and plain runs copied whole.
fn escape_json_string_body(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // What follows the backslash, or 0 for a byte written as it is (serde_json's table).
    const ESCAPE: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 0;
        while i < 0x20 {
            t[i] = b'u';
            i += 1;
        }
        t[0x08] = b'b';
        t[0x09] = b't';
        t[0x0a] = b'n';
        t[0x0c] = b'f';
        t[0x0d] = b'r';
        t[b'"' as usize] = b'"';
        t[b'\\' as usize] = b'\\';
        t
    };
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            c => out.extend_from_slice(&[b'\\', c]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// [`Data`] by reference: what [`write_instance_data`] must write, byte for byte (tests).
#[cfg(test)]
#[derive(Serialize)]
struct DataRef<'a> {
    instance: &'a InstanceClaim,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(text: &str) -> crate::ids::Stamp {
        crate::ids::Stamp(text.parse().unwrap())
    }

    #[test]
    fn claims_are_written_byte_for_byte_as_serde_json_writes_them() {
        let instance = InstanceClaim {
            instance_id: "i-\"quoted\" \\ back\u{1}\n\t\u{8}\u{c}\r\u{1f}\u{7f} é 😀".into(),
            app_def_id: "app".into(),
            sign_date: stamp("2024-01-01T00:00:00.000Z"),
            ..Default::default()
        };
        let data = serde_json::to_string(&DataRef {
            instance: &instance,
        })
        .unwrap();
        let expected = |data: String| {
            serde_json::to_vec(&Claims {
                data,
                iat: -5,
                exp: 1_700_000_000,
            })
            .unwrap()
        };
        let got = claims_json(&Unsigned::Instance(instance), -5, 1_700_000_000);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(expected(data)).unwrap()
        );
        // Every field set (plain and odd text), then none of the optional ones.
        let odd = "a\"b\\c\u{1}d é\u{7f}";
        let full = InstanceClaim {
            instance_id: "9f1c2b3a-0000-4000-8000-000000000001".into(),
            app_def_id: odd.into(),
            sign_date: stamp("2026-01-01T00:00:00.123Z"),
            uid: Some("u-1".into()),
            permissions: "SCOPE.A,SCOPE.B".into(),
            demo_mode: true,
            site_owner_id: Some(odd.into()),
            site_member_id: Some("m-1".into()),
            meta_site_id: Some("s-1".into()),
            expiration_date: stamp("9999-12-31T23:59:59.999Z"),
            aid: Some("v-1".into()),
            sid: Some(odd.into()),
        };
        let bare = InstanceClaim {
            uid: None,
            site_owner_id: None,
            site_member_id: None,
            meta_site_id: None,
            aid: None,
            sid: None,
            demo_mode: false,
            permissions: String::new(),
            ..full.clone()
        };
        for claim in [full, bare] {
            let data = serde_json::to_string(&DataRef { instance: &claim }).unwrap();
            let got = claims_json(&Unsigned::Instance(claim), 1, 2);
            let want = serde_json::to_vec(&Claims {
                data,
                iat: 1,
                exp: 2,
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
        let odd = "{\"a\":\"\u{0}\u{1b}\\\"\"}".to_string();
        let got = claims_json(&Unsigned::Data(odd.clone()), -5, 1_700_000_000);
        assert_eq!(got, expected(odd));
    }

    #[test]
    fn tokens_are_byte_for_byte_what_jsonwebtoken_encodes() {
        let key = b"0123456789abcdef0123456789abcdef";
        let signer = Arc::new(Signer::new(key, "kid-1".into()));
        let claims = Claims {
            data: r#"{"instance":{"instanceId":"x"}}"#.into(),
            iat: 1_767_225_600,
            exp: 1_767_240_000,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("kid-1".into());
        header.typ = None;
        let expected = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(key),
        )
        .unwrap();
        assert_eq!(signer.sign("P.", &claims), format!("P.{expected}"));
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn claim() -> InstanceClaim {
        InstanceClaim {
            instance_id: "54f783ac-8c25-4a73-9ebf-a1125f71c5e3".into(),
            app_def_id: "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10".into(),
            sign_date: stamp("2026-01-01T00:00:00.000Z"),
            expiration_date: stamp("2026-01-01T00:05:00.000Z"),
            ..Default::default()
        }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let signer = Arc::new(Signer::new(
            b"0123456789abcdef0123456789abcdef",
            "kid12345".into(),
        ));
        let token = signer
            .mint(
                claim(),
                t("2026-01-01T00:00:00Z"),
                t("2026-01-01T00:05:00Z"),
            )
            .to_string();
        assert!(token.starts_with("OauthNG.JWS.eyJ"));
        let (c, claims) = signer.verify(&token, t("2026-01-01T00:04:59Z")).unwrap();
        assert_eq!(c, claim());
        assert_eq!(claims.exp - claims.iat, 300);
        assert_eq!(
            signer.verify(&token, t("2026-01-01T00:05:00Z")),
            Err(Invalid::Expired)
        );
    }

    #[test]
    fn a_token_is_written_into_json_as_serde_json_writes_it() {
        let signer = Arc::new(Signer::new(
            b"0123456789abcdef0123456789abcdef",
            "kid12345".into(),
        ));
        let minted = signer.mint(
            claim(),
            t("2026-01-01T00:00:00Z"),
            t("2026-01-01T00:05:00Z"),
        );
        // Minted (written without the escape scan), and given as text, with and without anything
        // to escape.
        for token in [
            minted,
            Token::from("plain.token".to_string()),
            Token::from("a \"quoted\" \\ token\n".to_string()),
        ] {
            let mut out = b"[".to_vec();
            token.write_json(&mut out);
            out.push(b']');
            assert_eq!(out, serde_json::to_vec(&[&token]).unwrap(), "{token}");
        }
    }

    #[test]
    fn tokens_from_another_key_or_garbled_are_unknown() {
        let a = Arc::new(Signer::new(b"0123456789abcdef0123456789abcdef", "a".into()));
        let b = Arc::new(Signer::new(b"fedcba9876543210fedcba9876543210", "b".into()));
        let token = a
            .mint(
                claim(),
                t("2026-01-01T00:00:00Z"),
                t("2026-01-01T00:05:00Z"),
            )
            .to_string();
        let now = t("2026-01-01T00:00:01Z");
        assert_eq!(b.verify(&token, now), Err(Invalid::Unknown));
        assert_eq!(
            a.verify("OauthNG.JWS.not-a-jwt", now),
            Err(Invalid::Unknown)
        );
        assert_eq!(a.verify(&token[12..], now), Err(Invalid::Unknown));
    }

    #[test]
    fn a_remembered_token_is_answered_only_for_exactly_that_token() {
        let a = Arc::new(Signer::new(b"0123456789abcdef0123456789abcdef", "a".into()));
        let mint = |secs: i64| {
            a.mint(
                claim(),
                t("2026-01-01T00:00:00Z"),
                t("2026-01-01T00:05:00Z") + chrono::Duration::seconds(secs),
            )
            .to_string()
        };
        let token = mint(0);
        let now = t("2026-01-01T00:00:01Z");
        let first = a.verify(&token, now).expect("valid");
        // Answered from what the signer remembers: the same claims, and expiry still checked.
        assert_eq!(a.verify(&token, now), Ok(first));
        assert_eq!(
            a.verify(&token, t("2026-01-01T00:05:00Z")),
            Err(Invalid::Expired)
        );
        // The same signature on another payload (one payload byte changed) is not that token.
        let (head, signature) = token.rsplit_once('.').expect("a JWS");
        let mut forged = head.to_string();
        let last = forged.pop().expect("a payload");
        forged.push(if last == 'A' { 'B' } else { 'A' });
        let forged = format!("{forged}.{signature}");
        assert_eq!(a.verify(&forged, now), Err(Invalid::Unknown));
        // Past the limit it starts over and keeps verifying.
        for i in 1..=(VERIFIED_MAX as i64 + 3) {
            assert!(a.verify(&mint(i), now).is_ok());
        }
        assert!(a.verify(&token, now).is_ok());
        assert!(a.verified.lock().by_signature.len() <= VERIFIED_MAX);
    }

    #[test]
    fn the_header_is_exactly_kid_and_alg() {
        let signer = Arc::new(Signer::new(
            b"0123456789abcdef0123456789abcdef",
            "YHBsuJpH".into(),
        ));
        let token = signer
            .mint(
                claim(),
                t("2026-01-01T00:00:00Z"),
                t("2026-01-01T00:05:00Z"),
            )
            .to_string();
        let header = jsonwebtoken::decode_header(&token[TOKEN_PREFIX.len()..]).unwrap();
        assert_eq!(header.kid.as_deref(), Some("YHBsuJpH"));
        assert_eq!(header.typ, None);
    }
}
