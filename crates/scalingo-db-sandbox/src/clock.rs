//! The sandbox's sense of time, injectable so that tests need not sleep.
//!
//! Everything the sandbox decides from the time (a backup's `created_at` and its progress from
//! `scheduled` to `done`, the seeded periodic backup and those of each scheduled hour, an
//! operation's progress from `pending` to `finished`, the recovery window, when tokens and archive
//! links expire, the `iat`/`exp` claims of its JWTs) reads one [`Clock`]. A test moves it forward instead of
//! waiting: create a backup, advance three seconds, and it is done; advance an hour, and a token
//! has expired. Only network-like waits (a `Delay` fault) still take real time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Where the sandbox reads the time. Clones share one time: advancing any of them advances all.
///
/// [`Clock::system`] (the default) follows the real time, plus whatever [`Clock::advance`] added;
/// [`Clock::manual`] stands still and moves only when advanced.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` follows the system's time; `Some` stands at that instant.
    start: Option<DateTime<Utc>>,
    /// How far the clock was moved forward, in nanoseconds (an atomic, so that reading the time
    /// on every request takes no lock). It is read as at most `i64::MAX` ns, 292 years: far
    /// beyond any test.
    advanced_nanos: AtomicU64,
}

impl Clock {
    /// The real time; [`Clock::advance`] moves it ahead of the real time for good.
    pub fn system() -> Self {
        Clock::starting(None)
    }

    /// A clock standing at `start`, which moves only when [`Clock::advance`]d.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Clock::starting(Some(start))
    }

    fn starting(start: Option<DateTime<Utc>>) -> Self {
        Clock {
            inner: Arc::new(Inner {
                start,
                advanced_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// The time now, as the sandbox sees it.
    pub fn now(&self) -> DateTime<Utc> {
        let base = self.inner.start.unwrap_or_else(Utc::now);
        let advanced = self.inner.advanced_nanos.load(Ordering::Acquire);
        let advanced = TimeDelta::nanoseconds(i64::try_from(advanced).unwrap_or(i64::MAX));
        base.checked_add_signed(advanced)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves the clock (and every clone of it) forward by `by`. Time never goes back: a lifetime
    /// or a backup phase that has passed stays passed.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // `fetch_update` with a closure that always answers `Some` cannot fail.
        let _ =
            self.inner
                .advanced_nanos
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |nanos| {
                    Some(nanos.saturating_add(by))
                });
    }
}

/// `time + by`, or the end of time rather than an overflow: a configured duration may be as long
/// as [`Duration::MAX`], and the sandbox must answer rather than panic.
pub fn later(time: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|by| time.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Default for Clock {
    /// [`Clock::system`].
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let advanced = Duration::from_nanos(self.inner.advanced_nanos.load(Ordering::Acquire));
        match self.inner.start {
            None => f
                .debug_struct("Clock::System")
                .field("advanced", &advanced)
                .finish(),
            Some(_) => f
                .debug_struct("Clock::Manual")
                .field("now", &self.now())
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .expect("a date")
            .to_utc()
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = Clock::manual(start());
        let clone = clock.clone();
        assert_eq!(clock.now(), start());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), start(), "real time does not move it");

        clone.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), start() + TimeDelta::milliseconds(1500));
        assert_eq!(clone.now(), clock.now());
    }

    #[test]
    fn a_system_clock_follows_real_time_plus_what_it_was_advanced() {
        let clock = Clock::system();
        let before = Utc::now();
        let read = clock.now();
        assert!(read >= before && read <= Utc::now());

        clock.advance(Duration::from_secs(3600));
        let ahead = clock.now() - Utc::now();
        assert!(
            ahead > TimeDelta::minutes(59) && ahead <= TimeDelta::hours(1),
            "{ahead}"
        );
    }

    #[test]
    fn advancing_saturates_instead_of_wrapping() {
        let clock = Clock::manual(start());
        clock.advance(Duration::MAX);
        clock.advance(Duration::from_secs(1));
        assert!(clock.now() > start() + TimeDelta::days(365 * 290));
    }
}
