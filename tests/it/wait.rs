//! `Backups::wait` and `Backups::latest_done` against the in-process sandbox: a backup followed
//! from scheduled through running to done, with one callback per status; `error` and `cancelled`
//! ending in `Error::BackupFailed`; a timeout that names the backup and its status; a polling
//! interval that grows and stops growing at its maximum; polls retried or not like any call; and
//! the most recent done backup, whatever is still running.

use std::time::{Duration, Instant};

use crate::support::FAST_RETRIES;
use scalingo_db::{Backup, BackupStatus, Client, Error, WaitOptions};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use serde_json::json;

/// The sandbox operation `wait` polls.
const GET: &str = "get_backup";

/// A sandbox started with `config`, a client of [`DEFAULT_DATABASE`] with quick retries, and
/// the client's database token.
async fn start(config: SandboxConfig) -> (Sandbox, Client, String) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let client = Client::builder()
        .base_url(sandbox.database_api_url())
        .database_id(DEFAULT_DATABASE)
        .token(token.clone())
        .retry(FAST_RETRIES)
        .build()
        .expect("valid client settings");
    (sandbox, client, token)
}

/// Backups that stay scheduled for `scheduled` then run for `running`.
fn timed(scheduled: Duration, running: Duration) -> SandboxConfig {
    SandboxConfig {
        backup_scheduled_for: scheduled,
        backup_running_for: running,
        archive_size: 64 * 1024,
        ..SandboxConfig::default()
    }
}

/// Backups that stay scheduled for longer than any test waits.
fn never_done() -> SandboxConfig {
    timed(Duration::from_secs(30), Duration::ZERO)
}

fn options(initial_ms: u64, max_ms: u64, timeout_ms: Option<u64>) -> WaitOptions {
    WaitOptions {
        initial_interval: Duration::from_millis(initial_ms),
        max_interval: Duration::from_millis(max_ms),
        timeout: timeout_ms.map(Duration::from_millis),
    }
}

/// `get_backup`'s answer for `backup` with its status replaced by `status`, as the service
/// sends it (wrapped in `database_backup`).
fn with_status(backup: &Backup, status: &str) -> Fault {
    let mut value = serde_json::to_value(backup).expect("a backup serialises");
    value["status"] = json!(status);
    Fault::Status {
        status: 200,
        body: json!({ "database_backup": value }).to_string(),
        content_type: Some("application/json".to_owned()),
        headers: vec![],
    }
}

/// Fails if `error` shows the client's database token, or any sandbox token (JWTs: `eyJ...`).
fn assert_no_token(error: &Error, token: &str) {
    let shown = format!("{error} | {error:?}");
    assert!(!shown.contains(token), "the token is shown: {shown}");
    assert!(!shown.contains("eyJ"), "a token is shown: {shown}");
}

#[tokio::test]
async fn wait_follows_a_backup_from_scheduled_through_running_to_done() {
    let (sandbox, client, _) = start(timed(
        Duration::from_millis(200),
        Duration::from_millis(200),
    ))
    .await;
    let created = client.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);
    sandbox.counters().reset();

    let started = Instant::now();
    let mut seen = Vec::new();
    let done = client
        .backups()
        .wait(&created.id, options(20, 100, Some(5000)), |backup| {
            seen.push((backup.id.clone(), backup.status.clone()));
        })
        .await
        .expect("the backup ends done");
    let waited = started.elapsed();

    assert_eq!(done.id, created.id);
    assert_eq!(done.status, BackupStatus::Done);
    assert!(done.size.is_some_and(|size| size > 0), "{done:?}");
    assert!(done.started_at.is_some());
    let statuses: Vec<BackupStatus> = seen
        .iter()
        .map(|(id, status)| {
            assert_eq!(id, &created.id);
            status.clone()
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            BackupStatus::Scheduled,
            BackupStatus::Running,
            BackupStatus::Done
        ],
        "each status once, in order"
    );
    assert!(
        waited >= Duration::from_millis(350),
        "returned before the backup could be done: {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    let polls = sandbox.counters().get(GET);
    assert!((3..=20).contains(&polls), "{polls} polls");
}

