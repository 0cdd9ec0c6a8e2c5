//! `Backups::download` against the in-process sandbox: a plain download writes exactly the
//! sandbox's bytes with monotonic progress; a download cut at several random points resumes with
//! `Range` each time and ends with the source's sha256, its `.part` holding exactly what arrived
//! at every cut; a `.part` left by a failed call is continued by the next one (and a leftover that
//! cannot be the archive's start is started again); an expired link is replaced mid-download; a
//! body that is not an archive, a size that disagrees with the backup's, a backup that is not done
//! and an unknown backup all fail with the right error and leave nothing at the destination; no
//! error ever shows a token.
//!
//! `Backups::download_to` shares that resume loop: into a writer it gives the same bytes, resumes
//! after cuts, and writes nothing for a backup that is not done or a body that is not an archive.
//!
//! The sandbox runs on a manual clock that the client sleeps on ([`SharedClock`]): a resume's
//! backoff takes no time, and a link expires when a test moves the clock past its lifetime. The
//! same download at hundreds of MiB, with its memory and time, is `cargo xtask bench download`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{
    FAST_RETRIES, FailingWriter, SharedClock, assert_no_token, manual_clock, sandbox_builder,
    seeded_backup,
};
use scalingo_db::{
    ArchiveProblem, Backup, BackupStatus, Database, Downloaded, Error, OperationId, Progress,
    RetryPolicy, Streamed,
};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig};
use sha2::{Digest as _, Sha256};

/// The sandbox operation that serves an archive link.
pub(crate) const DOWNLOAD: OperationId = OperationId::DownloadBackupArchive;
/// The sandbox operation that issues an archive link.
pub(crate) const LINK: OperationId = OperationId::GetBackupArchiveUrl;
/// The size of the archives of the small tests.
const SMALL: u64 = 1024 * 1024;
/// The archive cut at random points: a few MiB, several 1 MiB write buffers.
const CUT_UP: u64 = 4 * 1024 * 1024;

/// A sandbox on a manual clock (other settings from `config`), a client of [`DEFAULT_DATABASE`]
/// with [`FAST_RETRIES`] sleeping on that clock, the clock, which records the client's sleeps,
/// and the client's database token.
pub(crate) async fn start(config: SandboxConfig) -> (Sandbox, Database, SharedClock, String) {
    let sandbox = Sandbox::start(SandboxConfig {
        clock: manual_clock(),
        ..config
    })
    .await
    .expect("sandbox starts");
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let shared = SharedClock::of(&sandbox);
    let db = client(&sandbox, &token, FAST_RETRIES, &shared);
    (sandbox, db, shared, token)
}

pub(crate) fn client(
    sandbox: &Sandbox,
    token: &str,
    retry: RetryPolicy,
    clock: &SharedClock,
) -> Database {
    sandbox_builder(sandbox)
        .database_token(DEFAULT_DATABASE, token.to_owned())
        .retry(retry)
        .clock(clock.clone())
        .build()
        .expect("valid client settings")
        .database(DEFAULT_DATABASE)
}

pub(crate) fn sized(archive_size: u64) -> SandboxConfig {
    SandboxConfig {
        archive_size,
        ..SandboxConfig::default()
    }
}

/// The length of a done backup's archive, as the backup records it.
pub(crate) fn recorded_size(backup: &Backup) -> u64 {
    let size = backup.size.expect("a done backup has a size");
    u64::try_from(size).expect("a positive size")
}

