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

    /// Checks that `token` is current and grants exactly `grant`.
    pub fn check_token(&self, token: Option<&str>, grant: &Grant) -> Result<(), ApiError> {
        let token =
            token.ok_or_else(|| ApiError::Unauthorized("a bearer token is required".to_owned()))?;
        self.tokens
            .check(token, grant, self.now())
            .map_err(|refusal| {
                ApiError::Unauthorized(
                    match refusal {
                        Refusal::Unknown => "invalid token",
                        Refusal::Expired => "token expired",
                        Refusal::WrongGrant => "this token is not valid for this resource",
                    }
                    .to_owned(),
                )
            })
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
        assert_eq!(store.check_token(Some(&token), &grant), Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            store.check_token(Some(&token), &grant),
            Err(ApiError::Unauthorized("token expired".to_owned()))
        );
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
