//! The encoded `instance` parameter Wix appends to iframe and dashboard URLs (docs/fidelity.md F-40, F-41).
//!
//! `<signature>.<data>`: `data` is base64url(JSON) and `signature` is base64url(HMAC-SHA256(app secret,
//! `data` as a string)), both without `=` padding. This module is the codec only; which fields go in
//! and who may read them is [`crate::world::signed`]'s business.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs `payload` with `secret` into Wix's `<signature>.<data>` form.
pub fn encode(secret: &str, payload: &Value) -> String {
    let data = URL_SAFE_NO_PAD.encode(payload.to_string());
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, data.as_bytes()).finalize().into_bytes());
    format!("{signature}.{data}")
}

/// The payload of `instance` if its signature is `secret`'s (checked in constant time).
///
/// The HMAC covers the data part exactly as received. Trailing `=` padding is tolerated when
/// decoding, since some base64 libraries add it back.
pub fn verify(secret: &str, instance: &str) -> Option<Value> {
    let (signature, data) = instance.split_once('.')?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .ok()?;
    mac(secret, data.as_bytes()).verify_slice(&signature).ok()?;
    peek(instance)
}

/// The payload of `instance` without checking its signature (to find out whose secret to check with).
pub fn peek(instance: &str) -> Option<Value> {
    let (_, data) = instance.split_once('.')?;
    let bytes = URL_SAFE_NO_PAD.decode(data.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

fn mac(secret: &str, data: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(data);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_encoded_instance_verifies_only_with_its_secret() {
        let payload = json!({"instanceId": "i", "permissions": "OWNER"});
        let s = encode("secret", &payload);
        assert!(!s.contains('='));
        assert_eq!(verify("secret", &s), Some(payload));
        assert_eq!(verify("other", &s), None);
        let (sig, data) = s.split_once('.').unwrap();
        assert_eq!(verify("secret", &format!("{sig}.{data}x")), None);
        assert_eq!(verify("secret", "garbage"), None);
        assert_eq!(verify("secret", "."), None);
    }
}
