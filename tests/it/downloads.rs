//! `Backups::download` against the in-process sandbox: a plain download writes exactly the
//! sandbox's bytes with monotonic progress; an interrupted multi-hundred-MiB download resumes with
//! `Range` and ends with the source's sha256 while memory stays flat; a `.part` left by a failed
//! call is continued by the next one (and a leftover that cannot be the archive's start is
//! started again); an expired link is replaced mid-download; a body that is not an archive, a size
//! that disagrees with the backup's, a backup that is not done and an unknown backup all fail
//! with the right error and leave nothing at the destination; no error ever shows a token.
//!
//! `Backups::download_to` shares that resume loop: into a writer it gives the same bytes, resumes
//! after cuts, and writes nothing for a backup that is not done or a body that is not an archive.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{FAST_RETRIES, assert_no_token, sandbox_builder};
use scalingo_db::{
    Backup, BackupMethod, BackupStatus, Client, Downloaded, Error, Progress, RetryPolicy, Streamed,
};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use sha2::{Digest as _, Sha256};

/// The sandbox operation that serves an archive link.
const DOWNLOAD: &str = "download_backup_archive";
/// The sandbox operation that issues an archive link.
const LINK: &str = "get_backup_archive_url";
/// The size of the archives of the small tests.
const SMALL: u64 = 1024 * 1024;
/// The big resumed download: multi-hundred MiB, streamed, never held in memory.
const BIG: u64 = 300 * 1024 * 1024;

/// A sandbox whose archives are `archive_size` bytes (other settings from `config`), a client
/// of [`DEFAULT_DATABASE`] with [`FAST_RETRIES`], and the client's database token.
async fn start(config: SandboxConfig) -> (Sandbox, Client, String) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let client = client(&sandbox, &token, FAST_RETRIES);
    (sandbox, client, token)
}

fn client(sandbox: &Sandbox, token: &str, retry: RetryPolicy) -> Client {
    sandbox_builder(sandbox)
        .token(token.to_owned())
        .retry(retry)
        .build()
        .expect("valid client settings")
}

fn sized(archive_size: u64) -> SandboxConfig {
    SandboxConfig {
        archive_size,
        ..SandboxConfig::default()
    }
}

/// The periodic backup every sandbox database starts with (done).
async fn seeded(client: &Client) -> Backup {
    let backup = client
        .backups()
        .list()
        .await
        .expect("list")
        .into_iter()
        .find(|backup| backup.method == Some(BackupMethod::Periodic))
        .expect("the seeded periodic backup");
    assert_eq!(backup.status, BackupStatus::Done);
    backup
}

/// The length of a done backup's archive, as the backup records it.
fn recorded_size(backup: &Backup) -> u64 {
    let size = backup.size.expect("a done backup has a size");
    u64::try_from(size).expect("a positive size")
}

/// The archive's bytes, read from the sandbox through a fresh link (small archives only).
async fn archive_bytes(client: &Client, backup_id: &str) -> Vec<u8> {
    let link = client
        .backups()
        .archive_link(backup_id)
        .await
        .expect("archive link");
    let mut stream = client.backups().open_archive(&link).await.expect("open");
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

/// The length and sha256 of the archive, streamed from the sandbox into the hasher chunk by
/// chunk: the archive is never held in memory.
async fn archive_sha256(client: &Client, backup_id: &str) -> (u64, Vec<u8>) {
    let link = client
        .backups()
        .archive_link(backup_id)
        .await
        .expect("archive link");
    let mut stream = client.backups().open_archive(&link).await.expect("open");
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    // Bounded: the sandbox sends 64 KiB chunks; a GiB is 16 Ki of them.
    for _ in 0..1_000_000 {
        match stream.chunk().await.expect("a chunk") {
            Some(chunk) => {
                hasher.update(&chunk);
                len += chunk.len() as u64;
            }
            None => return (len, hasher.finalize().to_vec()),
        }
    }
    panic!("the archive did not end");
}

/// The length and sha256 of a file, read in 1 MiB pieces.
async fn file_sha256(path: &Path) -> (u64, Vec<u8>) {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut file = std::fs::File::open(&path).expect("the downloaded file opens");
        let mut buffer = vec![0; 1024 * 1024];
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        loop {
            let read = file.read(&mut buffer).expect("the file reads");
            if read == 0 {
                return (len, hasher.finalize().to_vec());
            }
            hasher.update(&buffer[..read]);
            len += read as u64;
        }
    })
    .await
    .expect("the hashing task ends")
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// `<path>.part`, where the facade writes before renaming.
fn part(path: &Path) -> PathBuf {
    with_suffix(path, ".part")
}

