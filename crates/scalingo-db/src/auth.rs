//! Credentials: database tokens used as they are, or an API token exchanged for a user token and
//! then for each database's token, all kept until shortly before they expire.
//!
//! The official Go client asks for a new database token before every call, so each call costs
//! two requests. Here a token is asked for once per database and reused until its JWT `exp`
//! claim is near; callers that need a database's token while it is being fetched wait for that
//! one instead of fetching their own (its slot's async mutex is held across the fetch). One user
//! token serves every database of the client, so a client of 200 databases makes one exchange.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::Mutex;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::{Client, Token};

/// How a client authenticates its Database API calls.
pub(crate) enum Credentials {
    /// Database tokens given by the caller, by addon id, used as they are.
    DatabaseTokens(HashMap<String, Arc<Token>>),
    /// An API token, exchanged as needed.
    ApiToken(TokenSource),
}

/// An API token, and the tokens obtained with it so far.
pub(crate) struct TokenSource {
    api_token: Token,
    user: Mutex<Option<Cached>>,
    /// One slot per database, by (app, addon id).
    databases: std::sync::Mutex<HashMap<(String, String), Arc<Slot>>>,
}

/// Where a token is kept; locked while it is fetched, so that callers share one fetch.
type Slot = Mutex<Option<Cached>>;

/// A token and when to ask for a new one. Tokens are shared (`Arc`): every call holds the one
/// it sends, and copying the secret for each would cost a call an allocation.
#[derive(Clone)]
struct Cached {
    token: Arc<Token>,
    refresh_at: SystemTime,
}

/// A token whose `exp` cannot be read is assumed to last the documented hour.
const DOCUMENTED_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh this long before `exp` at most (what the Go client does for user tokens)...
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// ...and at least this part of the remaining lifetime before, for short-lived tokens.
const REFRESH_FRACTION: u32 = 5;

impl Credentials {
    /// The token of `database`: the caller's, or the token flow's (cached while it is fresh).
    pub(crate) async fn database_token(&self, database: &Database) -> Result<Arc<Token>> {
        match self {
            Credentials::DatabaseTokens(tokens) => {
                tokens.get(database.addon_id()).cloned().ok_or_else(|| {
                    Error::invalid_input(format!(
                        "no token for database {}: give one with `database_token(..)`, or use an \
                         API token",
                        database.addon_id()
                    ))
                })
            }
            Credentials::ApiToken(source) => {
                let app = database.app().ok_or_else(|| {
                    Error::invalid_input(format!(
                        "an API token needs the app of database {}: use \
                         `client.database_of(app, id)` or the builder's `app(..)`",
                        database.addon_id()
                    ))
                })?;
                // Boxed: the token flow's future is large and rarely needed; inline, every call's
                // future would carry it.
                Box::pin(source.database_token(database.client(), app, database.addon_id())).await
            }
        }
    }

    /// Forgets `used`, the token of `database` that a 401 showed is no longer valid, when it came
    /// from the token flow; answers whether a new one can be fetched.
    pub(crate) async fn forget(&self, database: &Database, used: &Token) -> bool {
        match (self, database.app()) {
            (Credentials::ApiToken(source), Some(app)) => {
                forget(&source.slot(app, database.addon_id()), used).await;
                true
            }
            _ => false,
        }
    }
}

impl TokenSource {
    pub(crate) fn new(api_token: Token) -> Self {
        TokenSource {
            api_token,
            user: Mutex::new(None),
            databases: std::sync::Mutex::default(),
        }
    }

