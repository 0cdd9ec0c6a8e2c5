//! Bearer tokens the sandbox issues: JWT-shaped, so clients can read their `exp` claim like they
//! do the real service's, and checked by looking them up (the sandbox is their only issuer, so a
//! signature would add nothing).
//!
//! The time is always given by the caller (from the sandbox's [`Clock`](crate::Clock)), never
//! read here: a test that advances the clock sees its tokens expire, and the claims agree.
//!
//! Issuing and checking cost the same whatever the number of tokens: a hash map finds a token,
//! and a heap ordered by expiry gives the next ones to forget, a few at each issue. The number of
//! tokens kept is bounded ([`Tokens::with_limit`]), so that a client exchanging tokens in a loop
//! cannot make the sandbox grow without end.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore as _;

/// What a token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A user token: may ask for database tokens.
    User,
    /// A database token: may call the Database API for this database.
    Database(String),
    /// An archive link: may download this backup of this database.
    Archive {
        /// The database.
        database: String,
        /// The backup.
        backup: String,
    },
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token this sandbox issued (or one it has forgotten).
    Unknown,
    /// Issued, but past its lifetime.
    Expired,
    /// Valid, but for something else.
    WrongGrant,
}

struct Issued {
    grant: Grant,
    expires_at: DateTime<Utc>,
    /// Its place in the order of issue: of tokens that expire together, the oldest is
    /// forgotten first.
    serial: u64,
}

/// A token in the order it is forgotten: soonest expiry first, then oldest first.
type Queued = Reverse<(DateTime<Utc>, u64, Arc<str>)>;

/// The tokens issued and not yet forgotten.
pub struct Tokens {
    /// Each token, by its text (shared with `by_expiry`, so each is stored once).
    issued: HashMap<Arc<str>, Issued>,
    /// The same tokens, the one that expires first (the oldest of those) on top: the order in
    /// which they are forgotten, whether they expired long ago or make room at the limit.
    /// Always holds exactly the tokens of `issued`, with their current expiry.
    by_expiry: BinaryHeap<Queued>,
    /// The serial of the next token.
    next_serial: u64,
    /// How many tokens may be kept.
    limit: usize,
    /// How many tokens were forgotten to make room while still valid, for the warnings.
    evicted: u64,
}

/// How long an expired token is still recognised (refused as expired rather than unknown).
const REMEMBERED_FOR: TimeDelta = TimeDelta::hours(1);

/// How many long-expired tokens an issue forgets at most: more than the one it adds, so that a
/// backlog (after a burst, or after the clock jumped) drains, yet a bounded amount of work under
/// the store's lock whatever the number of tokens.
const FORGOTTEN_PER_ISSUE: usize = 4;

/// How many tokens a sandbox keeps by default ([`crate::SandboxConfig::token_limit`]).
pub const DEFAULT_LIMIT: usize = 100_000;

/// A warning is logged for the first token forgotten while valid, then for every this many.
const WARN_EVERY: u64 = 10_000;

impl Default for Tokens {
    fn default() -> Self {
        Tokens::with_limit(DEFAULT_LIMIT)
    }
}

impl Tokens {
    /// No tokens yet; at most `limit` kept (at least one). At the limit, issuing a token forgets
    /// the one that expires first (a valid one if none has expired): a client still holding it
    /// is then refused as with a token the sandbox never issued, and a warning says so.
    pub fn with_limit(limit: usize) -> Self {
        Tokens {
            issued: HashMap::new(),
            by_expiry: BinaryHeap::new(),
            next_serial: 0,
            limit: limit.max(1),
            evicted: 0,
        }
    }