#[tokio::test]
async fn a_backup_that_ends_in_error_or_cancelled_fails_the_wait() {
    for ending in ["error", "cancelled"] {
        let (sandbox, client, token) = start(never_done()).await;
        let created = client.backups().create().await.expect("create");
        let shown = client.backups().get(&created.id).await.expect("get");
        assert_eq!(shown.status, BackupStatus::Scheduled);
        sandbox.counters().reset();

        // The first poll sees the real, scheduled backup; the second, the ending.
        sandbox
            .faults()
            .inject(FaultRule::new(GET, 1, Fault::delay(Duration::ZERO)));
        sandbox
            .faults()
            .inject(FaultRule::new(GET, 1, with_status(&shown, ending)));
        let mut seen = Vec::new();
        let error = client
            .backups()
            .wait(&created.id, options(10, 50, Some(5000)), |backup| {
                seen.push(backup.status.clone());
            })
            .await
            .expect_err("the backup failed");

        let expected = BackupStatus::from(ending);
        assert_eq!(
            seen,
            vec![BackupStatus::Scheduled, expected.clone()],
            "{ending}"
        );
        match &error {
            Error::BackupFailed { backup } => {
                assert_eq!(backup.id, created.id, "{ending}");
                assert_eq!(backup.status, expected, "{ending}");
                assert_eq!(backup.name, created.name, "{ending}");
            }
            other => panic!("{ending}: expected BackupFailed, got {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.contains(&created.id) && message.contains(ending),
            "{ending}: {message}"
        );
        assert_no_token(&error, &token);
        assert_eq!(
            sandbox.counters().get(GET),
            2,
            "{ending}: no poll after the end"
        );
    }
}

#[tokio::test]
async fn a_backup_still_scheduled_at_the_timeout_ends_the_wait() {
    let (sandbox, client, token) = start(never_done()).await;
    let created = client.backups().create().await.expect("create");

    let started = Instant::now();
    let mut seen = Vec::new();
    let error = client
        .backups()
        .wait(&created.id, options(20, 100, Some(300)), |backup| {
            seen.push(backup.status.clone());
        })
        .await
        .expect_err("the backup is not done in time");
    let waited = started.elapsed();

    assert!(
        waited >= Duration::from_millis(300),
        "gave up early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(1), "gave up late: {waited:?}");
    assert_eq!(seen, vec![BackupStatus::Scheduled], "one status, told once");
    match &error {
        Error::Timeout { what, source } => {
            assert!(source.is_none(), "no request timed out: {source:?}");
            assert!(
                what.contains(&created.id) && what.contains("scheduled"),
                "the message names the backup and its status: {what}"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(&created.id) && message.contains("scheduled"),
        "{message}"
    );
    // The wait lasted 300 ms: the message must not say it gave up after no time at all.
    assert!(
        !message.contains("after 0 s"),
        "the message misstates how long the wait lasted: {message}"
    );
    assert_no_token(&error, &token);
    assert!(sandbox.counters().get(GET) >= 2);
}

/// How many times `wait` polls a backup that never ends, until `timeout_ms`.
async fn polls_until_timeout(initial_ms: u64, max_ms: u64, timeout_ms: u64) -> u64 {
    let (sandbox, client, _) = start(never_done()).await;
    let created = client.backups().create().await.expect("create");
    sandbox.counters().reset();
    let started = Instant::now();
    let outcome = client
        .backups()
        .wait(
            &created.id,
            options(initial_ms, max_ms, Some(timeout_ms)),
            |_| {},
        )
        .await;
    assert!(matches!(outcome, Err(Error::Timeout { .. })), "{outcome:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(timeout_ms)
            && waited < Duration::from_millis(timeout_ms + 700),
        "{waited:?}"
    );
    sandbox.counters().get(GET)
}

#[tokio::test]
async fn the_polling_interval_grows() {
    // A fixed 50 ms interval would poll about 21 times in a second; growing by half from 50 ms
    // up to 200 ms, it polls at about 0, 50, 125, 237, 406, 606, 806 and 1000 ms.
    let polls = polls_until_timeout(50, 200, 1000).await;
    assert!((5..=12).contains(&polls), "{polls} polls in 1 s");
}

#[tokio::test]
async fn the_polling_interval_stops_growing_at_its_maximum() {
    // Capped at 100 ms: about 0, 20, 50, 95, 162, 262, 362, ... 1462 and 1500 ms, 19 polls. Had
    // it kept growing by half, it would poll about 10 times.
    let polls = polls_until_timeout(20, 100, 1500).await;
    assert!((14..=22).contains(&polls), "{polls} polls in 1.5 s");
}

#[tokio::test]
async fn a_poll_that_fails_transiently_is_retried_and_a_refusal_ends_the_wait() {
    let (sandbox, client, token) = start(timed(Duration::from_millis(100), Duration::ZERO)).await;
    let created = client.backups().create().await.expect("create");
    sandbox.counters().reset();
    sandbox
        .faults()
        .inject(FaultRule::new(GET, 1, Fault::json_error(503, "busy")));
    let done = client
        .backups()
        .wait(&created.id, options(20, 50, Some(5000)), |_| {})
        .await
        .expect("a 503 is retried within the poll");
    assert_eq!(done.status, BackupStatus::Done);
    assert!(sandbox.counters().get(GET) >= 2);

    sandbox.faults().inject(FaultRule::new(
        GET,
        1,
        Fault::json_error(401, "token expired"),
    ));
    sandbox.counters().reset();
    let error = client
        .backups()
        .wait(&created.id, options(20, 50, Some(5000)), |_| {})
        .await
        .expect_err("a 401 ends the wait");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(
        sandbox.counters().get(GET),
        1,
        "not retried, not polled again"
    );
    assert_no_token(&error, &token);

    sandbox.counters().reset();
    let error = client
        .backups()
        .wait(
            "000000000000000000000000",
            options(20, 50, Some(5000)),
            |_| {},
        )
        .await
        .expect_err("an unknown backup ends the wait");
    match &error {
        Error::NotFound { resource, .. } => {
            assert_eq!(resource.as_deref(), Some("database_backup"));
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(GET), 1);
}

#[tokio::test]
async fn latest_done_is_the_newest_done_backup_whatever_is_still_running() {
    let (_sandbox, client, _) = start(timed(
        Duration::from_millis(200),
        Duration::from_millis(200),
    ))
    .await;
    let backups = client.backups().list().await.expect("list");
    assert_eq!(backups.len(), 1);
    let seeded = backups[0].clone();
    assert_eq!(seeded.status, BackupStatus::Done);
    assert_eq!(
        client.backups().latest_done().await.expect("latest_done"),
        Some(seeded.clone()),
        "the seeded periodic backup"
    );

    // While the new backup is scheduled, then running, the seeded one is still the latest done.
    let first = client.backups().create().await.expect("create");
    let latest = client.backups().latest_done().await.expect("latest_done");
    assert_eq!(latest.map(|backup| backup.id), Some(seeded.id.clone()));
    let mut running_checked = false;
    for _ in 0..50 {
        let status = client.backups().get(&first.id).await.expect("get").status;
        if status == BackupStatus::Running {
            let latest = client.backups().latest_done().await.expect("latest_done");
            let backups = client.backups().list().await.expect("list");
            // Only meaningful if the backup was still running when the list was read.
            if backups[0].status == BackupStatus::Running {
                assert_eq!(latest.map(|backup| backup.id), Some(seeded.id.clone()));
                running_checked = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(running_checked, "the new backup was never seen running");

    let done = client
        .backups()
        .wait(&first.id, options(20, 50, Some(5000)), |_| {})
        .await
        .expect("done");
    let latest = client
        .backups()
        .latest_done()
        .await
        .expect("latest_done")
        .expect("a done backup");
    assert_eq!(latest.id, first.id, "the new backup, once done");
    assert_eq!(latest, done);

    // A second one: the first stays the latest done until the second is done.
    let second = client.backups().create().await.expect("create");
    let latest = client.backups().latest_done().await.expect("latest_done");
    assert_eq!(latest.map(|backup| backup.id), Some(first.id.clone()));
    client
        .backups()
        .wait(&second.id, options(20, 50, Some(5000)), |_| {})
        .await
        .expect("done");
    let latest = client.backups().latest_done().await.expect("latest_done");
    assert_eq!(latest.map(|backup| backup.id), Some(second.id));
}

#[tokio::test]
async fn latest_done_is_none_when_no_backup_is_done() {
    let (sandbox, client, _) = start(never_done()).await;
    let created = client.backups().create().await.expect("create");
    let shown = client.backups().get(&created.id).await.expect("get");
    let mut failed = serde_json::to_value(&shown).expect("serialise");
    failed["status"] = json!("error");
    let mut running = serde_json::to_value(&shown).expect("serialise");
    running["status"] = json!("running");
    sandbox.faults().inject(FaultRule::new(
        "list_backups",
        1,
        Fault::Status {
            status: 200,
            body: json!({ "database_backups": [running, failed] }).to_string(),
            content_type: Some("application/json".to_owned()),
            headers: vec![],
        },
    ));
    assert_eq!(
        client.backups().latest_done().await.expect("latest_done"),
        None
    );
    // Without the fault, the seeded backup is done.
    assert!(
        client
            .backups()
            .latest_done()
            .await
            .expect("latest_done")
            .is_some()
    );
}
