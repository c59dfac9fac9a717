//! The virtual clock: the one source of "now" for everything that is issued or expires.
//!
//! This is the only module that reads the system clock. Everything else asks a [`Clock`], so tests can
//! freeze time, jump past an expiry and replay a run exactly. Clones share one time (as governor's
//! `FakeRelativeClock` does): advancing any clone moves them all.
//!
//! Reading the time takes no lock: the mode (frozen at an instant, or running at an offset from the
//! system clock) is one atomic word. Changes are serialised by a mutex and publish a new word.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Source of "now" for everything that expires.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// The current [`Mode`], encoded by [`Mode::encode`]: what [`Clock::now`] reads.
    mode: AtomicI64,
    /// Serialises changes (a read-modify-write such as `advance` must not interleave).
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Where [`Clock::reset`] puts the clock back to: the scenario's start (or the real time) and mode.
    initial_start: Option<DateTime<Utc>>,
    initial_frozen: bool,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Runs with the system clock, shifted by `offset`.
    Live { offset: Duration },
    /// Stands still at the given instant until moved by hand.
    Frozen(DateTime<Utc>),
}

/// Offsets (µs) and instants (ms) are kept within this of zero, so that the encoding (one bit for
/// the mode) cannot overflow; the clock's own range (1970 to ~9800) is far smaller.
const ENCODED_LIMIT: i64 = 1 << 61;

impl Mode {
    /// A running clock's offset in microseconds, or a frozen clock's instant in milliseconds,
    /// shifted left by one with the low bit set when frozen.
    fn encode(self) -> i64 {
        let (n, frozen) = match self {
            Mode::Live { offset } => {
                // Rounded up: a clock started at T must never show a moment before T.
                let us = offset.num_microseconds().unwrap_or(i64::MAX);
                let up = offset > Duration::microseconds(us);
                (us.saturating_add(i64::from(up)), 0)
            }
            Mode::Frozen(at) => (at.timestamp_millis(), 1),
        };
        (n.clamp(-ENCODED_LIMIT, ENCODED_LIMIT) << 1) | frozen
    }

    fn decode(word: i64) -> Mode {
        let n = word >> 1;
        if word & 1 == 1 {
            Mode::Frozen(DateTime::from_timestamp_millis(n).map_or_else(latest, clamp))
        } else {
            Mode::Live {
                offset: Duration::microseconds(n),
            }
        }
    }
}

/// What `GET /__admin/clock` shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClockStatus {
    /// The virtual time, RFC 3339 with milliseconds.
    pub now: String,
    /// The virtual time in Unix seconds, as it appears in `iat`/`exp` claims.
    pub unix: i64,
    /// Whether the clock stands still.
    pub frozen: bool,
}

/// Where the clock stands, for the state file: a frozen clock's instant, or a running clock's offset
/// from the system clock (so after a restart it has run on through the downtime, as time does).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum ClockPosition {
    /// Stands still at `at`.
    Frozen { at: DateTime<Utc> },
    /// Runs `offset_ms` milliseconds ahead of the system clock (behind when negative).
    Live { offset_ms: i64 },
}

impl ClockPosition {
    /// The time a clock at this position shows now (clamped to the clock's range, whatever the
    /// offset), without building a clock: the state file uses it to leave out what has expired.
    pub fn now(&self) -> DateTime<Utc> {
        match *self {
            ClockPosition::Frozen { at } => clamp(at),
            ClockPosition::Live { offset_ms } => {
                let later = Duration::try_milliseconds(offset_ms)
                    .and_then(|offset| system_now().checked_add_signed(offset));
                match later {
                    Some(t) => clamp(t.trunc_subsecs(3)),
                    None if offset_ms < 0 => earliest(),
                    None => latest(),
                }
            }
        }
    }
}

fn system_now() -> DateTime<Utc> {
    Utc::now()
}

/// The system time in microseconds since the Unix epoch (negative before it).
fn system_micros() -> i64 {
    let micros = |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => micros(since),
        Err(before) => -micros(before.duration()),
    }
}

/// The earliest time the virtual clock shows.
pub fn earliest() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// The latest time the virtual clock shows: far enough from chrono's limit that adding any TTL (at
/// most ten years) or any token lifetime to "now" cannot overflow.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799 - 100 * 366 * 86_400, 0)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Whether the virtual clock may stand at `t`.
pub fn in_range(t: DateTime<Utc>) -> bool {
    t >= earliest() && t <= latest()
}

fn clamp(t: DateTime<Utc>) -> DateTime<Utc> {
    t.clamp(earliest(), latest())
}

