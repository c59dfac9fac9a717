//! Per-app RS256 key pairs: the keys Wix signs an app's webhooks with (docs/fidelity.md F-37).
//!
//! Wix shows each app its **public** key in the dashboard; the app verifies every webhook JWT with it
//! (`AppStrategy({publicKey})`). The mock holds the private half. A scenario may give it as PEM; otherwise
//! it is generated from the seed ([`Ids::derived`]), so a fixed seed gives the same key run after run and
//! the key does not depend on when it was first needed. Generating a 2048-bit key takes a noticeable
//! moment (see [`KeyCache`]), so keys are made lazily, once per app, off the async threads, and cached.
//! This module owns key material only: no world state, no HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::Mutex;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::ids::Ids;

/// The key size Wix uses for webhook keys (INFERRED, docs/fidelity.md I-32: the dashboard shows a 2048-bit SPKI key).
pub const DEFAULT_KEY_BITS: usize = 2048;

/// Characters of generated key ids, like Wix's `qG1kD2dz`.
const KID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An app's webhook signing key.
pub struct AppKey {
    /// The `kid` in every webhook header.
    pub kid: String,
    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), what the dashboard shows and
    /// `jose.importSPKI` (inside `AppStrategy`) reads.
    pub public_pem: String,
    encoding: EncodingKey,
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("AppKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Where an app's key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// A private key from the scenario: PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`).
    Pem { pem: String, kid: Option<String> },
    /// Generated from 32 seed bytes, `bits` long.
    Seeded { seed: [u8; 32], bits: usize },
}

impl AppKey {
    /// Reads a private key in PEM. `kid` defaults to one derived from the public key.
    pub fn from_private_pem(pem: &str, kid: Option<&str>) -> Result<AppKey, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| format!("not an RSA private key in PKCS#1 or PKCS#8 PEM: {e}"))?;
        let kid = match kid {
            Some(k) => k.to_string(),
            None => {
                use sha2::{Digest, Sha256};
                let der = key
                    .to_public_key()
                    .to_public_key_der()
                    .map_err(|e| e.to_string())?;
                kid_from(&Sha256::digest(der.as_bytes()))
            }
        };
        AppKey::from_key(&key, kid)
    }

    /// Generates a key deterministically from `seed` (ChaCha20 seeded with it; never the OS).
    pub fn generate(seed: [u8; 32], bits: usize) -> Result<AppKey, String> {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let key = RsaPrivateKey::new(&mut rng, bits).map_err(|e| e.to_string())?;
        AppKey::from_key(&key, kid_from(&seed))
    }

    /// Makes the key a source describes (slow for [`KeySource::Seeded`]: call off the async threads).
    pub fn make(source: &KeySource) -> Result<AppKey, String> {
        match source {
            KeySource::Pem { pem, kid } => AppKey::from_private_pem(pem, kid.as_deref()),
            KeySource::Seeded { seed, bits } => AppKey::generate(*seed, *bits),
        }
    }

    fn from_key(key: &RsaPrivateKey, kid: String) -> Result<AppKey, String> {
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        // jsonwebtoken's rust_crypto backend reads RSA signing keys as PKCS#1 DER.
        let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
        Ok(AppKey {
            kid,
            public_pem,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        })
    }

    /// Signs `claims` as an RS256 JWT whose header is exactly `{"kid", "alg"}` (Wix's webhook header).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = None;
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }
}

/// Eight key-id characters from the first bytes of `bytes`.
fn kid_from(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(8)
        .map(|b| KID_ALPHABET[*b as usize % KID_ALPHABET.len()] as char)
        .collect()
}

/// The key source for `app_id`: its scenario PEM, or one derived from the seed.
pub fn source_for(
    app_id: &str,
    pem: Option<&str>,
    kid: Option<&str>,
    bits: usize,
    ids: &Ids,
) -> KeySource {
    match pem {
        Some(pem) => KeySource::Pem {
            pem: pem.to_string(),
            kid: kid.map(str::to_string),
        },
        None => KeySource::Seeded {
            seed: ids.derived(&format!("webhook-key/{app_id}")),
            bits,
        },
    }
}

/// One key, made at most once.
type Slot = Arc<OnceCell<Arc<AppKey>>>;

/// Keys made so far, by source. Cloning is shallow.
///
/// A key depends only on its source, so entries never go stale: a reset with the same seed finds the
/// key already made. Each source is made once even when several tasks ask at the same moment.
#[derive(Clone, Default)]
pub struct KeyCache {
    made: Arc<Mutex<HashMap<KeySource, Slot>>>,
}

impl KeyCache {
    /// The key for `source`, made on a blocking thread the first time.
    pub async fn get(&self, source: &KeySource) -> Result<Arc<AppKey>, String> {
        let cell = self.made.lock().entry(source.clone()).or_default().clone();
        cell.get_or_try_init(|| {
            let source = source.clone();
            async move {
                tokio::task::spawn_blocking(move || AppKey::make(&source).map(Arc::new))
                    .await
                    .map_err(|e| format!("key generation stopped: {e}"))?
            }
        })
        .await
        .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_key_is_the_same_every_time_and_signs_rs256() {
        let started = std::time::Instant::now();
        let a = AppKey::generate([7; 32], 1024).unwrap();
        eprintln!("1024-bit keygen: {:?}", started.elapsed());
        let b = AppKey::generate([7; 32], 1024).unwrap();
        assert_eq!(a.public_pem, b.public_pem);
        assert_eq!(a.kid, b.kid);
        assert!(a.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let jwt = a.sign(&serde_json::json!({"data": "{}"})).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(a.kid.as_str()));
        assert_eq!(header.typ, None);
    }

    #[test]
    fn a_pem_key_reads_both_encodings_and_bad_pem_is_an_error() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let key = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let pkcs8 = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF).unwrap();
        let a = AppKey::from_private_pem(&pkcs1, None).unwrap();
        let b = AppKey::from_private_pem(&pkcs8, Some("myKid123")).unwrap();
        assert_eq!(a.public_pem, b.public_pem);
        assert_eq!(b.kid, "myKid123");
        assert_eq!(a.kid.len(), 8);
        assert!(AppKey::from_private_pem("not a key", None).is_err());
    }
}
