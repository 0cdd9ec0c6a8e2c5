//! The periodic backup schedule against the sandbox: `db.backups().schedule()`, `schedule_at(h)`
//! and `disable_schedule()`, and the periodic backups the sandbox makes at the scheduled UTC hour
//! of its clock (created at that hour, then scheduled → running → done), one a day, seven kept at
//! most, none while the schedule is off; an hour of 24 refused by the facade before anything is
//! sent, and by the sandbox (422) when the facade does not check; the schedule kept in the state.
//!
//! The sandbox runs on a manual clock (from 2026-03-01 12:00 UTC) that the tests move by days,
//! with no sleep.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use scalingo_db::{
    Backup, BackupMethod, BackupStatus, Database, Error, OperationId, Schedule, Validation,
};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Sandbox, SandboxConfig, SandboxState};

use crate::support::{SharedClock, manual_clock, sandbox_builder};

/// How long a backup stays `scheduled`, then `running`.
const SCHEDULED: Duration = Duration::from_secs(1);
const RUNNING: Duration = Duration::from_secs(2);
const DAY: Duration = Duration::from_secs(86_400);
const TICK: Duration = Duration::from_millis(1);

/// A sandbox on a manual clock whose backups take [`SCHEDULED`] then [`RUNNING`], and whose
/// database tokens outlive the days the tests skip.
fn config() -> SandboxConfig {
    SandboxConfig {
        clock: manual_clock(),
        backup_scheduled_for: SCHEDULED,
        backup_running_for: RUNNING,
        database_token_lifetime: 60 * DAY,
        archive_size: 4096,
        ..SandboxConfig::default()
    }
}

async fn start_with(config: SandboxConfig) -> (Sandbox, Database) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let db = client(&sandbox, Validation::Enforce);
    (sandbox, db)
}

async fn start() -> (Sandbox, Database) {
    start_with(config()).await
}

/// A client of the default database reading the sandbox's clock.
fn client(sandbox: &Sandbox, validation: Validation) -> Database {
    sandbox_builder(sandbox)
        .clock(SharedClock::of(sandbox))
        .validation(validation)
        .build()
        .expect("valid client settings")
        .database(DEFAULT_DATABASE)
}

/// `2026-03-<day>T<time>Z`.
fn march(day: u32, time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-03-{day:02}T{time}Z"))
        .expect("a date")
        .to_utc()
}

/// Moves the sandbox's clock to `to` (which must be ahead).
fn advance_to(sandbox: &Sandbox, to: DateTime<Utc>) {
    let by = (to - sandbox.clock().now()).to_std().expect("a time ahead");
    sandbox.clock().advance(by);
}

/// The periodic backups, oldest first.
async fn periodic(db: &Database) -> Vec<Backup> {
    let mut backups: Vec<Backup> = db
        .backups()
        .list()
        .await
        .expect("list")
        .into_iter()
        .filter(|backup| backup.method == Some(BackupMethod::Periodic))
        .collect();
    backups.reverse();
    backups
}

/// The creation times of the periodic backups, oldest first.
async fn periodic_times(db: &Database) -> Vec<DateTime<Utc>> {
    periodic(db)
        .await
        .iter()
        .map(|backup| backup.created_at)
        .collect()
}

/// The time the sandbox seeded its periodic backup at: 20 hours before its clock started.
fn seeded() -> DateTime<Utc> {
    march(1, "12:00:00") - TimeDelta::hours(20)
}

