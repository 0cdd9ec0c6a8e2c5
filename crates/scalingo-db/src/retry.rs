//! When a failed call is tried again, and how long to wait first.
//!
//! See [`RetryPolicy`] for the policy itself. Which operations are safe to repeat is the
//! contract's to say (`x-idempotent`), read from the generated operation table.

use std::time::Duration;

use rand::Rng as _;
use scalingo_db_generated::OperationId;

use crate::error::Error;

/// How failed calls are retried.
///
/// **What is retried.** A connection that could not be made (the request never left this
/// machine), `429 Too Many Requests`, `502`, `503` and `504`, a time-out and a connection that
/// failed mid-way. Each retry waits an exponentially growing delay with full jitter (a random
/// delay between zero and `initial_backoff × 2^(retry − 1)`, capped at `max_backoff`), or exactly
/// what `Retry-After` asks on a 429. Retrying stops after `max_attempts` attempts in all, or when
/// the next wait would end at or after `max_elapsed` from the start of the first attempt; the
/// last error is then returned.
///
/// **Time limits.** Each attempt has the client's request time limit
/// ([`ClientBuilder::request_timeout`](crate::ClientBuilder::request_timeout), 10 s by default,
/// or the call's own, [`Call::timeout`](crate::Call::timeout)), and a retry has at most what is
/// left of `max_elapsed` when it starts. So, with the defaults, a call's requests end within
/// 30 s (the token requests of an API-token client aside: they have their own budget), and a
/// request that timed out after 10 s is tried again (up to three attempts fit), where a time
/// limit as long as the budget would leave no time to retry it. The first attempt always has its
/// whole limit: a limit longer than `max_elapsed` (or [`RetryPolicy::none`] with a long limit)
/// is honoured for it, and then leaves no room for retries. A retry is started only while some of
/// the budget is left after its wait.
///
/// **Which operations.** Reads (`GET`) are retried on all of the above. So are the two writes
/// whose repetition cannot do harm:
///
/// - *updating a password* (`PATCH`) sets the same password again: the user ends in the same
///   state however many times it is applied;
/// - *deleting a user* (`DELETE`) deletes nothing more the second time. If the first attempt's
///   answer was lost and a retry then gets `404`, the user is gone as asked, and the call
///   succeeds.
///
/// The `POST`s that create something (a user, a backup, a new generated password) are retried
/// **only** when the request provably was not processed: the connection could not be made, or
/// the service answered `429`, which refuses a request before handling it (they are then sent
/// again after `Retry-After`, within `max_elapsed`, like any call). After a time-out, a lost
/// answer or a `5xx` the first attempt may have worked, and a second one would create a second
/// backup, or replace the password the caller never saw. Getting tokens is a `POST` too, but
/// creates nothing the caller keeps, so it is retried like a read. The contract marks each
/// operation that is not a read with `x-idempotent: true` or `false`; this policy follows that
/// mark, never the method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 turns retries off).
    pub max_attempts: u32,
    /// The cap of the first retry's random delay.
    pub initial_backoff: Duration,
    /// The largest cap of a retry's random delay.
    pub max_backoff: Duration,
    /// The time budget of a call, from the start of its first attempt: no retry starts unless
    /// its wait ends before it, and a retry's time limit is cut to what is left of it.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is tried once.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait before attempt `attempt + 1`, or `None` to give up, after `error` on an
    /// operation of class `class`, `elapsed` after the first attempt started.
    pub(crate) fn next_delay(
        &self,
        attempt: u32,
        error: &Error,
        class: Repeatable,
        elapsed: Duration,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !retryable(error, class) {
            return None;
        }
        let delay = match error {
            Error::RateLimited {
                retry_after: Some(wait),
                ..
            } => *wait,
            _ => self.backoff(attempt),
        };
        // Strictly: a retry whose wait ends with the budget would have no time to run.
        (elapsed + delay < self.max_elapsed).then_some(delay)
    }

    /// The time limit of attempt `attempt` (from 1) of a call whose requests are each limited to
    /// `limit`, starting `elapsed` after its first attempt did: the whole limit for the first
    /// attempt; for a retry, no more than what is left of `max_elapsed`.
    pub(crate) fn attempt_limit(
        &self,
        limit: Duration,
        attempt: u32,
        elapsed: Duration,
    ) -> Duration {
        if attempt <= 1 {
            limit
        } else {
            limit.min(self.max_elapsed.saturating_sub(elapsed))
        }
    }

    /// The random delay before retry number `retry` (from 1): full jitter under an exponentially
    /// growing cap.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let cap = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        rand::rng().random_range(Duration::ZERO..=cap)
    }
}

