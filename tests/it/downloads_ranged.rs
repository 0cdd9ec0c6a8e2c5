//! `Backups::download` in ranges over several connections, from issue 13.
//!
//! Against the sandbox (behaviour): an archive of 64 MiB or more comes in ranges without being
//! asked; ranges cut at random points resume each where it stopped,
//! within a call and from one call to the next (the sidecar counts each range's bytes), and end
//! with the source's sha256; a link that expires between ranges is replaced once. Against
//! httpmock (exact exchanges): a server that ignores `Range` is followed in one stream. Against
//! [`RangedStore`] (exchanges that depend on what came before): ranges answered in another order
//! than asked land at their places; an archive replaced between two ranges is downloaded again
//! from its start, whether the server honours `If-Range` or not; one that keeps changing is
//! given up, leaving nothing. The full disk is in the facade's own tests
//! (`download/disk_full_tests.rs`), which can reach the positioned writer's seam.
//!
//! Small archives are cut into ranges by asking for a part size: the automatic plan keeps
//! archives below 64 MiB in one stream.

use std::path::Path;
use std::time::Duration;

use httpmock::MockServer;
use scalingo_db::{ArchiveProblem, Client, Database, Error, Progress, RetryPolicy};
use scalingo_db_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig};

use crate::downloads::{
    DOWNLOAD, LINK, archive_bytes, assert_progress, client, cuts_seed, file_sha256, files_in, part,
    random_cuts, recorded_size, sha256, sized, start,
};
use crate::ranged_store::{Answer, RangedStore, Script, stored_gzip};
use crate::support::{
    BACKUP_ID, DB, SharedClock, TOKEN, assert_no_token, client as mock_client, mock_backup, noise,
    seeded_backup,
};

/// The ranges of the sandbox tests: a 4 MiB archive in sixteen.
const SANDBOX_PART: u64 = 256 * 1024;
const SANDBOX_SIZE: u64 = 4 * 1024 * 1024;
/// The ranges of the store's archives: a few hundred KiB in ranges of 64 KiB.
const PART: u64 = 64 * 1024;

/// How many ranges an archive of `size` bytes is cut into.
fn ranges(size: u64, part: u64) -> usize {
    usize::try_from(size.div_ceil(part)).expect("a few ranges")
}

/// `path` holds exactly `source`, alone in its directory: no part, no sidecar, nothing else left.
async fn assert_saved(path: &Path, source: &[u8], replay: &str) {
    let (len, digest) = file_sha256(path).await;
    assert_eq!(len, source.len() as u64, "{replay}");
    assert!(
        digest == sha256(source),
        "another sha256 than the source's: {replay}"
    );
    let dir = path.parent().expect("a directory");
    let name = path.file_name().expect("a name").to_string_lossy();
    assert_eq!(files_in(dir), [name.as_ref()], "{replay}");
}

/// `count` random lengths after which to cut a request's body, from `seed`: short enough that a
/// range cut `count` times still has more left than any of them (each cut must cut), long enough
/// to show the gzip magic first.
fn cut_lengths(seed: u64, size: u64, count: usize) -> Vec<usize> {
    let shortest = (size - (size.div_ceil(SANDBOX_PART) - 1) * SANDBOX_PART).min(SANDBOX_PART);
    random_cuts(seed, shortest / (count as u64 + 1) - 100, count)
        .into_iter()
        .map(|cut| usize::try_from(100 + cut).expect("within memory"))
        .collect()
}

/// Where each range of the archive starts, as the `Range` header asks for it (without its end).
fn range_starts(size: u64, part: u64) -> Vec<String> {
    (0..size.div_ceil(part))
        .map(|index| format!("bytes={}-", index * part))
        .collect()
}

/// A sandbox with a 4 MiB archive to cut, a client of it, and where to cut.
struct CutUp {
    sandbox: Sandbox,
    db: Database,
    clock: SharedClock,
    token: String,
    backup_id: String,
    size: u64,
    source: Vec<u8>,
    /// How many bytes of a request's body to send before each cut.
    cuts: Vec<usize>,
    /// The cuts and how to draw them again, for failure messages.
    replay: String,
}

