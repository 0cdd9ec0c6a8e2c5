//! The integrity of archive downloads, from the "Hardening" issue: what a download writes, where,
//! and whether the bytes it ends with are the archive's.
//!
//! - Only a regular file is replaced: a destination that is a link, a FIFO, a directory or a
//!   device is refused before anything is downloaded, and again just before the rename.
//! - A resumed range is proven to be of the same archive: the sandbox names its archives with
//!   `ETag` and `Last-Modified` and honours `If-Range`; the client sends it on every resume
//!   (kept beside the part for a later run), and starts over when the whole archive comes back.
//!   A writer, which cannot start over, fails instead.
//! - A finished archive's gzip trailer must agree with its content: a corrupt archive is a typed
//!   error and is never renamed into place.
//! - A part file or its sidecar is never followed through a link, nor written when it is not a
//!   regular file; nothing is created before the archive's first byte.
//! - The request time limit bounds the head of the archive's answer and each pause of its body;
//!   either stall is resumed.
//! - A failing writer is named plainly in the error.
//!
//! Most tests run against the in-process sandbox on a manual clock that the client sleeps on
//! (backoffs take no time); those of exact wire exchanges run against httpmock. The stall tests
//! wait for real (a time limit of 300 ms against a 600 ms pause): a network time limit is on the
//! real clock by design.

use std::path::{Path, PathBuf};
use std::time::Duration;

use httpmock::MockServer;
use scalingo_db::{
    ArchiveProblem, Backup, Database, Error, OperationId, Progress, RetryPolicy, Streamed,
};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use sha2::{Digest as _, Sha256};

use crate::support::{
    BACKUP_ID, FAST_RETRIES, FailingWriter, SharedClock, assert_no_token, client as mock_client,
    gzip, manual_clock, mock_backup, noise, sandbox_builder, seeded_backup,
};

/// The sandbox operation that serves an archive link.
const DOWNLOAD: OperationId = OperationId::DownloadBackupArchive;
/// The sandbox operation that issues an archive link.
const LINK: OperationId = OperationId::GetBackupArchiveUrl;
/// The size of the archives.
const SMALL: u64 = 1024 * 1024;
/// A short request time limit, for the stall tests.
const LIMIT: Duration = Duration::from_millis(300);
/// A pause longer than [`LIMIT`].
const PAUSE: Duration = Duration::from_millis(600);

