//! Fault injection and request counters of the in-process sandbox, seen through the facade: each
//! kind of fault (status, delay, dropped connection, truncated body) ends in the right typed
//! error and never in a panic; rules target one operation or any, and wear out; counters count
//! every request, faulted ones included, by `OperationId`; and the same controls over HTTP under
//! `/_sandbox/`, where operations are named as in the contract and an unknown name is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{database, sandbox_builder};
use scalingo_db::{Database, Error, OperationId, RetryPolicy};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// A sandbox started with `config` and a client of [`DEFAULT_DATABASE`] whose calls time out
/// after `request_timeout`. The client does not retry: these tests look at what each fault does
/// to one request (`retries.rs` tests what retries make of them).
async fn start(config: SandboxConfig, request_timeout: Duration) -> (Sandbox, Database) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let client = client(&sandbox, request_timeout);
    (sandbox, client)
}

fn client(sandbox: &Sandbox, request_timeout: Duration) -> Database {
    let builder = sandbox_builder(sandbox)
        .request_timeout(request_timeout)
        .retry(RetryPolicy::none());
    database(builder, DEFAULT_DATABASE)
}

async fn start_default() -> (Sandbox, Database) {
    start(SandboxConfig::default(), Duration::from_secs(5)).await
}

fn is_transport_class(error: &Error) -> bool {
    matches!(error, Error::Transport { .. } | Error::Connect { .. })
}

#[tokio::test]
async fn a_json_status_fault_fails_once_then_the_operation_works_again() {
    let (sandbox, client) = start_default().await;
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::json_error(503, "upstream"),
    ));

    match client.users().list().await {
        Err(Error::Server {
            status, message, ..
        }) => {
            assert_eq!(status, 503);
            assert_eq!(message.as_deref(), Some("upstream"));
        }
        other => panic!("expected a 503, got {other:?}"),
    }
    let users = client.users().list().await.expect("the rule is used up");
    assert_eq!(users.len(), 1);
    assert_eq!(sandbox.counters().get(OperationId::ListUsers), 2);
}

#[tokio::test]
async fn a_plain_text_429_gives_the_retry_after_delay() {
    let (sandbox, client) = start_default().await;
    sandbox.faults().inject(FaultRule::new(
        OperationId::CreateBackup,
        1,
        Fault::Status {
            status: 429,
            body: "Retry later".to_owned(),
            content_type: Some("text/plain".to_owned()),
            headers: vec![("retry-after".to_owned(), "3".to_owned())],
        },
    ));

    match client.backups().create().await {
        Err(Error::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    assert_eq!(
        client.backups().list().await.expect("list").len(),
        1,
        "the refused request created nothing"
    );
    client
        .backups()
        .create()
        .await
        .expect("the rule is used up");
    assert_eq!(sandbox.counters().get(OperationId::CreateBackup), 2);
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    let (sandbox, client) = start_default().await;
    // A connection in the pool first, so the drop happens on a reused one too.
    client.users().list().await.expect("list");
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::DropConnection,
    ));

    let error = client
        .users()
        .list()
        .await
        .expect_err("the connection is dropped");
    assert!(is_transport_class(&error), "{error:?}");
    assert_eq!(error.status(), None, "no answer, no status");

    client.users().list().await.expect("the next call works");
    assert_eq!(
        sandbox.counters().get(OperationId::ListUsers),
        3,
        "the dropped request was counted once, not retried"
    );
}

#[tokio::test]
async fn a_truncated_body_is_an_error() {
    let (sandbox, client) = start_default().await;
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::TruncateBody { after_bytes: 10 },
    ));

    let error = client
        .users()
        .list()
        .await
        .expect_err("the body is cut short");
    assert!(
        matches!(error, Error::Transport { .. } | Error::Decode { .. }),
        "{error:?}"
    );
    client.users().list().await.expect("the next call works");

    // On the wire: the status and the full length arrive, then the body stops short.
    let url = format!(
        "{}/databases/{DEFAULT_DATABASE}/users",
        sandbox.database_api_url()
    );
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let http = reqwest::Client::new();
    let whole = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("an answer")
        .bytes()
        .await
        .expect("a whole body");
    assert!(whole.len() > 10);
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::TruncateBody { after_bytes: 10 },
    ));
    let response = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("the status line and headers arrive");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.content_length(), Some(whole.len() as u64));
    response
        .bytes()
        .await
        .expect_err("the body ends before its announced length");
}

