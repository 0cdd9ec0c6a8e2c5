//! The token bucket that caps one emulated connection's throughput: it says when the next bytes
//! may leave, from the time that really passed, so that late timer wake-ups are made up for
//! instead of adding up (sleeping a fixed time per chunk drifts below the rate, and more so on a
//! loaded machine).
//!
//! Tokens are bytes. They accrue at the rate, up to a capacity (the largest burst, so that a
//! client that stopped reading for a while does not then get the archive at loopback speed).
//! Taking more than the bucket holds leaves it in debt, and the caller waits until the debt is
//! paid: a piece larger than the capacity is sent whole, just later.

use std::num::NonZeroU64;
use std::time::Duration;

use tokio::time::Instant;

/// The largest burst, as time at the rate: long enough to absorb the timer's granularity (a
/// millisecond) and a scheduler's delay on a loaded machine, short enough that the flow stays
/// even at the scale anyone measures it.
pub const BURST: Duration = Duration::from_millis(20);

/// One connection's allowance of bytes.
#[derive(Debug)]
pub struct TokenBucket {
    /// Bytes per second.
    rate: f64,
    /// The most tokens the bucket holds.
    capacity: f64,
    /// Tokens held at `at`; negative when in debt.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate` bytes per second, from `now`: the first [`BURST`] of bytes may
    /// leave at once.
    pub fn new(rate: NonZeroU64, now: Instant) -> Self {
        let rate = rate.get() as f64;
        // At least a byte, for the slowest rates, so that a piece can ever be taken at once.
        let capacity = (rate * BURST.as_secs_f64()).max(1.0);
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            at: now,
        }
    }

    /// Takes `bytes` tokens at `now`; answers when those bytes may leave: `now` if the bucket
    /// held them, else when the debt they leave is paid.
    pub fn take(&mut self, bytes: usize, now: Instant) -> Instant {
        let now = now.max(self.at);
        let earned = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.at = now;
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 {
            now
        } else {
            // At most a piece's worth of debt at one byte per second: hours, never an overflow.
            now + Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u64 = 1_000_000;

    fn rate() -> NonZeroU64 {
        NonZeroU64::new(RATE).expect("not zero")
    }

    #[test]
    fn a_full_bucket_sends_a_burst_at_once_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(rate(), start);
        // 20 ms at 1 MB/s: 20,000 bytes at once.
        assert_eq!(bucket.take(20_000, start), start);
        // The next 10,000 bytes are 10 ms of debt.
        assert_eq!(
            bucket.take(10_000, start),
            start + Duration::from_millis(10)
        );
        // Taken when they may leave, the next 10,000 wait 10 ms more.
        let at = start + Duration::from_millis(10);
        assert_eq!(bucket.take(10_000, at), at + Duration::from_millis(10));
    }

    #[test]
    fn late_wake_ups_are_made_up_for_so_the_average_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(rate(), start);
        bucket.take(20_000, start);
        // 1,000 pieces of 1,000 bytes (1 s at the rate), each taken 0.3 ms after it was allowed:
        // a timer that always wakes late.
        let mut now = start;
        for _ in 0..1_000 {
            let allowed = bucket.take(1_000, now);
            now = allowed.max(now) + Duration::from_micros(300);
        }
        let elapsed = now.duration_since(start).as_secs_f64();
        // Sleeping 1 ms (the piece's time) plus the 0.3 ms lateness each time would take 1.3 s.
        assert!((0.98..1.01).contains(&elapsed), "{elapsed} s");
    }

    #[test]
    fn an_idle_spell_earns_no_more_than_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(rate(), start);
        bucket.take(20_000, start);
        let later = start + Duration::from_secs(10);
        // Ten seconds without reading: 20,000 bytes may go at once, not 10 MB.
        assert_eq!(bucket.take(20_000, later), later);
        assert_eq!(bucket.take(1_000, later), later + Duration::from_millis(1));
    }

    #[test]
    fn the_slowest_rate_still_sends_one_byte_at_a_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(NonZeroU64::MIN, start);
        assert_eq!(bucket.take(1, start), start);
        assert_eq!(bucket.take(1, start), start + Duration::from_secs(1));
        // A piece far over the capacity is sent once its debt is paid.
        let at = start + Duration::from_secs(1);
        assert_eq!(
            bucket.take(65_536, at),
            at + Duration::from_secs(65_536),
            "no overflow"
        );
    }
}