/// The archive's bytes, read from the sandbox through a fresh link (small archives only).
pub(crate) async fn archive_bytes(db: &Database, backup_id: &str) -> Vec<u8> {
    let link = db
        .backups()
        .archive_url(backup_id)
        .await
        .expect("archive link");
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

/// The length and sha256 of a file.
pub(crate) async fn file_sha256(path: &Path) -> (u64, Vec<u8>) {
    let bytes = tokio::fs::read(path).await.expect("the file reads");
    (bytes.len() as u64, sha256(&bytes))
}

pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// `<path>.part`, where the facade writes before renaming.
pub(crate) fn part(path: &Path) -> PathBuf {
    with_suffix(path, ".part")
}

/// `<path>.part.backup`, which names the backup the `.part` belongs to.
pub(crate) fn part_owner(path: &Path) -> PathBuf {
    with_suffix(path, ".part.backup")
}

/// The backup `<path>.part.backup` names: its first line (the second names the version of the
/// archive).
fn owner_of(path: &Path) -> String {
    let sidecar = std::fs::read_to_string(part_owner(path)).expect("the .part's owner is there");
    sidecar.lines().next().unwrap_or_default().to_owned()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().expect("a file name").to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The names of the files in `dir`, sorted.
pub(crate) fn files_in(dir: &Path) -> Vec<String> {
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
pub(crate) fn assert_progress(progress: &[Progress], total: u64) {
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

/// Where each resumed transfer started: its first report repeats the count the interrupted one
/// ended at.
fn resumed_at(progress: &[Progress]) -> Vec<u64> {
    progress
        .windows(2)
        .filter(|pair| pair[0].bytes == pair[1].bytes)
        .map(|pair| pair[1].bytes)
        .collect()
}

/// The next download requests are cut: the first after `cuts[0]` bytes of the archive, the next
/// (which resumes from there) after `cuts[1]`, and so on. `cuts` are offsets in the archive,
/// increasing.
fn cut_downloads_at(sandbox: &Sandbox, cuts: &[u64]) {
    let mut from = 0;
    for &cut in cuts {
        assert!(cut > from, "cuts must increase: {cuts:?}");
        let after_bytes = usize::try_from(cut - from).expect("a cut within memory");
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::TruncateBody { after_bytes },
        ));
        from = cut;
    }
}

/// `count` distinct offsets in `2..size`, increasing, drawn from `seed` (splitmix64).
pub(crate) fn random_cuts(seed: u64, size: u64, count: usize) -> Vec<u64> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut cuts = std::collections::BTreeSet::new();
    // Bounded: `count` is far below the number of offsets, so repeats are rare.
    for _ in 0..count * 100 {
        if cuts.len() == count {
            break;
        }
        cuts.insert(2 + next() % (size - 2));
    }
    assert_eq!(cuts.len(), count, "seed {seed}");
    cuts.into_iter().collect()
}

/// The seed of the random cuts: `DOWNLOAD_CUTS_SEED` to replay a run, else the time.
pub(crate) fn cuts_seed() -> u64 {
    match std::env::var("DOWNLOAD_CUTS_SEED") {
        Ok(seed) => seed.parse().expect("DOWNLOAD_CUTS_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64),
    }
}

/// `download` of `backup_id` to `path`, reporting to `on_progress`. On failure, checks that the
/// error shows no token, then fails the test with `what` and the error.
async fn download_to_file(
    db: &Database,
    backup_id: &str,
    path: &Path,
    token: &str,
    what: &str,
    on_progress: impl FnMut(Progress) + Send,
) -> Downloaded {
    db.backups()
        .download(backup_id, path)
        .on_progress(on_progress)
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, token);
            panic!("{what}: {error}")
        })
}