    /// Issues, at `now`, a token granting `grant` for `lifetime` (a lifetime past the end of
    /// time ends there).
    pub fn issue(&mut self, grant: Grant, lifetime: Duration, now: DateTime<Utc>) -> String {
        self.forget_expired(now);
        // Each issue adds one token, so one removal keeps it within the limit.
        if self.issued.len() >= self.limit {
            self.make_room(now);
        }
        let lifetime = TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::MAX);
        let expires_at = later(now, lifetime);
        let token: Arc<str> = Arc::from(jwt(&grant, now, expires_at));
        let serial = self.next_serial;
        self.next_serial += 1;
        self.by_expiry
            .push(Reverse((expires_at, serial, Arc::clone(&token))));
        self.issued.insert(
            Arc::clone(&token),
            Issued {
                grant,
                expires_at,
                serial,
            },
        );
        token.to_string()
    }

    /// Checks that `token` is current at `now` and grants exactly `wanted`.
    pub fn check(&self, token: &str, wanted: &Grant, now: DateTime<Utc>) -> Result<(), Refusal> {
        if self.grant(token, now)? != wanted {
            return Err(Refusal::WrongGrant);
        }
        Ok(())
    }

    /// What `token` grants, if it is current at `now`.
    pub fn grant(&self, token: &str, now: DateTime<Utc>) -> Result<&Grant, Refusal> {
        let issued = self.issued.get(token).ok_or(Refusal::Unknown)?;
        // Forgotten already, even if no issue has come along to remove it yet.
        if later(issued.expires_at, REMEMBERED_FOR) <= now {
            return Err(Refusal::Unknown);
        }
        if issued.expires_at <= now {
            return Err(Refusal::Expired);
        }
        Ok(&issued.grant)
    }

    /// Makes every token issued so far expire at `now`. It touches every token, but only a
    /// control route and tests ask for it.
    pub fn expire_all(&mut self, now: DateTime<Utc>) {
        for issued in self.issued.values_mut() {
            issued.expires_at = issued.expires_at.min(now);
        }
        self.by_expiry = self
            .issued
            .iter()
            .map(|(token, issued)| Reverse((issued.expires_at, issued.serial, Arc::clone(token))))
            .collect();
    }

    /// How many tokens are kept (valid, or expired and still recognised).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.issued.len()
    }

    /// Forgets up to [`FORGOTTEN_PER_ISSUE`] tokens that expired more than [`REMEMBERED_FOR`]
    /// before `now`.
    fn forget_expired(&mut self, now: DateTime<Utc>) {
        for _ in 0..FORGOTTEN_PER_ISSUE {
            match self.by_expiry.peek() {
                Some(Reverse((expires_at, _, _))) if later(*expires_at, REMEMBERED_FOR) <= now => {
                    self.forget_first();
                }
                _ => break,
            }
        }
    }

    /// Forgets the token that expires first, to stay within the limit; warns when it was valid.
    fn make_room(&mut self, now: DateTime<Utc>) {
        let Some(expires_at) = self.forget_first() else {
            return;
        };
        if expires_at > now {
            if self.evicted.is_multiple_of(WARN_EVERY) {
                tracing::warn!(
                    limit = self.limit,
                    forgotten = self.evicted + 1,
                    "sandbox token limit reached: a still valid token was forgotten to make \
                     room (the one closest to its expiry); a client holding it is refused"
                );
            }
            self.evicted += 1;
        }
    }

    /// Removes the token that expires first; answers its expiry.
    fn forget_first(&mut self) -> Option<DateTime<Utc>> {
        let Reverse((expires_at, _, token)) = self.by_expiry.pop()?;
        self.issued.remove(&token);
        Some(expires_at)
    }
}

