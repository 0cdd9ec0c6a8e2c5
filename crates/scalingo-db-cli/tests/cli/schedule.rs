//! `scalingo-db backups schedule`: the daily backup's hour read back in UTC and local time, moved
//! with `--at` in every form people type (the local zone, `UTC`, a named zone), refused with the
//! field and the rule when it is not an hour, and stopped with `--disable` only once confirmed.

use insta::assert_snapshot;
use serde_json::{Value, json};

use crate::support::{Runs as _, Workdir};

/// The hours of `backups schedule --json`.
fn hours(work: &Workdir) -> Value {
    work.json(["backups", "schedule"])["periodic_backups_scheduled_at"].clone()
}

#[test]
fn the_schedule_reads_in_utc_and_local_time_and_json_names_the_apis_fields() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work.run(["backups", "schedule"]).expect(0);
    assert_snapshot!("backups_schedule", run.stdout);

    let schedule = work.json(["backups", "schedule"]);
    assert_eq!(schedule["periodic_backups_enabled"], true, "{schedule}");
    let database = work.json(["database", "show"]);
    assert_eq!(
        schedule["periodic_backups_scheduled_at"], database["periodic_backups_scheduled_at"],
        "the schedule is the database's"
    );

    // Read in another zone, the same UTC hour shows its local time there.
    let run = work
        .sandbox(["backups", "schedule"])
        .env("TZ", "Asia/Tokyo")
        .run()
        .expect(0);
    assert!(run.stdout.contains("local, +09:00)"), "{}", run.stdout);
}

#[test]
fn an_hour_in_utc_keeps_every_digit() {
    // The official CLI strips every `0` of "10 UTC" and schedules hour 1 (Scalingo/cli#1106).
    let work = Workdir::new();
    for (typed, utc) in [("10 UTC", 10), ("0 UTC", 0), ("20:00 UTC", 20)] {
        let schedule = work.json(["backups", "schedule", "--at", typed]);
        assert_eq!(
            schedule["periodic_backups_scheduled_at"],
            json!([utc]),
            "{typed}"
        );
        assert_eq!(hours(&work), json!([utc]), "{typed}: kept");
    }
    let run = work
        .run(["backups", "schedule", "--at", "10 UTC"])
        .expect(0);
    assert!(
        run.stdout.contains("is backed up daily at 10:00 UTC"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_hour_without_a_zone_is_local_and_a_named_zone_is_that_zones() {
    let work = Workdir::new();
    let at_tokyo = |args: &[&str]| {
        let mut command = work.sandbox(["--json", "backups", "schedule"]);
        command.args(args).env("TZ", "Asia/Tokyo");
        command.run().expect(0).json()["periodic_backups_scheduled_at"].clone()
    };
    // Tokyo has no summer time: 03:00 there is 18:00 UTC the day before, all year.
    assert_eq!(at_tokyo(&["--at", "3"]), json!([18]));
    assert_eq!(at_tokyo(&["--at", "04:00"]), json!([19]));
    assert_eq!(at_tokyo(&["--at", "03:00 UTC"]), json!([3]));
    assert_eq!(
        work.json(["backups", "schedule", "--at", "05:00 Asia/Tokyo"])["periodic_backups_scheduled_at"],
        json!([20])
    );
    // A typed zone other than UTC is said to be converted.
    let run = work
        .run(["backups", "schedule", "--at", "05:00 Asia/Tokyo"])
        .expect(0);
    run.stderr_has(&["is 20:00 UTC today"]);
}

#[test]
fn what_is_not_an_hour_is_refused_before_anything_changes() {
    let work = Workdir::new();
    let before = hours(&work);
    // The contract's rule, by its field's name, before the request is sent.
    work.run(["backups", "schedule", "--at", "24"]).fails(
        2,
        &[
            "nothing was sent",
            "periodic_backups_scheduled_at is 24, above the maximum",
            "from 0 to 23",
        ],
    );
    work.run(["backups", "schedule", "--at", "3 Mars/Base"])
        .fails(2, &["--at", "unknown time zone `Mars/Base`"]);
    work.run(["backups", "schedule", "--at", "03:30 UTC"])
        .fails(2, &["on the hour"]);
    work.run(["backups", "schedule", "--at", "03:00 Asia/Kolkata"])
        .fails(2, &["21:30 UTC today", "on the hour"]);
    work.run(["backups", "schedule", "--at", "soon"])
        .fails(2, &["`soon`", "an hour of the day"]);
    work.run(["backups", "schedule", "--at", "3", "--disable"])
        .fails(2, &["--at", "--disable", "cannot be used with"]);
    assert_eq!(hours(&work), before);
}

#[test]
fn disabling_is_confirmed_first_and_at_enables_again() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    // Without a terminal the question cannot be asked: the flag that answers it is named.
    work.run(["backups", "schedule", "--disable"])
        .fails(2, &["--yes"]);
    assert_eq!(
        work.json(["backups", "schedule"])["periodic_backups_enabled"],
        true
    );

    let run = work
        .run(["backups", "schedule", "--disable", "--yes"])
        .expect(0);
    assert_snapshot!("backups_schedule_disabled", run.stdout);
    let schedule = work.json(["backups", "schedule"]);
    assert_eq!(schedule["periodic_backups_enabled"], false, "{schedule}");
    assert_eq!(
        work.json(["database", "show"])["periodic_backups_enabled"],
        false
    );
    // Disabling again changes nothing and says so.
    work.run(["backups", "schedule", "--disable"])
        .expect(0)
        .stderr_has(&["already disabled"]);

    let schedule = work.json(["backups", "schedule", "--at", "4 UTC"]);
    assert_eq!(
        schedule,
        json!({"periodic_backups_enabled": true, "periodic_backups_scheduled_at": [4]})
    );
}