/// `<path>.part.backup`, which names the backup the `.part` belongs to.
fn part_owner(path: &Path) -> PathBuf {
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

/// Checks a run of progress reports: never backwards, always about `total` bytes, ending at the
/// whole archive.
fn assert_progress(progress: &[Progress], total: u64) {
    assert!(!progress.is_empty(), "no progress was reported");
    for pair in progress.windows(2) {
        assert!(
            pair[0].bytes <= pair[1].bytes,
            "progress went back: {pair:?}"
        );
    }
    for report in progress {
        assert_eq!(report.total, Some(total), "{report:?}");
        assert!(report.bytes <= total, "{report:?}");
    }
    assert_eq!(
        progress.last(),
        Some(&Progress {
            bytes: total,
            total: Some(total)
        })
    );
}

/// The next download requests are cut, one after each of `cuts` bytes of its body.
fn cut_downloads(sandbox: &Sandbox, cuts: &[u64]) {
    for &cut in cuts {
        let after_bytes = usize::try_from(cut).expect("a cut within memory");
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::TruncateBody { after_bytes },
        ));
    }
}

/// The peak and current resident memory of this process, in bytes, from `/proc` (Linux, as on
/// CI). They are the whole test binary's: every thread, so every test running meanwhile, counts.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status reads");
    let field = |name: &str| -> u64 {
        let line = status
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status:\n{status}"));
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number of kB: {line}"));
        kib * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// `download` of `backup_id` to `path`, reporting to `on_progress`. On failure, checks that the
/// error shows no token, then fails the test with `what` and the error.
async fn download_to_file(
    client: &Client,
    backup_id: &str,
    path: &Path,
    token: &str,
    what: &str,
    on_progress: impl FnMut(Progress),
) -> Downloaded {
    client
        .backups()
        .download(backup_id, path, on_progress)
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, token);
            panic!("{what}: {error}")
        })
}

#[tokio::test]
async fn a_plain_download_writes_exactly_the_archive_and_reports_progress() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&client, &backup.id).await;
    assert_eq!(expected.len() as u64, size);
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let mut progress = Vec::new();
    let downloaded = download_to_file(&client, &backup.id, &path, &token, "download", |report| {
        progress.push(report)
    })
    .await;

    assert_eq!(downloaded.path, path);
    assert_eq!(downloaded.bytes, size);
    assert_eq!(downloaded.resumes, 0);
    assert_eq!(file_sha256(&path).await, (size, sha256(&expected)));
    assert!(!part(&path).exists(), "the .part was renamed");
    assert_eq!(files_in(dir.path()), vec!["backup.tar.gz".to_owned()]);
    assert_progress(&progress, size);
    assert_eq!(progress[0].bytes, 0, "a fresh download starts at 0");
    assert!(
        progress.len() >= 3,
        "progress is reported as bytes arrive: {progress:?}"
    );
    assert_eq!(sandbox.counters().get(DOWNLOAD), 1);
    assert_eq!(sandbox.counters().get(LINK), 1);

    // The file is a .tar.gz that reads whole.
    let file = std::fs::File::open(&path).expect("open");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    for entry in archive.entries().expect("a tar stream") {
        let mut entry = entry.expect("an entry");
        names.push(entry.path().expect("a path").display().to_string());
        std::io::copy(&mut entry, &mut std::io::sink()).expect("the entry reads whole");
    }
    assert_eq!(names, vec!["backup.dump".to_owned()]);
}