#[tokio::test]
async fn the_periodic_backup_appears_at_the_scheduled_hour_and_goes_through_its_lifecycle() {
    let (sandbox, db) = start().await;
    assert_eq!(
        db.backups().schedule().await.expect("schedule"),
        Schedule {
            enabled: true,
            hours_utc: vec![0]
        },
        "seeded: every day at midnight UTC"
    );
    let resource = db
        .show()
        .await
        .expect("shown")
        .resource_id
        .expect("a resource id");

    // A millisecond before midnight, nothing yet; at midnight, the backup of that instant.
    advance_to(&sandbox, march(2, "00:00:00") - TimeDelta::milliseconds(1));
    assert_eq!(periodic_times(&db).await, [seeded()]);
    sandbox.clock().advance(TICK);
    let made = periodic(&db).await.pop().expect("a periodic backup");
    assert_eq!(made.created_at, march(2, "00:00:00"), "created at the hour");
    assert_eq!(made.name, format!("20260302000000_{resource}"));
    assert_eq!(made.status, BackupStatus::Scheduled);

    // Under way, it refuses a manual backup as any backup does.
    match db.backups().create().await {
        Err(Error::Refused {
            status, message, ..
        }) => assert_eq!(
            (status, message.as_deref()),
            (400, Some("A backup is running"))
        ),
        other => panic!("expected `A backup is running`, got {other:?}"),
    }
    sandbox.clock().advance(SCHEDULED);
    let running = db.backups().get(&made.id).await.expect("get");
    assert_eq!(running.status, BackupStatus::Running);
    assert_eq!(running.started_at, Some(march(2, "00:00:01")));
    sandbox.clock().advance(RUNNING - TICK);
    let still = db.backups().get(&made.id).await.expect("get");
    assert_eq!(still.status, BackupStatus::Running);
    sandbox.clock().advance(TICK);
    let done = db.backups().get(&made.id).await.expect("get");
    assert_eq!(done.status, BackupStatus::Done);
    assert!(done.size.is_some_and(|size| size > 0), "{done:?}");

    // A whole day later, exactly one more, at the next midnight.
    sandbox.clock().advance(DAY);
    assert_eq!(
        periodic_times(&db).await,
        [seeded(), march(2, "00:00:00"), march(3, "00:00:00")]
    );
}

#[tokio::test]
async fn schedule_at_moves_the_next_backup_to_that_hour_and_schedule_reads_it_back() {
    let (sandbox, db) = start().await;
    let set = db.backups().schedule_at(5).await.expect("set the hour");
    let expected = Schedule {
        enabled: true,
        hours_utc: vec![5],
    };
    assert_eq!(set, expected, "the answer is the schedule as it now is");
    assert_eq!(db.backups().schedule().await.expect("schedule"), expected);
    assert_eq!(
        db.show()
            .await
            .expect("shown")
            .periodic_backups_scheduled_at,
        [5]
    );

    // Midnight no longer makes one; 05:00 does, to the millisecond.
    advance_to(&sandbox, march(2, "05:00:00") - TimeDelta::milliseconds(1));
    assert_eq!(periodic_times(&db).await, [seeded()]);
    sandbox.clock().advance(TICK);
    assert_eq!(periodic_times(&db).await, [seeded(), march(2, "05:00:00")]);
}

#[tokio::test]
async fn each_day_adds_one_periodic_backup_and_at_most_seven_are_kept_besides_manual_ones() {
    let (sandbox, db) = start().await;
    let manual = db.backups().create().await.expect("a manual backup");
    sandbox.clock().advance(SCHEDULED + RUNNING);

    for day in 1..=3 {
        sandbox.clock().advance(DAY);
        let times = periodic_times(&db).await;
        let midnights: Vec<_> = (2..=day + 1).map(|d| march(d, "00:00:00")).collect();
        assert_eq!(times[1..], midnights, "day {day}");
        assert_eq!(times[0], seeded(), "day {day}");
    }

    // Ten days at once: the last seven midnights are kept, the older ones (the seeded one too) go,
    // the manual backup stays.
    sandbox.clock().advance(10 * DAY);
    let times = periodic_times(&db).await;
    let last_seven: Vec<_> = (8..=14).map(|d| march(d, "00:00:00")).collect();
    assert_eq!(times, last_seven);
    let all = db.backups().list().await.expect("list");
    assert_eq!(all.len(), 8);
    assert_eq!(all.last().map(|backup| &backup.id), Some(&manual.id));
    assert!(
        all.iter().all(|backup| backup.status == BackupStatus::Done),
        "{all:?}"
    );
}

