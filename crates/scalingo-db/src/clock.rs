//! [`Clock`]: where the client reads the time and how it waits, so that tests (and simulations)
//! can move time instead of sleeping.
//!
//! The client reads the clock to decide whether a cached token is still fresh, to date a
//! `Retry-After` given as a date, and to bound retries and waits; it sleeps on it between retries,
//! between the polls of a wait and before resuming a download. Network time limits (connect,
//! request, a stalled download) stay on the real clock: they measure a real connection.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// A source of time for the client. [`SystemClock`] is the default.
///
/// A test clock typically returns a time it controls from [`Clock::now`] and, from
/// [`Clock::sleep`], moves that time forward and returns at once: a wait of two hours then takes
/// no time, and every poll still sees the time it expects.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// A future that ends once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// The system's clock, and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The time from `start` to `now`, zero if the clock went back.
pub(crate) fn since(start: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(start).unwrap_or(Duration::ZERO)
}