/// `time + by`, or the end of time rather than an overflow.
fn later(time: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    time.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn jwt(grant: &Grant, issued_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> String {
    let subject = match grant {
        Grant::User => "user".to_owned(),
        Grant::Database(database) => format!("database:{database}"),
        Grant::Archive { database, backup } => format!("archive:{database}:{backup}"),
    };
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": "scalingo-db-sandbox",
        "sub": subject,
        "iat": issued_at.timestamp(),
        "exp": expires_at.timestamp(),
    });
    let mut signature = [0u8; 32];
    rand::rng().fill_bytes(&mut signature);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
    }

    #[test]
    fn a_token_grants_only_what_it_was_issued_for_until_it_expires() {
        let mut tokens = Tokens::default();
        let db = Grant::Database("ad-1".to_owned());
        let token = tokens.issue(db.clone(), Duration::from_secs(60), at(0));

        assert_eq!(tokens.check(&token, &db, at(0)), Ok(()));
        assert_eq!(
            tokens.check(&token, &Grant::Database("ad-2".to_owned()), at(0)),
            Err(Refusal::WrongGrant)
        );
        assert_eq!(tokens.check("nope", &db, at(0)), Err(Refusal::Unknown));
        assert_eq!(tokens.check(&token, &db, at(59)), Ok(()));
        assert_eq!(tokens.check(&token, &db, at(60)), Err(Refusal::Expired));

        let fresh = tokens.issue(db.clone(), Duration::from_secs(60), at(0));
        tokens.expire_all(at(1));
        assert_eq!(tokens.check(&fresh, &db, at(1)), Err(Refusal::Expired));
    }

    #[test]
    fn expired_tokens_are_forgotten_an_hour_later() {
        let mut tokens = Tokens::default();
        let token = tokens.issue(Grant::User, Duration::from_secs(60), at(0));
        tokens.issue(Grant::User, Duration::from_secs(60), at(3600 + 59));
        assert_eq!(
            tokens.check(&token, &Grant::User, at(3600 + 59)),
            Err(Refusal::Expired)
        );
        tokens.issue(Grant::User, Duration::from_secs(60), at(3600 + 60));
        assert_eq!(
            tokens.check(&token, &Grant::User, at(3600 + 60)),
            Err(Refusal::Unknown)
        );
    }

    #[test]
    fn at_the_limit_the_token_closest_to_its_expiry_is_forgotten() {
        let mut tokens = Tokens::with_limit(10);
        let soon = tokens.issue(Grant::User, Duration::from_secs(60), at(0));
        let late: Vec<String> = (0..9)
            .map(|_| tokens.issue(Grant::User, Duration::from_secs(3600), at(0)))
            .collect();
        assert_eq!(tokens.len(), 10);

        let newest = tokens.issue(Grant::User, Duration::from_secs(3600), at(1));
        assert_eq!(tokens.len(), 10, "the limit holds");
        assert_eq!(
            tokens.check(&soon, &Grant::User, at(1)),
            Err(Refusal::Unknown),
            "the one closest to its expiry made room"
        );
        for token in late.iter().chain([&newest]) {
            assert_eq!(tokens.check(token, &Grant::User, at(1)), Ok(()));
        }

        // However many are issued, no more are kept.
        for second in 2..1_000 {
            tokens.issue(Grant::User, Duration::from_secs(3600), at(second));
        }
        assert_eq!(tokens.len(), 10);
    }

    #[test]
    fn an_issue_forgets_a_few_long_expired_tokens_and_a_backlog_drains() {
        let mut tokens = Tokens::with_limit(1_000);
        let old: Vec<String> = (0..100)
            .map(|_| tokens.issue(Grant::User, Duration::from_secs(60), at(0)))
            .collect();
        let forgotten_at = at(60 + 3600);

        // Forgotten as soon as their hour is over, whether removed yet or not...
        assert_eq!(
            tokens.check(&old[0], &Grant::User, forgotten_at),
            Err(Refusal::Unknown)
        );
        // ...and removed a few at each issue: a bounded amount of work under the lock.
        tokens.issue(Grant::User, Duration::from_secs(60), forgotten_at);
        assert_eq!(tokens.len(), 100 - FORGOTTEN_PER_ISSUE + 1);

        // Each issue adds one and removes up to four, so the backlog is gone after 34 more.
        for _ in 0..34 {
            tokens.issue(Grant::User, Duration::from_secs(60), forgotten_at);
        }
        assert_eq!(tokens.len(), 35, "only the new tokens are left");
    }

    #[test]
    fn expiring_every_token_keeps_them_in_expiry_order() {
        let mut tokens = Tokens::with_limit(3);
        let first = tokens.issue(Grant::User, Duration::from_secs(7200), at(0));
        let second = tokens.issue(Grant::User, Duration::from_secs(60), at(0));
        tokens.expire_all(at(10));
        let third = tokens.issue(Grant::User, Duration::from_secs(60), at(10));
        assert_eq!(
            tokens.check(&first, &Grant::User, at(10)),
            Err(Refusal::Expired)
        );
        // Both expired at 10 s; their hour ends at 3610 s, before the third one's.
        tokens.issue(Grant::User, Duration::from_secs(60), at(3610));
        assert_eq!(tokens.len(), 2);
        for token in [&first, &second] {
            assert_eq!(
                tokens.check(token, &Grant::User, at(3610)),
                Err(Refusal::Unknown)
            );
        }
        assert_eq!(
            tokens.check(&third, &Grant::User, at(3610)),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn tokens_are_jwts_whose_claims_are_the_given_times() {
        let mut tokens = Tokens::default();
        let token = tokens.issue(Grant::User, Duration::from_secs(3600), at(0));
        let claims = token.split('.').nth(1).expect("three parts");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).expect("base64url"))
                .expect("JSON claims");
        assert_eq!(claims["iat"], at(0).timestamp());
        assert_eq!(claims["exp"], at(3600).timestamp());
        assert_eq!(claims["sub"], "user");
    }
}
