//! `scalingo-db pitr …` and `operations …` against the embedded sandbox: the recovery window, a
//! restore confirmed, started and followed to its end, and every way one is refused before
//! anything is sent (a time outside the window, in an unknown zone, no confirmation) or by the
//! service (another engine, another operation under way).

use insta::assert_snapshot;
use serde_json::Value;

use crate::support::{Workdir, id_of};

/// The sandbox's Redis database: no point-in-time recovery there.
const REDIS: &str = "ad-5a4b0d7e-sandbox-redis";

/// The operation the database shows as under way, if any.
fn current_operation(work: &Workdir) -> Value {
    work.json(["database", "show"])["current_operation_id"].clone()
}

#[test]
fn the_window_runs_from_the_oldest_backup_to_now() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work.run(["pitr", "window"]).expect(0);
    assert_snapshot!("pitr_window", run.stdout);

    let window = work.json(["pitr", "window"]);
    let time = |key: &str| {
        let text = window[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {window}"));
        chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339")
    };
    assert!(time("earliest_recoverable_at") < time("latest_recoverable_at"));
    let oldest = work
        .backups()
        .iter()
        .filter_map(|backup| backup["created_at"].as_str())
        .filter_map(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .min()
        .expect("a backup");
    assert_eq!(time("earliest_recoverable_at"), oldest, "{window}");
}

#[test]
fn a_confirmed_restore_is_followed_to_its_end() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work
        .run(["pitr", "restore", "--at", "-1h", "--yes", "--wait"])
        .expect(0);
    assert_snapshot!("pitr_restore_wait", run.stdout);
    assert_eq!(current_operation(&work), Value::Null, "the restore ended");

    let operation = work.json(["pitr", "restore", "--at", "-30m", "--yes", "--wait"]);
    assert_eq!(operation["type"], "pitr_restore", "{operation}");
    assert_eq!(operation["status"], "finished", "{operation}");
    assert!(operation["finished_at"].is_string(), "{operation}");
}

#[test]
fn a_restore_started_without_wait_is_an_operation_to_follow() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let started = work.json(["pitr", "restore", "--at", "-2h", "--yes"]);
    assert_eq!(started["status"], "pending", "{started}");
    let id = id_of(&started);
    // Meanwhile the database shows it, and its status says it is being restored.
    let database = work.json(["database", "show"]);
    assert_eq!(database["current_operation_id"], id.as_str(), "{database}");
    assert_ne!(database["status"], "running", "{database}");

    // Another restore cannot start while this one runs: the service's refusal, as it words it.
    work.run(["pitr", "restore", "--at", "-1h", "--yes"])
        .fails(1, &["409"]);

    let shown = work.run(["operations", "show", &id]).expect(0);
    assert_snapshot!("operations_show", shown.stdout);
    assert_eq!(work.json(["operations", "show", &id])["id"], id.as_str());

    let waited = work.json(["operations", "wait", &id]);
    assert_eq!(waited["status"], "finished", "{waited}");
    let run = work.run(["operations", "wait", &id]).expect(0);
    assert!(run.stdout.contains("is finished"), "{}", run.stdout);
    assert_eq!(work.json(["database", "show"])["status"], "running");
}

#[test]
fn a_restore_is_refused_before_anything_is_sent_when_it_cannot_be_right() {
    let work = Workdir::new();
    // Outside the window: the window is named, and the question is not even asked.
    work.run(["pitr", "restore", "--at", "2000-01-01T00:00:00Z"])
        .fails(
            2,
            &[
                "2000-01-01T00:00:00Z is outside the recovery window",
                "nothing was sent",
            ],
        );
    work.run([
        "pitr",
        "restore",
        "--at",
        "2026-11-30 14:05 Mars/Base",
        "--yes",
    ])
    .fails(2, &["--at", "unknown time zone `Mars/Base`"]);
    work.run(["pitr", "restore", "--at", "yesterday", "--yes"])
        .fails(2, &["`yesterday` is not a time", "RFC 3339"]);
    // Without a terminal the question cannot be asked: the flag that answers it is named.
    work.run(["pitr", "restore", "--at", "-1h"])
        .fails(2, &["--yes"]);
    assert_eq!(
        current_operation(&work),
        Value::Null,
        "nothing was restored"
    );
}

#[test]
fn another_engine_has_no_point_in_time_recovery() {
    let work = Workdir::new();
    work.run(["--addon", REDIS, "pitr", "window"])
        .fails(1, &["400", "PostgreSQL"]);
    work.run(["--addon", REDIS, "pitr", "restore", "--at", "-1h", "--yes"])
        .fails(1, &["400", "PostgreSQL"]);
}

#[test]
fn an_unknown_operation_is_not_found() {
    let work = Workdir::new();
    work.run(["operations", "show", "5c10e85ca506b701f42f92dc"])
        .fails(4, &["not found"]);
}
