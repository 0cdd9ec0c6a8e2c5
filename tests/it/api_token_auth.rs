//! Authentication with an API token against the sandbox: one user token per client and one
//! database token per database, exchanged once, cached until exactly when the client renews them
//! (five minutes, or a fifth of a short lifetime, before `exp`, on a clock the test moves),
//! refreshed after a 401, and shared by concurrent callers of one or several databases.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scalingo_db::{Database, Error, RetryPolicy};
use scalingo_db_sandbox::{
    Clock, DEFAULT_API_TOKEN, DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, OperationId, Sandbox,
    SandboxConfig,
};

use crate::support::{SharedClock, api_token_builder, assert_no_token, database, sandbox_builder};

/// The sandbox's default PostgreSQL database, through a client that exchanges `api_token`.
fn api_token_database(sandbox: &Sandbox, api_token: &str) -> Database {
    database(api_token_builder(sandbox, api_token), DEFAULT_DATABASE)
}

/// Requests of the token flow and of the Database API, as the sandbox counted them.
fn requests(sandbox: &Sandbox) -> (u64, u64, u64) {
    let counters = sandbox.counters();
    let exchanges = counters.get(OperationId::ExchangeApiToken);
    let addon_tokens = counters.get(OperationId::GetAddonToken);
    (
        exchanges,
        addon_tokens,
        counters.total() - exchanges - addon_tokens,
    )
}

/// A sandbox whose clock stands still (at a whole second, as JWT claims are) until the test or
/// the client moves it, with the token lifetimes given, and the clock to give its clients.
async fn manual_sandbox(user_token: Duration, database_token: Duration) -> (Sandbox, SharedClock) {
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("a valid time");
    let sandbox = Sandbox::start(SandboxConfig {
        user_token_lifetime: user_token,
        database_token_lifetime: database_token,
        clock: Clock::manual(start),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let clock = SharedClock::of(&sandbox);
    (sandbox, clock)
}

#[tokio::test]
async fn a_hundred_calls_cost_at_most_a_hundred_and_two_requests() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let db = api_token_database(&sandbox, DEFAULT_API_TOKEN);

    for _ in 0..50 {
        db.users().list().await.expect("list users");
        db.backups().list().await.expect("list backups");
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
    let db = api_token_database(&sandbox, DEFAULT_API_TOKEN);

    let calls: Vec<_> = (0..32)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.users().list().await.map(|users| users.len()) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("task").expect("list users"), 1);
    }

    assert_eq!(requests(&sandbox), (1, 1, 32));
}

