//! Path parameters a URL cannot carry as given (empty, `.`, `..`: URL normalisation would turn
//! `backups/..` into the database's own path) are refused by name before anything is sent, for
//! every operation that takes one, the database's id and the token flow's app included.

use httpmock::MockServer;
use scalingo_db::{Client, Error, OperationId, RetryPolicy};
use scalingo_db_sandbox::{DEFAULT_API_TOKEN, DEFAULT_DATABASE, Sandbox, SandboxConfig};

use crate::support::{DB, PASSWORD, builder};

/// Asserts that `outcome` is a validation error on `field`.
#[track_caller]
fn refused<T: std::fmt::Debug>(outcome: Result<T, Error>, field: &str, what: &str) {
    match outcome {
        Err(Error::Validation(error)) => {
            assert_eq!(error.field(), field, "{what}");
            assert!(
                error.to_string().contains("nothing was sent"),
                "{what}: {error}"
            );
        }
        other => panic!("{what}: expected a validation error on {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn ids_and_names_a_url_would_change_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let db = crate::support::database(builder(&server), DB);
    for bad in ["", ".", ".."] {
        refused(
            db.users().update_password(bad, PASSWORD).await,
            "username",
            bad,
        );
        refused(db.users().reset_password(bad).await, "username", bad);
        refused(db.users().delete(bad).await, "username", bad);
        refused(db.backups().get(bad).await, "backup_id", bad);
        refused(db.backups().archive_url(bad).await, "backup_id", bad);
        refused(db.operations().get(bad).await, "operation_id", bad);
        let elsewhere = crate::support::database(builder(&server), bad);
        refused(elsewhere.users().list().await, "database_id", bad);
        refused(elsewhere.show().await, "database_id", bad);
    }
    assert_eq!(anything.calls_async().await, 0, "nothing was sent");
}

#[tokio::test]
async fn an_app_a_url_would_change_is_refused_before_its_addon_token_is_asked_for() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("the sandbox starts");
    let client = Client::builder()
        .all_servers_at(sandbox.base_url())
        .api_token(DEFAULT_API_TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("a client");
    refused(
        client
            .database_of("..", DEFAULT_DATABASE)
            .users()
            .list()
            .await,
        "app",
        "..",
    );
    let counters = sandbox.counters();
    assert_eq!(counters.get(OperationId::GetAddonToken), 0);
    assert_eq!(counters.get(OperationId::ListUsers), 0);
}