async fn cut_up(count: usize) -> CutUp {
    let (sandbox, db, clock, token) = start(sized(SANDBOX_SIZE)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let source = archive_bytes(&db, &backup.id).await;
    let seed = cuts_seed();
    let cuts = cut_lengths(seed, size, count);
    let replay = format!("cuts after {cuts:?} bytes, DOWNLOAD_CUTS_SEED={seed}");
    sandbox.counters().reset();
    CutUp {
        sandbox,
        db,
        clock,
        token,
        backup_id: backup.id,
        size,
        source,
        cuts,
        replay,
    }
}

#[tokio::test]
async fn ranges_cut_at_random_points_resume_each_to_the_source_sha256() {
    const CUTS: usize = 6;
    let CutUp {
        sandbox,
        db,
        clock: shared,
        token,
        backup_id,
        size,
        source,
        cuts,
        replay,
    } = cut_up(CUTS).await;
    // Each cut ends one request's body after so many bytes, whichever range it is of.
    for &after_bytes in &cuts {
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::TruncateBody { after_bytes },
        ));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("cut.tar.gz");

    let mut progress = Vec::new();
    let downloaded = db
        .backups()
        .download(&backup_id, &path)
        .connections(4)
        .part_size(SANDBOX_PART)
        .on_progress(|report| progress.push(report))
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, &token);
            panic!("{replay}: {error}")
        });

    assert_eq!(downloaded.bytes, size, "{replay}");
    assert_eq!(
        downloaded.resumes, CUTS as u32,
        "one resume per cut: {replay}"
    );
    assert_eq!(
        sandbox.counters().get(DOWNLOAD),
        (ranges(size, SANDBOX_PART) + CUTS) as u64,
        "each range once, and once more per cut: {replay}"
    );
    assert_eq!(sandbox.counters().get(LINK), 1);
    assert_progress(&progress, size);
    assert_eq!(
        shared.sleeps().len(),
        CUTS,
        "a backoff per resume, on the test's clock"
    );
    assert_saved(&path, &source, &replay).await;
}

#[tokio::test]
async fn an_archive_of_64_mib_or_more_comes_in_ranges_by_default() {
    const MIB: u64 = 1024 * 1024;
    let (sandbox, db, _, _) = start(sized(72 * MIB)).await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    assert!(size > 64 * MIB, "{size}");
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("large.tar.gz");

    let downloaded = db
        .backups()
        .download(&backup.id, &path)
        .await
        .expect("downloaded");

    assert_eq!(downloaded.bytes, size);
    // Automatic parts are 8 MiB at least: nine of them, fetched eight at a time.
    assert_eq!(sandbox.counters().get(DOWNLOAD), size.div_ceil(8 * MIB));
    assert_eq!(std::fs::metadata(&path).expect("the archive").len(), size);
    assert_eq!(files_in(dir.path()), ["large.tar.gz"]);
}

/// What the sidecar of a part written in ranges counts: the bytes of each range.
fn counted(sidecar: &str) -> Vec<u64> {
    let mut lines = sidecar.lines();
    assert!(
        lines.nth(1).is_some_and(|line| line.starts_with("ranged ")),
        "a sidecar of ranges: {sidecar}"
    );
    lines
        .find_map(|line| line.strip_prefix("done "))
        .unwrap_or_else(|| panic!("no count in {sidecar}"))
        .split(' ')
        .map(|count| count.parse().expect("a count"))
        .collect()
}

#[tokio::test]
async fn a_download_in_ranges_cut_again_and_again_is_continued_by_the_next_call() {
    const CALLS: usize = 4;
    let CutUp {
        sandbox,
        db: patient,
        clock: shared,
        token,
        backup_id,
        size,
        source,
        cuts,
        replay,
    } = cut_up(CALLS).await;
    // Without retries, a cut ends the call.
    let once = client(&sandbox, &token, RetryPolicy::none(), &shared);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");
    let sidecar = crate::downloads::part_owner(&path);

    let mut kept = 0;
    for &after_bytes in &cuts {
        sandbox.faults().inject(FaultRule::new(
            DOWNLOAD,
            1,
            Fault::TruncateBody { after_bytes },
        ));
        let mut first = None;
        let error = once
            .backups()
            .download(&backup_id, &path)
            .connections(4)
            .part_size(SANDBOX_PART)
            .on_progress(|report| {
                first.get_or_insert(report.bytes);
            })
            .await
            .expect_err("the cut ends the call");
        assert_no_token(&error, &token);
        assert_eq!(first, Some(kept), "went on from what was counted: {replay}");
        let counts = counted(&std::fs::read_to_string(&sidecar).expect("the sidecar"));
        assert_eq!(counts.len(), ranges(size, SANDBOX_PART));
        let now_kept: u64 = counts.iter().sum();
        assert!(now_kept > kept, "each call adds to the part: {replay}");
        kept = now_kept;
        let part_len = std::fs::metadata(part(&path)).expect("the part").len();
        assert!(part_len < size, "a part never looks whole: {replay}");
        assert!(!path.exists());
    }

    let mut first = None;
    let downloaded = patient
        .backups()
        .download(&backup_id, &path)
        .on_progress(|report| {
            first.get_or_insert(report.bytes);
        })
        .await
        .unwrap_or_else(|error| panic!("{replay}: {error}"));
    assert_eq!(
        first,
        Some(kept),
        "continued in its ranges without asking: {replay}"
    );
    assert_eq!(downloaded.bytes, size);
    assert_saved(&path, &source, &replay).await;
}

