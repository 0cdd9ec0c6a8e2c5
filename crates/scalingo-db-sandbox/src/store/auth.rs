//! The store's side of authentication: the API tokens it accepts, and the tokens it issues and
//! checks, each on the sandbox's clock with the lifetime the configuration gives its kind.

use crate::error::ApiError;
use crate::store::Store;
use crate::tokens::{Grant, Refusal};

impl Store {
    /// Checks an API token (the HTTP Basic password of the token exchange).
    pub fn check_api_token(&self, api_token: Option<&str>) -> Result<(), ApiError> {
        match api_token {
            Some(token) if self.config.api_tokens.iter().any(|known| known == token) => Ok(()),
            Some(_) => Err(ApiError::Unauthorized("invalid API token".to_owned())),
            None => Err(ApiError::Unauthorized(
                "an API token is required as the HTTP Basic password".to_owned(),
            )),
        }
    }

    /// Checks that `token` is current and grants exactly `grant` (a missing one is refused by
    /// the security scheme that wanted it, `api/security.rs`, in its own words).
    pub fn check_token(&self, token: &str, grant: &Grant) -> Result<(), ApiError> {
        self.tokens
            .check(token, grant, self.now())
            .map_err(unauthorized)
    }

    /// The database a current database token was issued for: the scope of the calls whose path
    /// names no database (`get_backup_by_id`).
    pub fn token_database(&self, token: Option<&str>) -> Result<String, ApiError> {
        let token =
            token.ok_or_else(|| ApiError::Unauthorized("a bearer token is required".to_owned()))?;
        match self.tokens.grant(token, self.now()).map_err(unauthorized)? {
            Grant::Database(database) => Ok(database.clone()),
            _ => Err(unauthorized(Refusal::WrongGrant)),
        }
    }

    /// A token granting `grant`, for the lifetime the configuration gives its kind.
    pub fn issue(&mut self, grant: Grant) -> String {
        let lifetime = match grant {
            Grant::User => self.config.user_token_lifetime,
            Grant::Database(_) => self.config.database_token_lifetime,
            Grant::Archive { .. } => self.config.archive_link_lifetime,
        };
        let now = self.now();
        self.tokens.issue(grant, lifetime, now)
    }

    /// A database token for `database`, as the addon token endpoint issues it.
    pub fn issue_database_token(&mut self, database: &str) -> String {
        self.issue(Grant::Database(database.to_owned()))
    }

    /// Makes every token issued so far expire now.
    pub fn expire_tokens(&mut self) {
        let now = self.now();
        self.tokens.expire_all(now);
    }
}

/// The 401 of a refused token, saying why.
fn unauthorized(refusal: Refusal) -> ApiError {
    ApiError::Unauthorized(
        match refusal {
            Refusal::Unknown => "invalid token",
            Refusal::Expired => "token expired",
            Refusal::WrongGrant => "this token is not valid for this resource",
        }
        .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::Clock;
    use crate::config::{DEFAULT_API_TOKEN, DEFAULT_DATABASE, SandboxConfig};

    #[test]
    fn a_token_expires_when_the_clock_passes_its_lifetime() {
        let clock = Clock::manual(chrono::Utc::now());
        let mut store = Store::new(SandboxConfig {
            clock: clock.clone(),
            database_token_lifetime: Duration::from_secs(3600),
            ..SandboxConfig::default()
        });
        let token = store.issue_database_token(DEFAULT_DATABASE);
        let grant = Grant::Database(DEFAULT_DATABASE.to_owned());

        clock.advance(Duration::from_secs(3599));
        assert_eq!(store.check_token(&token, &grant), Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            store.check_token(&token, &grant),
            Err(ApiError::Unauthorized("token expired".to_owned()))
        );
    }

    #[test]
    fn issuing_many_tokens_keeps_the_kept_set_bounded_and_forgets_expired_ones() {
        let clock = Clock::manual(chrono::Utc::now());
        let mut store = Store::new(SandboxConfig {
            clock: clock.clone(),
            user_token_lifetime: Duration::from_secs(60),
            token_limit: 500,
            ..SandboxConfig::default()
        });
        let first = store.issue(Grant::User);
        for _ in 0..2_000 {
            store.issue(Grant::User);
        }
        assert_eq!(store.tokens.len(), 500, "bounded by the configured limit");
        assert_eq!(
            store.check_token(&first, &Grant::User),
            Err(ApiError::Unauthorized("invalid token".to_owned())),
            "the oldest made room"
        );

        // An hour after they expired, the old tokens go, a few at each issue (four: more than
        // the one it adds, so that the backlog drains).
        clock.advance(Duration::from_secs(60 + 3600));
        let fresh: Vec<String> = (0..150).map(|_| store.issue(Grant::User)).collect();
        assert_eq!(store.tokens.len(), 150, "only the new tokens are left");
        for token in &fresh {
            assert_eq!(store.check_token(token, &Grant::User), Ok(()));
        }
    }

    #[test]
    fn api_tokens_are_checked_against_the_configuration() {
        let store = Store::new(SandboxConfig::default());
        assert_eq!(store.check_api_token(Some(DEFAULT_API_TOKEN)), Ok(()));
        assert_eq!(
            store.check_api_token(Some("tk-us-other")),
            Err(ApiError::Unauthorized("invalid API token".to_owned()))
        );
        assert!(store.check_api_token(None).is_err());
    }
}
