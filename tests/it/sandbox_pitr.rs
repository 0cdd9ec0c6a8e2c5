//! Point-in-time recovery and operations against the sandbox: the recovery window (from the
//! oldest done backup to now; PostgreSQL only), restores at either end accepted and a millisecond
//! outside refused, by the facade before sending and by the sandbox itself (422 on
//! `restore_time`); one operation at a time (409); an operation's `pending` → `running` →
//! `finished` as the clock moves, the database `restoring` meanwhile; `operations().wait(id)`
//! polling on the shared clock; an unknown operation; operations kept in the state.
//!
//! The sandbox runs on a manual clock the tests move (or the client's waits move), with no sleep.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use scalingo_db::{
    Database, DatabaseStatus, Error, Operation, OperationId, OperationStatus, OperationType,
    RecoveryWindow, WaitOptions,
};
use scalingo_db_sandbox::{
    DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, Sandbox, SandboxConfig, SandboxState,
};
use serde_json::{Value, json};

use crate::support::{SharedClock, manual_clock, sandbox_builder_of, seeded_backup};

/// How long an operation stays `pending`, then `running`.
const PENDING: Duration = Duration::from_secs(1);
const RUNNING: Duration = Duration::from_secs(5);
const TICK: TimeDelta = TimeDelta::milliseconds(1);

const OUTSIDE: &str = "is outside the recovery window";
const ONLY_POSTGRESQL: &str = "point-in-time recovery is only available for PostgreSQL databases";
const BUSY: &str = "another operation is running on this database";

/// A sandbox on a manual clock whose backups take a second then two, and whose operations take
/// [`PENDING`] then [`RUNNING`].
fn config() -> SandboxConfig {
    SandboxConfig {
        clock: manual_clock(),
        backup_scheduled_for: Duration::from_secs(1),
        backup_running_for: Duration::from_secs(2),
        operation_pending_for: PENDING,
        operation_running_for: RUNNING,
        ..SandboxConfig::default()
    }
}

/// A sandbox started with `config`, and a client of its PostgreSQL database on its clock.
async fn start_with(config: SandboxConfig) -> (Sandbox, Database, SharedClock) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let shared = SharedClock::of(&sandbox);
    let db = client_of(&sandbox, &shared, DEFAULT_DATABASE);
    (sandbox, db, shared)
}

async fn start() -> (Sandbox, Database, SharedClock) {
    start_with(config()).await
}

fn client_of(sandbox: &Sandbox, shared: &SharedClock, database: &str) -> Database {
    sandbox_builder_of(sandbox, database)
        .clock(shared.clone())
        .build()
        .expect("valid client settings")
        .database(database)
}

/// Both ends of the window, which must have them.
async fn ends(db: &Database) -> (DateTime<Utc>, DateTime<Utc>) {
    let window = db.pitr().window().await.expect("the window");
    (
        window.earliest_recoverable_at.expect("an earliest end"),
        window.latest_recoverable_at.expect("a latest end"),
    )
}