impl Clock {
    /// A clock that starts at `start` (the real time when `None`), frozen or running.
    pub fn new(start: Option<DateTime<Utc>>, frozen: bool) -> Clock {
        Clock(Arc::new(Shared {
            mode: AtomicI64::new(initial_mode(start, frozen).encode()),
            state: Mutex::new(State {
                initial_start: start,
                initial_frozen: frozen,
            }),
        }))
    }

    fn mode(&self) -> Mode {
        Mode::decode(self.0.mode.load(Ordering::Acquire))
    }

    fn publish(&self, mode: Mode) {
        self.0.mode.store(mode.encode(), Ordering::Release);
    }

    /// A frozen clock at `at`: what every test uses.
    pub fn frozen_at(at: DateTime<Utc>) -> Clock {
        Clock::new(Some(at), true)
    }

    /// The current virtual time, truncated to milliseconds (Wix timestamps carry milliseconds).
    pub fn now(&self) -> DateTime<Utc> {
        match self.mode() {
            // The system time in microseconds plus the offset (whole microseconds, see
            // `Mode::encode`), cut down to the millisecond: the same instant as adding the offset
            // with chrono and `trunc_subsecs(3)`, in integers. "Now" is read twice per token
            // request, and chrono's date arithmetic was most of it (issue 13).
            Mode::Live { offset } => {
                let offset = offset.num_microseconds().unwrap_or(i64::MAX);
                let micros = system_micros().saturating_add(offset);
                DateTime::from_timestamp_millis(micros.div_euclid(1000)).map_or_else(latest, clamp)
            }
            Mode::Frozen(at) => at,
        }
    }

    /// Moves the clock forward (or back, with a negative duration), frozen or not; it stops at
    /// [`earliest`] and [`latest`].
    pub fn advance(&self, by: Duration) {
        let target = self.now().checked_add_signed(by).map(clamp);
        let target = target.unwrap_or_else(|| {
            if by > Duration::zero() {
                latest()
            } else {
                earliest()
            }
        });
        self.set(target);
    }

    /// Jumps to `at`; a running clock keeps running from there.
    pub fn set(&self, at: DateTime<Utc>) {
        let at = clamp(at);
        let _changing = self.0.state.lock();
        self.publish(match self.mode() {
            Mode::Live { .. } => Mode::Live {
                offset: at - system_now(),
            },
            Mode::Frozen(_) => Mode::Frozen(at.trunc_subsecs(3)),
        });
    }

    /// Stops the clock at the current virtual time.
    pub fn freeze(&self) {
        let _changing = self.0.state.lock();
        self.publish(Mode::Frozen(self.now()));
    }

    /// Lets a frozen clock run again from where it stands.
    pub fn resume(&self) {
        let _changing = self.0.state.lock();
        if let Mode::Frozen(at) = self.mode() {
            self.publish(Mode::Live {
                offset: at - system_now(),
            });
        }
    }

    /// Whether the clock stands still.
    pub fn is_frozen(&self) -> bool {
        matches!(self.mode(), Mode::Frozen(_))
    }

    /// Puts the clock back where it started (the scenario's start time and mode).
    pub fn reset(&self) {
        let state = self.0.state.lock();
        self.publish(initial_mode(state.initial_start, state.initial_frozen));
    }

    /// Changes what [`Clock::reset`] returns to, and resets: used when a new scenario is loaded.
    pub fn reconfigure(&self, start: Option<DateTime<Utc>>, frozen: bool) {
        let mut state = self.0.state.lock();
        state.initial_start = start;
        state.initial_frozen = frozen;
        self.publish(initial_mode(start, frozen));
    }

    /// Where the clock stands now (for the state file).
    pub fn position(&self) -> ClockPosition {
        match self.mode() {
            Mode::Frozen(at) => ClockPosition::Frozen { at },
            Mode::Live { offset } => ClockPosition::Live {
                offset_ms: offset.num_milliseconds(),
            },
        }
    }

    /// Puts the clock where [`Clock::position`] said it was; [`Clock::reset`] still returns to the
    /// scenario's start.
    pub fn restore(&self, position: ClockPosition) {
        let _changing = self.0.state.lock();
        self.publish(match position {
            ClockPosition::Frozen { at } => Mode::Frozen(clamp(at.trunc_subsecs(3))),
            ClockPosition::Live { offset_ms } => Mode::Live {
                offset: Duration::milliseconds(
                    offset_ms.clamp(-ENCODED_LIMIT / 1000, ENCODED_LIMIT / 1000),
                ),
            },
        });
    }