#[tokio::test]
async fn a_plain_download_writes_exactly_the_archive_and_reports_progress() {
    let (sandbox, db, shared, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
    assert_eq!(expected.len() as u64, size);
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let mut progress = Vec::new();
    let downloaded = download_to_file(&db, &backup.id, &path, &token, "download", |report| {
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
    assert!(shared.sleeps().is_empty(), "nothing to wait for");

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

/// What the `.part` and its owner file hold when a resumed transfer starts.
#[derive(Debug, PartialEq, Eq)]
struct AtResume {
    /// Where the transfer resumes.
    from: u64,
    /// The `.part`'s length.
    part_len: u64,
    /// Whether the `.part` is the archive's first `from` bytes.
    part_is_the_start: bool,
    /// What `<path>.part.backup` says.
    owner: String,
    /// Whether anything is at the destination yet.
    destination_exists: bool,
}

/// The scenario, at a few MiB (the bench runs it at hundreds): a download cut at several
/// random points resumes from where it stopped each time, with the `.part` holding exactly what
/// arrived, and ends with exactly the source's bytes.
#[tokio::test]
async fn a_download_cut_at_random_points_resumes_each_time_to_the_source_sha256() {
    const CUTS: usize = 4;
    let (sandbox, db, shared, token) = start(sized(CUT_UP)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    assert!(size > 3 * 1024 * 1024, "{size}");
    let source = archive_bytes(&db, &backup.id).await;
    assert_eq!(source.len() as u64, size);
    sandbox.counters().reset();

    let seed = cuts_seed();
    let cuts = random_cuts(seed, size, CUTS);
    // Printed only when the test fails: `DOWNLOAD_CUTS_SEED=<seed>` replays the same cuts.
    let replay = format!("cuts {cuts:?}, DOWNLOAD_CUTS_SEED={seed}");
    cut_downloads_at(&sandbox, &cuts);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("cut.tar.gz");

    // At each resume (a report repeating the last count), what the `.part` and its owner hold.
    let mut progress: Vec<Progress> = Vec::new();
    let mut at_resumes = Vec::new();
    let downloaded = download_to_file(&db, &backup.id, &path, &token, &replay, |report| {
        if progress.last() == Some(&report) {
            let kept = std::fs::read(part(&path)).expect("the .part is there");
            at_resumes.push(AtResume {
                from: report.bytes,
                part_len: kept.len() as u64,
                part_is_the_start: kept[..] == source[..kept.len().min(source.len())],
                owner: owner_of(&path),
                destination_exists: path.exists(),
            });
        }
        progress.push(report);
    })
    .await;

    assert_eq!(downloaded.bytes, size, "{replay}");
    assert_eq!(downloaded.resumes, CUTS as u32, "{replay}");
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        CUTS as u64 + 1,
        "the whole, then one resumed range per cut: {replay}"
    );
    assert_eq!(sandbox.counters().get(LINK), 1, "the link did not expire");
    assert_progress(&progress, size);
    assert_eq!(progress[0].bytes, 0);
    assert_eq!(
        resumed_at(&progress),
        cuts,
        "each resume starts where the cut left the file: {replay}"
    );
    let expected: Vec<AtResume> = cuts
        .iter()
        .map(|&cut| AtResume {
            from: cut,
            part_len: cut,
            part_is_the_start: true,
            owner: backup.id.clone(),
            destination_exists: false,
        })
        .collect();
    assert_eq!(
        at_resumes, expected,
        "the .part holds exactly the archive's start, named after its backup: {replay}"
    );
    assert!(
        progress.len() as u64 >= size / (1024 * 1024),
        "{} reports",
        progress.len()
    );
    // One backoff before each resume, on the shared clock: none was slept for real.
    let sleeps = shared.sleeps();
    assert_eq!(sleeps.len(), CUTS, "{sleeps:?}");
    assert!(
        sleeps
            .iter()
            .all(|slept| *slept <= FAST_RETRIES.initial_backoff),
        "progress was made before each cut, so each backoff is the first one's: {sleeps:?}"
    );
    assert!(!part(&path).exists(), "the .part was renamed");
    assert!(!part_owner(&path).exists(), "its owner file was removed");
    assert_eq!(files_in(dir.path()), vec!["cut.tar.gz".to_owned()]);
    let (written_len, written_sha256) = file_sha256(&path).await;
    assert_eq!(written_len, size);
    assert!(
        written_sha256 == sha256(&source),
        "the resumed download's sha256 differs from the source's: {replay}"
    );
}

#[tokio::test]
async fn a_failed_download_leaves_its_part_and_the_next_call_continues_it() {
    let (sandbox, patient, shared, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&patient).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&patient, &backup.id).await;
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // A client that does not retry: the first cut ends the call.
    const CUT: usize = 300_000;
    let once = client(&sandbox, &token, RetryPolicy::none(), &shared);
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    let error = once
        .backups()
        .download(&backup.id, &path)
        .await
        .expect_err("the transfer is cut and not resumed");
    assert!(
        matches!(error, Error::Transport { .. }),
        "a cut connection is a transport error: {error:?}"
    );
    assert_no_token(&error, &token);
    assert!(!path.exists(), "nothing at the destination after a failure");
    let kept = std::fs::read(part(&path)).expect("the .part is kept to be resumed");
    assert_eq!(
        owner_of(&path),
        backup.id,
        "the .part says which backup it is of"
    );
    assert_eq!(kept.len(), CUT, "the .part holds what arrived");
    assert!(kept == expected[..CUT], "the .part is the archive's start");
    assert_eq!(sandbox.counters().get(DOWNLOAD), 1);

    // Another client (as in a new process) continues from the .part.
    let mut progress = Vec::new();
    let downloaded = download_to_file(&patient, &backup.id, &path, &token, "download", |report| {
        progress.push(report)
    })
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
    assert!(!part_owner(&path).exists());
}

#[tokio::test]
async fn a_leftover_part_that_cannot_be_the_archive_start_is_started_again() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
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
            &db,
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
    const LIFETIME: Duration = Duration::from_secs(60);
    let (sandbox, db, _, token) = start(SandboxConfig {
        archive_link_lifetime: LIFETIME,
        ..sized(SMALL)
    })
    .await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // The first transfer is cut; while its first bytes arrive, the link's lifetime passes, so
    // the resumed request is refused as expired.
    const CUT: usize = 200_000;
    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        Fault::TruncateBody { after_bytes: CUT },
    ));
    let clock = sandbox.clock().clone();
    let link_issued_at = clock.now();
    let mut advanced = 0;
    let mut progress = Vec::new();
    let downloaded = download_to_file(&db, &backup.id, &path, &token, "download", |report| {
        if report.bytes > 0 && advanced == 0 {
            clock.advance(LIFETIME + Duration::from_secs(1));
            advanced += 1;
        }
        progress.push(report);
    })
    .await;

    assert_eq!(
        advanced, 1,
        "the clock moved once, during the first transfer"
    );
    assert!(clock.now() - link_issued_at > chrono::TimeDelta::seconds(60));
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
    assert_eq!(
        resumed_at(&progress),
        vec![CUT as u64],
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

/// Checks an error for a body that is not an archive: it says so and shows the body's start (the
/// only clue to what went wrong), and no token.
fn assert_not_gzip(error: &Error, token: &str, what: &str) {
    assert_no_token(error, token);
    match error {
        Error::Archive(ArchiveProblem::NotGzip { snippet }) => {
            assert!(
                snippet.contains("NoSuchKey"),
                "{what}: the error quotes the body's start: {snippet}"
            );
            assert!(
                error.to_string().contains("not a gzip archive"),
                "{what}: the message says the body is not an archive: {error}"
            );
        }
        other => panic!("{what}: expected an archive error, got {other:?}"),
    }
}

/// Checks the outcome of a download whose body was not an archive: nothing kept, and the error.
fn assert_not_an_archive(outcome: Result<Downloaded, Error>, path: &Path, token: &str) {
    assert!(!path.exists(), "nothing at the destination");
    assert!(
        !part(path).exists(),
        "a .part that is not an archive is removed"
    );
    let error = outcome.expect_err("a body that is not an archive is refused");
    assert_not_gzip(&error, token, "download");
}

#[tokio::test]
async fn a_storage_error_answered_200_is_not_an_archive_and_nothing_is_kept() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    sandbox.faults().inject(FaultRule::new(
        DOWNLOAD,
        1,
        ok_body(STORAGE_ERROR.to_owned()),
    ));
    let outcome = db.backups().download(&backup.id, &path).await;

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
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // Padded to the recorded size, so only the gzip check can tell.
    let body = STORAGE_ERROR.to_owned() + &" ".repeat(size as usize - STORAGE_ERROR.len());
    assert_eq!(body.len() as u64, size);
    sandbox
        .faults()
        .inject(FaultRule::new(DOWNLOAD, 1, ok_body(body)));
    let outcome = db.backups().download(&backup.id, &path).await;

    assert_not_an_archive(outcome, &path, &token);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn a_size_that_disagrees_with_the_backup_is_refused() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
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
        let outcome = db.backups().download(&backup.id, &path).await;
        match &outcome {
            Err(
                error @ Error::Archive(ArchiveProblem::SizeMismatch {
                    announced,
                    recorded,
                }),
            ) => {
                assert_eq!(*announced, (CUT + rest) as u64, "{what}");
                assert_eq!(*recorded, size, "{what}");
                let message = error.to_string();
                assert!(
                    message.contains(&announced.to_string()) && message.contains(&size.to_string()),
                    "{what}: the message gives both sizes: {message}"
                );
                assert_no_token(error, &token);
            }
            other => panic!("{what}: expected a size mismatch, got {other:?}"),
        }
        assert!(!path.exists(), "{what}: nothing at the destination");
        assert_eq!(sandbox.counters().get(DOWNLOAD), 2, "{what}");
        // The start, which is the archive's, is kept to be resumed; nothing of the bad range.
        let kept = std::fs::read(part(&path)).expect("the .part is kept");
        assert!(kept == expected[..CUT], "{what}: {} bytes kept", kept.len());
    }

    // The kept start is then completed into the right archive.
    let downloaded = download_to_file(
        &db,
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
        Error::Archive(ArchiveProblem::NotDone {
            backup_id: named,
            status,
        }) => {
            assert_eq!(named, backup_id);
            assert_eq!(*status, BackupStatus::Scheduled);
            let message = error.to_string();
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
async fn a_backup_not_done_is_not_downloaded_to_a_file_or_a_writer_until_it_is() {
    const SCHEDULED: Duration = Duration::from_secs(10);
    let (sandbox, db, _, token) = start(SandboxConfig {
        backup_scheduled_for: SCHEDULED,
        ..sized(SMALL)
    })
    .await;
    let created = db.backups().create().await.expect("create");
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let mut reports = 0;
    let error = db
        .backups()
        .download(&created.id, &path)
        .on_progress(|_| reports += 1)
        .await
        .expect_err("a scheduled backup has no archive yet");
    assert_not_done(&error, &created.id, &token);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    let mut written = Vec::new();
    let error = db
        .backups()
        .download_to(&created.id, &mut written)
        .on_progress(|_| reports += 1)
        .await
        .expect_err("a scheduled backup has no archive yet");
    assert_not_done(&error, &created.id, &token);
    assert!(written.is_empty(), "{} bytes written", written.len());

    assert_eq!(reports, 0);
    assert_eq!(sandbox.counters().get(LINK), 0, "no link was asked for");
    assert_eq!(sandbox.counters().get(DOWNLOAD), 0);

    // Once its scheduled phase has passed on the sandbox's clock, it is done and downloads.
    sandbox.clock().advance(SCHEDULED);
    let downloaded = download_to_file(&db, &created.id, &path, &token, "once done", |_| {}).await;
    assert!(downloaded.bytes > 0);
    assert_eq!(files_in(dir.path()), vec!["backup.tar.gz".to_owned()]);
}

#[tokio::test]
async fn an_unknown_backup_is_not_found_and_nothing_is_written() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let error = db
        .backups()
        .download("000000000000000000000000", &path)
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
    db: &Database,
    backup_id: &str,
    token: &str,
) -> (Streamed, Vec<u8>, Vec<Progress>) {
    let mut progress = Vec::new();
    let mut written = Vec::new();
    let streamed = db
        .backups()
        .download_to(backup_id, &mut written)
        .on_progress(|report| progress.push(report))
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, token);
            panic!("download_to: {error}")
        });
    (streamed, written, progress)
}

