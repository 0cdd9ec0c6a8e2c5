//! A download in ranges on a disk that fills up mid-way: a clear error that names the part file,
//! nothing at the destination, a part shorter than the archive that the next download continues.
//!
//! Here rather than with the other download tests (`tests/it`): filling a real disk in a test
//! needs a small file system mounted, which a test cannot do, so the disk is full through a seam
//! of the positioned writer ([`DISK_FULL_PAST`]) that only this crate's tests see.

use std::future::IntoFuture as _;
use std::path::Path;

use scalingo_db_sandbox::{DEFAULT_DATABASE, Sandbox, SandboxConfig};

use super::positioned::DISK_FULL_PAST;
use crate::{Client, Database, Error, RetryPolicy};

/// The archive: about 2 MiB, cut into eight ranges of 256 KiB.
const SIZE: u64 = 2 * 1024 * 1024;
const PART: u64 = 256 * 1024;
/// The disk is full past the fourth range.
const ROOM: u64 = 4 * PART;

fn client(sandbox: &Sandbox) -> Database {
    Client::builder()
        .all_servers_at(sandbox.base_url())
        .database_token(DEFAULT_DATABASE, sandbox.database_token(DEFAULT_DATABASE))
        .retry(RetryPolicy::none())
        .build()
        .expect("valid client settings")
        .database(DEFAULT_DATABASE)
}

/// How many entries `dir` holds: a download leaves no stray file (a sidecar's `.new`, ...).
fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).expect("the directory lists").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_clearly_and_leaves_a_part_that_is_continued() {
    let sandbox = Sandbox::start(SandboxConfig {
        archive_size: SIZE,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts");
    let db = client(&sandbox);
    let backup = db
        .backups()
        .latest_done()
        .await
        .expect("backups list")
        .expect("the sandbox's done backup");
    let dir = tempfile::tempdir().expect("a directory");
    let reference = dir.path().join("reference.tar.gz");
    db.backups()
        .download(&backup.id, &reference)
        .connections(1)
        .await
        .expect("the archive in one stream");
    let archive = std::fs::read(&reference).expect("read");
    std::fs::remove_file(&reference).expect("removed");
    let size = archive.len() as u64;
    assert_eq!(backup.size, i64::try_from(size).ok());
    assert!(size > 7 * PART && size <= SIZE, "{size}");

    let path = dir.path().join("backup.tar.gz");
    let download = db
        .backups()
        .download(&backup.id, &path)
        .connections(4)
        .part_size(PART);
    let error = DISK_FULL_PAST
        .scope(ROOM, download.into_future())
        .await
        .expect_err("the disk is full");

    let part = dir.path().join("backup.tar.gz.part");
    match &error {
        Error::Io {
            path: Some(named),
            source,
        } => {
            assert_eq!(named, &part, "the part file is named");
            assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
        }
        other => panic!("expected an I/O error on the part file, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!("{}: No space left on device", part.display())
    );
    assert!(!path.exists(), "nothing at the destination");
    let sidecar = dir.path().join("backup.tar.gz.part.backup");
    assert!(
        part.exists() && sidecar.exists() && entries(dir.path()) == 2,
        "the part and its sidecar are kept for the next download, and nothing else"
    );
    let part_len = std::fs::metadata(&part).expect("the part").len();
    assert!(part_len <= ROOM, "no byte past the full disk: {part_len}");
    let sidecar =
        std::fs::read_to_string(dir.path().join("backup.tar.gz.part.backup")).expect("the sidecar");
    let done: Vec<u64> = sidecar
        .lines()
        .find_map(|line| line.strip_prefix("done "))
        .expect("a ranged sidecar")
        .split(' ')
        .map(|count| count.parse().expect("a count"))
        .collect();
    assert_eq!(done.len(), 8, "{sidecar}");
    let recorded: u64 = done.iter().sum();
    // A fifth range is asked for only once one of the first four is written whole.
    assert!((PART..=ROOM).contains(&recorded), "{sidecar}");

    // Space freed: the next download continues from what the sidecar counts, to the archive.
    let mut first = None;
    let downloaded = db
        .backups()
        .download(&backup.id, &path)
        .on_progress(|progress| {
            first.get_or_insert(progress.bytes);
        })
        .await
        .expect("continued once there is room");
    assert_eq!(downloaded.bytes, size);
    assert_eq!(
        first,
        Some(done.iter().sum()),
        "continued, not started again"
    );
    assert!(
        std::fs::read(&path).expect("read") == archive,
        "the archive's bytes"
    );
    assert_eq!(entries(dir.path()), 1, "the part and its sidecar are gone");
}
