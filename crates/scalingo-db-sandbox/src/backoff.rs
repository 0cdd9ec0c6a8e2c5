//! [`Backoff`]: how long the accept loop waits after failing to accept a connection. Out of file
//! descriptors (`EMFILE`), `accept` fails at once every time it is called; retrying at once would
//! spin a core at 100% and starve the connections being served, whose ends would free
//! descriptors.

use std::time::Duration;

/// The first wait.
const FIRST: Duration = Duration::from_millis(10);
/// The longest wait: a second, so that the sandbox accepts again soon after descriptors free up.
const LONGEST: Duration = Duration::from_secs(1);

/// Waits that double from 10 ms up to 1 s while failures go on, and start over after a success.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Notes a failure; answers how long to wait before trying again.
    pub fn failed(&mut self) -> Duration {
        let wait = FIRST
            .checked_mul(1 << self.failures.min(16))
            .map_or(LONGEST, |wait| wait.min(LONGEST));
        self.failures = self.failures.saturating_add(1);
        wait
    }

    /// Whether the last failure was the first of a run (worth a log line; the others are not).
    pub fn first_failure(&self) -> bool {
        self.failures == 1
    }

    /// Notes a success: the next failure waits the shortest time again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_second_and_start_over_after_a_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..10).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        for _ in 0..100 {
            assert_eq!(backoff.failed(), LONGEST, "no overflow, however many");
        }
        backoff.succeeded();
        assert_eq!(backoff.failed(), FIRST);
        assert!(backoff.first_failure());
        backoff.failed();
        assert!(!backoff.first_failure());
    }
}
