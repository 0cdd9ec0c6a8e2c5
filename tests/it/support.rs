//! Shared fixtures: a client pointed at a mock server, and the headers every API call carries.

use std::time::Duration;

use httpmock::{MockServer, When};
use scalingo_db::{Client, ClientBuilder, RetryPolicy};
use scalingo_db_sandbox::{DEFAULT_APP, DEFAULT_DATABASE, Sandbox};

/// The database every test manages.
pub const DB: &str = "ad-0c8fe5a2-2b4e";
/// A recognisable token, so a test can look for it where it must not appear.
pub const TOKEN: &str = "tok-SENTINEL-5b1d9";
/// A valid password (24 characters).
pub const PASSWORD: &str = "correct-horse-battery-st";

/// A client of [`DB`] with [`TOKEN`], calling `server`.
pub fn client(server: &MockServer) -> Client {
    builder(server).build().expect("valid client settings")
}

/// The builder behind [`client`], to change one setting. It does not retry: the wire tests look
/// at one exchange at a time (`retries.rs` covers retries).
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.base_url())
        .database_id(DB)
        .token(TOKEN)
        .retry(RetryPolicy::none())
}

/// Retries that do not wait long, for tests of what retries do.
pub const FAST_RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    initial_backoff: Duration::from_millis(5),
    max_backoff: Duration::from_millis(20),
    max_elapsed: Duration::from_secs(10),
};

/// A client of the sandbox's default database that exchanges `api_token` for its tokens, as
/// on the real platform (settings can still be changed before `build`).
pub fn api_token_builder(sandbox: &Sandbox, api_token: &str) -> ClientBuilder {
    Client::builder()
        .base_url(sandbox.database_api_url())
        .auth_url(sandbox.base_url())
        .main_api_url(sandbox.base_url())
        .database_id(DEFAULT_DATABASE)
        .api_token(api_token, DEFAULT_APP)
}

/// The headers of every authenticated API call.
pub fn api_headers(when: When) -> When {
    when.header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", "application/json")
        .header_prefix("user-agent", "scalingo-db-rs/")
        .header_missing("api-version")
}

/// The headers of a call that sends a JSON body.
pub fn json_body_headers(when: When) -> When {
    api_headers(when).header("content-type", "application/json")
}
