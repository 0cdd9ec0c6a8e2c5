//! Authentication with an API token against the sandbox: tokens are exchanged once, cached until
//! shortly before they expire, refreshed after a 401, and shared by concurrent callers.

use std::time::Duration;

use crate::support::{api_token_builder, sandbox_builder};
use scalingo_db::{Client, Error, RetryPolicy};
use scalingo_db_sandbox::{DEFAULT_API_TOKEN, Sandbox, SandboxConfig};

fn api_token_client(sandbox: &Sandbox, api_token: &str) -> Client {
    api_token_builder(sandbox, api_token)
        .build()
        .expect("client")
}

/// Requests of the token flow and of the Database API, as the sandbox counted them.
fn requests(sandbox: &Sandbox) -> (u64, u64, u64) {
    let counters = sandbox.counters();
    let exchanges = counters.get("exchange_api_token");
    let addon_tokens = counters.get("get_addon_token");
    (
        exchanges,
        addon_tokens,
        counters.total() - exchanges - addon_tokens,
    )
}

#[tokio::test]
async fn a_hundred_calls_cost_at_most_a_hundred_and_two_requests() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = api_token_client(&sandbox, DEFAULT_API_TOKEN);

    for _ in 0..50 {
        client.users().list().await.expect("list users");
        client.backups().list().await.expect("list backups");
    }

    let (exchanges, addon_tokens, database_calls) = requests(&sandbox);
    assert_eq!(database_calls, 100);
    assert_eq!(
        (exchanges, addon_tokens),
        (1, 1),
        "one token of each kind, reused"
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = api_token_client(&sandbox, DEFAULT_API_TOKEN);

    let calls = (0..32).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.users().list().await.map(|users| users.len()) })
    });
    for call in calls {
        assert_eq!(call.await.expect("task").expect("list users"), 1);
    }

    assert_eq!(requests(&sandbox), (1, 1, 32));
}

#[tokio::test]
async fn a_revoked_token_is_replaced_after_one_401() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = api_token_client(&sandbox, DEFAULT_API_TOKEN);
    client.users().list().await.expect("first call");

    // Every token issued so far stops working, as if revoked: the cached database token is
    // refused, and so is the cached user token when a new database token is asked for.
    sandbox.expire_tokens();
    client.users().list().await.expect("the client recovers");

    let (exchanges, addon_tokens, database_calls) = requests(&sandbox);
    assert_eq!(exchanges, 2, "the user token was exchanged again");
    assert_eq!(
        addon_tokens, 3,
        "first, refused with the old user token, then the new one"
    );
    assert_eq!(
        database_calls, 3,
        "first call, the refused one, the retried one"
    );
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let config = SandboxConfig {
        user_token_lifetime: Duration::from_secs(3),
        database_token_lifetime: Duration::from_secs(3),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let client = api_token_client(&sandbox, DEFAULT_API_TOKEN);

    client.users().list().await.expect("first call");
    // Past 4/5 of the tokens' lifetime, the client renews them instead of using them.
    tokio::time::sleep(Duration::from_millis(2700)).await;
    client.users().list().await.expect("second call");

    assert_eq!(requests(&sandbox), (2, 2, 2), "no call was refused");
}

#[tokio::test]
async fn a_wrong_api_token_is_unauthorized_without_retrying() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = api_token_client(&sandbox, "tk-us-wrong");

    let error = client.users().list().await.expect_err("refused");

    assert!(
        matches!(&error, Error::Unauthorized { message: Some(m) } if m == "invalid API token"),
        "{error:?}"
    );
    assert_eq!(requests(&sandbox), (1, 0, 0));
    let shown = format!("{error} {error:?} {client:?}");
    assert!(!shown.contains("tk-us-wrong"), "{shown}");
}

#[tokio::test]
async fn the_database_token_client_keeps_working_and_is_not_renewed() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = sandbox_builder(&sandbox)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    client.users().list().await.expect("works");

    sandbox.expire_tokens();
    let error = client.users().list().await.expect_err("expired");

    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(requests(&sandbox), (0, 0, 2));
}
