//! Shared fixtures: a client pointed at a mock server or at the sandbox, the headers every API
//! call carries, an address where nothing listens, and the check that an error shows no token.

use std::time::Duration;

use httpmock::{MockServer, When};
use scalingo_db::{Client, ClientBuilder, Error, RetryPolicy};
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

/// A client of the sandbox's default database with a database token the sandbox issued, as the
/// addon token endpoint would (settings can still be changed before `build`, the token too).
pub fn sandbox_builder(sandbox: &Sandbox) -> ClientBuilder {
    sandbox_builder_of(sandbox, DEFAULT_DATABASE)
}

/// [`sandbox_builder`] for another of the sandbox's databases.
pub fn sandbox_builder_of(sandbox: &Sandbox, database: &str) -> ClientBuilder {
    Client::builder()
        .base_url(sandbox.database_api_url())
        .database_id(database)
        .token(sandbox.database_token(database))
}

/// `http://127.0.0.1:1`, where no server listens: nothing listens on port 1 (tcpmux), and the
/// kernel never hands it out as an ephemeral port, so no test (nor its sandbox) can take it, and a
/// connection is refused at once.
pub fn nothing_listening() -> String {
    "http://127.0.0.1:1".to_owned()
}

/// Fails if `error` shows a token in its `Display` or `Debug`: the client's database token, a
/// link's `token=` parameter, or any token of the sandbox (they are JWTs, so they all begin with
/// `eyJ`).
pub fn assert_no_token(error: &Error, database_token: &str) {
    let shown = format!("{error} | {error:?}");
    assert!(
        !shown.contains(database_token),
        "the database token is shown: {shown}"
    );
    assert!(!shown.contains("token="), "a link token is shown: {shown}");
    assert!(!shown.contains("eyJ"), "a sandbox token is shown: {shown}");
}

/// The headers of every authenticated API call.
pub fn api_headers(when: When) -> When {
    when.header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", "application/json")
        .header("user-agent", scalingo_db::default_user_agent())
        .header_missing("api-version")
}

/// The headers of a call that sends a JSON body.
pub fn json_body_headers(when: When) -> When {
    api_headers(when).header("content-type", "application/json")
}