    fn slot(&self, app: &str, addon_id: &str) -> Arc<Slot> {
        // The map holds no invariant a panic could break: take it even if poisoned.
        let mut slots = self
            .databases
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            slots
                .entry((app.to_owned(), addon_id.to_owned()))
                .or_default(),
        )
    }

    /// The database token: the cached one while it is fresh, a new one otherwise.
    async fn database_token(
        &self,
        client: &Client,
        app: &str,
        addon_id: &str,
    ) -> Result<Arc<Token>> {
        let slot = self.slot(app, addon_id);
        let mut slot = slot.lock().await;
        let now = client.clock().now();
        if let Some(token) = fresh(slot.as_ref(), now) {
            return Ok(token);
        }
        let user = self.user_token(client).await?;
        let fetch = |user| client.fetch_database_token(app, addon_id, user);
        let token = match fetch(&user).await {
            // The user token may have been revoked early: get a new one, once.
            Err(Error::Unauthorized { .. }) => {
                forget(&self.user, &user).await;
                let user = self.user_token(client).await?;
                fetch(&user).await?
            }
            other => other?,
        };
        let cached = Cached::new(token, client.clock().now());
        let token = Arc::clone(&cached.token);
        *slot = Some(cached);
        Ok(token)
    }

    async fn user_token(&self, client: &Client) -> Result<Arc<Token>> {
        let mut slot = self.user.lock().await;
        if let Some(token) = fresh(slot.as_ref(), client.clock().now()) {
            return Ok(token);
        }
        let token = client.exchange_api_token(&self.api_token).await?;
        let cached = Cached::new(token, client.clock().now());
        let token = Arc::clone(&cached.token);
        *slot = Some(cached);
        Ok(token)
    }
}

fn fresh(cached: Option<&Cached>, now: SystemTime) -> Option<Arc<Token>> {
    cached
        .filter(|cached| cached.refresh_at > now)
        .map(|cached| cached.token.clone())
}

/// Empties `slot` if it still holds `used`; a token another caller has refreshed meanwhile is
/// kept.
async fn forget(slot: &Slot, used: &Token) {
    let mut slot = slot.lock().await;
    if slot.as_ref().is_some_and(|cached| *cached.token == *used) {
        *slot = None;
    }
}

impl Cached {
    fn new(token: Token, now: SystemTime) -> Self {
        let token = Arc::new(token);
        let expires_at = expiry(token.expose()).unwrap_or(now + DOCUMENTED_LIFETIME);
        let remaining = expires_at.duration_since(now).unwrap_or(Duration::ZERO);
        let margin = REFRESH_MARGIN.min(remaining / REFRESH_FRACTION);
        Cached {
            token,
            refresh_at: expires_at - margin,
        }
    }
}

/// The `exp` claim of a JWT (read, not verified: the server that issued it checks it).
fn expiry(token: &str) -> Option<SystemTime> {
    let claims = token.split('.').nth(1)?;
    let claims = URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&claims).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(exp: u64) -> Token {
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"sub":"x"}}"#));
        Token::new(format!("eyJhbGciOiJIUzI1NiJ9.{claims}.c2ln"))
    }

    /// A fixed "now": the tests do not depend on the machine's clock.
    const NOW: u64 = 1_800_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    #[test]
    fn the_exp_claim_sets_when_a_token_is_refreshed() {
        let hour = Cached::new(jwt(NOW + 3600), now());
        assert_eq!(
            hour.refresh_at,
            now() + Duration::from_secs(3300),
            "five minutes before expiry"
        );

        let short = Cached::new(jwt(NOW + 10), now());
        assert_eq!(
            short.refresh_at,
            now() + Duration::from_secs(8),
            "a fifth of a short lifetime before expiry"
        );

        let expired = Cached::new(jwt(NOW - 10), now());
        assert!(fresh(Some(&expired), now()).is_none());
        assert!(fresh(Some(&hour), now() + Duration::from_secs(3299)).is_some());
        assert!(fresh(Some(&hour), now() + Duration::from_secs(3300)).is_none());
    }

    #[test]
    fn an_opaque_token_is_assumed_to_last_the_documented_hour() {
        let opaque = Cached::new(Token::new("not-a-jwt"), now());
        assert_eq!(opaque.refresh_at, now() + Duration::from_secs(3300));
        assert_eq!(expiry("a.%%%.c"), None);
    }
}