fn seconds(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `POST /databases/{database}/pitr/restore` with `restore_time` as a non-facade client sends it,
/// with a database token the sandbox issued: the status and the JSON body.
async fn restore_directly(sandbox: &Sandbox, database: &str, restore_time: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/databases/{database}/pitr/restore",
            sandbox.database_api_url()
        ))
        .bearer_auth(sandbox.database_token(database))
        .json(&json!({ "restore_time": restore_time }))
        .send()
        .await
        .expect("the sandbox answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

fn assert_refused(outcome: Result<impl std::fmt::Debug, Error>, expected: (u16, &str)) {
    match outcome {
        Err(Error::Refused {
            status, message, ..
        }) => assert_eq!((status, message.as_deref()), (expected.0, Some(expected.1))),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn the_window_runs_from_the_oldest_done_backup_to_now_for_postgresql_only() {
    let (sandbox, db, shared) = start().await;
    let seeded = seeded_backup(&db).await.created_at;

    let window = db.pitr().window().await.expect("the window");
    assert_eq!(
        window,
        RecoveryWindow {
            earliest_recoverable_at: Some(seeded),
            latest_recoverable_at: Some(sandbox.clock().now()),
        }
    );
    assert_eq!(
        db.show().await.expect("shown").first_pitr_backup,
        Some(seeded),
        "the database names the window's start"
    );

    // A newer backup, done or not, moves nothing but the latest end, which is now.
    db.backups().create().await.expect("a manual backup");
    sandbox.clock().advance(Duration::from_secs(10));
    assert_eq!(ends(&db).await, (seeded, sandbox.clock().now()));

    // Other engines have no point-in-time recovery.
    let redis = client_of(&sandbox, &shared, DEFAULT_REDIS_DATABASE);
    assert_refused(redis.pitr().window().await, (400, ONLY_POSTGRESQL));
    assert_refused(redis.pitr().restore(seeded).await, (400, ONLY_POSTGRESQL));
    assert_eq!(redis.show().await.expect("shown").first_pitr_backup, None);
    let (status, body) = restore_directly(&sandbox, DEFAULT_REDIS_DATABASE, &seconds(seeded)).await;
    assert_eq!((status, body), (400, json!({ "error": ONLY_POSTGRESQL })));
}

#[tokio::test]
async fn before_any_backup_is_done_the_window_has_no_ends_and_every_restore_is_refused() {
    // The seeded backup, taken 20 hours before, is still scheduled.
    let (sandbox, db, _) = start_with(SandboxConfig {
        backup_scheduled_for: Duration::from_secs(21 * 3600),
        ..config()
    })
    .await;
    assert_eq!(
        db.pitr().window().await.expect("the window"),
        RecoveryWindow::default()
    );
    assert_eq!(db.show().await.expect("shown").first_pitr_backup, None);

    let now = sandbox.clock().now();
    match db.pitr().restore(now).await {
        Err(Error::OutsideRecoveryWindow {
            at,
            earliest,
            latest,
        }) => assert_eq!((at, earliest, latest), (now, None, None)),
        other => panic!("expected a time outside the window, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(OperationId::RestoreDatabase), 0);
    let (status, body) = restore_directly(&sandbox, DEFAULT_DATABASE, &seconds(now)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body,
        json!({"errors": {"restore_time": [
            format!("{OUTSIDE} (there is none yet: no backup is done)")
        ]}})
    );
}

#[tokio::test]
async fn restores_at_exactly_either_end_of_the_window_are_accepted() {
    let (sandbox, db, _) = start().await;
    let (earliest, _) = ends(&db).await;
    let operation = db
        .pitr()
        .restore(earliest)
        .await
        .expect("restore at the start");
    assert_eq!(operation.type_, Some(OperationType::PitrRestore));
    assert_eq!(operation.status, OperationStatus::Pending);
    assert_eq!(operation.created_at, Some(sandbox.clock().now()));
    assert_eq!(operation.finished_at, None);
    assert_eq!(operation.error, None);
    assert_eq!(operation.id.len(), 24, "{}", operation.id);

    sandbox.clock().advance(PENDING + RUNNING);
    let (_, latest) = ends(&db).await;
    assert_eq!(latest, sandbox.clock().now());
    let second = db.pitr().restore(latest).await.expect("restore at the end");
    assert_ne!(second.id, operation.id);
    assert_eq!(sandbox.counters().get(OperationId::RestoreDatabase), 2);
}

#[tokio::test]
async fn a_millisecond_outside_the_window_is_refused_by_the_facade_unsent_and_by_the_sandbox() {
    let (sandbox, db, _) = start().await;
    let (earliest, latest) = ends(&db).await;

    for at in [earliest - TICK, latest + TICK] {
        let error = db.pitr().restore(at).await.expect_err("outside the window");
        let shown = error.to_string();
        match error {
            Error::OutsideRecoveryWindow {
                at: asked,
                earliest: from,
                latest: until,
            } => assert_eq!((asked, from, until), (at, Some(earliest), Some(latest))),
            other => panic!("expected {at} to be outside the window, got {other:?}"),
        }
        assert!(
            shown.contains(&seconds(earliest)) && shown.contains(&seconds(latest)),
            "the message names the window: {shown}"
        );
    }
    assert_eq!(
        sandbox.counters().get(OperationId::RestoreDatabase),
        0,
        "no restore was sent"
    );

    // Asked directly, the sandbox itself refuses them, on the field.
    let expected = json!({"errors": {"restore_time": [
        format!("{OUTSIDE} ({} to {})", seconds(earliest), seconds(latest))
    ]}});
    for at in [earliest - TICK, latest + TICK] {
        let time = at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let (status, body) = restore_directly(&sandbox, DEFAULT_DATABASE, &time).await;
        assert_eq!((status, &body), (422, &expected), "{time}");
    }
    assert_eq!(sandbox.counters().get(OperationId::RestoreDatabase), 2);
    assert_eq!(
        db.show().await.expect("shown").status,
        Some(DatabaseStatus::Running),
        "no operation was started"
    );
}

#[tokio::test]
async fn a_restore_while_another_operation_runs_is_refused_with_409() {
    let (sandbox, db, _) = start().await;
    let (earliest, latest) = ends(&db).await;
    db.pitr()
        .restore(earliest)
        .await
        .expect("the first restore");

    sandbox
        .clock()
        .advance(PENDING + RUNNING - Duration::from_millis(1));
    assert_refused(db.pitr().restore(latest).await, (409, BUSY));
    let (status, body) = restore_directly(&sandbox, DEFAULT_DATABASE, &seconds(latest)).await;
    assert_eq!((status, body), (409, json!({ "error": BUSY })));

    // Once it has finished, another may start.
    sandbox.clock().advance(Duration::from_millis(1));
    db.pitr().restore(latest).await.expect("the next restore");
}

#[tokio::test]
async fn an_operation_goes_pending_running_finished_and_the_database_is_restoring_meanwhile() {
    let (sandbox, db, _) = start().await;
    let (earliest, _) = ends(&db).await;
    let created = db.pitr().restore(earliest).await.expect("restore");
    let started = sandbox.clock().now();
    assert_eq!(created.created_at, Some(started));

    let check = |expected: OperationStatus| {
        let db = &db;
        let id = created.id.clone();
        async move {
            let operation = db.operations().get(&id).await.expect("the operation");
            assert_eq!(operation.status, expected, "{operation:?}");
            let info = db.show().await.expect("shown");
            if expected == OperationStatus::Finished {
                assert_eq!(info.status, Some(DatabaseStatus::Running));
                assert_eq!(info.current_operation_id, None);
            } else {
                assert_eq!(info.status, Some(DatabaseStatus::Restoring));
                assert_eq!(info.current_operation_id.as_deref(), Some(id.as_str()));
            }
            operation
        }
    };
    let tick = Duration::from_millis(1);
    let pending = check(OperationStatus::Pending).await;
    assert_eq!(pending.finished_at, None);
    sandbox.clock().advance(PENDING - tick);
    check(OperationStatus::Pending).await;
    sandbox.clock().advance(tick);
    let running = check(OperationStatus::Running).await;
    assert_eq!(running.finished_at, None);
    sandbox.clock().advance(RUNNING - tick);
    check(OperationStatus::Running).await;
    sandbox.clock().advance(tick);
    let finished = check(OperationStatus::Finished).await;
    assert_eq!(
        finished.finished_at,
        Some(started + TimeDelta::from_std(PENDING + RUNNING).expect("a delta"))
    );
    assert_eq!(finished.error, None);
    assert_eq!(finished.created_at, Some(started));
    assert_eq!(finished.type_, Some(OperationType::PitrRestore));
}

#[tokio::test]
async fn waiting_for_an_operation_ends_finished_after_sleeps_that_follow_the_wait_intervals() {
    let (sandbox, db, shared) = start().await;
    let (earliest, _) = ends(&db).await;
    let created = db.pitr().restore(earliest).await.expect("restore");
    let started = sandbox.clock().now();

    let mut seen = Vec::new();
    let finished = db
        .operations()
        .wait(&created.id)
        .on_change(|operation: &Operation| seen.push(operation.status.clone()))
        .await
        .expect("the operation finishes");
    assert_eq!(finished.id, created.id);
    assert_eq!(finished.status, OperationStatus::Finished);
    assert_eq!(
        seen,
        [
            OperationStatus::Pending,
            OperationStatus::Running,
            OperationStatus::Finished
        ]
    );

    // The default intervals: 1 s growing by half each poll (up to 30 s), until a poll finds it
    // finished, PENDING + RUNNING after it started.
    let options = WaitOptions::default();
    let mut expected = Vec::new();
    let (mut interval, mut waited) = (options.initial_interval, Duration::ZERO);
    while waited < PENDING + RUNNING {
        expected.push(interval);
        waited += interval;
        interval = (interval + interval / 2).min(options.max_interval);
    }
    assert_eq!(shared.sleeps(), expected);
    assert_eq!(
        expected,
        [1000, 1500, 2250, 3375].map(Duration::from_millis),
        "the polls at 0, 1, 2.5, 4.75 and 8.125 s"
    );
    assert_eq!(
        sandbox.clock().now(),
        started + TimeDelta::from_std(waited).expect("a delta")
    );
}

#[tokio::test]
async fn an_unknown_operation_is_not_found() {
    let (_sandbox, db, _) = start().await;
    match db.operations().get("0123456789abcdef01234567").await {
        Err(Error::NotFound { resource, .. }) => assert_eq!(resource.as_deref(), Some("operation")),
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[tokio::test]
async fn operations_survive_a_save_and_load_of_the_state() {
    let (sandbox, db, _) = start().await;
    let (earliest, _) = ends(&db).await;
    let created = db.pitr().restore(earliest).await.expect("restore");
    sandbox.clock().advance(PENDING);
    let running = db
        .operations()
        .get(&created.id)
        .await
        .expect("the operation");
    assert_eq!(running.status, OperationStatus::Running);

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("state.json");
    sandbox.state().save(&path).expect("save");
    let now = sandbox.clock().now();
    drop(sandbox);
    let state = SandboxState::load(&path).expect("load").expect("a state");
    let (later, again, _) = start_with(SandboxConfig {
        state: Some(state),
        clock: scalingo_db_sandbox::Clock::manual(now),
        ..config()
    })
    .await;

    assert_eq!(
        again.operations().get(&created.id).await.expect("kept"),
        running
    );
    assert_eq!(
        again.show().await.expect("shown").current_operation_id,
        Some(created.id.clone())
    );
    assert_refused(again.pitr().restore(earliest).await, (409, BUSY));
    later.clock().advance(RUNNING);
    let finished = again.operations().get(&created.id).await.expect("kept");
    assert_eq!(finished.status, OperationStatus::Finished);
    assert_eq!(
        again.show().await.expect("shown").status,
        Some(DatabaseStatus::Running)
    );
}