/// A sandbox on a manual clock with archives of `archive_size` bytes (and `state`, if given),
/// a client of [`DEFAULT_DATABASE`] with [`FAST_RETRIES`] sleeping on that clock, and its token.
async fn start_with(
    archive_size: u64,
    state: Option<scalingo_db_sandbox::SandboxState>,
) -> (Sandbox, Database, String) {
    let sandbox = Sandbox::start(SandboxConfig {
        clock: manual_clock(),
        archive_size,
        state,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let db = client(&sandbox, FAST_RETRIES, None);
    (sandbox, db, token)
}

async fn start() -> (Sandbox, Database, String) {
    start_with(SMALL, None).await
}

/// A client of `sandbox` with `retry`, sleeping on its clock, with the request time limit
/// `limit` (the default otherwise).
fn client(sandbox: &Sandbox, retry: RetryPolicy, limit: Option<Duration>) -> Database {
    let mut builder = sandbox_builder(sandbox)
        .retry(retry)
        .clock(SharedClock::of(sandbox));
    if let Some(limit) = limit {
        builder = builder.request_timeout(limit);
    }
    builder
        .build()
        .expect("valid client settings")
        .database(DEFAULT_DATABASE)
}

/// The archive's bytes, read from the sandbox through a fresh link (small archives only).
async fn archive_bytes(db: &Database, backup_id: &str) -> Vec<u8> {
    let link = db.backups().archive_url(backup_id).await.expect("a link");
    let mut stream = db.backups().open_archive(&link).await.expect("open");
    let mut bytes = Vec::new();
    // Bounded: a small archive comes in 64 KiB chunks.
    for _ in 0..1024 {
        match stream.chunk().await.expect("a chunk") {
            Some(chunk) => bytes.extend_from_slice(&chunk),
            None => return bytes,
        }
    }
    panic!("the archive did not end");
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// Whether `path` holds exactly `expected` (compared by digest, so a failure prints no MiB).
fn holds(path: &Path, expected: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|bytes| sha256(&bytes) == sha256(expected))
}

/// `<path>.part`.
fn part(path: &Path) -> PathBuf {
    with_suffix(path, ".part")
}

/// `<path>.part.backup`, the part's sidecar.
fn sidecar(path: &Path) -> PathBuf {
    with_suffix(path, ".part.backup")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().expect("a file name").to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory lists")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn recorded_size(backup: &Backup) -> u64 {
    u64::try_from(backup.size.expect("a done backup has a size")).expect("a positive size")
}

/// Makes a FIFO at `path` (with the `mkfifo` tool: the tests have no unsafe code).
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Checks that `error` refuses `path` for being `what` (as the facade words it), naming it.
fn assert_refused(error: &Error, path: &Path, what: &str, token: &str) {
    assert_no_token(error, token);
    match error {
        Error::Io {
            path: Some(named),
            source,
        } => {
            assert_eq!(named, path, "the error names what it refuses: {error}");
            assert!(
                source
                    .to_string()
                    .starts_with(&format!("{what}, not a regular file: ")),
                "{error}"
            );
        }
        other => panic!("{}: expected a refusal, got {other:?}", path.display()),
    }
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: {what}", path.display())),
        "{message}"
    );
    assert!(
        !message.contains("--force") && !message.contains("replace it"),
        "nothing destructive is suggested: {message}"
    );
}

// Item 1: only a regular file is replaced.

#[tokio::test]
async fn a_destination_that_is_not_a_regular_file_is_refused_before_anything_is_downloaded() {
    let (sandbox, db, token) = start().await;
    let backup = seeded_backup(&db).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").expect("write the victim");
    let link = dir.path().join("link.tar.gz");
    std::os::unix::fs::symlink(&victim, &link).expect("a symbolic link");
    let fifo = dir.path().join("fifo.tar.gz");
    mkfifo(&fifo);
    let subdir = dir.path().join("subdir.tar.gz");
    std::fs::create_dir(&subdir).expect("a directory");
    let before = files_in(dir.path());

    for (path, what) in [
        (link.as_path(), "a symbolic link"),
        (fifo.as_path(), "a FIFO (named pipe)"),
        (subdir.as_path(), "a directory"),
        (Path::new("/dev/null"), "a character device"),
    ] {
        sandbox.counters().reset();
        let error = db
            .backups()
            .download(&backup.id, path)
            .await
            .expect_err("not a regular file");
        assert_refused(&error, path, what, &token);
        assert_eq!(sandbox.counters().get(LINK), 0, "{what}: no link asked for");
        assert_eq!(
            sandbox.counters().get(DOWNLOAD),
            0,
            "{what}: nothing downloaded"
        );
    }

    // A directory that is not there shows before anything is asked for too, naming the file.
    let missing = dir.path().join("missing").join("backup.tar.gz");
    sandbox.counters().reset();
    let error = db
        .backups()
        .download(&backup.id, &missing)
        .await
        .expect_err("no such directory");
    match &error {
        Error::Io {
            path: Some(named),
            source,
        } => {
            assert_eq!(named, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(LINK), 0);

    assert_eq!(files_in(dir.path()), before, "nothing created or replaced");
    assert_eq!(std::fs::read(&victim).expect("the victim"), b"precious");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("the link")
            .is_symlink()
    );
    use std::os::unix::fs::FileTypeExt as _;
    let null = std::fs::symlink_metadata("/dev/null").expect("/dev/null");
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is still a device"
    );
    assert!(!Path::new("/dev/null.part").exists());
}

#[tokio::test]
async fn a_destination_replaced_during_the_download_is_not_renamed_over() {
    let (sandbox, db, token) = start().await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").expect("write the victim");

    // Once every byte is there, a link appears where the archive is to be renamed.
    let error = db
        .backups()
        .download(&backup.id, &path)
        .on_progress(|report| {
            if report.bytes == size && !path.exists() {
                std::os::unix::fs::symlink(&victim, &path).expect("a symbolic link");
            }
        })
        .await
        .expect_err("the link is not replaced");
    assert_refused(&error, &path, "a symbolic link", &token);
    assert_eq!(std::fs::read(&victim).expect("the victim"), b"precious");
    assert!(
        std::fs::symlink_metadata(&path)
            .expect("the link")
            .is_symlink()
    );
    assert!(holds(&part(&path), &expected), "the whole archive is kept");

    // Once the link is gone, the same download finishes from the part, downloading nothing.
    std::fs::remove_file(&path).expect("remove the link");
    sandbox.counters().reset();
    let downloaded = db
        .backups()
        .download(&backup.id, &path)
        .await
        .expect("the kept part is renamed");
    assert_eq!(downloaded.bytes, size);
    assert_eq!(sandbox.counters().get(DOWNLOAD), 0);
    assert!(holds(&path, &expected));
    assert_eq!(files_in(dir.path()), ["backup.tar.gz", "victim"]);
}

// Item 2: a resumed range is proven to be of the same archive; the gzip trailer is checked.

#[tokio::test]
async fn the_sandbox_names_its_archives_and_honours_if_range() {
    let (sandbox, db, _) = start().await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let link = db.backups().archive_url(&backup.id).await.expect("a link");
    let http = reqwest::Client::new();
    let get = |headers: &[(&str, &str)]| {
        let mut request = http.get(link.expose());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };

    let whole = get(&[]).await.expect("an answer");
    assert_eq!(whole.status(), 200);
    let etag = header(&whole, "etag").expect("an ETag");
    let last_modified = header(&whole, "last-modified").expect("a Last-Modified");
    assert!(
        etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'),
        "a strong tag: {etag}"
    );
    assert!(
        last_modified.ends_with(" GMT"),
        "an HTTP date: {last_modified}"
    );

    let weak = format!("W/{etag}");
    let cases = [
        (etag.as_str(), 206),
        (last_modified.as_str(), 206),
        ("\"00000000000000000000000000000000\"", 200),
        (weak.as_str(), 200),
        ("Thu, 01 Jan 2015 00:00:00 GMT", 200),
        ("not a validator", 200),
    ];
    for (if_range, status) in cases {
        let answer = get(&[("range", "bytes=100-"), ("if-range", if_range)])
            .await
            .expect("an answer");
        assert_eq!(answer.status(), status, "If-Range: {if_range}");
        assert_eq!(header(&answer, "etag").as_ref(), Some(&etag), "{if_range}");
        let length = if status == 206 { size - 100 } else { size };
        assert_eq!(answer.content_length(), Some(length), "{if_range}");
    }

    // The same backup in a sandbox with other archives has another tag; with the same ones, the
    // same tag (the archive is computed, so its tag is too).
    for (archive_size, same) in [(SMALL, true), (2 * SMALL, false)] {
        let (other, other_db, _) = start_with(archive_size, Some(sandbox.state())).await;
        let link = other_db
            .backups()
            .archive_url(&backup.id)
            .await
            .expect("a link");
        let answer = reqwest::get(link.expose()).await.expect("an answer");
        assert_eq!(
            header(&answer, "etag") == Some(etag.clone()),
            same,
            "{archive_size}"
        );
        drop(other);
    }
}

#[tokio::test]
async fn a_part_of_an_archive_that_changed_since_is_started_over_not_joined() {
    // The scenario: a download is cut, the sandbox restarts with another archive size
    // (the same backup), and the same download is run again.
    let (first, first_db, _) = start().await;
    let backup = seeded_backup(&first_db).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    const CUT: usize = 300_000;
    first.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    let once = client(&first, RetryPolicy::none(), None);
    once.backups()
        .download(&backup.id, &path)
        .await
        .expect_err("the transfer is cut");
    assert_eq!(
        std::fs::metadata(part(&path)).expect("a part").len(),
        CUT as u64
    );
    let state = first.state();
    drop(first);

    let (second, db, token) = start_with(2 * SMALL, Some(state)).await;
    let expected = archive_bytes(&db, &backup.id).await;
    second.counters().reset();
    let mut progress: Vec<Progress> = Vec::new();
    let downloaded = db
        .backups()
        .download(&backup.id, &path)
        .on_progress(|report| progress.push(report))
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, &token);
            panic!("the download fails: {error}")
        });

    assert_eq!(downloaded.bytes, expected.len() as u64);
    assert!(
        holds(&path, &expected),
        "the file is not the new archive (the bytes of two archives were joined?)"
    );
    assert_eq!(
        second.counters().get(DOWNLOAD),
        1,
        "one request: its If-Range failed, so it answered the whole new archive"
    );
    assert_eq!(progress.first().map(|report| report.bytes), Some(0));
    let file = std::fs::File::open(&path).expect("open");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().expect("a tar stream") {
        let mut entry = entry.expect("an entry");
        std::io::copy(&mut entry, &mut std::io::sink()).expect("the entry reads whole");
    }
    assert_eq!(files_in(dir.path()), ["backup.tar.gz"]);
}

