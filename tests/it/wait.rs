//! `Backups::wait` and `Backups::latest_done` against the in-process sandbox: a backup followed
//! from scheduled through running to done, with one callback per status; `error` and `cancelled`
//! ending in `Error::BackupFailed`; a timeout that names the backup and its status; a polling
//! interval that grows by half, stops growing at its maximum and is shortened to end at the
//! timeout; polls retried or not like any call; and the most recent done backup, whatever is
//! still running.
//!
//! Time is virtual: the sandbox runs on a manual clock and the client sleeps on the same clock
//! ([`SharedClock`]), so a wait of two hours takes none, and the tests assert the exact intervals
//! the client slept and the exact time it gave up. Statuses the sandbox never gives (`error`,
//! `cancelled`, a status flipping at every poll) are forced with injected faults.

use std::time::Duration;

use crate::support::{FAST_RETRIES, SharedClock, assert_no_token, manual_clock, sandbox_builder};
use scalingo_db::{Backup, BackupStatus, Database, Error, OperationId, WaitOptions};
use scalingo_db_sandbox::{Clock, DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use serde_json::json;

/// The sandbox operation `wait` polls.
const GET: OperationId = OperationId::GetBackupById;

/// A sandbox started with `config` on a manual clock; a client of [`DEFAULT_DATABASE`] with
/// quick retries, sleeping on that clock; the shared clock, which records the client's sleeps;
/// and the client's database token.
async fn start(config: SandboxConfig) -> (Sandbox, Database, SharedClock, String) {
    let sandbox = Sandbox::start(SandboxConfig {
        clock: manual_clock(),
        ..config
    })
    .await
    .expect("sandbox starts");
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let shared = SharedClock::of(&sandbox);
    let db = sandbox_builder(&sandbox)
        .database_token(DEFAULT_DATABASE, token.clone())
        .retry(FAST_RETRIES)
        .clock(shared.clone())
        .build()
        .expect("valid client settings")
        .database(DEFAULT_DATABASE);
    (sandbox, db, shared, token)
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

/// Backups that stay scheduled for longer than any test waits (10 h: the seeded periodic backup,
/// taken 20 h before the sandbox started, is done).
fn never_done() -> SandboxConfig {
    timed(Duration::from_secs(10 * 3600), Duration::ZERO)
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

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

/// How far `clock` is from the instant `since`.
fn elapsed(clock: &Clock, since: chrono::DateTime<chrono::Utc>) -> Duration {
    (clock.now() - since)
        .to_std()
        .expect("the clock never goes back")
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

#[tokio::test]
async fn wait_follows_a_backup_from_scheduled_through_running_to_done() {
    // Scheduled for 2 s, then running for 4 s, as the sandbox's clock says; the wait's own sleeps
    // are all that move it.
    let (sandbox, db, shared, _) =
        start(timed(Duration::from_secs(2), Duration::from_secs(4))).await;
    let created = db.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);
    sandbox.counters().reset();

    let clock = sandbox.clock().clone();
    let mut seen = Vec::new();
    let done = db
        .backups()
        .wait(&created.id)
        .options(options(1000, 4000, Some(60_000)))
        .on_change(|backup| {
            seen.push((
                backup.id.clone(),
                backup.status.clone(),
                elapsed(&clock, created.created_at),
            ));
        })
        .await
        .expect("the backup ends done");

    assert_eq!(done.id, created.id);
    assert_eq!(done.status, BackupStatus::Done);
    assert!(done.size.is_some_and(|size| size > 0), "{done:?}");
    assert_eq!(
        done.started_at,
        Some(created.created_at + chrono::TimeDelta::seconds(2))
    );
    // Polls at 0, 1, 2.5, 4.75 and 8.125 s: scheduled, scheduled, running, running, done. Each
    // status is told once, at the first poll that saw it.
    let told: Vec<(BackupStatus, Duration)> = seen
        .into_iter()
        .map(|(id, status, at)| {
            assert_eq!(id, created.id);
            (status, at)
        })
        .collect();
    assert_eq!(
        told,
        vec![
            (BackupStatus::Scheduled, Duration::ZERO),
            (BackupStatus::Running, ms(2500)),
            (BackupStatus::Done, ms(8125)),
        ],
        "each status once, in order, when first polled"
    );
    assert_eq!(
        sandbox.counters().get(GET),
        5,
        "polled until the backup was done, and no more"
    );
    assert_eq!(
        shared.sleeps(),
        vec![ms(1000), ms(1500), ms(2250), ms(3375)],
        "the interval grows by half after each poll"
    );
    assert_eq!(elapsed(sandbox.clock(), created.created_at), ms(8125));
}

#[tokio::test]
async fn a_backup_that_ends_in_error_or_cancelled_fails_the_wait() {
    for ending in ["error", "cancelled"] {
        let (sandbox, db, shared, token) = start(never_done()).await;
        let created = db.backups().create().await.expect("create");
        let shown = db.backups().get(&created.id).await.expect("get");
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
        let error = db
            .backups()
            .wait(&created.id)
            .options(options(10, 50, Some(5000)))
            .on_change(|backup| seen.push(backup.status.clone()))
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
        assert_eq!(shared.sleeps(), vec![ms(10)], "{ending}: one interval");
    }
}

#[tokio::test]
async fn a_backup_still_scheduled_at_the_timeout_ends_the_wait_exactly_then() {
    let (sandbox, db, shared, token) = start(never_done()).await;
    let created = db.backups().create().await.expect("create");
    sandbox.counters().reset();

    let mut seen = Vec::new();
    let error = db
        .backups()
        .wait(&created.id)
        .options(options(20, 100, Some(300)))
        .on_change(|backup| seen.push(backup.status.clone()))
        .await
        .expect_err("the backup is not done in time");

    // 20, 30, 45, 67.5, then 100 (capped) ms: 262.5 ms; the last interval is cut to the 37.5 ms
    // left, so that the last poll comes at the timeout, not after it.
    assert_eq!(
        shared.sleeps(),
        vec![ms(20), ms(30), ms(45), us(67_500), ms(100), us(37_500)]
    );
    assert_eq!(elapsed(sandbox.clock(), created.created_at), ms(300));
    assert_eq!(sandbox.counters().get(GET), 7, "a poll after each interval");
    assert_eq!(seen, vec![BackupStatus::Scheduled], "one status, told once");
    match &error {
        Error::WaitTimedOut { backup, waited } => {
            assert_eq!(backup.id, created.id);
            assert_eq!(backup.status, BackupStatus::Scheduled);
            assert_eq!(*waited, ms(300), "given up at the timeout, not before");
        }
        other => panic!("expected WaitTimedOut, got {other:?}"),
    }
    // The wait lasted 300 ms: the message says so (and not "after 0 s").
    assert_eq!(
        error.to_string(),
        format!("backup {} was still scheduled after 0.3 s", created.id)
    );
    assert_no_token(&error, &token);
}

#[tokio::test]
async fn the_default_wait_polls_at_most_every_30_s_and_gives_up_after_two_hours() {
    // A database token that outlives the two hours (the default lasts one).
    let (sandbox, db, shared, _) = start(SandboxConfig {
        database_token_lifetime: Duration::from_secs(3 * 3600),
        ..never_done()
    })
    .await;
    let created = db.backups().create().await.expect("create");
    sandbox.counters().reset();

    let error = db
        .backups()
        .wait(&created.id)
        .await
        .expect_err("the backup is not done in two hours");

    const TWO_HOURS: Duration = Duration::from_secs(2 * 3600);
    match &error {
        Error::WaitTimedOut { backup, waited } => {
            assert_eq!(backup.status, BackupStatus::Scheduled);
            assert_eq!(*waited, TWO_HOURS);
        }
        other => panic!("expected WaitTimedOut, got {other:?}"),
    }
    assert_eq!(elapsed(sandbox.clock(), created.created_at), TWO_HOURS);
    let sleeps = shared.sleeps();
    // 1 s growing by half up to 30 s (the next, 1.5^9 s, would be 38.4 s): 74.89 s in nine
    // intervals; then 237 intervals of 30 s, and the last one cut to the 15.11 s left.
    let growing: Vec<Duration> = [
        1_000_000_000,
        1_500_000_000,
        2_250_000_000,
        3_375_000_000,
        5_062_500_000,
        7_593_750_000,
        11_390_625_000,
        17_085_937_500,
        25_628_906_250,
    ]
    .into_iter()
    .map(Duration::from_nanos)
    .collect();
    assert_eq!(sleeps.len(), 9 + 237 + 1, "{sleeps:?}");
    assert_eq!(sleeps[..9], growing, "{sleeps:?}");
    assert!(
        sleeps[9..sleeps.len() - 1]
            .iter()
            .all(|slept| *slept == Duration::from_secs(30)),
        "{sleeps:?}"
    );
    assert_eq!(sleeps.last(), Some(&Duration::from_nanos(15_113_281_250)));
    assert_eq!(sleeps.iter().sum::<Duration>(), TWO_HOURS);
    assert_eq!(sandbox.counters().get(GET), sleeps.len() as u64 + 1);
    assert_eq!(
        error.to_string(),
        format!("backup {} was still scheduled after 7200 s", created.id)
    );
}

/// The intervals `wait` slept while the backup's status changed at every poll (as no real
/// backup's does), `changes` times before it was done, checked against the virtual times at which
/// its callback was told of each change.
async fn poll_intervals(initial_ms: u64, max_ms: u64, changes: usize) -> Vec<Duration> {
    let (sandbox, db, shared, _) = start(done_at_once()).await;
    let created = db.backups().create().await.expect("create");
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
    let clock = sandbox.clock().clone();
    let mut polled = Vec::new();
    let done = db
        .backups()
        .wait(&created.id)
        .options(options(initial_ms, max_ms, Some(30_000)))
        .on_change(|_| polled.push(clock.now()))
        .await
        .expect("done after the changes");
    assert_eq!(done.status, BackupStatus::Done);
    assert_eq!(sandbox.counters().get(GET), changes as u64 + 1);
    assert_eq!(
        polled.len(),
        changes + 1,
        "every poll saw a new status, so every poll called back"
    );
    let gaps: Vec<Duration> = polled
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).to_std().expect("forward"))
        .collect();
    let sleeps = shared.sleeps();
    assert_eq!(gaps, sleeps, "each poll came right after its interval");
    sleeps
}

#[tokio::test]
async fn the_polling_interval_grows_by_half_after_each_poll() {
    // Growing by half from 50 ms up to 200 ms. A fixed 50 ms interval would poll 21 times in the
    // same second.
    assert_eq!(
        poll_intervals(50, 200, 7).await,
        vec![
            ms(50),
            ms(75),
            us(112_500),
            us(168_750),
            ms(200),
            ms(200),
            ms(200)
        ]
    );
}

#[tokio::test]
async fn the_polling_interval_stops_growing_at_its_maximum() {
    // Capped at 40 ms: had it kept growing by half, the last six intervals would add up to more
    // than 3 s (152, 228, 342, 513, 769, 1153 ms).
    let mut capped = vec![ms(20), ms(30)];
    capped.extend([ms(40); 9]);
    assert_eq!(poll_intervals(20, 40, 11).await, capped);
}

#[tokio::test]
async fn a_poll_that_fails_transiently_is_retried_and_a_refusal_ends_the_wait() {
    // Scheduled for 110 ms: done at the fifth poll, 145 ms (plus the retry's backoff) in.
    let (sandbox, db, shared, token) = start(timed(ms(110), Duration::ZERO)).await;
    let created = db.backups().create().await.expect("create");
    sandbox.counters().reset();
    sandbox
        .faults()
        .inject(FaultRule::new(GET, 1, Fault::json_error(503, "busy")));
    let done = db
        .backups()
        .wait(&created.id)
        .options(options(20, 50, Some(5000)))
        .await
        .expect("a 503 is retried within the poll");
    assert_eq!(done.status, BackupStatus::Done);
    assert_eq!(
        sandbox.counters().get(GET),
        6,
        "the 503, its retry, 4 polls"
    );
    let sleeps = shared.sleeps();
    assert_eq!(sleeps.len(), 5, "{sleeps:?}");
    assert!(
        sleeps[0] <= FAST_RETRIES.initial_backoff,
        "the retry's backoff: {sleeps:?}"
    );
    assert_eq!(
        sleeps[1..],
        [ms(20), ms(30), ms(45), ms(50)],
        "the retry is within the poll: the intervals are not disturbed"
    );

    sandbox.faults().inject(FaultRule::new(
        GET,
        1,
        Fault::json_error(401, "token expired"),
    ));
    sandbox.counters().reset();
    let error = db
        .backups()
        .wait(&created.id)
        .options(options(20, 50, Some(5000)))
        .await
        .expect_err("a 401 ends the wait");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(
        sandbox.counters().get(GET),
        1,
        "not retried, not polled again"
    );
    assert_eq!(shared.sleeps().len(), 5, "no sleep after the refusal");
    assert_no_token(&error, &token);

    sandbox.counters().reset();
    let error = db
        .backups()
        .wait("000000000000000000000000")
        .options(options(20, 50, Some(5000)))
        .await
        .expect_err("an unknown backup ends the wait");
    match &error {
        Error::NotFound { resource, .. } => {
            assert_eq!(resource.as_deref(), Some("database_backup"));
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(GET), 1);
    assert_eq!(shared.sleeps().len(), 5);
}

#[tokio::test]
async fn latest_done_is_the_newest_done_backup_whatever_is_still_running() {
    const SCHEDULED: Duration = Duration::from_secs(1);
    let (sandbox, db, _, _) = start(timed(SCHEDULED, Duration::from_secs(2))).await;
    let backups = db.backups().list().await.expect("list");
    assert_eq!(backups.len(), 1);
    let seeded = backups[0].clone();
    assert_eq!(seeded.status, BackupStatus::Done);
    assert_eq!(
        db.backups().latest_done().await.expect("latest_done"),
        Some(seeded.clone()),
        "the seeded periodic backup"
    );

    // While a new backup is scheduled, then running, the newest done backup is still the one
    // before it; once it is done, it is the new one. Twice.
    let mut previous = seeded;
    for round in ["first", "second"] {
        let created = db.backups().create().await.expect("create");
        for (status, advance) in [
            (BackupStatus::Scheduled, Duration::ZERO),
            (BackupStatus::Running, SCHEDULED),
        ] {
            sandbox.clock().advance(advance);
            let shown = db.backups().get(&created.id).await.expect("get");
            assert_eq!(shown.status, status, "{round} backup");
            let latest = db.backups().latest_done().await.expect("latest_done");
            assert_eq!(
                latest.map(|backup| backup.id),
                Some(previous.id.clone()),
                "{round} backup {status}"
            );
        }
        let done = db
            .backups()
            .wait(&created.id)
            .options(options(500, 1000, Some(5000)))
            .await
            .expect("done");
        let latest = db
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
    let (sandbox, db, _, _) = start(never_done()).await;
    let created = db.backups().create().await.expect("create");
    let shown = db.backups().get(&created.id).await.expect("get");
    let mut failed = serde_json::to_value(&shown).expect("serialise");
    failed["status"] = json!("error");
    let mut running = serde_json::to_value(&shown).expect("serialise");
    running["status"] = json!("running");
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        1,
        Fault::Status {
            status: 200,
            body: json!({ "database_backups": [running, failed] }).to_string(),
            content_type: Some("application/json".to_owned()),
            headers: vec![],
        },
    ));
    assert_eq!(db.backups().latest_done().await.expect("latest_done"), None);
    // Without the fault, the seeded backup is done.
    assert!(
        db.backups()
            .latest_done()
            .await
            .expect("latest_done")
            .is_some()
    );
}
