//! The credential records of members (issue 14): password digests, session tokens, pending
//! verifications, recovery links and the outbox of e-mails the mock did not send.
//!
//! Plain data with no behaviour beyond hashing, so `identity` (which stores them) and `members`
//! (which decides with them) can both use it without importing each other. A leaf of `world`.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// PBKDF2-HMAC-SHA256 rounds. Far below the 600 000 OWASP asks of a production store, on purpose:
/// the mock guards test passwords, not people's; a few thousand rounds still keep a state file
/// from showing a password.
const PBKDF2_ROUNDS: u32 = 2_000;

/// A password, salted and hashed. Never serialised as such: [`PasswordHash::encode`] writes the
/// digest for the state file, nothing writes the password.
#[derive(Clone)]
pub struct PasswordHash {
    salt: [u8; 16],
    digest: OnceLock<[u8; 32]>,
    /// A scenario member's password, hashed when first needed ([`PasswordHash::deferred`]).
    scenario_password: Option<Arc<str>>,
}

impl PartialEq for PasswordHash {
    fn eq(&self, other: &PasswordHash) -> bool {
        self.salt == other.salt && self.digest() == other.digest()
    }
}

impl Eq for PasswordHash {}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

impl PasswordHash {
    /// `password` hashed with `salt` (16 bytes from the seeded generator, or derived from the seed).
    pub fn new(password: &str, salt: &[u8]) -> PasswordHash {
        let salt = salt16(salt);
        PasswordHash {
            salt,
            digest: OnceLock::from(pbkdf2(password, &salt)),
            scenario_password: None,
        }
    }

    /// A scenario member's password, hashed the first time it is checked or saved. Every start,
    /// reset and new namespace builds the scenario's members again, and hashing each password at
    /// once was 0.2 ms of a 2.7 ms start (issue 13) for members most runs never log in as. The text
    /// is the scenario's own, which the namespace keeps for its resets anyway.
    pub fn deferred(password: Arc<str>, salt: &[u8]) -> PasswordHash {
        PasswordHash {
            salt: salt16(salt),
            digest: OnceLock::new(),
            scenario_password: Some(password),
        }
    }

    fn digest(&self) -> &[u8; 32] {
        self.digest.get_or_init(|| {
            pbkdf2(
                self.scenario_password.as_deref().unwrap_or_default(),
                &self.salt,
            )
        })
    }

    /// Whether `password` is this one, comparing the digests in constant time.
    pub fn verify(&self, password: &str) -> bool {
        self.digest().ct_eq(&pbkdf2(password, &self.salt)).into()
    }

    /// `pbkdf2-sha256$<rounds>$<salt hex>$<digest hex>`, for the state file.
    pub fn encode(&self) -> String {
        format!(
            "pbkdf2-sha256${PBKDF2_ROUNDS}${}${}",
            hex(&self.salt),
            hex(self.digest())
        )
    }

    /// The inverse of [`PasswordHash::encode`]; `None` for anything else (other rounds included).
    pub fn decode(s: &str) -> Option<PasswordHash> {
        let mut parts = s.split('$');
        let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(digest), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if rounds != PBKDF2_ROUNDS.to_string() {
            return None;
        }
        let digest: [u8; 32] = unhex(digest)?.try_into().ok()?;
        Some(PasswordHash {
            salt: unhex(salt)?.try_into().ok()?,
            digest: OnceLock::from(digest),
            scenario_password: None,
        })
    }
}

/// The first 16 bytes of `salt`, zero-padded.
fn salt16(salt: &[u8]) -> [u8; 16] {
    let mut s = [0u8; 16];
    for (d, b) in s.iter_mut().zip(salt) {
        *d = *b;
    }
    s
}

fn pbkdf2(password: &str, salt: &[u8; 16]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, PBKDF2_ROUNDS, &mut digest);
    digest
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

// ---- State ------------------------------------------------------------------------------------------

/// A session token from `register`, `login`, `verify`, `recover` or `sign-on`: single use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionGrant {
    pub member_id: String,
    pub site_id: String,
    /// The OAuth app whose visitor asked; `None` for `sign-on` (an API key, any client of the site).
    pub client_id: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A `stateToken` waiting for the code e-mailed to the member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingVerification {
    pub member_id: String,
    pub site_id: String,
    pub client_id: String,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// A recovery (or activation) link's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recovery {
    pub member_id: String,
    pub site_id: String,
    pub client_id: Option<String>,
    /// Where the reset page sends the browser after the new password is set.
    pub redirect_url: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// What kind of e-mail Wix would have sent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MailKind {
    VerificationCode,
    PasswordRecovery,
    Activation,
}

/// One e-mail the mock did not send: `GET /__admin/outbox` lists them, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mail {
    pub id: String,
    pub kind: MailKind,
    pub to: String,
    pub member_id: String,
    pub site_id: String,
    /// The verification code (`VERIFICATION_CODE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The reset-password page's link (`PASSWORD_RECOVERY`, `ACTIVATION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub created_at: String,
}