/// The scenario: a download of hundreds of MiB is cut twice, resumes from where it
/// stopped each time, and ends with exactly the source's bytes, with memory staying flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_multi_hundred_mib_download_resumes_to_the_source_sha256() {
    let started = Instant::now();
    let memory_before = memory();
    let (sandbox, client, token) = start(sized(BIG)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    assert!(size > 250 * 1024 * 1024, "{size}");

    const FIRST_CUT: u64 = 64 * 1024 * 1024;
    const SECOND_CUT: u64 = 32 * 1024 * 1024;
    // The second rule applies to the resumed request, which starts at FIRST_CUT: it is cut
    // SECOND_CUT bytes further on.
    cut_downloads(&sandbox, &[FIRST_CUT, SECOND_CUT]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("big.tar.gz");

    // Progress without storing every report: the last one, whether any went back or lacked the
    // total, and where each resumed transfer started (its first report repeats the count the
    // interrupted one ended at).
    let mut last: Option<Progress> = None;
    let mut went_back = false;
    let mut wrong_total = false;
    let mut resumed_at = Vec::new();
    let mut reports = 0u64;
    let downloaded = download_to_file(&client, &backup.id, &path, &token, "download", |report| {
        reports += 1;
        if let Some(last) = last {
            went_back |= report.bytes < last.bytes;
            if report.bytes == last.bytes {
                resumed_at.push(report.bytes);
            }
        }
        wrong_total |= report.total != Some(size);
        last = Some(report);
    })
    .await;
    let downloaded_in = started.elapsed();

    assert_eq!(downloaded.bytes, size);
    assert_eq!(downloaded.resumes, 2, "cut twice, resumed twice");
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        3,
        "the whole, then two resumed ranges"
    );
    assert_eq!(sandbox.counters().get(LINK), 1, "the link did not expire");
    assert!(
        !went_back,
        "progress went back: a transfer restarted from 0"
    );
    assert!(!wrong_total, "a report did not give the archive's size");
    assert_eq!(
        resumed_at,
        vec![FIRST_CUT, FIRST_CUT + SECOND_CUT],
        "each resume starts where the cut left the file"
    );
    assert_eq!(
        last,
        Some(Progress {
            bytes: size,
            total: Some(size)
        })
    );
    assert!(reports >= size / (1024 * 1024), "{reports} reports");
    assert!(!part(&path).exists(), "the .part was renamed");
    assert_eq!(files_in(dir.path()), vec!["big.tar.gz".to_owned()]);

    // The reference, streamed from the sandbox once more into a hasher, while the file is hashed
    // on another thread: hashing in a debug build is the slow part.
    let (reference, written) =
        tokio::join!(archive_sha256(&client, &backup.id), file_sha256(&path));
    assert_eq!(reference.0, size);
    assert_eq!(written.0, size);
    assert!(
        written.1 == reference.1,
        "the resumed download's sha256 differs from the source's"
    );

    // Neither the client nor this test held the archive: the peak resident memory grew by far
    // less than its size. The measure is process-wide, so it also counts whatever the tests
    // running meanwhile allocated: an upper bound of this test's own growth.
    let (_, rss_before) = memory_before;
    let (peak_after, _) = memory();
    let growth = peak_after.saturating_sub(rss_before);
    assert!(
        growth < size / 3,
        "resident memory peaked {} MiB above the start, for a {} MiB archive",
        growth / (1024 * 1024),
        size / (1024 * 1024)
    );
    eprintln!(
        "big download: {} MiB resumed in {downloaded_in:?}, checked in {:?}",
        size / (1024 * 1024),
        started.elapsed() - downloaded_in
    );
}