#[tokio::test]
async fn a_link_that_expires_between_ranges_is_replaced_once() {
    const LIFETIME: Duration = Duration::from_secs(60);
    let (sandbox, db, _, token) = start(SandboxConfig {
        archive_link_lifetime: LIFETIME,
        ..sized(SANDBOX_SIZE)
    })
    .await;
    let backup = seeded_backup(&db).await;
    let size = recorded_size(&backup);
    let source = archive_bytes(&db, &backup.id).await;
    sandbox.counters().reset();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    // Once the first bytes are written, the link's lifetime passes: the ranges asked for after
    // that are refused, those under way go on.
    let clock = sandbox.clock().clone();
    let mut advanced = false;
    let downloaded = db
        .backups()
        .download(&backup.id, &path)
        .connections(2)
        .part_size(SANDBOX_PART)
        .on_progress(|report| {
            if report.bytes > 0 && !advanced {
                clock.advance(LIFETIME + Duration::from_secs(1));
                advanced = true;
            }
        })
        .await
        .unwrap_or_else(|error| {
            assert_no_token(&error, &token);
            panic!("{error}")
        });

    assert!(advanced);
    assert_eq!(downloaded.bytes, size);
    assert_eq!(
        downloaded.resumes, 0,
        "a refused link is not an interruption"
    );
    assert_eq!(
        sandbox.counters().get(LINK),
        2,
        "one fresh link, however many ranges met the expired one"
    );
    let refused = sandbox.counters().get(DOWNLOAD) - ranges(size, SANDBOX_PART) as u64;
    assert!(
        (1..=2).contains(&refused),
        "the ranges asked for with the expired link, one per connection: {refused}"
    );
    assert_saved(&path, &source, "").await;
}