#[tokio::test]
async fn a_resume_sends_the_version_kept_beside_the_part_and_follows_a_new_one() {
    let first = gzip(&noise(1, 200_000));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    const CUT: usize = 50_000;
    let leave_part = |sidecar_text: &str| {
        std::fs::write(part(&path), &first[..CUT]).expect("a part");
        std::fs::write(sidecar(&path), sidecar_text).expect("its sidecar");
    };

    // The same version: the rest is asked for with If-Range and joined.
    let server = MockServer::start_async().await;
    mock_backup(&server, first.len());
    let rest = server.mock(|when, then| {
        when.path(format!("/download/{BACKUP_ID}"))
            .header("range", format!("bytes={CUT}-"))
            .header("if-range", "\"v1\"");
        then.status(206)
            .header("etag", "\"v1\"")
            .header(
                "content-range",
                format!("bytes {CUT}-{}/{}", first.len() - 1, first.len()),
            )
            .body(&first[CUT..]);
    });
    leave_part(&format!("{BACKUP_ID}\netag \"v1\"\n"));
    let downloaded = mock_client(&server)
        .backups()
        .download(BACKUP_ID, &path)
        .await
        .expect("the part is continued");
    rest.assert_async().await;
    assert_eq!(downloaded.bytes, first.len() as u64);
    assert!(holds(&path, &first));

    // Another version: the server answers the whole new archive, which replaces the part.
    let second = gzip(&noise(2, 200_000));
    let server = MockServer::start_async().await;
    mock_backup(&server, second.len());
    let whole = server.mock(|when, then| {
        when.path(format!("/download/{BACKUP_ID}"))
            .header("range", format!("bytes={CUT}-"))
            .header("if-range", "\"v1\"");
        then.status(200).header("etag", "\"v2\"").body(&second);
    });
    leave_part(&format!("{BACKUP_ID}\netag \"v1\"\n"));
    let mut progress = Vec::new();
    mock_client(&server)
        .backups()
        .download(BACKUP_ID, &path)
        .on_progress(|report| progress.push(report.bytes))
        .await
        .expect("the new archive is downloaded");
    whole.assert_async().await;
    assert!(holds(&path, &second), "the new archive, from its start");
    assert_eq!(progress.first(), Some(&0), "progress starts over");

    // A sidecar of an earlier version of this crate (the id alone) proves no version: the part
    // is started again, without a range.
    let server = MockServer::start_async().await;
    mock_backup(&server, first.len());
    let fresh = server.mock(|when, then| {
        when.path(format!("/download/{BACKUP_ID}"))
            .header_missing("range")
            .header_missing("if-range");
        then.status(200).header("etag", "\"v1\"").body(&first);
    });
    leave_part(BACKUP_ID);
    mock_client(&server)
        .backups()
        .download(BACKUP_ID, &path)
        .await
        .expect("downloaded from the start");
    fresh.assert_async().await;
    assert!(holds(&path, &first));
    assert_eq!(files_in(dir.path()), ["backup.tar.gz"]);
}