#[tokio::test]
async fn a_failed_download_leaves_its_part_and_the_next_call_continues_it() {
    let (sandbox, impatient, token) = start(sized(SMALL)).await;
    let backup = seeded(&impatient).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&impatient, &backup.id).await;
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // A client that does not retry: the first cut ends the call.
    const CUT: usize = 300_000;
    let once = client(&sandbox, &token, RetryPolicy::none());
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    let error = once
        .backups()
        .download(&backup.id, &path, |_| {})
        .await
        .expect_err("the transfer is cut and not resumed");
    assert!(
        matches!(error, Error::Transport { .. }),
        "a cut connection is a transport error: {error:?}"
    );
    assert_no_token(&error, &token);
    assert!(!path.exists(), "nothing at the destination after a failure");
    let kept = std::fs::read(part(&path)).expect("the .part is kept to be resumed");
    let owner = std::fs::read_to_string(part_owner(&path)).expect("the .part's owner is kept");
    assert_eq!(owner, backup.id, "the .part says which backup it is of");
    assert_eq!(kept.len(), CUT, "the .part holds what arrived");
    assert!(kept == expected[..CUT], "the .part is the archive's start");
    assert_eq!(sandbox.counters().get(DOWNLOAD), 1);

    // Another client (as in a new process) continues from the .part.
    let mut progress = Vec::new();
    let downloaded = download_to_file(
        &impatient,
        &backup.id,
        &path,
        &token,
        "download",
        |report| progress.push(report),
    )
    .await;
    assert_eq!(downloaded.bytes, size);
    assert_eq!(downloaded.resumes, 0, "no interruption in this call");
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        2,
        "one more request, for the rest"
    );
    assert_eq!(
        progress.first(),
        Some(&Progress {
            bytes: CUT as u64,
            total: Some(size)
        }),
        "the second call started from the .part, not from 0"
    );
    assert_progress(&progress, size);
    assert_eq!(file_sha256(&path).await, (size, sha256(&expected)));
    assert!(!part(&path).exists());
}

#[tokio::test]
async fn a_leftover_part_that_cannot_be_the_archive_start_is_started_again() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&client, &backup.id).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let not_gzip = b"<html>502 Bad Gateway</html>".to_vec();
    let mut too_long = expected.clone();
    too_long.extend_from_slice(b"trailing garbage");
    // A true archive start, but of another backup (or of no known one): continuing it would
    // give a file of the right size and gzip header holding two backups' bytes.
    let start = expected[..5000].to_vec();
    for (what, leftover, owner) in [
        ("not gzip", not_gzip, Some(backup.id.as_str())),
        ("too long", too_long, Some(backup.id.as_str())),
        (
            "another backup's",
            start.clone(),
            Some("0123456789abcdef01234567"),
        ),
        ("no owner", start, None),
    ] {
        std::fs::write(part(&path), &leftover).expect("write a leftover .part");
        match owner {
            Some(owner) => std::fs::write(part_owner(&path), owner).expect("write its owner"),
            None => drop(std::fs::remove_file(part_owner(&path))),
        }
        sandbox.counters().reset();
        let mut first = None;
        let downloaded = download_to_file(
            &client,
            &backup.id,
            &path,
            &token,
            &format!("{what}: download"),
            |report| {
                first.get_or_insert(report);
            },
        )
        .await;
        assert_eq!(downloaded.bytes, size, "{what}");
        assert_eq!(first.map(|report| report.bytes), Some(0), "{what}");
        assert_eq!(sandbox.counters().get(DOWNLOAD), 1, "{what}");
        assert_eq!(
            file_sha256(&path).await,
            (size, sha256(&expected)),
            "{what}"
        );
        assert!(!part(&path).exists(), "{what}");
        assert!(!part_owner(&path).exists(), "{what}");
        std::fs::remove_file(&path).expect("remove the download");
    }
}