#[tokio::test]
async fn disable_schedule_stops_the_backups_and_turning_them_back_on_makes_none_for_the_time_off() {
    let (sandbox, db) = start().await;
    let disabled = db.backups().disable_schedule().await.expect("disable");
    let expected = Schedule {
        enabled: false,
        hours_utc: vec![0],
    };
    assert_eq!(disabled, expected, "off, the hour kept");
    assert_eq!(db.backups().schedule().await.expect("schedule"), expected);
    assert_eq!(
        db.show().await.expect("shown").periodic_backups_enabled,
        Some(false)
    );

    sandbox.clock().advance(3 * DAY);
    assert_eq!(periodic_times(&db).await, [seeded()], "none while off");

    let enabled = db.backups().schedule_at(0).await.expect("enable");
    assert!(enabled.enabled);
    assert_eq!(
        periodic_times(&db).await,
        [seeded()],
        "none for the days it was off"
    );
    sandbox.clock().advance(DAY);
    assert_eq!(periodic_times(&db).await, [seeded(), march(5, "00:00:00")]);
}

#[tokio::test]
async fn an_hour_of_24_is_refused_by_the_facade_before_sending_and_by_the_sandbox_with_422() {
    let (sandbox, db) = start().await;
    let sent_before = sandbox.counters().total();
    match db.backups().schedule_at(24).await {
        Err(Error::Validation(error)) => {
            assert_eq!(error.field(), "periodic_backups_scheduled_at");
            assert_eq!(error.rule(), "an hour of the day in UTC, from 0 to 23");
            let shown = error.to_string();
            assert!(
                shown.contains("periodic_backups_scheduled_at") && shown.contains("0 to 23"),
                "{shown}"
            );
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(sandbox.counters().total(), sent_before, "nothing was sent");
    assert_eq!(sandbox.counters().get(OperationId::UpdateDatabase), 0);

    // Unchecked by the facade, the sandbox refuses it on the field, and changes nothing.
    let unchecked = client(&sandbox, Validation::Skip);
    match unchecked.backups().schedule_at(24).await {
        Err(Error::Unprocessable { errors, .. }) => {
            let messages = errors
                .get("periodic_backups_scheduled_at")
                .unwrap_or_else(|| panic!("the field is named: {errors:?}"));
            assert!(
                messages
                    .iter()
                    .any(|message| message.contains("from 0 to 23")),
                "{messages:?}"
            );
        }
        other => panic!("expected a 422, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(OperationId::UpdateDatabase), 1);
    assert_eq!(
        db.backups().schedule().await.expect("schedule").hours_utc,
        [0]
    );
}

#[tokio::test]
async fn the_schedule_and_the_backups_made_so_far_survive_a_save_and_load_of_the_state() {
    let (sandbox, db) = start().await;
    db.backups().schedule_at(7).await.expect("set the hour");
    advance_to(&sandbox, march(2, "08:00:00"));
    let before = db.backups().list().await.expect("list");
    assert_eq!(periodic_times(&db).await, [seeded(), march(2, "07:00:00")]);

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("state.json");
    sandbox.state().save(&path).expect("save");
    let now = sandbox.clock().now();
    drop(sandbox);
    let state = SandboxState::load(&path).expect("load").expect("a state");
    let (later, again) = start_with(SandboxConfig {
        state: Some(state),
        clock: scalingo_db_sandbox::Clock::manual(now),
        ..config()
    })
    .await;

    assert_eq!(
        again.backups().schedule().await.expect("schedule"),
        Schedule {
            enabled: true,
            hours_utc: vec![7]
        }
    );
    assert_eq!(
        again.backups().list().await.expect("list"),
        before,
        "the 07:00 backup is not made twice"
    );
    later.clock().advance(DAY);
    assert_eq!(
        periodic_times(&again).await,
        [seeded(), march(2, "07:00:00"), march(3, "07:00:00")]
    );
}