/// Whether an operation may be sent again after a failure whose outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repeatable {
    /// Repeating it cannot do harm (reads, password updates, deletes, token requests).
    Always,
    /// It creates something: only repeat it when the request was provably not processed (it
    /// never reached the server, or was refused with a 429).
    OnlyIfNotProcessed,
}

impl Repeatable {
    /// The class of a contract operation, as the contract declares it.
    pub(crate) fn of(operation: OperationId) -> Self {
        if operation.is_idempotent() {
            Repeatable::Always
        } else {
            Repeatable::OnlyIfNotProcessed
        }
    }
}

/// Whether `error` is worth another attempt for an operation of class `class`.
pub(crate) fn retryable(error: &Error, class: Repeatable) -> bool {
    match error {
        // Never sent, or refused before it was handled: any operation may be sent again.
        Error::Connect { .. } | Error::RateLimited { .. } => true,
        Error::Timeout { .. } | Error::Transport { .. } | Error::Stalled { .. } => {
            class == Repeatable::Always
        }
        Error::Server { status, .. } => class == Repeatable::Always && matches!(status, 502..=504),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16) -> Error {
        Error::Server {
            status,
            message: None,
            request_id: None,
        }
    }

    /// What `x-idempotent` says, not the method: token requests are POSTs that may be repeated,
    /// a password reset is one that may not.
    #[test]
    fn the_contract_decides_which_operations_are_repeated() {
        let classes: Vec<(OperationId, Repeatable)> = [
            OperationId::ExchangeApiToken,
            OperationId::CreateBackup,
            OperationId::ResetUserPassword,
            OperationId::DeleteUser,
            OperationId::ListUsers,
        ]
        .into_iter()
        .map(|operation| (operation, Repeatable::of(operation)))
        .collect();
        assert_eq!(
            classes,
            [
                (OperationId::ExchangeApiToken, Repeatable::Always),
                (OperationId::CreateBackup, Repeatable::OnlyIfNotProcessed),
                (
                    OperationId::ResetUserPassword,
                    Repeatable::OnlyIfNotProcessed
                ),
                (OperationId::DeleteUser, Repeatable::Always),
                (OperationId::ListUsers, Repeatable::Always),
            ]
        );
    }

    #[test]
    fn creating_posts_are_not_retried_when_the_outcome_is_unknown() {
        let policy = RetryPolicy::default();
        for error in [server(502), server(503), server(504)] {
            assert!(
                policy
                    .next_delay(1, &error, Repeatable::Always, Duration::ZERO)
                    .is_some()
            );
            assert_eq!(
                policy.next_delay(1, &error, Repeatable::OnlyIfNotProcessed, Duration::ZERO),
                None
            );
        }
        assert_eq!(
            policy.next_delay(1, &server(500), Repeatable::Always, Duration::ZERO),
            None
        );
    }

    /// A 429 refuses a request before handling it: nothing was created, so a creating POST is
    /// sent again after `Retry-After`, within the budget, like any call.
    #[test]
    fn a_429_is_retried_for_creating_posts_too() {
        let policy = RetryPolicy::default();
        let limited = Error::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
            request_id: None,
        };
        for class in [Repeatable::Always, Repeatable::OnlyIfNotProcessed] {
            assert_eq!(
                policy.next_delay(1, &limited, class, Duration::ZERO),
                Some(Duration::from_secs(1)),
                "{class:?}"
            );
            assert_eq!(
                policy.next_delay(1, &limited, class, policy.max_elapsed),
                None,
                "{class:?}: past the budget"
            );
        }
    }

    /// The defaults leave room for retries after a time-out: a request limit as long as the
    /// budget would use it all up.
    #[test]
    fn a_timed_out_attempt_leaves_time_for_retries_by_default() {
        let policy = RetryPolicy::default();
        let limit = crate::DEFAULT_REQUEST_TIMEOUT;
        assert!(
            limit * 3 <= policy.max_elapsed,
            "{limit:?} per attempt in {:?}",
            policy.max_elapsed
        );
        // Attempts that each time out: the retries start within the budget, the last one is cut
        // to what is left of it, and nothing runs past it.
        let mut elapsed = Duration::ZERO;
        let mut attempts = 0;
        for attempt in 1..=policy.max_attempts {
            let this = policy.attempt_limit(limit, attempt, elapsed);
            attempts += 1;
            elapsed += this;
            assert!(
                elapsed <= policy.max_elapsed,
                "attempt {attempt} ends at {elapsed:?}"
            );
            let delay = policy.initial_backoff;
            if attempt == policy.max_attempts || elapsed + delay >= policy.max_elapsed {
                break;
            }
            elapsed += delay;
        }
        assert_eq!(
            attempts, 3,
            "three attempts of a time-out fit in the budget"
        );
    }

    #[test]
    fn a_retry_gets_at_most_what_is_left_of_the_budget() {
        let policy = RetryPolicy {
            max_elapsed: Duration::from_secs(30),
            ..RetryPolicy::default()
        };
        let limit = Duration::from_secs(10);
        let at = Duration::from_secs;
        assert_eq!(policy.attempt_limit(limit, 1, at(0)), limit);
        assert_eq!(policy.attempt_limit(limit, 2, at(12)), limit);
        assert_eq!(policy.attempt_limit(limit, 3, at(25)), at(5));
        assert_eq!(policy.attempt_limit(limit, 3, at(31)), Duration::ZERO);
        // The first attempt keeps a limit longer than the budget: the caller asked for it.
        assert_eq!(policy.attempt_limit(at(60), 1, at(0)), at(60));
    }

    #[test]
    fn delays_grow_with_full_jitter_and_stop_at_the_limits() {
        let policy = RetryPolicy::default();
        for attempt in 1..policy.max_attempts {
            let cap = (policy.initial_backoff * (1 << (attempt - 1))).min(policy.max_backoff);
            for _ in 0..50 {
                let delay = policy
                    .next_delay(attempt, &server(503), Repeatable::Always, Duration::ZERO)
                    .expect("retried");
                assert!(delay <= cap, "{delay:?} > {cap:?}");
            }
        }
        assert_eq!(
            policy.next_delay(
                policy.max_attempts,
                &server(503),
                Repeatable::Always,
                Duration::ZERO
            ),
            None
        );
        let past_budget = policy.max_elapsed + Duration::from_millis(1);
        assert_eq!(
            policy.next_delay(1, &server(503), Repeatable::Always, past_budget),
            None
        );
    }

    #[test]
    fn retry_after_is_honoured_within_the_time_budget() {
        let policy = RetryPolicy::default();
        let limited = |seconds| Error::RateLimited {
            retry_after: Some(Duration::from_secs(seconds)),
            request_id: None,
        };
        assert_eq!(
            policy.next_delay(1, &limited(3), Repeatable::Always, Duration::ZERO),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            policy.next_delay(1, &limited(3), Repeatable::Always, Duration::from_secs(28)),
            None,
            "waiting would end past max_elapsed"
        );
        assert_eq!(
            policy.next_delay(1, &limited(3), Repeatable::Always, Duration::from_secs(27)),
            None,
            "waiting would end with max_elapsed, leaving the retry no time"
        );
        assert_eq!(
            policy.next_delay(1, &limited(3), Repeatable::Always, Duration::from_secs(26)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            RetryPolicy::none().next_delay(1, &limited(0), Repeatable::Always, Duration::ZERO),
            None
        );
    }
}
