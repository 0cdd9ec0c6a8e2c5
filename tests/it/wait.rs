//! `Backups::wait` and `Backups::latest_done` against the in-process sandbox: a backup followed
//! from scheduled through running to done, with one callback per status; `error` and `cancelled`
//! ending in `Error::BackupFailed`; a timeout that names the backup and its status; a polling
//! interval that grows and stops growing at its maximum; polls retried or not like any call; and
//! the most recent done backup, whatever is still running.
//!
//! Where a test needs a backup seen in a given status, the sandbox's answers are forced with
//! injected faults rather than caught in a timed phase: a loaded machine can sleep through a
//! phase, never through an answer.

use std::time::{Duration, Instant};

use crate::support::{FAST_RETRIES, assert_no_token, sandbox_builder};
use scalingo_db::{Backup, BackupStatus, Client, Error, WaitOptions};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// The sandbox operation `wait` polls.
const GET: &str = "get_backup";

/// A sandbox started with `config`, a client of [`DEFAULT_DATABASE`] with quick retries, and
/// the client's database token.
async fn start(config: SandboxConfig) -> (Sandbox, Client, String) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let client = sandbox_builder(&sandbox)
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

/// Backups that are done as soon as they are created (though `create` answers `scheduled`).
fn done_at_once() -> SandboxConfig {
    timed(Duration::ZERO, Duration::ZERO)
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

/// `list_backups`' answer as the service sends it while `backup_id` is `status` (`scheduled`:
/// not started, no size; `running`: no size yet), the other backups as they are now.
async fn listed_while(client: &Client, backup_id: &str, status: &str) -> Fault {
    let backups = client.backups().list().await.expect("list");
    let mut backups = serde_json::to_value(backups).expect("backups serialise");
    let mut found = false;
    for backup in backups.as_array_mut().expect("a list") {
        if backup["id"] == backup_id {
            backup["status"] = json!(status);
            backup["size"] = Value::Null;
            if status == "scheduled" {
                backup["started_at"] = Value::Null;
            }
            found = true;
        }
    }
    assert!(found, "{backup_id} is not listed: {backups}");
    Fault::Status {
        status: 200,
        body: json!({ "database_backups": backups }).to_string(),
        content_type: Some("application/json".to_owned()),
        headers: vec![],
    }
}

/// The intervals `wait` sleeps between its first `count + 1` polls: `initial_ms`, growing by half
/// after each poll, up to `max_ms` (`None`: no maximum).
fn intervals(initial_ms: u64, max_ms: Option<u64>, count: usize) -> Vec<Duration> {
    let max = max_ms.map_or(Duration::MAX, Duration::from_millis);
    let mut interval = Duration::from_millis(initial_ms);
    let mut intervals = Vec::with_capacity(count);
    for _ in 0..count {
        intervals.push(interval);
        interval = (interval + interval / 2).min(max);
    }
    intervals
}

#[tokio::test]
async fn wait_follows_a_backup_from_scheduled_through_running_to_done() {
    let (sandbox, client, _) = start(done_at_once()).await;
    let created = client.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);
    // Two polls see it scheduled, two running, then it is done as the sandbox has it.
    for status in ["scheduled", "running"] {
        sandbox
            .faults()
            .inject(FaultRule::new(GET, 2, with_status(&created, status)));
    }
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
    assert_eq!(
        sandbox.counters().get(GET),
        5,
        "polled until the backup was done, and no more"
    );
    let slept: Duration = intervals(20, Some(100), 4).into_iter().sum();
    assert!(
        waited >= slept,
        "the wait did not sleep between its polls: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "{waited:?}");
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

/// When `wait` polled, told by its callback: the backup's status changes at every poll (as no
/// real backup's does), `changes` times, then the backup is done.
async fn poll_times(initial_ms: u64, max_ms: u64, changes: usize) -> Vec<Instant> {
    let (sandbox, client, _) = start(done_at_once()).await;
    let created = client.backups().create().await.expect("create");
    for change in 0..changes {
        let status = if change % 2 == 0 {
            "scheduled"
        } else {
            "running"
        };
        sandbox
            .faults()
            .inject(FaultRule::new(GET, 1, with_status(&created, status)));
    }
    sandbox.counters().reset();
    let mut polled = Vec::new();
    let done = client
        .backups()
        .wait(
            &created.id,
            options(initial_ms, max_ms, Some(30_000)),
            |_| polled.push(Instant::now()),
        )
        .await
        .expect("done after the changes");
    assert_eq!(done.status, BackupStatus::Done);
    assert_eq!(sandbox.counters().get(GET), changes as u64 + 1);
    assert_eq!(
        polled.len(),
        changes + 1,
        "every poll saw a new status, so every poll called back"
    );
    polled
}

/// The time between each poll and the next.
fn gaps(polled: &[Instant]) -> Vec<Duration> {
    polled.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

/// Fails unless every gap between two polls lasted at least the interval `wait` had to sleep
/// there (a gap is that sleep plus one answer's time, however loaded the machine).
fn assert_slept_at_least(gaps: &[Duration], intervals: &[Duration]) {
    assert_eq!(gaps.len(), intervals.len());
    for (index, (gap, interval)) in gaps.iter().zip(intervals).enumerate() {
        assert!(
            gap >= interval,
            "poll {} came {gap:?} after the previous one, before the {interval:?} interval: {gaps:?}",
            index + 1
        );
    }
}

#[tokio::test]
async fn the_polling_interval_grows() {
    // Growing by half from 50 ms up to 200 ms: 50, 75, 112, 168, 200, 200 and 200 ms between
    // the eight polls, about 1 s in all. A fixed 50 ms interval would poll 21 times in that time.
    let gaps = gaps(&poll_times(50, 200, 7).await);
    let expected = intervals(50, Some(200), 7);
    assert_slept_at_least(&gaps, &expected);
    // And no more than that, but for the answers' time.
    let waited: Duration = gaps.iter().sum();
    let slept: Duration = expected.iter().sum();
    assert!(
        waited < slept + Duration::from_secs(1),
        "{waited:?} between the first and last polls: {gaps:?}"
    );
}

#[tokio::test]
async fn the_polling_interval_stops_growing_at_its_maximum() {
    // Capped at 40 ms: 20, 30, then 40 ms between the twelve polls. Had it kept growing by half,
    // the last six gaps would add up to more than 3 s (152, 228, 342, 513, 769, 1153 ms); capped,
    // they add up to 240 ms and six answers' time.
    let gaps = gaps(&poll_times(20, 40, 11).await);
    assert_slept_at_least(&gaps, &intervals(20, Some(40), 11));
    let uncapped_late: Duration = intervals(20, None, 11)[5..].iter().sum();
    assert!(uncapped_late > Duration::from_secs(3), "{uncapped_late:?}");
    let late: Duration = gaps[5..].iter().sum();
    assert!(
        late < Duration::from_secs(1),
        "the last six gaps took {late:?}, as if the interval kept growing: {gaps:?}"
    );
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
    let (sandbox, client, _) = start(done_at_once()).await;
    let backups = client.backups().list().await.expect("list");
    assert_eq!(backups.len(), 1);
    let seeded = backups[0].clone();
    assert_eq!(seeded.status, BackupStatus::Done);
    assert_eq!(
        client.backups().latest_done().await.expect("latest_done"),
        Some(seeded.clone()),
        "the seeded periodic backup"
    );

    // While a new backup is scheduled, then running (the list is answered so), the newest done
    // backup is still the one before it; once it is done, it is the new one. Twice.
    let mut previous = seeded;
    for round in ["first", "second"] {
        let created = client.backups().create().await.expect("create");
        for status in ["scheduled", "running"] {
            let listed = listed_while(&client, &created.id, status).await;
            sandbox
                .faults()
                .inject(FaultRule::new("list_backups", 1, listed));
            let latest = client.backups().latest_done().await.expect("latest_done");
            assert_eq!(
                latest.map(|backup| backup.id),
                Some(previous.id.clone()),
                "{round} backup {status}"
            );
        }
        let done = client
            .backups()
            .wait(&created.id, options(20, 50, Some(5000)), |_| {})
            .await
            .expect("done");
        let latest = client
            .backups()
            .latest_done()
            .await
            .expect("latest_done")
            .expect("a done backup");
        assert_eq!(latest.id, created.id, "the {round} backup, once done");
        assert_eq!(latest, done);
        previous = done;
    }
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
