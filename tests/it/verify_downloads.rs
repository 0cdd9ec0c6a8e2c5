//! A download that also verifies its archive ([`scalingo_db::Download::verify`]): the
//! verification reads the bytes the download checks, in order, in one stream and in ranges, and
//! when a download continues a part an earlier call left, it reads that part back first.

use std::path::Path;

use scalingo_db::verify::{DumpKind, Verdict, VerifyOptions};
use scalingo_db::{Database, Downloaded, RetryPolicy};
use scalingo_db_sandbox::{
    ArchiveSource, DEFAULT_DATABASE, DatabaseType, Fault, FaultRule, Sandbox, SandboxConfig,
};

use crate::downloads::DOWNLOAD;
use crate::support::{database, sandbox_builder, sandbox_database, seeded_backup};

/// Rows of the MySQL dump served: about 600 KiB, an archive of about 100 KiB (six ranges of
/// 16 KiB).
const ROWS: usize = 20_000;

fn mysql_dump() -> Vec<u8> {
    let mut dump =
        b"-- MySQL dump 10.13  Distrib 8.0.36\nCREATE TABLE `t` (`id` int, `v` text);\n".to_vec();
    for row in 0..ROWS {
        dump.extend_from_slice(
            format!("INSERT INTO `t` VALUES ({row},'value {row}');\n").as_bytes(),
        );
    }
    dump.extend_from_slice(b"-- Dump completed on 2026-11-30 15:00:00\n");
    dump
}

/// A sandbox whose MySQL database's backups hold [`mysql_dump`], with the dump's folder.
async fn serving_mysql() -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("shop.sql");
    std::fs::write(&dump, mysql_dump()).unwrap();
    let mut config = SandboxConfig::default();
    config.databases[0].kind = DatabaseType::Mysql;
    config.archive_from = vec![ArchiveSource::new(Some(DatabaseType::Mysql), dump)];
    (Sandbox::start(config).await.unwrap(), dir)
}

/// A download to `path` over `(connections, part size)`, verified.
async fn verified(db: &Database, backup_id: &str, path: &Path, how: (usize, u64)) -> Downloaded {
    db.backups()
        .download(backup_id, path)
        .connections(how.0)
        .part_size(how.1)
        .verify(VerifyOptions::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_download_verifies_its_archive_in_one_stream_and_in_ranges() {
    let (sandbox, dir) = serving_mysql().await;
    let db = sandbox_database(&sandbox);
    let backup = seeded_backup(&db).await;
    for (connections, part_size) in [(1, 0), (4, 16 * 1024)] {
        let path = dir.path().join(format!("{connections}.tar.gz"));
        let downloaded = verified(&db, &backup.id, &path, (connections, part_size)).await;
        let report = downloaded
            .verification
            .expect("a verification was asked for");
        // The database's engine decided what to expect.
        assert_eq!(report.expected, Some(DumpKind::Mysql));
        assert_eq!(
            report.verdict,
            Verdict::Verified,
            "{connections}: {report:#?}"
        );
        let dump = report.dump.unwrap();
        assert_eq!(dump.contents["INSERT INTO"], ROWS as u64);
        assert_eq!(report.archive.compressed_bytes, downloaded.bytes);
        assert!(path.exists());
    }
    let plain = db
        .backups()
        .download(&backup.id, dir.path().join("plain.tar.gz"))
        .await
        .unwrap();
    assert_eq!(plain.verification, None);
}

#[tokio::test]
async fn a_continued_download_verifies_the_part_it_reads_back_with_the_rest() {
    for (connections, part_size) in [(1, 0), (4, 16 * 1024)] {
        let (sandbox, dir) = serving_mysql().await;
        let patient = sandbox_database(&sandbox);
        let backup = seeded_backup(&patient).await;
        let once = database(
            sandbox_builder(&sandbox).retry(RetryPolicy::none()),
            DEFAULT_DATABASE,
        );
        let path = dir.path().join("backup.tar.gz");
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::TruncateBody {
                after_bytes: 10_000,
            },
        ));
        once.backups()
            .download(&backup.id, &path)
            .connections(connections)
            .part_size(part_size)
            .await
            .expect_err("the cut ends the call");
        assert!(!path.exists());
        let part = dir.path().join("backup.tar.gz.part");
        assert!(
            part.metadata().is_ok_and(|part| part.len() > 0),
            "the cut left a part"
        );

        let downloaded = verified(&patient, &backup.id, &path, (connections, part_size)).await;
        let report = downloaded.verification.unwrap();
        // Had the part read back not reached the verification, the dump would start mid-way.
        assert_eq!(
            report.verdict,
            Verdict::Verified,
            "{connections}: {report:#?}"
        );
        assert_eq!(report.dump.unwrap().contents["INSERT INTO"], ROWS as u64);
    }
}

#[tokio::test]
async fn a_generated_archive_downloads_whole_and_its_verification_says_it_holds_no_dump() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let db = sandbox_database(&sandbox);
    let backup = seeded_backup(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let downloaded = db
        .backups()
        .download(&backup.id, dir.path().join("a.tar.gz"))
        .verify(VerifyOptions::new().expect(DumpKind::Mysql))
        .await
        .unwrap();
    let report = downloaded.verification.unwrap();
    assert_eq!(report.verdict, Verdict::DumpUnreadable);
    assert!(report.problem.unwrap().contains("holds no"));
}
