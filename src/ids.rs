//! The one seeded random generator, and the shapes of everything random the mock hands out.
//!
//! This is the only module that may read an unseeded source of randomness (to pick a seed when none
//! is configured). Every code, token, secret and id comes from [`Ids`], so a fixed seed on a frozen
//! clock replays a run exactly.

use std::sync::Arc;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// Characters of opaque tokens: URL-safe, so they survive query strings and fragments unescaped.
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The seeded generator. Cloning is shallow: clones draw from the same sequence.
#[derive(Clone, Debug)]
pub struct Ids {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    /// How many times the sequence was moved to a fresh stream ([`Ids::fork`]); 0 after a (re)seed.
    generation: u64,
    rng: StdRng,
}

impl Ids {
    /// A generator seeded with `seed`, or with a random seed when `None`.
    pub fn new(seed: Option<u64>) -> Ids {
        let seed = seed.unwrap_or_else(|| rand::rng().next_u64());
        Ids {
            inner: Arc::new(Mutex::new(Inner {
                seed,
                generation: 0,
                rng: StdRng::seed_from_u64(seed),
            })),
        }
    }

    /// The seed in use (reported by the admin API so a run can be replayed).
    pub fn seed(&self) -> u64 {
        self.inner.lock().seed
    }

    /// Starts the sequence again from `seed`.
    pub fn reseed(&self, seed: u64) {
        let mut inner = self.inner.lock();
        inner.seed = seed;
        inner.generation = 0;
        inner.rng = StdRng::seed_from_u64(seed);
    }

    /// Moves the sequence to stream number `generation` of the same seed, which depends only on the
    /// seed and that number. The state file uses it after a restart: the exact position of the
    /// generator is not saved, and starting the seed's sequence over would hand out again the codes
    /// and ids of the previous run. The seed (and so [`Ids::derived`]) stays the same.
    pub fn fork(&self, generation: u64) {
        let stream = self.derived(&format!("stream/{generation}"));
        let mut inner = self.inner.lock();
        inner.generation = generation;
        inner.rng = StdRng::from_seed(stream);
    }

    /// The stream number (see [`Ids::fork`]).
    pub fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    /// `n` random bytes.
    pub fn bytes(&self, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        self.inner.lock().rng.fill_bytes(&mut out);
        out
    }

    /// A random v4 GUID in Wix's lower-case hyphenated form.
    pub fn guid(&self) -> String {
        let mut b = [0u8; 16];
        self.inner.lock().rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h =
            |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
        format!(
            "{}-{}-{}-{}-{}",
            h(0..4),
            h(4..6),
            h(6..8),
            h(8..10),
            h(10..16)
        )
    }

    /// `prefix` followed by `len` URL-safe random characters.
    pub fn token(&self, prefix: &str, len: usize) -> String {
        let mut out = String::with_capacity(prefix.len() + len);
        out.push_str(prefix);
        let mut inner = self.inner.lock();
        for _ in 0..len {
            let i = inner.rng.random_range(0..TOKEN_ALPHABET.len());
            out.push(TOKEN_ALPHABET[i] as char);
        }
        out
    }

    /// 32 bytes that depend only on the seed and `label`, without drawing from the shared sequence.
    ///
    /// For values that are made lazily or in the background (an app's webhook key pair): drawing them
    /// from the sequence would make every later code and token depend on when they were made.
    pub fn derived(&self, label: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"wix-oauth-mock/derived/v1\0");
        h.update(self.seed().to_le_bytes());
        h.update(label.as_bytes());
        h.finalize().into()
    }

    /// The `x-wix-request-id` of the `n`th answer: a GUID derived from the seed and `n`, so it is
    /// the same run after run and draws nothing from the stream (docs/fidelity.md I-05). A request
    /// id is no secret, so a SplitMix64 mix does (a hash per answer showed in the profile).
    pub fn request_id(&self, n: u64) -> RequestId {
        fn mix(mut z: u64) -> u64 {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        let hi = mix(self.seed() ^ mix(n));
        let lo = mix(hi ^ n.rotate_left(32));
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&hi.to_be_bytes());
        g[8..].copy_from_slice(&lo.to_be_bytes());
        g[6] = (g[6] & 0x0f) | 0x40;
        g[8] = (g[8] & 0x3f) | 0x80;
        // On every API answer: written in place, no allocation.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 36];
        let mut at = 0;
        for (i, byte) in g.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out[at] = b'-';
                at += 1;
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0x0f)];
            at += 2;
        }
        RequestId(Some(out))
    }

    /// A number in `0..bound`, for seeded choices (probabilistic faults, jitter).
    pub fn below(&self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.inner.lock().rng.random_range(0..bound)
    }
}

