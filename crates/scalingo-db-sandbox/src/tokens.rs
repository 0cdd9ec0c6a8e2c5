//! Bearer tokens the sandbox issues: JWT-shaped, so clients can read their `exp` claim like they
//! do the real service's, and checked by looking them up (the sandbox is their only issuer, so a
//! signature would add nothing).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    expires_at: SystemTime,
}

/// The tokens issued so far.
#[derive(Default)]
pub struct Tokens {
    issued: HashMap<String, Issued>,
}

impl Tokens {
    /// Issues a token granting `grant` for `lifetime`.
    pub fn issue(&mut self, grant: Grant, lifetime: Duration) -> String {
        let now = SystemTime::now();
        // Forget long-expired tokens so a long-running sandbox does not grow without bound;
        // recently expired ones stay so they are refused as expired rather than unknown.
        self.issued
            .retain(|_, issued| issued.expires_at + Duration::from_secs(3600) > now);
        let expires_at = now + lifetime;
        let token = jwt(&grant, now, expires_at);
        self.issued
            .insert(token.clone(), Issued { grant, expires_at });
        token
    }

    /// Checks that `token` is current and grants exactly `wanted`.
    pub fn check(&self, token: &str, wanted: &Grant) -> Result<(), Refusal> {
        let issued = self.issued.get(token).ok_or(Refusal::Unknown)?;
        if issued.expires_at <= SystemTime::now() {
            return Err(Refusal::Expired);
        }
        if &issued.grant != wanted {
            return Err(Refusal::WrongGrant);
        }
        Ok(())
    }

    /// Makes every token issued so far expire now.
    pub fn expire_all(&mut self) {
        let now = SystemTime::now();
        for issued in self.issued.values_mut() {
            issued.expires_at = issued.expires_at.min(now);
        }
    }
}

fn jwt(grant: &Grant, issued_at: SystemTime, expires_at: SystemTime) -> String {
    let seconds = |time: SystemTime| {
        time.duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default()
    };
    let subject = match grant {
        Grant::User => "user".to_owned(),
        Grant::Database(database) => format!("database:{database}"),
        Grant::Archive { database, backup } => format!("archive:{database}:{backup}"),
    };
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": "scalingo-db-sandbox",
        "sub": subject,
        "iat": seconds(issued_at),
        "exp": seconds(expires_at),
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

    #[test]
    fn a_token_grants_only_what_it_was_issued_for_until_it_expires() {
        let mut tokens = Tokens::default();
        let db = Grant::Database("ad-1".to_owned());
        let token = tokens.issue(db.clone(), Duration::from_secs(60));

        assert_eq!(tokens.check(&token, &db), Ok(()));
        assert_eq!(
            tokens.check(&token, &Grant::Database("ad-2".to_owned())),
            Err(Refusal::WrongGrant)
        );
        assert_eq!(tokens.check("nope", &db), Err(Refusal::Unknown));
        tokens.expire_all();
        assert_eq!(tokens.check(&token, &db), Err(Refusal::Expired));
    }

    #[test]
    fn tokens_are_jwts_whose_exp_claim_is_the_expiry() {
        let mut tokens = Tokens::default();
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let token = tokens.issue(Grant::User, Duration::from_secs(3600));
        let claims = token.split('.').nth(1).expect("three parts");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        let exp = claims["exp"].as_u64().expect("exp");
        assert!(
            (before + 3600..=before + 3601).contains(&exp),
            "{exp} vs {before}"
        );
    }
}