#[tokio::test]
async fn streaming_into_a_writer_gives_the_archive_and_the_file_download_s_bytes() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
    sandbox.counters().reset();

    let (streamed, written, progress) = stream_to_memory(&db, &backup.id, &token).await;

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
    download_to_file(&db, &backup.id, &path, &token, "download", |_| {}).await;
    assert_eq!(file_sha256(&path).await, (size, sha256(&written)));
}

#[tokio::test]
async fn a_stream_cut_twice_resumes_from_what_was_written_to_the_same_bytes() {
    let (sandbox, db, shared, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let expected = archive_bytes(&db, &backup.id).await;
    sandbox.counters().reset();

    const FIRST_CUT: u64 = 300_000;
    const SECOND_CUT: u64 = 500_000;
    cut_downloads_at(&sandbox, &[FIRST_CUT, SECOND_CUT]);
    let (streamed, written, progress) = stream_to_memory(&db, &backup.id, &token).await;

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
    assert_eq!(resumed_at(&progress), vec![FIRST_CUT, SECOND_CUT]);
    assert_eq!(shared.sleeps().len(), 2, "one backoff per resume");
}

#[tokio::test]
async fn a_body_that_is_not_an_archive_never_reaches_the_writer() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);

    // Short, the size tells first; padded to the recorded size, only the gzip check can tell.
    let padded = STORAGE_ERROR.to_owned() + &" ".repeat(size as usize - STORAGE_ERROR.len());
    for (what, body) in [("short", STORAGE_ERROR.to_owned()), ("padded", padded)] {
        sandbox.counters().reset();
        sandbox
            .faults()
            .inject(FaultRule::new(DOWNLOAD, 1, ok_body(body)));
        let mut written = Vec::new();
        let error = db
            .backups()
            .download_to(&backup.id, &mut written)
            .await
            .expect_err("a body that is not an archive is refused");

        assert_not_gzip(&error, &token, what);
        assert!(
            written.is_empty(),
            "{what}: {} bytes reached the writer",
            written.len()
        );
        assert_eq!(sandbox.counters().get(DOWNLOAD), 1, "{what}: not retried");
    }
}

#[tokio::test]
async fn a_writer_that_fails_ends_the_download_with_an_io_error_without_a_path() {
    let (sandbox, db, _, token) = start(sized(SMALL)).await;
    let backup = seeded_backup(&db).await;
    sandbox.counters().reset();

    let error = db
        .backups()
        .download_to(
            &backup.id,
            FailingWriter(std::io::ErrorKind::BrokenPipe, "broken pipe"),
        )
        .await
        .expect_err("nothing can be written");

    assert_no_token(&error, &token);
    match &error {
        Error::Io { path, source } => {
            assert_eq!(*path, None, "a writer has no path");
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