/// Whether `s` is a GUID in the form Wix uses for app, site and instance ids.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// RFC 3339 with milliseconds and `Z`, the form of every Wix timestamp (`createdDate`, `signDate`).
///
/// Written digit by digit: chrono's formatter goes through `core::fmt` (about 700 instructions a
/// timestamp, and a token request writes three: issue 13). Years outside 0-9999 and leap seconds,
/// which RFC 3339's fixed shape does not cover, are left to chrono.
pub fn rfc3339_millis(t: DateTime<Utc>) -> String {
    match millis_text(t) {
        // Only ASCII digits and separators went in, so this is always the whole text.
        Some(text) => std::str::from_utf8(&text).unwrap_or_default().to_string(),
        None => t.to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// [`rfc3339_millis`] on the stack, for the years 0 to 9999 (`None` outside them, or for a leap
/// second, which chrono writes its own way).
fn millis_text(t: DateTime<Utc>) -> Option<[u8; 24]> {
    // The UTC date and time as stored: each of `t`'s own accessors would convert it again.
    let (date, time) = (t.naive_utc().date(), t.naive_utc().time());
    let (year, nanos) = (date.year(), time.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, date.month());
    put(8, 2, date.day());
    put(11, 2, time.hour());
    put(14, 2, time.minute());
    put(17, 2, time.second());
    put(20, 3, nanos / 1_000_000);
    Some(out)
}

/// An `x-wix-request-id` (a GUID), held in place: every API answer carries one and its journal entry
/// keeps it, and as a `String` it was an allocation per request, freed long after when the entry
/// left the journal (issue 13). Empty for requests answered without one.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestId(Option<[u8; 36]>);

impl RequestId {
    /// The id as text (`""` when there is none).
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only hex digits and dashes are ever written.
            Some(text) => std::str::from_utf8(text).unwrap_or_default(),
            None => "",
        }
    }

    /// Whether there is no id.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl std::ops::Deref for RequestId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for RequestId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// An instant written as RFC 3339 with milliseconds and `Z` ([`rfc3339_millis`]) only when it is
/// serialised or displayed: a journal entry's time, a token claim's dates. Most are never read, and
/// the text cost an allocation each when made up front (issue 13). Reads back any RFC 3339 time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp(pub DateTime<Utc>);

impl Stamp {
    /// Calls `with` with the text, written on the stack.
    pub fn with_text<R>(&self, with: impl FnOnce(&str) -> R) -> R {
        match millis_text(self.0) {
            Some(text) => with(std::str::from_utf8(&text).unwrap_or_default()),
            None => with(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_text(|text| s.serialize_str(text))
    }
}

impl<'de> serde::Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Stamp(t.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_written_as_rfc3339_millis_and_reads_back_the_same() {
        use chrono::TimeZone;
        for (secs, millis) in [(0, 0), (1_767_225_600, 7), (253_402_300_799, 999)] {
            let t = Utc.timestamp_opt(secs, millis * 1_000_000).unwrap();
            let json = serde_json::to_string(&Stamp(t)).unwrap();
            assert_eq!(json, format!("\"{}\"", rfc3339_millis(t)));
            assert_eq!(Stamp(t).to_string(), rfc3339_millis(t));
            assert_eq!(serde_json::from_str::<Stamp>(&json).unwrap(), Stamp(t));
        }
        // Any RFC 3339 time reads; anything else is an error, not a default.
        let plain: Stamp = serde_json::from_str("\"2026-01-01T01:00:00+01:00\"").unwrap();
        assert_eq!(plain.to_string(), "2026-01-01T00:00:00.000Z");
        assert!(serde_json::from_str::<Stamp>("\"yesterday\"").is_err());
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        use chrono::TimeZone;
        let mut seconds: i64 = -62_167_219_200; // 0000-01-01
        let mut checked = 0;
        while seconds < 253_402_300_800 + 86_400 * 800 {
            for millis in [0, 1, 9, 10, 99, 100, 999] {
                let nanos = millis * 1_000_000 + (seconds.rem_euclid(7) as u32) * 1_000;
                let t = Utc.timestamp_opt(seconds, nanos).unwrap();
                assert_eq!(
                    rfc3339_millis(t),
                    t.to_rfc3339_opts(SecondsFormat::Millis, true)
                );
                checked += 1;
            }
            // Steps of 97 days and 1:01:11 land on every month, day, hour and minute in turn.
            seconds += 86_400 * 97 + 3_671;
        }
        assert!(checked > 20_000);
        // Before year 0, after 9999, and a leap second: chrono's own answer.
        for t in [
            Utc.timestamp_opt(-62_167_219_201, 0).unwrap(),
            Utc.timestamp_opt(253_402_300_800, 5_000_000).unwrap(),
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(),
        ] {
            assert_eq!(
                rfc3339_millis(t),
                t.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
        assert_eq!(
            rfc3339_millis(Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap()),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (a, b) = (Ids::new(Some(7)), Ids::new(Some(7)));
        assert_eq!(a.guid(), b.guid());
        assert_eq!(a.token("X.", 24), b.token("X.", 24));
        a.reseed(7);
        let c = Ids::new(Some(7));
        assert_eq!(a.guid(), c.guid());
    }

    #[test]
    fn derived_bytes_depend_on_seed_and_label_only() {
        let a = Ids::new(Some(7));
        let before = a.derived("key/x");
        a.guid();
        assert_eq!(a.derived("key/x"), before);
        assert_ne!(a.derived("key/y"), before);
        assert_ne!(Ids::new(Some(8)).derived("key/x"), before);
    }

    #[test]
    fn a_fork_is_a_fresh_stream_of_the_same_seed() {
        let (a, b) = (Ids::new(Some(7)), Ids::new(Some(7)));
        let first = a.guid();
        a.fork(1);
        b.fork(1);
        assert_eq!(a.guid(), b.guid());
        assert_ne!(b.guid(), first);
        assert_eq!((a.seed(), a.generation()), (7, 1));
        a.reseed(7);
        assert_eq!(a.generation(), 0);
    }

    #[test]
    fn guids_have_wix_form() {
        let ids = Ids::new(Some(1));
        for _ in 0..100 {
            let g = ids.guid();
            assert!(is_guid(&g), "{g}");
            assert_eq!(&g[14..15], "4");
        }
        assert!(!is_guid("not-a-guid"));
        assert!(!is_guid("5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a1g"));
    }

    #[test]
    fn request_ids_are_guids_of_the_seed_and_count_and_none_is_empty() {
        let ids = Ids::new(Some(1));
        let first = ids.request_id(1);
        assert!(is_guid(&first), "{first}");
        assert_eq!(&first[14..15], "4");
        assert_eq!(first, Ids::new(Some(1)).request_id(1), "derived, not drawn");
        assert_ne!(first, ids.request_id(2));
        assert_ne!(first, Ids::new(Some(2)).request_id(1));
        assert_eq!(
            serde_json::to_string(&first).unwrap(),
            format!("\"{first}\"")
        );
        let none = RequestId::default();
        assert!(none.is_empty() && none.as_str().is_empty() && !first.is_empty());
    }

    #[test]
    fn tokens_are_url_safe() {
        let t = Ids::new(Some(3)).token("OAUTH2.CODE.", 24);
        assert!(t.starts_with("OAUTH2.CODE."));
        assert_eq!(t.len(), "OAUTH2.CODE.".len() + 24);
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        );
    }
}