#[tokio::test]
async fn a_delay_longer_than_the_time_limit_is_a_timeout() {
    // Twenty times the time limit: a stalled test thread cannot see the answer before its own
    // time-out (the late request goes on in the server; nothing waits for it).
    let (sandbox, impatient) = start(SandboxConfig::default(), Duration::from_millis(100)).await;
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        1,
        Fault::delay(Duration::from_secs(2)),
    ));
    match impatient.backups().list().await {
        Err(Error::Timeout { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }

    // Twenty times the delay.
    let delay = Duration::from_millis(150);
    let patient = client(&sandbox, Duration::from_secs(3));
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        1,
        Fault::delay(delay),
    ));
    let started = std::time::Instant::now();
    let backups = patient.backups().list().await.expect("answered in time");
    assert_eq!(backups.len(), 1);
    assert!(started.elapsed() >= delay, "the delay was applied");
    assert_eq!(sandbox.counters().get(OperationId::ListBackups), 2);
}

#[tokio::test]
async fn rules_target_their_operation_or_any_and_wear_out() {
    let (sandbox, client) = start_default().await;

    // One operation only, twice.
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        2,
        Fault::json_error(500, "backups down"),
    ));
    client
        .users()
        .list()
        .await
        .expect("another operation is not affected");
    for attempt in 1..=2 {
        match client.backups().list().await {
            Err(Error::Server {
                status, message, ..
            }) => {
                assert_eq!(status, 500, "attempt {attempt}");
                assert_eq!(message.as_deref(), Some("backups down"));
            }
            other => panic!("attempt {attempt}: expected a 500, got {other:?}"),
        }
    }
    client
        .backups()
        .list()
        .await
        .expect("the rule wore out after 2 times");

    // Any operation, twice.
    sandbox
        .faults()
        .inject(FaultRule::any(2, Fault::json_error(502, "gateway")));
    let first = client.users().list().await.map(drop);
    let second = client.backups().create().await.map(drop);
    for (operation, outcome) in [
        (OperationId::ListUsers, first),
        (OperationId::CreateBackup, second),
    ] {
        match outcome {
            Err(Error::Server {
                status, message, ..
            }) => {
                assert_eq!(status, 502, "{operation}");
                assert_eq!(message.as_deref(), Some("gateway"), "{operation}");
            }
            other => panic!("{operation}: expected a 502, got {other:?}"),
        }
    }
    client.users().list().await.expect("the rule wore out");
    client.backups().create().await.expect("the rule wore out");

    // Rules apply in the order they were set; clearing removes them all.
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::json_error(503, "first"),
    ));
    sandbox
        .faults()
        .inject(FaultRule::any(1, Fault::json_error(504, "second")));
    match client.users().list().await {
        Err(Error::Server { status, .. }) => assert_eq!(status, 503),
        other => panic!("expected the first rule's 503, got {other:?}"),
    }
    sandbox.faults().clear();
    client.users().list().await.expect("no rule left");

    // A rule for zero times does nothing.
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        0,
        Fault::DropConnection,
    ));
    client
        .users()
        .list()
        .await
        .expect("a zero-times rule is ignored");
}

