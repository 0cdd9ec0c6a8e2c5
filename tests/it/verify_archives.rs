//! Backup verification of what needs no database: damaged containers, archives without a dump
//! or with another engine's, MySQL and MongoDB dumps read to their end, and the verification of a
//! download in flight against the sandbox. PostgreSQL's own cases, which need its tools and a
//! server, are in `verify_postgres.rs`.

use scalingo_db::Error;
use scalingo_db::verify::{self, DumpKind, Outcome, Report, Verdict, VerifyOptions};
use scalingo_db_sandbox::{DEFAULT_REDIS_DATABASE, Sandbox, SandboxConfig};

use scalingo_db_tests::archives::tar_gz;

use crate::support::{sandbox_database, seeded_backup};

const MYSQL_DUMP: &str = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: shop
CREATE TABLE `accounts` (
  `id` int NOT NULL
);
INSERT INTO `accounts` VALUES (1),(2),(3);
CREATE TABLE `orders` (`id` int NOT NULL);
INSERT INTO `orders` VALUES (1);
-- Dump completed on 2026-11-30 15:00:00
";

/// `{"a": 1}` in BSON.
const BSON_DOCUMENT: [u8; 12] = [12, 0, 0, 0, 0x10, b'a', 0, 1, 0, 0, 0, 0];

fn verify(archive: &[u8], options: &VerifyOptions) -> Report {
    verify::verify_reader(archive, options).expect("verification runs")
}

fn check<'a>(report: &'a Report, name: &str) -> &'a verify::Check {
    report
        .checks
        .iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {:#?}", report.checks))
}

#[test]
fn a_whole_mysql_dump_verifies_with_its_statements_counted() {
    let archive = tar_gz(&[("shop.sql", MYSQL_DUMP.as_bytes())]);
    let report = verify(&archive, &VerifyOptions::new().expect(DumpKind::Mysql));
    assert_eq!(report.verdict, Verdict::Verified, "{report:#?}");
    assert_eq!(report.problem, None);
    assert_eq!(report.archive.compressed_bytes, archive.len() as u64);
    assert_eq!(report.archive.member_count, 1);
    let dump = report.dump.as_ref().expect("a dump");
    assert_eq!(dump.kind, DumpKind::Mysql);
    assert_eq!(dump.member, "shop.sql");
    assert_eq!(dump.bytes, MYSQL_DUMP.len() as u64);
    assert_eq!(dump.contents["CREATE TABLE"], 2);
    assert_eq!(dump.contents["INSERT INTO"], 2);
    for name in ["gzip", "tar", "dump", "mysqldump end"] {
        assert_eq!(check(&report, name).outcome, Outcome::Passed, "{name}");
    }
}

#[test]
fn a_mysql_dump_cut_short_is_unreadable_though_its_archive_is_whole() {
    let cut = &MYSQL_DUMP[..MYSQL_DUMP.find("-- Dump completed").unwrap()];
    let report = verify(
        &tar_gz(&[("shop.sql", cut.as_bytes())]),
        &VerifyOptions::new(),
    );
    assert_eq!(report.verdict, Verdict::DumpUnreadable, "{report:#?}");
    assert_eq!(check(&report, "gzip").outcome, Outcome::Passed);
    let problem = report.problem.unwrap();
    assert!(problem.contains("cut short"), "{problem}");
}

#[test]
fn a_mongodump_folder_is_read_document_by_document_and_says_what_it_did_not_check() {
    let orders: Vec<u8> = BSON_DOCUMENT.repeat(3);
    let archive = tar_gz(&[
        ("dump/shop/orders.bson", &orders),
        ("dump/shop/orders.metadata.json", b"{\"indexes\": []}"),
        ("dump/shop/users.bson", &BSON_DOCUMENT),
    ]);
    let report = verify(&archive, &VerifyOptions::new().expect(DumpKind::Mongodb));
    assert_eq!(report.verdict, Verdict::Verified, "{report:#?}");
    let dump = report.dump.as_ref().unwrap();
    assert_eq!(dump.member, "dump");
    assert_eq!(dump.bytes, (orders.len() + 15 + BSON_DOCUMENT.len()) as u64);
    assert_eq!(dump.rows["shop.orders"], 3);
    assert_eq!(dump.rows["shop.users"], 1);
    let unchecked = check(&report, "mongorestore");
    assert_eq!(unchecked.outcome, Outcome::Skipped);
    assert!(
        unchecked.detail.contains("not checked"),
        "{}",
        unchecked.detail
    );
}

#[test]
fn another_engines_dump_is_not_the_one_expected() {
    let archive = tar_gz(&[("shop.sql", MYSQL_DUMP.as_bytes())]);
    let report = verify(&archive, &VerifyOptions::new().expect(DumpKind::Postgresql));
    assert_eq!(report.verdict, Verdict::DumpUnreadable, "{report:#?}");
    let problem = report.problem.unwrap();
    assert!(
        problem.contains("holds a MySQL dump (shop.sql), not the PostgreSQL custom-format dump"),
        "{problem}"
    );
}

#[test]
fn an_archive_without_a_dump_names_what_it_holds() {
    let archive = tar_gz(&[("notes.txt", b"hello"), ("data.bin", &[7; 100])]);
    let report = verify(&archive, &VerifyOptions::new());
    assert_eq!(report.verdict, Verdict::DumpUnreadable, "{report:#?}");
    let problem = report.problem.unwrap();
    assert!(
        problem.contains("holds no PostgreSQL custom-format, MySQL or MongoDB dump"),
        "{problem}"
    );
    assert!(
        problem.contains("notes.txt (5 bytes), data.bin (100 bytes)"),
        "{problem}"
    );

    let empty = verify(&tar_gz(&[]), &VerifyOptions::new());
    assert_eq!(empty.verdict, Verdict::DumpUnreadable);
    assert!(empty.problem.unwrap().contains("it is empty"));
}

