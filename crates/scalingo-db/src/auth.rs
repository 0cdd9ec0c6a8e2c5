//! Credentials: a database token used as it is, or an API token exchanged for a user token and
//! then for the database's token, both kept until shortly before they expire.
//!
//! The official Go client asks for a new database token before every call, so each call costs
//! two requests. Here a token is asked for once and reused until its JWT `exp` claim is near;
//! callers that need a token while one is being fetched wait for that one instead of fetching
//! their own (the cache's async mutex is held across the fetch).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Mutex;

use crate::client::Client;
use crate::error::Result;

/// How a client authenticates its Database API calls.
pub(crate) enum Credentials {
    /// A database token given by the caller, used as it is.
    DatabaseToken(SecretString),
    /// An API token, exchanged as needed.
    ApiToken(Box<TokenSource>),
}

/// Where an API token is exchanged, and the tokens obtained so far.
pub(crate) struct TokenSource {
    pub(crate) api_token: SecretString,
    pub(crate) app: String,
    /// The authentication service (`https://auth.scalingo.com`).
    pub(crate) auth_url: String,
    /// The region's main API (`https://api.osc-fr1.scalingo.com`).
    pub(crate) main_api_url: String,
    user: Mutex<Option<Cached>>,
    database: Mutex<Option<Cached>>,
}

#[derive(Clone)]
struct Cached {
    token: SecretString,
    refresh_at: SystemTime,
}

/// A token whose `exp` cannot be read is assumed to last the documented hour.
const DOCUMENTED_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh this long before `exp` at most (what the Go client does for user tokens)...
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// ...and at least this part of the remaining lifetime before, for short-lived tokens.
const REFRESH_FRACTION: u32 = 5;

impl TokenSource {
    pub(crate) fn new(
        api_token: SecretString,
        app: String,
        auth_url: String,
        main_api_url: String,
    ) -> Self {
        TokenSource {
            api_token,
            app,
            auth_url,
            main_api_url,
            user: Mutex::new(None),
            database: Mutex::new(None),
        }
    }

    /// The database token: the cached one while it is fresh, a new one otherwise.
    pub(crate) async fn database_token(&self, client: &Client) -> Result<SecretString> {
        let mut slot = self.database.lock().await;
        if let Some(token) = fresh(slot.as_ref()) {
            return Ok(token);
        }
        let user = self.user_token(client).await?;
        let fetch = |user| client.fetch_database_token(&self.main_api_url, &self.app, user);
        let token = match fetch(&user).await {
            // The user token may have been revoked early: get a new one, once.
            Err(crate::Error::Unauthorized { .. }) => {
                self.forget_user_token(&user).await;
                let user = self.user_token(client).await?;
                fetch(&user).await?
            }
            other => other?,
        };
        *slot = Some(Cached::new(token.clone()));
        Ok(token)
    }

    /// Forgets the database token if it is still `used` (a 401 showed it is no longer valid).
    /// A token that another caller has refreshed meanwhile is kept.
    pub(crate) async fn forget_database_token(&self, used: &SecretString) {
        forget(&self.database, used).await;
    }

    async fn forget_user_token(&self, used: &SecretString) {
        forget(&self.user, used).await;
    }

    async fn user_token(&self, client: &Client) -> Result<SecretString> {
        let mut slot = self.user.lock().await;
        if let Some(token) = fresh(slot.as_ref()) {
            return Ok(token);
        }
        let token = client
            .exchange_api_token(&self.auth_url, &self.api_token)
            .await?;
        *slot = Some(Cached::new(token.clone()));
        Ok(token)
    }
}

fn fresh(cached: Option<&Cached>) -> Option<SecretString> {
    cached
        .filter(|cached| cached.refresh_at > SystemTime::now())
        .map(|cached| cached.token.clone())
}

async fn forget(slot: &Mutex<Option<Cached>>, used: &SecretString) {
    let mut slot = slot.lock().await;
    if slot
        .as_ref()
        .is_some_and(|cached| cached.token.expose_secret() == used.expose_secret())
    {
        *slot = None;
    }
}

impl Cached {
    fn new(token: SecretString) -> Self {
        let now = SystemTime::now();
        let expires_at = expiry(token.expose_secret()).unwrap_or(now + DOCUMENTED_LIFETIME);
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

    fn jwt(exp: u64) -> String {
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"sub":"x"}}"#));
        format!("eyJhbGciOiJIUzI1NiJ9.{claims}.c2ln")
    }

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn the_exp_claim_sets_when_a_token_is_refreshed() {
        let hour = Cached::new(SecretString::from(jwt(now_secs() + 3600)));
        let refresh_in = hour.refresh_at.duration_since(SystemTime::now()).unwrap();
        assert!(
            (Duration::from_secs(3290)..=Duration::from_secs(3300)).contains(&refresh_in),
            "{refresh_in:?}: five minutes before expiry"
        );

        let short = Cached::new(SecretString::from(jwt(now_secs() + 10)));
        let refresh_in = short.refresh_at.duration_since(SystemTime::now()).unwrap();
        assert!(
            refresh_in <= Duration::from_secs(8) && refresh_in >= Duration::from_secs(6),
            "{refresh_in:?}"
        );

        let expired = Cached::new(SecretString::from(jwt(now_secs() - 10)));
        assert!(fresh(Some(&expired)).is_none());
    }

    #[test]
    fn an_opaque_token_is_assumed_to_last_the_documented_hour() {
        let opaque = Cached::new(SecretString::from("not-a-jwt"));
        let refresh_in = opaque.refresh_at.duration_since(SystemTime::now()).unwrap();
        assert!(refresh_in > Duration::from_secs(3200), "{refresh_in:?}");
        assert_eq!(expiry("a.%%%.c"), None);
    }
}
