//! `scalingo-db backups verify`: its exit codes (10 damaged, 11 unreadable, 12 restore failed),
//! its report for people and for audit logs, and the guards on `--restore-into` (no password on
//! the command line, never the production database, a confirmation). The cases that need
//! PostgreSQL's tools and a server are at the end, ignored by a plain `cargo test`; they run in
//! `tests/postgres/run.sh`.

use scalingo_db_sandbox::{
    ArchiveSource, DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE, DatabaseType, SandboxConfig,
};
use scalingo_db_tests::archives::tar_gz;
use scalingo_db_tests::postgres::{SEEDED_ROWS, TestPostgres};

use crate::support::{Remote, Run, Runs as _, Workdir, id_of};

pub const MYSQL_DUMP: &[u8] = b"-- MySQL dump 10.13\nCREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES (1);\n-- Dump completed on 2026-11-30\n";

/// A `.tar.gz` of one member, written into the test's directory: its path.
pub fn archive(work: &Workdir, file: &str, member: &str, content: &[u8]) -> String {
    let path = work.path().join(file);
    std::fs::write(&path, tar_gz(&[(member, content)])).unwrap();
    path.display().to_string()
}

#[test]
fn a_generated_sandbox_archive_holds_no_dump_and_exits_11() {
    let work = Workdir::new();
    let id = id_of(&work.done_backup());
    let run = work.run(["backups", "verify", &id]).expect(11);
    run.stderr_has(&[
        "the dump cannot be read",
        "holds no PostgreSQL",
        "the sandbox generates",
    ]);
    assert!(run.stdout.contains("DUMP UNREADABLE"), "{}", run.stdout);
    let gzip_line = run
        .stdout
        .lines()
        .find(|line| line.contains(" gzip "))
        .unwrap_or_default();
    assert!(gzip_line.starts_with("ok "), "{}", run.stdout);
    // Nothing was written to disk beside the sandbox's state (and its lock).
    for entry in std::fs::read_dir(work.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name.starts_with("state.json"), "{name} was written");
    }
}

#[test]
fn download_verify_keeps_the_archive_and_exits_with_the_verdict() {
    let work = Workdir::new();
    let run = work
        .run([
            "backups", "download", "--verify", "-o", "a.tar.gz", "--silent",
        ])
        .expect(11);
    run.stderr_has(&["the dump cannot be read", "holds no PostgreSQL"]);
    assert!(run.stdout.contains("DUMP UNREADABLE"), "{}", run.stdout);
    // The archive itself is whole: it is kept, under its name.
    assert!(work.path().join("a.tar.gz").is_file());

    let json = work
        .sandbox([
            "--json", "backups", "download", "--verify", "-o", "b.tar.gz",
        ])
        .write_stdin("")
        .run()
        .expect(11);
    let printed = json.json();
    assert_eq!(printed["verification"]["verdict"], "dump_unreadable");
    assert_eq!(printed["path"], "b.tar.gz");

    work.run(["backups", "download", "--verify", "-o", "-"])
        .fails(
            2,
            &[
                "--verify needs a file to download to, not stdout",
                "backups verify",
            ],
        );
}

#[test]
fn a_file_verifies_without_credentials_and_reports_in_json() {
    let work = Workdir::new();
    let path = archive(&work, "shop.tar.gz", "shop.sql", MYSQL_DUMP);
    let run = work
        .cli(["--json", "backups", "verify", "--file", &path])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "verified");
    assert_eq!(report["file"], path.as_str());
    assert_eq!(report["backup"], serde_json::Value::Null);
    assert_eq!(report["dump"]["kind"], "mysql");
    assert_eq!(report["dump"]["contents"]["INSERT INTO"], 1);
}