#[test]
fn a_truncated_a_flipped_and_an_overlong_archive_are_damaged() {
    let archive = tar_gz(&[("shop.sql", MYSQL_DUMP.as_bytes())]);
    let truncated = &archive[..archive.len() - 5];
    let mut flipped = archive.clone();
    flipped[archive.len() / 2] ^= 0x10;
    let mut overlong = archive.clone();
    overlong.extend_from_slice(b"trailing");
    // Zeros after the stream are padding, as for gzip itself.
    let mut padded = archive.clone();
    padded.extend_from_slice(&[0; 512]);
    let report = verify(&padded, &VerifyOptions::new());
    assert_eq!(report.verdict, Verdict::Verified, "{report:#?}");
    for (name, bytes, expected) in [
        ("truncated", truncated, "unexpected end of file"),
        ("flipped", &flipped[..], "bytes of the archive"),
        (
            "overlong",
            &overlong[..],
            "8 bytes that are not padding follow the end",
        ),
    ] {
        let report = verify(bytes, &VerifyOptions::new());
        assert_eq!(
            report.verdict,
            Verdict::ArchiveDamaged,
            "{name}: {report:#?}"
        );
        let gzip = check(&report, "gzip");
        assert_eq!(gzip.outcome, Outcome::Failed, "{name}");
        assert!(gzip.detail.contains(expected), "{name}: {}", gzip.detail);
        assert!(report.problem.unwrap().starts_with("gzip: "), "{name}");
    }
}

#[test]
fn a_restore_is_only_for_postgresql_dumps() {
    let archive = tar_gz(&[("shop.sql", MYSQL_DUMP.as_bytes())]);
    let target = verify::RestoreTarget::parse("postgres://me@127.0.0.1:1/scratch").unwrap();
    let report = verify(&archive, &VerifyOptions::new().restore_into(target));
    assert_eq!(report.verdict, Verdict::RestoreFailed, "{report:#?}");
    assert!(
        report
            .problem
            .unwrap()
            .contains("only PostgreSQL dumps are")
    );
}

#[tokio::test]
async fn a_file_that_cannot_be_read_is_an_error_naming_it() {
    let error = verify::verify_file("/nonexistent/archive.tar.gz", &VerifyOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Io { path: Some(path), .. } if path.ends_with("archive.tar.gz")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_generated_sandbox_archive_verifies_in_flight_and_holds_no_dump() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let db = sandbox_database(&sandbox);
    let backup = seeded_backup(&db).await;
    let report = db.backups().verify(&backup.id).await.unwrap();
    // The sandbox's database is PostgreSQL: its dump is what is expected.
    assert_eq!(report.expected, Some(DumpKind::Postgresql));
    assert_eq!(report.verdict, Verdict::DumpUnreadable, "{report:#?}");
    assert_eq!(
        Some(report.archive.compressed_bytes),
        backup.size.map(|size| size as u64)
    );
    assert_eq!(check(&report, "gzip").outcome, Outcome::Passed);
    assert_eq!(check(&report, "tar").outcome, Outcome::Passed);
    let problem = report.problem.unwrap();
    assert!(
        problem.contains("the sandbox generates hold none"),
        "{problem}"
    );
}

#[test]
fn a_tool_that_cannot_be_run_is_an_error_not_a_verdict() {
    let archive = tar_gz(&[("shop.pgsql", b"PGDMP\x01\x0e\x00 not really a dump")]);
    let options = VerifyOptions::new().postgres_programs("/nonexistent/bin");
    let error = verify::verify_reader(&archive[..], &options).unwrap_err();
    let Error::Tool { program, message } = &error else {
        panic!("not a tool error: {error:?}");
    };
    assert!(program.starts_with("pg_restore"), "{program}");
    assert!(message.contains("/nonexistent/bin"), "{message}");
}

#[tokio::test]
async fn a_verification_never_shows_the_passwords_it_was_given() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let db = sandbox_database(&sandbox);
    let target =
        verify::RestoreTarget::parse("postgres://me:scratch-secret@127.0.0.1/scratch").unwrap();
    let verification = db
        .backups()
        .verify("b1")
        .options(VerifyOptions::new().restore_into(target))
        .production_urls(["postgres://app:production-secret@db.internal/app".to_owned()]);
    let shown = format!("{verification:?}");
    assert!(shown.contains("scratch"), "{shown}");
    for secret in ["scratch-secret", "production-secret", "db.internal"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[tokio::test]
async fn a_backup_of_an_engine_without_a_dump_is_checked_as_an_archive_and_says_so() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let redis = crate::support::database(
        crate::support::sandbox_builder_of(&sandbox, DEFAULT_REDIS_DATABASE),
        DEFAULT_REDIS_DATABASE,
    );
    let backup = seeded_backup(&redis).await;
    let report = redis.backups().verify(&backup.id).await.unwrap();
    assert_eq!(report.expected, None);
    assert_eq!(report.verdict, Verdict::Verified, "{report:#?}");
    let dump = check(&report, "dump");
    assert_eq!(dump.outcome, Outcome::Skipped);
    assert!(
        dump.detail.contains("a redis backup holds no dump"),
        "{}",
        dump.detail
    );
    assert_eq!(check(&report, "gzip").outcome, Outcome::Passed);
}