#[tokio::test]
async fn one_client_serves_two_databases_with_one_exchange_and_one_addon_token_each() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = api_token_builder(&sandbox, DEFAULT_API_TOKEN)
        .build()
        .expect("client");
    let postgresql = client.database(DEFAULT_DATABASE);
    let redis = client.database(DEFAULT_REDIS_DATABASE);

    for _ in 0..5 {
        let users = postgresql
            .users()
            .list()
            .await
            .expect("users of postgresql");
        assert_eq!(users.len(), 1, "the protected default user");
        postgresql
            .backups()
            .list()
            .await
            .expect("postgresql backups");
        let backups = redis.backups().list().await.expect("redis backups");
        assert_eq!(backups.len(), 1, "the seeded periodic backup");
    }
    // Redis has backups but no users: the sandbox refuses the operation itself, not the token.
    match redis.users().list().await {
        Err(Error::Refused {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert_eq!(
                message.as_deref(),
                Some("user management is not supported for redis databases")
            );
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    assert_eq!(requests(&sandbox), (1, 2, 16));
    assert_eq!(sandbox.counters().get(OperationId::ListUsers), 6);
    assert_eq!(sandbox.counters().get(OperationId::ListBackups), 10);
}

#[tokio::test]
async fn concurrent_callers_of_two_databases_share_one_fetch_per_database() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let client = api_token_builder(&sandbox, DEFAULT_API_TOKEN)
        .build()
        .expect("client");

    let calls: Vec<_> = (0..32)
        .map(|index| {
            let id = if index % 2 == 0 {
                DEFAULT_DATABASE
            } else {
                DEFAULT_REDIS_DATABASE
            };
            let db = client.database(id);
            tokio::spawn(async move { db.backups().list().await.map(|backups| backups.len()) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("task").expect("list backups"), 1);
    }

    assert_eq!(
        requests(&sandbox),
        (1, 2, 32),
        "one user token for the client, one database token per database"
    );
}

#[tokio::test]
async fn the_meta_of_a_call_counts_its_api_requests_not_its_token_requests() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let db = api_token_database(&sandbox, DEFAULT_API_TOKEN);

    let (users, meta) = db.users().list().with_meta().await.expect("list users");

    assert_eq!(users.len(), 1);
    assert_eq!((meta.status, meta.attempts), (200, 1));
    let request_id = meta.request_id.expect("the sandbox names every answer");
    assert!(
        request_id.len() == 32 && request_id.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{request_id}"
    );
    assert_eq!(requests(&sandbox), (1, 1, 1));
}

#[tokio::test]
async fn a_revoked_token_is_replaced_after_one_401() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let db = api_token_database(&sandbox, DEFAULT_API_TOKEN);
    db.users().list().await.expect("first call");

    // Every token issued so far stops working, as if revoked: the cached database token is
    // refused, and so is the cached user token when a new database token is asked for.
    sandbox.expire_tokens();
    db.users().list().await.expect("the client recovers");

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
async fn hour_long_tokens_are_renewed_exactly_five_minutes_before_they_expire() {
    let hour = Duration::from_secs(3600);
    let (sandbox, clock) = manual_sandbox(hour, hour).await;
    let db = database(
        api_token_builder(&sandbox, DEFAULT_API_TOKEN).clock(clock.clone()),
        DEFAULT_DATABASE,
    );
    db.users().list().await.expect("first call");
    assert_eq!(requests(&sandbox), (1, 1, 1));

    // 55 minutes less a millisecond later, both tokens are still used as they are.
    sandbox
        .clock()
        .advance(Duration::from_millis(55 * 60 * 1000 - 1));
    db.users().list().await.expect("second call");
    assert_eq!(requests(&sandbox), (1, 1, 2), "not renewed yet");

    // At exactly five minutes before `exp`, both are renewed before the call.
    sandbox.clock().advance(Duration::from_millis(1));
    db.users().list().await.expect("third call");
    assert_eq!(
        requests(&sandbox),
        (2, 2, 3),
        "renewed, and no call refused"
    );
    assert_eq!(
        clock.sleeps(),
        [],
        "nothing waited: the test moved the time"
    );
}

#[tokio::test]
async fn short_lived_tokens_are_renewed_a_fifth_of_their_lifetime_before_they_expire() {
    // As the old test's 3-second tokens: renewed 0.6 s before `exp`, at 2.4 s.
    let lifetime = Duration::from_secs(3);
    let (sandbox, clock) = manual_sandbox(lifetime, lifetime).await;
    let db = database(
        api_token_builder(&sandbox, DEFAULT_API_TOKEN).clock(clock.clone()),
        DEFAULT_DATABASE,
    );
    db.users().list().await.expect("first call");

    sandbox.clock().advance(Duration::from_millis(2399));
    db.users().list().await.expect("second call");
    assert_eq!(requests(&sandbox), (1, 1, 2), "not renewed yet");

    sandbox.clock().advance(Duration::from_millis(1));
    db.users().list().await.expect("third call");
    assert_eq!(
        requests(&sandbox),
        (2, 2, 3),
        "renewed, and no call refused"
    );
}

#[tokio::test]
async fn a_database_token_is_renewed_on_its_own_while_the_user_token_is_fresh() {
    // A 10-minute database token is renewed 2 minutes (a fifth) before `exp`; the hour-long user
    // token that asked for it is still fresh then, so no exchange is made.
    let (sandbox, clock) =
        manual_sandbox(Duration::from_secs(3600), Duration::from_secs(600)).await;
    let db = database(
        api_token_builder(&sandbox, DEFAULT_API_TOKEN).clock(clock.clone()),
        DEFAULT_DATABASE,
    );
    db.backups().list().await.expect("first call");

    sandbox.clock().advance(Duration::from_millis(480_000 - 1));
    db.backups().list().await.expect("second call");
    assert_eq!(requests(&sandbox), (1, 1, 2));

    sandbox.clock().advance(Duration::from_millis(1));
    db.backups().list().await.expect("third call");
    assert_eq!(
        requests(&sandbox),
        (1, 2, 3),
        "a new database token, asked for with the same user token"
    );
}

#[tokio::test]
async fn a_wrong_api_token_is_unauthorized_without_retrying() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let db = api_token_database(&sandbox, "tk-us-wrong");

    let error = db.users().list().await.expect_err("refused");

    assert!(
        matches!(&error, Error::Unauthorized { message: Some(m), .. } if m == "invalid API token"),
        "{error:?}"
    );
    assert_eq!(requests(&sandbox), (1, 0, 0));
    assert_no_token(&error, "tk-us-wrong");
    let shown = format!("{db:?} {:?}", db.client());
    assert!(!shown.contains("tk-us-wrong"), "{shown}");
}

#[tokio::test]
async fn the_database_token_client_keeps_working_and_is_not_renewed() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let db = database(
        sandbox_builder(&sandbox).retry(RetryPolicy::none()),
        DEFAULT_DATABASE,
    );
    db.users().list().await.expect("works");

    sandbox.expire_tokens();
    let error = db.users().list().await.expect_err("expired");

    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(requests(&sandbox), (0, 0, 2));
}
