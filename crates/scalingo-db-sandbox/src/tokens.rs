//! Bearer tokens the sandbox issues: JWT-shaped, so clients can read their `exp` claim like they
//! do the real service's, and checked by looking them up (the sandbox is their only issuer, so a
//! signature would add nothing).
//!
//! The time is always given by the caller (from the sandbox's [`Clock`](crate::Clock)), never
//! read here: a test that advances the clock sees its tokens expire, and the claims agree.

use std::collections::HashMap;
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
    /// Not a token this sandbox issued.
    Unknown,
    /// Issued, but past its lifetime.
    Expired,
    /// Valid, but for something else.
    WrongGrant,
}

struct Issued {
    grant: Grant,
    expires_at: DateTime<Utc>,
}

/// The tokens issued so far.
#[derive(Default)]
pub struct Tokens {
    issued: HashMap<String, Issued>,
}

/// How long an expired token is still recognised (refused as expired rather than unknown).
const REMEMBERED_FOR: TimeDelta = TimeDelta::hours(1);

impl Tokens {
    /// Issues, at `now`, a token granting `grant` for `lifetime`.
    pub fn issue(&mut self, grant: Grant, lifetime: Duration, now: DateTime<Utc>) -> String {
        // Forget long-expired tokens so a long-running sandbox does not grow without bound;
        // recently expired ones stay so they are refused as expired rather than unknown.
        self.issued
            .retain(|_, issued| later(issued.expires_at, REMEMBERED_FOR) > now);
        let lifetime = TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::MAX);
        let expires_at = later(now, lifetime);
        let token = jwt(&grant, now, expires_at);
        self.issued
            .insert(token.clone(), Issued { grant, expires_at });
        token
    }

    /// Checks that `token` is current at `now` and grants exactly `wanted`.
    pub fn check(&self, token: &str, wanted: &Grant, now: DateTime<Utc>) -> Result<(), Refusal> {
        let issued = self.issued.get(token).ok_or(Refusal::Unknown)?;
        if issued.expires_at <= now {
            return Err(Refusal::Expired);
        }
        if &issued.grant != wanted {
            return Err(Refusal::WrongGrant);
        }
        Ok(())
    }

    /// Makes every token issued so far expire at `now`.
    pub fn expire_all(&mut self, now: DateTime<Utc>) {
        for issued in self.issued.values_mut() {
            issued.expires_at = issued.expires_at.min(now);
        }
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