#[tokio::test]
async fn an_expired_link_is_replaced_and_the_download_completes() {
    let (sandbox, client, token) = start(SandboxConfig {
        archive_link_lifetime: Duration::from_secs(1),
        ..sized(SMALL)
    })
    .await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&client, &backup.id).await;
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // The first transfer is cut; the resumed request then reaches the link check only after the
    // link's one-second lifetime.
    const CUT: usize = 200_000;
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::delay(Duration::from_millis(1500)),
    ));
    let started = Instant::now();
    let mut progress = Vec::new();
    let downloaded = download_to_file(&client, &backup.id, &path, &token, "download", |report| {
        progress.push(report)
    })
    .await;

    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(downloaded.bytes, size);
    assert_eq!(downloaded.resumes, 1);
    assert_eq!(
        sandbox.counters().get(LINK),
        2,
        "a fresh link was asked for"
    );
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        3,
        "cut, refused as expired, then the rest with the fresh link"
    );
    assert_progress(&progress, size);
    assert!(
        progress.iter().any(|report| report.bytes == CUT as u64),
        "the rest was asked from where the cut left it"
    );
    assert_eq!(file_sha256(&path).await, (size, sha256(&expected)));
    assert!(!part(&path).exists());
}

/// What object storage really answers for a missing object, sometimes with a 200.
const STORAGE_ERROR: &str = "fail to get archive from storage backend: NoSuchKey";

/// A 200 download answer whose body is `body`.
fn ok_body(body: String) -> Fault {
    Fault::Status {
        status: 200,
        body,
        content_type: Some("application/octet-stream".to_owned()),
        headers: vec![],
    }
}

/// Checks the outcome of a download whose body was not an archive: nothing kept, and an error
/// that says so and shows the body's start (the only clue to what went wrong).
fn assert_not_an_archive(outcome: Result<Downloaded, Error>, path: &Path, token: &str) {
    assert!(!path.exists(), "nothing at the destination");
    assert!(
        !part(path).exists(),
        "a .part that is not an archive is removed"
    );
    let error = outcome.expect_err("a body that is not an archive is refused");
    assert_no_token(&error, token);
    match &error {
        Error::Archive { message } => {
            assert!(
                message.contains("not a gzip archive"),
                "the message says the body is not an archive: {message}"
            );
            assert!(
                message.contains("NoSuchKey"),
                "the message quotes the body's start: {message}"
            );
        }
        other => panic!("expected an archive error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_storage_error_answered_200_is_not_an_archive_and_nothing_is_kept() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        ok_body(STORAGE_ERROR.to_owned()),
    ));
    let outcome = client.backups().download(&backup.id, &path, |_| {}).await;

    assert_not_an_archive(outcome, &path, &token);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        1,
        "a body that is not an archive is not retried"
    );
}

#[tokio::test]
async fn a_storage_error_of_the_archive_size_is_not_an_archive_either() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // Padded to the recorded size, so only the gzip check can tell.
    let body = STORAGE_ERROR.to_owned() + &" ".repeat(size as usize - STORAGE_ERROR.len());
    assert_eq!(body.len() as u64, size);
    sandbox
        .faults()
        .inject(FaultRule::new(DOWNLOAD, 1, ok_body(body)));
    let outcome = client.backups().download(&backup.id, &path, |_| {}).await;

    assert_not_an_archive(outcome, &path, &token);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn a_size_that_disagrees_with_the_backup_is_refused() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&client, &backup.id).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // The archive's real start arrives, then the resumed range is shorter, or longer, than the
    // rest of the recorded size. (A body of the wrong length cannot start with the gzip magic
    // here: fault bodies are text, and 0x8b is not UTF-8 on its own.)
    const CUT: usize = 1000;
    for (what, rest) in [("shorter", 10), ("longer", size as usize - CUT + 10)] {
        // Each case starts from nothing.
        let _ = std::fs::remove_file(part(&path));
        sandbox.counters().reset();
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::TruncateBody { after_bytes: CUT },
        ));
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::Status {
                status: 206,
                body: "x".repeat(rest),
                content_type: Some("application/octet-stream".to_owned()),
                headers: vec![],
            },
        ));
        let outcome = client.backups().download(&backup.id, &path, |_| {}).await;
        match &outcome {
            Err(Error::Archive { message }) => {
                let announced = (CUT + rest).to_string();
                assert!(
                    message.contains(&announced) && message.contains(&size.to_string()),
                    "{what}: the message gives both sizes: {message}"
                );
            }
            other => panic!("{what}: expected an archive error, got {other:?}"),
        }
        if let Err(error) = &outcome {
            assert_no_token(error, &token);
        }
        assert!(!path.exists(), "{what}: nothing at the destination");
        assert_eq!(sandbox.counters().get(DOWNLOAD), 2, "{what}");
        // The start, which is the archive's, is kept to be resumed; nothing of the bad range.
        let kept = std::fs::read(part(&path)).expect("the .part is kept");
        assert!(kept == expected[..CUT], "{what}: {} bytes kept", kept.len());
    }

    // The kept start is then completed into the right archive.
    let downloaded = download_to_file(
        &client,
        &backup.id,
        &path,
        &token,
        "the download completes",
        |_| {},
    )
    .await;
    assert_eq!(downloaded.bytes, size);
    assert_eq!(file_sha256(&path).await, (size, sha256(&expected)));
}

