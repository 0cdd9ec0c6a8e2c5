//! Backup verification against a real PostgreSQL (started by `tests/postgres/run.sh`; a plain
//! `cargo test` skips these): a `pg_dump -Fc` archive verifies and restores into a scratch
//! database with the same rows, and every kind of damage gives its own verdict and says what is
//! wrong.

use std::collections::BTreeMap;

use scalingo_db::verify::{self, DumpKind, Outcome, Report, RestoreTarget, Verdict, VerifyOptions};

use scalingo_db_tests::archives::tar_gz;
use scalingo_db_tests::postgres::{SEEDED_ROWS, TestPostgres};

fn options(server: &TestPostgres) -> VerifyOptions {
    VerifyOptions::new()
        .expect(DumpKind::Postgresql)
        .postgres_programs(server.bin())
}

fn verify(archive: &[u8], options: &VerifyOptions) -> Report {
    verify::verify_reader(archive, options).expect("the verification runs")
}

fn seeded_rows() -> BTreeMap<String, u64> {
    SEEDED_ROWS
        .iter()
        .map(|(table, rows)| ((*table).to_owned(), *rows))
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_good_archive_verifies_and_restores_with_the_same_rows() {
    let server = TestPostgres::from_env();
    let dump = server.dump(&server.seeded_database());
    let archive = tar_gz(&[("20261130150000_shop.pgsql", &dump)]);
    let scratch = RestoreTarget::parse(&server.create_database("scratch")).unwrap();
    let report = verify(&archive, &options(&server).restore_into(scratch.clone()));

    assert_eq!(report.verdict, Verdict::Verified, "{report:#?}");
    let dump_summary = report.dump.as_ref().unwrap();
    assert_eq!(dump_summary.kind, DumpKind::Postgresql);
    assert_eq!(dump_summary.bytes, dump.len() as u64);
    assert_eq!(dump_summary.rows, seeded_rows());
    assert_eq!(dump_summary.contents["schemas"], 2);
    assert_eq!(dump_summary.contents["TABLE"], 4);
    assert_eq!(dump_summary.contents["TABLE DATA"], 4);
    assert_eq!(dump_summary.contents["EXTENSION"], 1);
    assert_eq!(dump_summary.contents["BLOB"], 1);

    let restore = report.restore.as_ref().unwrap();
    assert_eq!(restore.target, scratch.without_password());
    assert!(!format!("{report:?}").contains(&server.password()));
    let restored: BTreeMap<String, u64> = restore
        .tables
        .iter()
        .map(|table| (table.table.clone(), table.restored_rows.unwrap()))
        .collect();
    assert_eq!(restored, seeded_rows());
    for name in [
        "pg_restore --list",
        "pg_restore --file=-",
        "restore",
        "row counts",
    ] {
        let check = report
            .checks
            .iter()
            .find(|check| check.name == name)
            .unwrap();
        assert_eq!(check.outcome, Outcome::Passed, "{name}: {}", check.detail);
    }
    // What came back is the data, not only its count: the large object and the newlines too.
    let scratch_url = scratch_url(&server, &scratch);
    let note = server.psql(
        &scratch_url,
        "SELECT note FROM billing.invoices WHERE id = 7",
    );
    assert_eq!(note, "line\nbreak 7\n");
    let large = server.psql(
        &scratch_url,
        "SELECT length(lo_get(oid)) FROM pg_largeobject_metadata",
    );
    assert_eq!(large.trim(), "13000");
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_bit_flipped_in_the_dump_is_unreadable_in_a_whole_archive() {
    let server = TestPostgres::from_env();
    let mut dump = server.dump(&server.seeded_database());
    let middle = dump.len() / 2;
    dump[middle] ^= 0x04;
    let report = verify(&tar_gz(&[("shop.pgsql", &dump)]), &options(&server));
    assert_eq!(report.verdict, Verdict::DumpUnreadable, "{report:#?}");
    let gzip = report
        .checks
        .iter()
        .find(|check| check.name == "gzip")
        .unwrap();
    assert_eq!(gzip.outcome, Outcome::Passed);
    let problem = report.problem.unwrap();
    assert!(problem.starts_with("pg_restore"), "{problem}");
    assert!(problem.contains("pg_restore failed"), "{problem}");
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_truncated_archive_is_damaged_whatever_pg_restore_says() {
    let server = TestPostgres::from_env();
    let dump = server.dump(&server.seeded_database());
    let archive = tar_gz(&[("shop.pgsql", &dump)]);
    let report = verify(&archive[..archive.len() * 2 / 3], &options(&server));
    assert_eq!(report.verdict, Verdict::ArchiveDamaged, "{report:#?}");
    let problem = report.problem.unwrap();
    assert!(problem.contains("inside the dump"), "{problem}");
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_tarball_without_a_dump_and_another_engines_dump_are_unreadable() {
    let server = TestPostgres::from_env();
    for (archive, expected) in [
        (
            tar_gz(&[("readme.txt", b"no dump here")]),
            "holds no PostgreSQL",
        ),
        (
            tar_gz(&[("shop.sql", b"-- MySQL dump 10.13\n-- Dump completed\n")]),
            "holds a MySQL dump (shop.sql), not the PostgreSQL custom-format dump expected",
        ),
    ] {
        let report = verify(&archive, &options(&server));
        assert_eq!(report.verdict, Verdict::DumpUnreadable, "{report:#?}");
        let problem = report.problem.unwrap();
        assert!(problem.contains(expected), "{problem}");
    }
}

#[test]
#[ignore = "needs PostgreSQL: run tests/postgres/run.sh"]
fn postgres_a_restore_that_cannot_connect_fails_the_restore_not_the_dump() {
    let server = TestPostgres::from_env();
    let dump = server.dump(&server.seeded_database());
    let missing = RestoreTarget::parse(&server.url_of("no_such_database")).unwrap();
    let report = verify(
        &tar_gz(&[("shop.pgsql", &dump)]),
        &options(&server).restore_into(missing),
    );
    assert_eq!(report.verdict, Verdict::RestoreFailed, "{report:#?}");
    let problem = report.problem.unwrap();
    assert!(problem.contains("no_such_database"), "{problem}");
    assert!(!problem.contains(&server.password()), "{problem}");
}

/// The URL of `target` with the server's password, for the test's own queries.
fn scratch_url(server: &TestPostgres, target: &RestoreTarget) -> String {
    server.url_of(target.database())
}