#[test]
fn each_failure_has_its_exit_code_and_says_what_is_wrong() {
    let work = Workdir::new();
    let whole = archive(&work, "whole.tar.gz", "shop.sql", MYSQL_DUMP);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = work.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() - 4]).unwrap();
    let cut = cut.display().to_string();

    let damaged = work
        .cli(["backups", "verify", "--file", &cut])
        .output()
        .unwrap();
    assert_eq!(damaged.status.code(), Some(10));
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert!(
        stderr.contains("the archive is damaged: gzip: the archive is cut short"),
        "{stderr}"
    );

    let other = work
        .cli([
            "backups",
            "verify",
            "--file",
            &whole,
            "--type",
            "postgresql",
        ])
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(11));
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(
        stderr.contains("holds a MySQL dump (shop.sql), not the PostgreSQL"),
        "{stderr}"
    );

    let restore = work
        .cli([
            "backups",
            "verify",
            "--file",
            &whole,
            "--restore-into",
            "postgres://me@127.0.0.1:1/scratch",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(restore.status.code(), Some(12));
    let stderr = String::from_utf8_lossy(&restore.stderr);
    assert!(
        stderr.contains("the restore failed: restore: a MySQL dump cannot be restored"),
        "{stderr}"
    );
}

#[test]
fn restore_targets_are_guarded_before_anything_is_read() {
    let work = Workdir::new();
    let whole = archive(&work, "whole.tar.gz", "shop.sql", MYSQL_DUMP);
    let verify = |extra: &[&str]| {
        let mut command = work.cli(["backups", "verify", "--file", &whole]);
        command.args(extra);
        command
    };

    let password = verify(&[
        "--restore-into",
        "postgres://me:hunter2-secret@127.0.0.1/scratch",
    ])
    .output()
    .unwrap();
    assert_eq!(password.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&password.stderr);
    assert!(
        stderr.contains("shows in the process list") && stderr.contains("SCALINGO_DB_RESTORE_INTO"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");

    let unset = verify(&["--restore-into"]).output().unwrap();
    assert_eq!(unset.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unset.stderr)
            .contains("SCALINGO_DB_RESTORE_INTO, which is not set")
    );

    let production = verify(&["--restore-into", "--yes"])
        .env(
            "SCALINGO_DB_RESTORE_INTO",
            "postgres://app:hunter2-secret@db.internal:5432/my_app",
        )
        .env(
            "SCALINGO_POSTGRESQL_URL",
            "postgres://app:other@db.internal/my_app",
        )
        .output()
        .unwrap();
    assert_eq!(production.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&production.stderr);
    assert!(
        stderr.contains("looks like the production database"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");

    let unconfirmed = verify(&["--restore-into", "postgres://me@127.0.0.1:1/scratch"])
        .output()
        .unwrap();
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("pass --yes"));
}

/// A sandbox serving `dump` as the archive of every PostgreSQL backup, as the platform packs it.
fn sandbox_serving(work: &Workdir, dump: &[u8]) -> Remote {
    let path = work.path().join("20261130150000_shop.pgsql");
    std::fs::write(&path, dump).unwrap();
    Remote::start_with(SandboxConfig {
        archive_from: vec![ArchiveSource::new(Some(DatabaseType::Postgresql), path)],
        ..SandboxConfig::default()
    })
}

/// `backups verify --json <args>` of the sandbox's seeded backup, with an API token.
fn verify_backup(
    remote: &Remote,
    work: &Workdir,
    restore_into: Option<&str>,
    args: &[&str],
) -> Run {
    let mut command = remote.cli(work, &["--app", DEFAULT_APP, "--addon", DEFAULT_DATABASE]);
    command
        .args(["--json", "backups", "verify"])
        .args(args)
        .env("SCALINGO_API_TOKEN", DEFAULT_API_TOKEN);
    if let Some(url) = restore_into {
        command
            .env("SCALINGO_DB_RESTORE_INTO", url)
            .args(["--restore-into", "--yes"]);
    }
    command.run()
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_served_dump_verifies_and_restores_with_every_row() {
    let server = TestPostgres::from_env();
    let work = Workdir::new();
    let remote = sandbox_serving(&work, &server.dump(&server.seeded_database()));
    let scratch = server.create_database("cli_scratch");
    let run = verify_backup(&remote, &work, Some(&scratch), &[]).expect(0);
    let report = run.json();
    assert_eq!(report["verdict"], "verified", "{report:#}");
    assert!(report["backup"]["id"].is_string());
    for (table, rows) in SEEDED_ROWS {
        assert_eq!(report["dump"]["rows"][table], rows, "{table}");
        let restored = report["restore"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["table"] == table)
            .unwrap_or_else(|| panic!("{table} not restored: {report:#}"));
        assert_eq!(restored["restored_rows"], rows, "{table}");
    }
    assert!(!run.stdout.contains(&server.password()) && !run.stderr.contains(&server.password()));
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_flipped_dump_exits_11_and_a_failed_restore_12() {
    let server = TestPostgres::from_env();
    let work = Workdir::new();
    let mut dump = server.dump(&server.seeded_database());
    let good = dump.clone();
    let middle = dump.len() / 2;
    dump[middle] ^= 0x04;
    let flipped = sandbox_serving(&work, &dump);
    let run = verify_backup(&flipped, &work, None, &[]).expect(11);
    run.stderr_has(&["the dump cannot be read", "pg_restore"]);

    let work = Workdir::new();
    let remote = sandbox_serving(&work, &good);
    let missing = server.url_of("no_such_database");
    let run = verify_backup(&remote, &work, Some(&missing), &[]).expect(12);
    run.stderr_has(&["the restore failed", "no_such_database"]);
    assert!(!run.stderr.contains(&server.password()), "{}", run.stderr);
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_download_verify_checks_the_dump_as_it_arrives() {
    let server = TestPostgres::from_env();
    let work = Workdir::new();
    let remote = sandbox_serving(&work, &server.dump(&server.seeded_database()));
    let run = remote
        .cli(&work, &["--app", DEFAULT_APP, "--addon", DEFAULT_DATABASE])
        .args([
            "--json",
            "backups",
            "download",
            "--verify",
            "-o",
            "shop.tar.gz",
        ])
        .args(["--postgres-bin", &server.bin().display().to_string()])
        .env("SCALINGO_API_TOKEN", DEFAULT_API_TOKEN)
        .run()
        .expect(0);
    let printed = run.json();
    assert_eq!(
        printed["verification"]["verdict"], "verified",
        "{printed:#}"
    );
    for (table, rows) in SEEDED_ROWS {
        assert_eq!(
            printed["verification"]["dump"]["rows"][table], rows,
            "{table}"
        );
    }
    assert!(work.path().join("shop.tar.gz").is_file());
}