/// Checks the error for a backup that is not done: it names the backup and its status.
fn assert_not_done(error: &Error, backup_id: &str, token: &str) {
    match error {
        Error::Archive { message } => {
            assert!(
                message.contains("only a done backup can be downloaded"),
                "{message}"
            );
            assert!(
                message.contains(backup_id) && message.contains("scheduled"),
                "{message}"
            );
        }
        other => panic!("expected an archive error, got {other:?}"),
    }
    assert_no_token(error, token);
}

#[tokio::test]
async fn a_backup_not_done_is_not_downloaded_to_a_file_or_a_writer() {
    let (sandbox, client, token) = start(SandboxConfig {
        backup_scheduled_for: Duration::from_secs(10),
        ..sized(SMALL)
    })
    .await;
    let created = client.backups().create().await.expect("create");
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let mut reports = 0;
    let error = client
        .backups()
        .download(&created.id, &path, |_| reports += 1)
        .await
        .expect_err("a scheduled backup has no archive yet");
    assert_not_done(&error, &created.id, &token);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    let mut written = Vec::new();
    let error = client
        .backups()
        .download_to(&created.id, &mut written, |_| reports += 1)
        .await
        .expect_err("a scheduled backup has no archive yet");
    assert_not_done(&error, &created.id, &token);
    assert!(written.is_empty(), "{} bytes written", written.len());

    assert_eq!(reports, 0);
    assert_eq!(sandbox.counters().get(LINK), 0, "no link was asked for");
    assert_eq!(sandbox.counters().get(DOWNLOAD), 0);
}

#[tokio::test]
async fn an_unknown_backup_is_not_found_and_nothing_is_written() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let error = client
        .backups()
        .download("000000000000000000000000", &path, |_| {})
        .await
        .expect_err("no such backup");

    match &error {
        Error::NotFound { resource, .. } => {
            assert_eq!(resource.as_deref(), Some("database_backup"));
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    assert_no_token(&error, &token);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    assert_eq!(sandbox.counters().get(LINK), 0);
    assert_eq!(sandbox.counters().get(DOWNLOAD), 0);
}

/// `download_to` into memory: its answer, the bytes written and the progress reports.
async fn stream_to_memory(
    client: &Client,
    backup_id: &str,
    token: &str,
) -> (Streamed, Vec<u8>, Vec<Progress>) {
    let mut progress = Vec::new();
    let mut written = Vec::new();
    let streamed = client
        .backups()
        .download_to(backup_id, &mut written, |report| progress.push(report))
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, token);
            panic!("download_to: {error}")
        });
    (streamed, written, progress)
}