#[tokio::test]
async fn an_archive_whose_gzip_trailer_disagrees_is_refused_and_not_kept() {
    let archive = gzip(&noise(3, 200_000));
    let mut corrupt = archive.clone();
    let crc_at = corrupt.len() - 8;
    corrupt[crc_at] ^= 0x40;
    let server = MockServer::start_async().await;
    mock_backup(&server, corrupt.len());
    server.mock(|when, then| {
        when.path(format!("/download/{BACKUP_ID}"));
        then.status(200).body(&corrupt);
    });
    let db = mock_client(&server);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let error = db
        .backups()
        .download(BACKUP_ID, &path)
        .await
        .expect_err("a corrupt archive");
    match &error {
        Error::Archive(ArchiveProblem::ChecksumMismatch {
            at,
            recorded_crc,
            computed_crc,
            recorded_len,
            computed_len,
        }) => {
            assert_eq!(*at, crc_at as u64);
            assert_eq!(*recorded_crc ^ *computed_crc, 0x40);
            assert_eq!((*recorded_len, *computed_len), (200_000, 200_000));
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    assert!(
        error.to_string().contains("corrupt"),
        "the message says so: {error}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    // Into a writer, the bytes are written (they cannot be held back) but the call fails.
    let mut written = Vec::new();
    let error = db
        .backups()
        .download_to(BACKUP_ID, &mut written)
        .await
        .expect_err("a corrupt archive");
    assert!(
        matches!(
            error,
            Error::Archive(ArchiveProblem::ChecksumMismatch { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_part_that_is_not_what_its_sidecar_says_is_caught() {
    let (sandbox, db, token) = start().await;
    let backup = seeded_backup(&db).await;
    let expected = archive_bytes(&db, &backup.id).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    // A real part and sidecar, from a cut download.
    const CUT: usize = 300_000;
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    let once = client(&sandbox, RetryPolicy::none(), None);
    once.backups()
        .download(&backup.id, &path)
        .await
        .expect_err("the transfer is cut");
    let good_part = std::fs::read(part(&path)).expect("a part");
    let good_sidecar = std::fs::read(sidecar(&path)).expect("a sidecar");

    // A block header damaged on disk: reading the part back shows it, so it is started over.
    let mut damaged = good_part.clone();
    damaged[12] ^= 0xff;
    // A byte of content damaged on disk: only the trailer can tell, at the end.
    let mut altered = good_part.clone();
    altered[100_000] ^= 0xff;
    for (what, leftover, started_over) in [
        ("a damaged block header", damaged, true),
        (
            "not gzip at all",
            b"<html>502 Bad Gateway</html>".to_vec(),
            true,
        ),
        ("altered content", altered, false),
    ] {
        std::fs::write(part(&path), &leftover).expect("a part");
        std::fs::write(sidecar(&path), &good_sidecar).expect("its sidecar");
        sandbox.counters().reset();
        let mut first = None;
        let outcome = db
            .backups()
            .download(&backup.id, &path)
            .on_progress(|report| {
                first.get_or_insert(report.bytes);
            })
            .await;
        if started_over {
            outcome.unwrap_or_else(|error| panic!("{what}: {error}"));
            assert_eq!(first, Some(0), "{what}: started over");
            assert!(holds(&path, &expected), "{what}");
            std::fs::remove_file(&path).expect("remove the download");
        } else {
            let error = outcome.expect_err("the trailer disagrees");
            assert_no_token(&error, &token);
            assert!(
                matches!(
                    error,
                    Error::Archive(ArchiveProblem::ChecksumMismatch { .. })
                ),
                "{what}: {error:?}"
            );
            assert_eq!(first, Some(CUT as u64), "{what}: continued");
        }
        assert!(
            files_in(dir.path()).is_empty(),
            "{what}: {:?}",
            files_in(dir.path())
        );
    }
}

#[tokio::test]
async fn a_writer_fails_when_the_archive_changed_during_the_download() {
    let (sandbox, db, token) = start().await;
    let backup = seeded_backup(&db).await;
    const CUT: usize = 300_000;
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    // The resumed request gets the whole archive of another version.
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::Status {
            status: 200,
            body: "another archive".to_owned(),
            content_type: Some("application/octet-stream".to_owned()),
            headers: vec![("etag".to_owned(), "\"another\"".to_owned())],
        },
    ));
    let mut written = Vec::new();
    let error = db
        .backups()
        .download_to(&backup.id, &mut written)
        .await
        .expect_err("a writer cannot start over");
    assert_no_token(&error, &token);
    match &error {
        Error::Archive(ArchiveProblem::Changed { written: at }) => {
            assert_eq!(*at, CUT as u64)
        }
        other => panic!("expected a changed archive, got {other:?}"),
    }
    assert_eq!(
        written.len(),
        CUT,
        "nothing of the other version was written"
    );
    let message = error.to_string();
    assert!(
        message.contains("changed") && message.contains("incomplete"),
        "{message}"
    );
}

#[tokio::test]
async fn an_open_archive_shows_no_link_token_in_its_debug() {
    let (_sandbox, db, token) = start().await;
    let backup = seeded_backup(&db).await;
    let link = db.backups().archive_url(&backup.id).await.expect("a link");
    let stream = db.backups().open_archive(&link).await.expect("open");
    let shown = format!("{stream:?}");
    assert!(
        !shown.contains("token=") && !shown.contains("eyJ") && !shown.contains(&token),
        "{shown}"
    );
    assert!(shown.contains("200"), "{shown}");
}

// Item 3: a part file or its sidecar is never followed, nor written unless a regular file.

#[tokio::test]
async fn a_part_or_sidecar_that_is_a_link_or_a_fifo_is_refused_and_left_alone() {
    let (sandbox, db, token) = start().await;
    let backup = seeded_backup(&db).await;
    for case in ["part link", "sidecar link", "part FIFO"] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("x.tar.gz");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write the victim");
        let (refused, what) = match case {
            "part link" => {
                std::os::unix::fs::symlink(&victim, part(&path)).expect("a link");
                (part(&path), "a symbolic link")
            }
            "sidecar link" => {
                std::fs::write(part(&path), [0x1f, 0x8b]).expect("a part");
                std::os::unix::fs::symlink(&victim, sidecar(&path)).expect("a link");
                (sidecar(&path), "a symbolic link")
            }
            _ => {
                mkfifo(&part(&path));
                (part(&path), "a FIFO (named pipe)")
            }
        };
        let before = files_in(dir.path());
        sandbox.counters().reset();
        // Bounded: before the fix, a FIFO part blocked the download's open for ever.
        let error = tokio::time::timeout(
            Duration::from_secs(5),
            db.backups().download(&backup.id, &path).send(),
        )
        .await
        .unwrap_or_else(|_| panic!("{case}: the download blocked"))
        .expect_err("refused");
        assert_refused(&error, &refused, what, &token);
        assert!(error.to_string().contains("leaves it as it is"), "{error}");
        assert_eq!(sandbox.counters().get(DOWNLOAD), 0, "{case}");
        assert_eq!(
            files_in(dir.path()),
            before,
            "{case}: nothing created or replaced"
        );
        assert_eq!(
            std::fs::read(&victim).expect("the victim"),
            b"precious",
            "{case}"
        );
        assert!(!path.exists(), "{case}");
    }
}

// Item 9: the request time limit bounds an answer's head and each pause of its body.

#[tokio::test]
async fn an_archive_answer_slower_than_the_limit_is_given_up_and_resumed() {
    let (sandbox, _, token) = start().await;
    let db = client(&sandbox, FAST_RETRIES, Some(LIMIT));
    let backup = seeded_backup(&db).await;
    let expected = archive_bytes(&db, &backup.id).await;

    // Opening the archive alone: the head's wait is bounded.
    let link = db.backups().archive_url(&backup.id).await.expect("a link");
    sandbox
        .faults()
        .inject(FaultRule::new(DOWNLOAD, 1, Fault::delay(PAUSE)));
    let started = std::time::Instant::now();
    let error = db
        .backups()
        .open_archive(&link)
        .await
        .expect_err("no head within the limit");
    assert!(
        matches!(error, Error::Stalled { after } if after == LIMIT),
        "{error:?}"
    );
    assert!(
        started.elapsed() < PAUSE,
        "gave up after {:?}",
        started.elapsed()
    );
    assert_no_token(&error, &token);

    // A download: the slow answer is given up on, and the request sent again.
    sandbox
        .faults()
        .inject(FaultRule::new(DOWNLOAD, 1, Fault::delay(PAUSE)));
    sandbox.counters().reset();
    let mut written = Vec::new();
    let streamed = db
        .backups()
        .download_to(&backup.id, &mut written)
        .await
        .expect("resumed after the stall");
    assert_eq!(
        streamed,
        Streamed {
            bytes: expected.len() as u64,
            resumes: 1
        }
    );
    assert_eq!(sandbox.counters().get(DOWNLOAD), 2);
    assert!(sha256(&written) == sha256(&expected));
}

#[tokio::test]
async fn a_body_that_pauses_longer_than_the_limit_is_resumed_where_it_stopped() {
    let (sandbox, _, _) = start().await;
    let db = client(&sandbox, FAST_RETRIES, Some(LIMIT));
    let backup = seeded_backup(&db).await;
    let expected = archive_bytes(&db, &backup.id).await;
    const BEFORE_PAUSE: usize = 200_000;
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::StallBody {
            after_bytes: BEFORE_PAUSE,
            millis: PAUSE.as_millis() as u64,
        },
    ));
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    let mut progress: Vec<u64> = Vec::new();

    let downloaded = db
        .backups()
        .download(&backup.id, &path)
        .on_progress(|report| progress.push(report.bytes))
        .await
        .expect("resumed after the stall");

    assert_eq!(downloaded.resumes, 1);
    assert_eq!(sandbox.counters().get(DOWNLOAD), 2);
    let resumed_at: Vec<u64> = progress
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[1])
        .collect();
    assert_eq!(
        resumed_at,
        [BEFORE_PAUSE as u64],
        "resumed where the body paused"
    );
    assert!(holds(&path, &expected));
}

// Item 17: nothing is created before the archive's first byte.

#[tokio::test]
async fn a_download_that_fails_before_its_first_byte_leaves_nothing() {
    let (sandbox, _, token) = start().await;
    let db = client(&sandbox, RetryPolicy::none(), None);
    let backup = seeded_backup(&db).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    for (what, operation, fault) in [
        ("the link fails", LINK, Fault::json_error(500, "boom")),
        (
            "the download fails",
            DOWNLOAD,
            Fault::json_error(503, "busy"),
        ),
        ("the download is dropped", DOWNLOAD, Fault::DropConnection),
    ] {
        sandbox.faults().inject(FaultRule::new(operation, 1, fault));
        let error = db
            .backups()
            .download(&backup.id, &path)
            .await
            .expect_err(what);
        assert_no_token(&error, &token);
        assert!(
            files_in(dir.path()).is_empty(),
            "{what}: {:?}",
            files_in(dir.path())
        );
    }
}

// Item 20: a failing writer is named plainly.

#[tokio::test]
async fn a_writer_that_fails_is_named_plainly() {
    let (_sandbox, db, _) = start().await;
    let backup = seeded_backup(&db).await;
    let error = db
        .backups()
        .download_to(
            &backup.id,
            FailingWriter(std::io::ErrorKind::StorageFull, "No space left on device"),
        )
        .await
        .expect_err("the disk is full");
    assert_eq!(error.to_string(), "the writer: No space left on device");
    assert!(matches!(error, Error::Io { path: None, .. }), "{error:?}");
}