    /// The clock as the admin API shows it.
    pub fn status(&self) -> ClockStatus {
        let now = self.now();
        ClockStatus {
            now: crate::ids::rfc3339_millis(now),
            unix: now.timestamp(),
            frozen: self.is_frozen(),
        }
    }
}

fn initial_mode(start: Option<DateTime<Utc>>, frozen: bool) -> Mode {
    let start = clamp(start.unwrap_or_else(system_now).trunc_subsecs(3));
    if frozen {
        Mode::Frozen(start)
    } else {
        Mode::Live {
            offset: start - system_now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_frozen_clock_only_moves_when_told() {
        let clock = Clock::frozen_at(t("2026-01-01T00:00:00Z"));
        assert_eq!(clock.now(), t("2026-01-01T00:00:00Z"));
        clock.advance(Duration::seconds(601));
        assert_eq!(clock.now(), t("2026-01-01T00:10:01Z"));
        clock.set(t("2027-05-05T05:05:05Z"));
        assert_eq!(clock.now(), t("2027-05-05T05:05:05Z"));
    }

    #[test]
    fn clones_share_one_time() {
        let clock = Clock::frozen_at(t("2026-01-01T00:00:00Z"));
        let other = clock.clone();
        other.advance(Duration::seconds(10));
        assert_eq!(clock.now(), t("2026-01-01T00:00:10Z"));
    }

    #[test]
    fn reset_returns_to_the_start_and_mode() {
        let clock = Clock::frozen_at(t("2026-01-01T00:00:00Z"));
        clock.advance(Duration::hours(5));
        clock.resume();
        assert!(!clock.is_frozen());
        clock.reset();
        assert!(clock.is_frozen());
        assert_eq!(clock.now(), t("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn the_clock_stops_short_of_chronos_limits() {
        let clock = Clock::frozen_at(t("2026-01-01T00:00:00Z"));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), latest());
        // Any TTL still fits on top of the latest time.
        assert!(
            clock
                .now()
                .checked_add_signed(Duration::days(3660))
                .is_some()
        );
        clock.advance(Duration::MIN);
        assert_eq!(clock.now(), earliest());
        clock.set(DateTime::<Utc>::MAX_UTC);
        assert_eq!(clock.now(), latest());
    }

    #[test]
    fn a_restored_position_is_where_the_clock_was() {
        let clock = Clock::frozen_at(t("2026-01-01T00:00:00Z"));
        clock.advance(Duration::hours(2));
        let other = Clock::frozen_at(t("2020-01-01T00:00:00Z"));
        other.restore(clock.position());
        assert_eq!(other.now(), t("2026-01-01T02:00:00Z"));
        other.reset();
        assert_eq!(other.now(), t("2020-01-01T00:00:00Z"));
        let live = Clock::new(Some(t("2030-01-01T00:00:00Z")), false);
        let again = Clock::frozen_at(t("2020-01-01T00:00:00Z"));
        again.restore(live.position());
        assert!(!again.is_frozen());
        assert!((again.now() - live.now()).num_seconds().abs() < 5);
    }

    #[test]
    fn a_running_clock_starts_at_its_start_time() {
        let clock = Clock::new(Some(t("2030-01-01T00:00:00Z")), false);
        let drift = clock.now() - t("2030-01-01T00:00:00Z");
        assert!(drift >= Duration::zero() && drift < Duration::seconds(5));
        clock.freeze();
        let frozen = clock.now();
        assert_eq!(clock.now(), frozen);
    }

    #[test]
    fn a_running_clock_reads_what_chrono_would_at_any_offset() {
        // What `now` computed with chrono before it added microseconds in integers.
        let by_chrono = |offset: Duration| {
            clamp(
                system_now()
                    .checked_add_signed(offset)
                    .unwrap_or_else(latest)
                    .trunc_subsecs(3),
            )
        };
        let clock = Clock::new(None, false);
        for offset_us in [
            0,
            1,
            -1,
            999,
            -999,
            1_500,
            -1_500,
            86_400_000_000,
            -86_400_000_123,
            -60 * 366 * 86_400_000_000,
            ENCODED_LIMIT,
            -ENCODED_LIMIT,
        ] {
            let offset = Duration::microseconds(offset_us);
            clock.publish(Mode::Live { offset });
            let (before, now, after) = (by_chrono(offset), clock.now(), by_chrono(offset));
            assert!(
                before <= now && now <= after,
                "{offset_us} µs: {before} {now} {after}"
            );
            assert_eq!(now.timestamp_subsec_nanos() % 1_000_000, 0);
        }
    }
}