#[tokio::test]
async fn streaming_into_a_writer_gives_the_archive_and_the_file_download_s_bytes() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&client, &backup.id).await;
    sandbox.counters().reset();

    let (streamed, written, progress) = stream_to_memory(&client, &backup.id, &token).await;

    assert_eq!(
        streamed,
        Streamed {
            bytes: size,
            resumes: 0
        }
    );
    assert_eq!(written.len() as u64, size);
    assert!(
        sha256(&written) == sha256(&expected),
        "the writer's bytes differ from the archive's"
    );
    assert_progress(&progress, size);
    assert_eq!(progress[0].bytes, 0);
    assert_eq!(sandbox.counters().get(DOWNLOAD), 1);
    assert_eq!(sandbox.counters().get(LINK), 1);

    // The file download of the same backup holds the very same bytes.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    download_to_file(&client, &backup.id, &path, &token, "download", |_| {}).await;
    assert_eq!(file_sha256(&path).await, (size, sha256(&written)));
}

#[tokio::test]
async fn a_stream_cut_twice_resumes_from_what_was_written_to_the_same_bytes() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&client, &backup.id).await;
    sandbox.counters().reset();

    // The second cut applies to the resumed range, which starts at FIRST_CUT.
    const FIRST_CUT: u64 = 300_000;
    const SECOND_CUT: u64 = 200_000;
    cut_downloads(&sandbox, &[FIRST_CUT, SECOND_CUT]);
    let (streamed, written, progress) = stream_to_memory(&client, &backup.id, &token).await;

    assert_eq!(
        streamed,
        Streamed {
            bytes: size,
            resumes: 2
        }
    );
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        3,
        "the whole, then two resumed ranges"
    );
    assert_eq!(written.len() as u64, size, "no byte written twice or lost");
    assert!(
        sha256(&written) == sha256(&expected),
        "the resumed stream's bytes differ from the archive's"
    );
    assert_progress(&progress, size);
    // Each resumed transfer's first report repeats where the cut left the writer.
    let resumed_at: Vec<u64> = progress
        .windows(2)
        .filter(|pair| pair[0].bytes == pair[1].bytes)
        .map(|pair| pair[1].bytes)
        .collect();
    assert_eq!(resumed_at, vec![FIRST_CUT, FIRST_CUT + SECOND_CUT]);
}

#[tokio::test]
async fn a_body_that_is_not_an_archive_never_reaches_the_writer() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    let size = recorded_size(&backup);

    // Short, the size tells first; padded to the recorded size, only the gzip check can tell.
    let padded = STORAGE_ERROR.to_owned() + &" ".repeat(size as usize - STORAGE_ERROR.len());
    for (what, body) in [("short", STORAGE_ERROR.to_owned()), ("padded", padded)] {
        sandbox.counters().reset();
        sandbox
            .faults()
            .inject(FaultRule::new(DOWNLOAD, 1, ok_body(body)));
        let mut written = Vec::new();
        let error = client
            .backups()
            .download_to(&backup.id, &mut written, |_| {})
            .await
            .expect_err("a body that is not an archive is refused");

        assert_no_token(&error, &token);
        match &error {
            Error::Archive { message } => assert!(
                message.contains("not a gzip archive") && message.contains("NoSuchKey"),
                "{what}: {message}"
            ),
            other => panic!("{what}: expected an archive error, got {other:?}"),
        }
        assert!(
            written.is_empty(),
            "{what}: {} bytes reached the writer",
            written.len()
        );
        assert_eq!(sandbox.counters().get(DOWNLOAD), 1, "{what}: not retried");
    }
}

/// A writer whose every write fails, like standard output into a closed pipe.
struct ClosedPipe;

impl tokio::io::AsyncWrite for ClosedPipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_writer_that_fails_ends_the_download_with_an_io_error() {
    let (sandbox, client, token) = start(sized(SMALL)).await;
    let backup = seeded(&client).await;
    sandbox.counters().reset();

    let error = client
        .backups()
        .download_to(&backup.id, ClosedPipe, |_| {})
        .await
        .expect_err("nothing can be written");

    assert_no_token(&error, &token);
    match &error {
        Error::Io { path, source } => {
            assert_eq!(path, Path::new("<writer>"));
            assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        1,
        "a local failure is not a reason to download again"
    );
}