#[tokio::test]
async fn a_server_that_ignores_range_is_followed_in_one_stream() {
    let archive = stored_gzip(&noise(1, 200_000));
    let server = MockServer::start_async().await;
    mock_backup(&server, archive.len());
    // The first range asked for, answered with the whole archive.
    let probed = server.mock(|when, then| {
        when.path(format!("/download/{BACKUP_ID}"))
            .header("range", format!("bytes=0-{}", PART - 1))
            .header_missing("if-range");
        then.status(200).header("etag", "\"v1\"").body(&archive);
    });
    let whole = server.mock(|when, then| {
        when.path(format!("/download/{BACKUP_ID}"))
            .header_missing("range");
        then.status(200).header("etag", "\"v1\"").body(&archive);
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let mut progress = Vec::new();
    let downloaded = mock_client(&server)
        .backups()
        .download(BACKUP_ID, &path)
        .connections(4)
        .part_size(PART)
        .on_progress(|report| progress.push(report))
        .await
        .expect("downloaded in one stream");

    probed.assert_async().await;
    whole.assert_async().await;
    assert_eq!(downloaded.bytes, archive.len() as u64);
    assert!(std::fs::read(&path).expect("read") == archive);
    assert_progress(&progress, archive.len() as u64);
    assert_eq!(files_in(dir.path()), ["backup.tar.gz"]);
}

/// A client of `store`'s database, without retries.
fn store_client(store: &RangedStore) -> Database {
    crate::support::database(
        Client::builder()
            .database_api_url(store.url())
            .database_token(DB, TOKEN)
            .retry(RetryPolicy::none()),
        DB,
    )
}

#[tokio::test]
async fn ranges_answered_in_another_order_than_asked_land_at_their_places() {
    let archive = stored_gzip(&noise(3, 4 * PART as usize));
    let size = archive.len() as u64;
    let count = ranges(size, PART);
    assert!(count >= 5, "{count} ranges");
    // The first range asked for is answered last: its first bytes, then the rest once every
    // other range is answered. Only a client that asks for them all at once gets it.
    let store = RangedStore::start(Script {
        versions: vec![archive.clone()],
        first_range_last: Some(count),
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let mut progress = Vec::new();
    let downloaded = store_client(&store)
        .backups()
        .download(BACKUP_ID, &path)
        .connections(count)
        .part_size(PART)
        .on_progress(|report| progress.push(report))
        .await
        .expect("downloaded in ranges");

    assert!(!store.hold_expired(), "every range was asked for at once");
    assert_eq!(downloaded.bytes, size);
    assert!(std::fs::read(&path).expect("read") == archive);
    let answers = store.answers();
    assert_eq!(
        answers[0],
        Answer {
            range: Some(format!("bytes=0-{}", PART - 1)),
            if_range: None,
            status: 206,
            version: 0,
        },
        "the first range alone first, with nothing to compare yet"
    );
    assert!(
        answers[1..]
            .iter()
            .all(|answer| answer.status == 206 && answer.if_range.as_deref() == Some("\"v0\"")),
        "every other range proves its version: {answers:?}"
    );
    let mut asked: Vec<String> = answers
        .iter()
        .filter_map(|answer| {
            let range = answer.range.as_deref()?;
            Some(range[..=range.find('-')?].to_owned())
        })
        .collect();
    asked.sort_by_key(|range| range[6..range.len() - 1].parse::<u64>().unwrap_or(u64::MAX));
    assert_eq!(asked, range_starts(size, PART), "each range asked for once");
    assert_progress(&progress, size);
    assert_eq!(files_in(dir.path()), ["backup.tar.gz"]);
}

#[tokio::test]
async fn an_archive_replaced_between_ranges_is_downloaded_again_from_its_start() {
    let versions = vec![
        stored_gzip(&noise(4, 4 * PART as usize)),
        stored_gzip(&noise(5, 4 * PART as usize)),
    ];
    let size = versions[0].len() as u64;
    assert_eq!(versions[1].len() as u64, size);
    for ignore_if_range in [false, true] {
        let what = if ignore_if_range {
            "a server that ignores If-Range"
        } else {
            "a server that honours If-Range"
        };
        // The second version replaces the first after two answers: the first range's and
        // another's.
        let store = RangedStore::start(Script {
            versions: versions.clone(),
            change_every: Some(2),
            ignore_if_range,
            ..Script::default()
        })
        .await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("backup.tar.gz");

        let mut progress: Vec<Progress> = Vec::new();
        let downloaded = store_client(&store)
            .backups()
            .download(BACKUP_ID, &path)
            .connections(2)
            .part_size(PART)
            .on_progress(|report| progress.push(report))
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));

        assert_eq!(downloaded.bytes, size, "{what}");
        assert!(
            std::fs::read(&path).expect("read") == versions[1],
            "{what}: the new version, whole"
        );
        let answers = store.answers();
        let met = answers
            .iter()
            .position(|answer| answer.if_range.as_deref() == Some("\"v0\"") && answer.version == 1)
            .unwrap_or_else(|| panic!("{what}: the change was never met: {answers:?}"));
        assert_eq!(
            answers[met].status,
            if ignore_if_range { 206 } else { 200 },
            "{what}"
        );
        assert!(
            answers[met + 1..]
                .iter()
                .any(
                    |answer| answer.range.as_deref() == Some(&format!("bytes=0-{}", PART - 1))
                        && answer.if_range.is_none()
                ),
            "{what}: started over with the first range alone: {answers:?}"
        );
        let back_to_zero = progress
            .windows(2)
            .any(|pair| pair[0].bytes > 0 && pair[1].bytes == 0);
        assert!(back_to_zero, "{what}: progress starts over: {progress:?}");
        assert_eq!(progress.last().map(|report| report.bytes), Some(size));
        assert_eq!(files_in(dir.path()), ["backup.tar.gz"], "{what}");
    }
}

#[tokio::test]
async fn an_archive_that_keeps_changing_is_given_up_and_nothing_is_kept() {
    // A new version at every answer: every range after the first meets another archive.
    let versions: Vec<Vec<u8>> = (0..40)
        .map(|seed| stored_gzip(&noise(seed, 3 * PART as usize)))
        .collect();
    let store = RangedStore::start(Script {
        versions,
        change_every: Some(1),
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("backup.tar.gz");

    let error = store_client(&store)
        .backups()
        .download(BACKUP_ID, &path)
        .connections(2)
        .part_size(PART)
        .await
        .expect_err("it never holds still");

    assert!(
        matches!(
            error,
            Error::Archive(ArchiveProblem::KeptChanging { times: 4 })
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the archive cannot be used: the archive changed on the server 4 times during the \
         download; try again later"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}
