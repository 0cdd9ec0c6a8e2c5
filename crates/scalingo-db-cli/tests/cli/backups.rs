//! `scalingo-db backups …` (but download, in `download.rs`) against the embedded sandbox, whose
//! new backups stay scheduled 1 s then running 2 s: the tables and details people read, the
//! objects scripts parse, and the status lines a log file gets while a backup is made.

use insta::assert_snapshot;
use regex::Regex;

use crate::support::{Runs as _, Workdir, has_ansi, id_of};

#[test]
fn listing_backups_shows_a_table_and_json_newest_first() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work.run(["backups", "list"]).expect(0);
    assert_snapshot!("backups_list", run.stdout);

    let started = work.start_backup();
    let backups = work.backups();
    assert_eq!(backups.len(), 2, "{backups:?}");
    assert_eq!(id_of(&backups[0]), started, "the newest comes first");
    assert_eq!(backups[1]["status"], "done");
    assert_eq!(backups[1]["method"], "periodic");
}

#[test]
fn statuses_are_coloured_with_color_always_and_plain_when_piped() {
    let work = Workdir::new();
    let plain = work.run(["backups", "list"]).expect(0);
    assert!(!has_ansi(&plain.stdout), "{:?}", plain.stdout);
    assert!(plain.stdout.contains("  done\n"), "{:?}", plain.stdout);

    let coloured = work.run(["--color", "always", "backups", "list"]).expect(0);
    assert!(
        coloured.stdout.contains("\u{1b}[32mdone\u{1b}[0m"),
        "{:?}",
        coloured.stdout
    );
}

#[test]
fn starting_a_backup_without_wait_reports_it_scheduled() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work.run(["backups", "create"]).expect(0);
    assert_snapshot!("backups_create", run.stdout);
    let newest = id_of(&work.backups()[0]);
    assert!(run.stdout.contains(&newest), "{}", run.stdout);
}

#[test]
fn starting_a_backup_with_json_prints_the_scheduled_backup() {
    let work = Workdir::new();
    let backup = work.json(["backups", "create"]);
    assert_eq!(backup["status"], "scheduled", "{backup}");
    assert_eq!(backup["method"], "manual", "{backup}");
    assert_eq!(id_of(&backup), id_of(&work.backups()[0]));
}

#[test]
fn starting_a_backup_while_one_is_in_progress_fails_with_the_apis_reason() {
    let work = Workdir::new();
    work.start_backup();
    work.run(["backups", "create"])
        .fails(1, &["400", "A backup is running"]);
}

#[test]
fn creating_with_wait_prints_the_done_backup_and_logs_each_status_on_stderr() {
    let work = Workdir::new();
    let run = work
        .run(["--json", "backups", "create", "--wait"])
        .expect(0);
    let backup = run.json();
    assert_eq!(backup["status"], "done", "{backup}");
    let id = id_of(&backup);
    assert!(
        backup["size"].as_u64().is_some_and(|size| size > 0),
        "{backup}"
    );
    // The sandbox's time is virtual: the polls at 0, 1, 2.5 and 4.75 s see every status once.
    assert_eq!(
        run.stderr,
        format!("backup {id} is scheduled\nbackup {id} is running\nbackup {id} is done\n")
    );
    assert!(!has_ansi(&run.stderr), "{:?}", run.stderr);
}

#[test]
fn waiting_for_a_started_backup_reports_it_done() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    let id = work.start_backup();

    let run = work.run(["backups", "wait", &id]).expect(0);
    assert_snapshot!("backups_wait", run.stdout);
    assert!(run.stdout.contains(&id), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        format!("backup {id} is scheduled\nbackup {id} is running\nbackup {id} is done\n")
    );
    assert_eq!(work.json(["backups", "show", &id])["status"], "done");
}

#[test]
fn waiting_past_the_timeout_fails_and_says_the_backup_is_not_done() {
    let work = Workdir::new();
    let id = work.start_backup();
    let run = work
        .run(["backups", "wait", &id, "--timeout", "1", "--silent"])
        .fails(1, &[&format!("backup {id} was still")]);
    // Virtual time: one poll at 0 s (scheduled), one at 1 s (running), then the time is up.
    assert_eq!(
        run.stderr,
        format!("error: backup {id} was still running after 1 s\n")
    );
}

#[test]
fn showing_a_backup_prints_its_details() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    let listed = work.done_backup();
    let id = id_of(&listed);

    let run = work.run(["backups", "show", &id]).expect(0);
    assert_snapshot!("backups_show", run.stdout);

    let shown = work.json(["backups", "show", &id]);
    assert_eq!(shown, listed);
}

#[test]
fn archive_url_prints_one_link_line_and_warns_on_stderr() {
    let work = Workdir::new();
    let id = id_of(&work.done_backup());

    let run = work.run(["backups", "archive-url", &id]).expect(0);
    let link = Regex::new(&format!(
        r"\Ahttp://127\.0\.0\.1:\d+/api/databases/[^/\s]+/backups/{id}/download\?token=\S+\n\z"
    ))
    .expect("a valid pattern");
    assert!(link.is_match(&run.stdout), "{:?}", run.stdout);
    // The embedded sandbox ends with the command: the link cannot outlive it, and it says so.
    run.stderr_has(&["carries a token", "stops with this command"]);

    let json = work.json(["backups", "archive-url", &id]);
    let object = json.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{json}");
    let url = object["download_url"].as_str().unwrap_or_default();
    assert!(link.is_match(&format!("{url}\n")), "{json}");
}

/// The seconds since midnight of a `… hh:mm:ss …` time.
fn seconds_of_day(time: &str) -> u32 {
    let clock = Regex::new(r"(\d{2}):(\d{2}):(\d{2})").expect("a valid pattern");
    let parts = clock
        .captures(time)
        .unwrap_or_else(|| panic!("no time of day in {time}"));
    let number = |index: usize| parts[index].parse::<u32>().expect("digits");
    number(1) * 3600 + number(2) * 60 + number(3)
}

#[test]
fn times_are_shown_in_the_local_time_zone() {
    let work = Workdir::new();
    let id = id_of(&work.done_backup());
    let created = |tz: &str| {
        let run = work
            .sandbox(["backups", "show", &id])
            .env("TZ", tz)
            .run()
            .expect(0);
        run.stdout
            .lines()
            .find_map(|line| line.strip_prefix("Created  "))
            .unwrap_or_else(|| panic!("no Created line in {}", run.stdout))
            .to_owned()
    };
    let utc = created("UTC");
    // A POSIX zone two hours east of UTC, which needs no time zone database.
    let east = created("XST-02:00");
    assert!(utc.ends_with(" +00:00"), "{utc}");
    assert!(east.ends_with(" +02:00"), "{east}");
    assert_eq!(
        seconds_of_day(&east),
        (seconds_of_day(&utc) + 2 * 3600) % 86_400,
        "{utc} vs {east}"
    );
}