#[tokio::test]
async fn a_truncated_archive_download_ends_in_an_error_not_a_short_file() {
    let (sandbox, client) = start(
        SandboxConfig {
            archive_size: 256 * 1024,
            ..SandboxConfig::default()
        },
        Duration::from_secs(5),
    )
    .await;
    let backups = client.backups().list().await.expect("list");
    let link = client
        .backups()
        .archive_url(&backups[0].id)
        .await
        .expect("archive link");
    sandbox.faults().inject(FaultRule::new(
        OperationId::DownloadBackupArchive,
        1,
        Fault::TruncateBody { after_bytes: 1000 },
    ));

    let mut stream = client
        .backups()
        .open_archive(&link)
        .await
        .expect("the answer starts normally");
    let announced = stream.content_length().expect("a length");
    assert_eq!(Some(announced as i64), backups[0].size);
    let mut received = 0u64;
    let mut failure = None;
    // Bounded: at most a few chunks arrive before the cut.
    for _ in 0..1024 {
        match stream.chunk().await {
            Ok(Some(chunk)) => received += chunk.len() as u64,
            Ok(None) => break,
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    assert!(received < announced, "{received} of {announced} bytes");
    assert!(received <= 1000, "{received} bytes");
    let error = failure.expect("the cut is reported, never a silent end");
    assert!(
        matches!(error, Error::Transport { .. } | Error::Timeout { .. }),
        "{error:?}"
    );
    assert!(
        !error.to_string().contains("token="),
        "no link token in the message: {error}"
    );

    // The rule is used up: the same link downloads whole.
    let mut stream = client.backups().open_archive(&link).await.expect("open");
    let mut whole = 0u64;
    for _ in 0..1024 {
        match stream.chunk().await.expect("a chunk") {
            Some(chunk) => whole += chunk.len() as u64,
            None => break,
        }
    }
    assert_eq!(whole, announced);
}

#[tokio::test]
async fn counters_count_every_request_faulted_ones_included() {
    let (sandbox, client) = start_default().await;
    assert_eq!(sandbox.counters().total(), 0);

    const LISTS: u64 = 4;
    const CREATES: u64 = 3;
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::json_error(500, "counted anyway"),
    ));
    let mut failures = 0;
    for _ in 0..LISTS {
        if client.users().list().await.is_err() {
            failures += 1;
        }
    }
    assert_eq!(failures, 1);
    for _ in 0..CREATES {
        client.backups().create().await.expect("create");
    }
    let backups = client.backups().list().await.expect("list");
    assert_eq!(backups.len() as u64, CREATES + 1);

    let counters = sandbox.counters();
    assert_eq!(counters.get(OperationId::ListUsers), LISTS);
    assert_eq!(counters.get(OperationId::CreateBackup), CREATES);
    assert_eq!(counters.get(OperationId::ListBackups), 1);
    assert_eq!(counters.get(OperationId::DeleteUser), 0);
    assert_eq!(counters.total(), LISTS + CREATES + 1);
    let snapshot = counters.snapshot();
    assert_eq!(snapshot.len(), 3, "{snapshot:?}");
    assert_eq!(snapshot.values().sum::<u64>(), counters.total());
    assert_eq!(
        snapshot,
        BTreeMap::from([
            (OperationId::ListUsers, LISTS),
            (OperationId::ListBackups, 1),
            (OperationId::CreateBackup, CREATES),
        ]),
        "only the operations that were called"
    );

    // Refused requests count too (401, 400).
    let stranger = database(
        sandbox_builder(&sandbox).database_token(DEFAULT_DATABASE, "garbage"),
        DEFAULT_DATABASE,
    );
    assert!(matches!(
        stranger.users().list().await,
        Err(Error::Unauthorized { .. })
    ));
    assert_eq!(counters.get(OperationId::ListUsers), LISTS + 1);

    // A request no operation serves is not counted, and uses up no rule.
    sandbox
        .faults()
        .inject(FaultRule::any(1, Fault::json_error(503, "kept")));
    let http = reqwest::Client::new();
    let users_url = format!(
        "{}/databases/{DEFAULT_DATABASE}/users",
        sandbox.database_api_url()
    );
    let wrong_method = http.put(&users_url).send().await.expect("an answer");
    assert_eq!(wrong_method.status().as_u16(), 405);
    let unknown = http
        .get(format!("{}/nowhere", sandbox.database_api_url()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(counters.total(), LISTS + CREATES + 2);
    match client.backups().list().await {
        Err(Error::Server { status, .. }) => assert_eq!(status, 503),
        other => panic!("expected the kept rule's 503, got {other:?}"),
    }

    counters.reset();
    assert_eq!(counters.total(), 0);
    assert!(counters.snapshot().is_empty());
    client.users().list().await.expect("list");
    assert_eq!(counters.get(OperationId::ListUsers), 1);
    assert_eq!(counters.total(), 1);
}

#[tokio::test]
async fn control_routes_inject_faults_count_and_issue_tokens_over_http() {
    let (sandbox, client) = start(
        SandboxConfig {
            control_routes: true,
            ..SandboxConfig::default()
        },
        Duration::from_secs(5),
    )
    .await;
    let http = reqwest::Client::new();
    let base = sandbox.base_url();

    let response = http
        .post(format!("{base}/_sandbox/faults"))
        .json(&json!({
            "operation": "list_users",
            "times": 1,
            "fault": {"kind": "status", "status": 500, "body": "", "content_type": null, "headers": []}
        }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 201);
    match client.users().list().await {
        Err(Error::Server {
            status, message, ..
        }) => {
            assert_eq!(status, 500);
            assert_eq!(message, None, "an empty body has no message");
        }
        other => panic!("expected a 500, got {other:?}"),
    }
    client.users().list().await.expect("the rule is used up");

    // A rule for any operation, then cleared before it applies.
    let response = http
        .post(format!("{base}/_sandbox/faults"))
        .json(&json!({"times": 5, "fault": {"kind": "drop_connection"}}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 201);
    let response = http
        .delete(format!("{base}/_sandbox/faults"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 204);
    client
        .backups()
        .list()
        .await
        .expect("the rules were cleared");

    let response = http
        .get(format!("{base}/_sandbox/counters"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    let counters: Value = response.json().await.expect("JSON counters");
    assert_eq!(counters["operations"]["list_users"], 2, "{counters}");
    assert_eq!(counters["operations"]["list_backups"], 1, "{counters}");
    assert_eq!(
        counters["total"], 3,
        "control routes are not counted: {counters}"
    );

    let response = http
        .delete(format!("{base}/_sandbox/counters"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(sandbox.counters().total(), 0);

    let response = http
        .post(format!(
            "{base}/_sandbox/databases/{DEFAULT_DATABASE}/token"
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    let token = body["token"].as_str().expect("a token").to_owned();
    let issued = database(
        sandbox_builder(&sandbox).database_token(DEFAULT_DATABASE, token),
        DEFAULT_DATABASE,
    );
    issued.users().list().await.expect("the issued token works");

    let response = http
        .post(format!("{base}/_sandbox/expire-tokens"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 204);
    match issued.users().list().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message.as_deref(), Some("token expired"));
        }
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn the_control_route_refuses_an_unknown_operation_naming_the_known_ones() {
    let (sandbox, client) = start(
        SandboxConfig {
            control_routes: true,
            ..SandboxConfig::default()
        },
        Duration::from_secs(5),
    )
    .await;
    let http = reqwest::Client::new();
    let base = sandbox.base_url();

    let response = http
        .post(format!("{base}/_sandbox/faults"))
        .json(&json!({
            "operation": "list_user",
            "times": 1,
            "fault": {"kind": "drop_connection"}
        }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("a JSON error");
    let message = body["error"].as_str().expect("a message");
    assert!(
        message.contains("`list_user`"),
        "names what was sent: {message}"
    );
    for operation in OperationId::ALL {
        assert!(
            message.contains(operation.name()),
            "does not name {operation}: {message}"
        );
    }
    client
        .users()
        .list()
        .await
        .expect("no rule was set, for this operation or any");
    assert_eq!(sandbox.counters().total(), 1);

    // Counters over HTTP still name the operations as the contract does.
    client.backups().list().await.expect("list backups");
    let counters: Value = http
        .get(format!("{base}/_sandbox/counters"))
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON counters");
    let operations = counters["operations"].as_object().expect("by operation");
    let named: BTreeMap<OperationId, u64> = operations
        .iter()
        .map(|(name, count)| {
            let operation = name.parse().expect("an operation name of the contract");
            (operation, count.as_u64().expect("a count"))
        })
        .collect();
    assert_eq!(
        named,
        sandbox.counters().snapshot(),
        "the same counts, under the contract's names: {counters}"
    );
    assert_eq!(
        named,
        BTreeMap::from([(OperationId::ListUsers, 1), (OperationId::ListBackups, 1)])
    );
    assert_eq!(counters["total"], 2, "{counters}");
}

#[tokio::test]
async fn control_routes_are_off_by_default() {
    let (sandbox, client) = start_default().await;
    assert!(!sandbox.config().control_routes);
    let http = reqwest::Client::new();
    let base = sandbox.base_url();

    let requests = [
        http.post(format!("{base}/_sandbox/faults")).json(&json!({
            "operation": "list_users", "times": 1,
            "fault": {"kind": "status", "status": 500}
        })),
        http.get(format!("{base}/_sandbox/counters")),
        http.post(format!(
            "{base}/_sandbox/databases/{DEFAULT_DATABASE}/token"
        )),
        http.post(format!("{base}/_sandbox/expire-tokens")),
    ];
    for request in requests {
        let response = request.send().await.expect("an answer");
        let url = response.url().to_string();
        assert_eq!(response.status().as_u16(), 404, "{url}");
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["resource"], "route", "{url}: {body}");
    }
    client.users().list().await.expect("no fault was injected");
    assert_eq!(sandbox.counters().total(), 1);
}
