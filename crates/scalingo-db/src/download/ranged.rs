//! A download in ranges: the archive cut as its [`Layout`] says, ranges fetched over several
//! connections at once ([`range_fetch`](super::range_fetch)) and written at their places in the
//! part file, with what is written recorded beside it, so that an interruption costs only what
//! was in flight.
//!
//! The first range is asked for alone (no `If-Range`: nothing to compare yet). Its answer says
//! whether the server serves ranges (a 206, else the download goes on in one stream), names the
//! version every other range must carry (its `ETag`, else its date; an answer that names none
//! goes on in one stream too, as nothing could prove the ranges are of one archive), gives the
//! archive's size (checked against the backup's) and shows the gzip magic before the part is
//! created. Then the other connections start, each with `Range` and `If-Range`, taking the first
//! range nobody is fetching, so that the archive's contiguous start, which the gzip check reads
//! back ([`PrefixCheck`]), grows steadily.
//!
//! Every range is retried within the retry policy's bounds, on its own: an interruption resumes
//! after the last byte written, after the policy's backoff; `max_attempts` interruptions in a row
//! without a new byte end the download, the part kept for a later one. A refused link (expired) is
//! replaced once for every range that met it, up to [`MAX_LINK_REFRESHES`] times in a row
//! without an answer through the new one. An archive that changed (a 200 of another version)
//! makes the download start over, up to [`MAX_RESTARTS`] times; one whose server answers a range
//! with the whole archive of the same version goes on in one stream.
//!
//! All of it runs in the download's task: the connections' bodies are read by the HTTP client's
//! own tasks, the writes and the check on the blocking pool, so this task only moves chunks into
//! buffers. Memory is bounded by the connections (each holds two write buffers) and the check's
//! buffer, never by the archive's size.

use std::fs::File;
use std::sync::Arc;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use reqwest::header::CONTENT_RANGE;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::MAX_LINK_REFRESHES;
use super::part::{Prefix, RangedLeftover};
use super::part_table::PartTable;
use super::plan::Layout;
use super::positioned::write_all_at;
use super::prefix_check::PrefixCheck;
use super::range_fetch::{End, Ended, Fetcher, Job, Opened, answered_end, parse_content_range};
use super::ranged_part::RangedPart;
use super::sink::{GZIP_MAGIC, not_gzip};
use super::validator::Validator;
use super::{Progress, not_worth_resuming, stalled_after};
use crate::ArchiveUrl;
use crate::backups::Backups;
use crate::error::{ArchiveProblem, Error, Result};
use crate::retry::{self, Repeatable};

/// How many times a download starts over because the archive changed, at most.
const MAX_RESTARTS: u32 = 3;
/// The sidecar is rewritten whenever a range is written whole, and at least after this many
/// new bytes (with fewer, larger ranges, an interruption would lose more).
const RECORD_EVERY: u64 = 64 * 1024 * 1024;

/// Where a download in ranges starts from.
pub(super) enum Start {
    /// Nothing: the archive, of `total` bytes, is cut as the layout says.
    Fresh(Layout),
    /// Ranges left by an interrupted download in ranges.
    Ranged(RangedLeftover),
    /// The start of the archive left by an interrupted download in one stream, to be cut as the
    /// layout says.
    Prefix(Prefix, Layout),
}

/// How a download in ranges ended.
pub(super) enum RangedEnd {
    /// The archive is in place.
    Complete { bytes: u64, resumes: u32 },
    /// The server does not serve ranges, or names no version of its archive: the part is gone;
    /// download in one stream.
    OneStream,
}

/// Downloads `backup_id`'s archive into `part` from `start`, over `connections` at once.
pub(super) async fn download(
    backups: Backups<'_>,
    backup_id: &str,
    part: RangedPart,
    start: Start,
    connections: usize,
    on_progress: &mut (impl FnMut(Progress) + Send),
) -> Result<RangedEnd> {
    let url = backups.archive_url(backup_id).await?;
    let mut ranged = Ranged {
        backups,
        backup_id,
        part,
        connections: connections.max(1),
        link: Link {
            url: Arc::new(url),
            generation: 0,
            refreshes: 0,
        },
        resumes: 0,
        reported: None,
        on_progress,
    };
    ranged.download(start).await
}

/// The link every range is asked for with.
struct Link {
    url: Arc<ArchiveUrl>,
    /// Which link it is: each refresh makes a new one.
    generation: u32,
    /// Refreshes in a row without an answer through the newest link.
    refreshes: u32,
}

struct Ranged<'a, 'b, F> {
    backups: Backups<'a>,
    backup_id: &'b str,
    part: RangedPart,
    connections: usize,
    link: Link,
    resumes: u32,
    /// The last progress reported.
    reported: Option<u64>,
    on_progress: &'b mut F,
}

/// A download about to fetch its ranges.
struct Running {
    file: Arc<File>,
    validator: Validator,
    table: PartTable,
    check: PrefixCheck,
    /// The first range's answer, already open.
    first: Option<Opened>,
}

/// How fetching the ranges ended.
enum Outcome {
    /// Every byte is written and checked: the archive is whole.
    Complete(Arc<File>),
    /// The archive changed on the server: start over.
    Changed,
    /// The server ignores ranges: go on in one stream.
    OneStream,
    /// The download cannot go on.
    Failed(Error),
}

/// Why the coordinator stopped fetching ranges; the check's verdict is not in yet.
enum Stop {
    /// Every byte is written.
    Written,
    /// The archive changed on the server.
    Changed,
    /// The server ignores ranges.
    OneStream,
    /// The gzip check found something wrong, which it says once finished.
    CheckFailed,
    Failed(Error),
}

/// What the probe of the first range found.
enum Probe {
    Opened(Validator, Box<Opened>),
    OneStream,
}

impl<F: FnMut(Progress) + Send> Ranged<'_, '_, F> {
    async fn download(&mut self, mut start: Start) -> Result<RangedEnd> {
        let mut restarts = 0;
        // Bounded: each turn ends the download, or starts it over, at most MAX_RESTARTS times.
        loop {
            let layout = match &start {
                Start::Fresh(layout) | Start::Prefix(_, layout) => *layout,
                Start::Ranged(leftover) => leftover.layout,
            };
            let Some(running) = self.begin(start).await? else {
                self.part.discard().await;
                return Ok(RangedEnd::OneStream);
            };
            match self.fetch(running).await {
                Outcome::Complete(file) => {
                    self.part.finish(file).await?;
                    return Ok(RangedEnd::Complete {
                        bytes: layout.total,
                        resumes: self.resumes,
                    });
                }
                Outcome::OneStream => {
                    tracing::debug!(
                        "the server answered a range with the whole archive: one stream"
                    );
                    self.part.discard().await;
                    return Ok(RangedEnd::OneStream);
                }
                Outcome::Changed => {
                    self.part.discard().await;
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        return Err(Error::Archive(ArchiveProblem::KeptChanging {
                            times: restarts,
                        }));
                    }
                    tracing::debug!(restarts, "the archive changed: starting over");
                    self.report(0, layout.total);
                    start = Start::Fresh(layout);
                }
                Outcome::Failed(error) => {
                    if not_worth_resuming(&error, true) {
                        self.part.discard().await;
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Readies the part for `start`: continued, or created once the first range's answer shows
    /// an archive. `None` when the download must go on in one stream.
    async fn begin(&mut self, start: Start) -> Result<Option<Running>> {
        let path = self.part.path().to_path_buf();
        let (file, validator, table, check, first) = match start {
            Start::Fresh(layout) => {
                let (validator, opened) = match self.probe(&layout).await? {
                    Probe::Opened(validator, opened) => (validator, opened),
                    Probe::OneStream => return Ok(None),
                };
                let file = self.part.create(&validator, &layout).await?;
                let table = PartTable::new(layout, vec![0; layout.count()]);
                (
                    file,
                    validator,
                    table,
                    (self.part.checks().fresh(), 0),
                    Some(*opened),
                )
            }
            Start::Ranged(leftover) => {
                let table = PartTable::new(leftover.layout, leftover.done);
                let file = Arc::new(leftover.file);
                // The check reads back what the part holds, as it reads what comes.
                (
                    file,
                    leftover.validator,
                    table,
                    (self.part.checks().fresh(), 0),
                    None,
                )
            }
            Start::Prefix(prefix, layout) => {
                let done = (0..layout.count())
                    .map(|index| {
                        let range = layout.range(index);
                        prefix.len.clamp(range.start, range.end) - range.start
                    })
                    .collect();
                let table = PartTable::new(layout, done);
                let file = Arc::new(prefix.file);
                // Recorded as ranges before a byte lands past the start: a sidecar of one stream
                // takes the whole file for the archive's start.
                self.part
                    .record(&file, &prefix.validator, &layout, table.done())
                    .await
                    .unwrap_or_else(|error| Err(join_error(&path, error)))?;
                (
                    file,
                    prefix.validator,
                    table,
                    (prefix.check, prefix.len),
                    None,
                )
            }
        };
        let reader = file.try_clone().map_err(super::part::io(&path))?;
        let check = PrefixCheck::start(reader, path, check.0, check.1, table.layout().total);
        Ok(Some(Running {
            file,
            validator,
            table,
            check,
            first,
        }))
    }

    /// Asks for the first range alone, until an answer shows whether the download can go on in
    /// ranges, within the retry policy's bounds.
    async fn probe(&mut self, layout: &Layout) -> Result<Probe> {
        let client = self.backups.database().client();
        let policy = client.retry_policy();
        let mut stalled = 0;
        // Bounded: each turn returns, or refreshes the link (bounded), or counts an attempt.
        loop {
            let error = match self.try_probe(layout).await {
                Ok(probe) => return Ok(probe),
                Err(error) => error,
            };
            match error {
                Error::Unauthorized { .. } | Error::Forbidden { .. } => {
                    let seen = self.link.generation;
                    self.refresh_link(seen, error).await?;
                }
                error if !resumable(&error) => return Err(error),
                error => {
                    stalled += 1;
                    if stalled >= policy.max_attempts {
                        return Err(error);
                    }
                    self.resumes += 1;
                    client.clock().sleep(policy.backoff(stalled)).await;
                }
            }
        }
    }

    async fn try_probe(&mut self, layout: &Layout) -> Result<Probe> {
        let last = layout.range(0).end - 1;
        let mut stream = self
            .backups
            .request_archive(&self.link.url, 0, Some(last), None)
            .await?;
        self.link.refreshes = 0;
        if !stream.is_range() {
            return Ok(Probe::OneStream);
        }
        let Some(validator) = stream.validator().cloned() else {
            return Ok(Probe::OneStream);
        };
        let said = stream
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_content_range);
        if let Some((_, _, Some(size))) = said
            && size != layout.total
        {
            // A storage error answered as a range has the wrong size too; its text says more.
            if let Some(first) = stream.chunk().await?
                && !first.starts_with(&GZIP_MAGIC)
            {
                return Err(not_gzip(&first));
            }
            return Err(Error::Archive(ArchiveProblem::SizeMismatch {
                announced: size,
                recorded: layout.total,
            }));
        }
        answered_end(&stream, 0, last, Some(layout.total))?;
        let limit = self.backups.database().client().request_timeout();
        let mut head = Vec::new();
        let mut start = Vec::with_capacity(GZIP_MAGIC.len());
        // Bounded: every turn takes a chunk, or ends.
        while start.len() < GZIP_MAGIC.len() {
            let Some(chunk) = stalled_after(limit, stream.chunk()).await? else {
                return Err(Error::Archive(ArchiveProblem::EndedEarly {
                    at: start.len() as u64,
                }));
            };
            let wanted = (GZIP_MAGIC.len() - start.len()).min(chunk.len());
            start.extend_from_slice(&chunk[..wanted]);
            head.push(chunk);
        }
        if start != GZIP_MAGIC {
            return Err(not_gzip(&head.concat()));
        }
        Ok(Probe::Opened(validator, Box::new(Opened { stream, head })))
    }

    /// Replaces the link, refused with `error` when it was the link of generation `seen`: once
    /// for every range that met the same refusal, up to [`MAX_LINK_REFRESHES`] times in a row.
    async fn refresh_link(&mut self, seen: u32, error: Error) -> Result<()> {
        if seen != self.link.generation {
            return Ok(());
        }
        if self.link.refreshes >= MAX_LINK_REFRESHES {
            return Err(error);
        }
        let url = self.backups.archive_url(self.backup_id).await?;
        self.link = Link {
            url: Arc::new(url),
            generation: self.link.generation + 1,
            refreshes: self.link.refreshes + 1,
        };
        tracing::debug!(
            generation = self.link.generation,
            "the archive's link was refreshed"
        );
        Ok(())
    }

    /// Fetches every range left, `connections` at once, until the archive is whole (and checked)
    /// or the download cannot go on.
    async fn fetch(&mut self, running: Running) -> Outcome {
        let Running {
            file,
            validator,
            mut table,
            check,
            mut first,
        } = running;
        let layout = *table.layout();
        let (events, mut written) = mpsc::channel(self.connections * 4);
        let fetcher = Fetcher {
            backups: self.backups,
            file: Arc::clone(&file),
            path: self.part.path().to_path_buf(),
            validator: validator.clone(),
            total: layout.total,
            events,
        };
        let policy = self.backups.database().client().retry_policy();
        let mut fetches = FuturesUnordered::new();
        let mut recording: Option<JoinHandle<Result<()>>> = None;
        let mut recorded = table.written();
        let mut record_due = false;
        self.report(table.written(), layout.total);
        check.advance(table.prefix());

        // Bounded: every turn takes an event of a fetch, which write the archive's bounded
        // bytes, or ends one, which counts against the policy unless it made progress.
        let stop = loop {
            while fetches.len() < self.connections
                && let Some((index, delay)) = table.take_next()
            {
                fetches.push(fetcher.fetch(Job {
                    index,
                    range: table.remaining(index),
                    link: Arc::clone(&self.link.url),
                    generation: self.link.generation,
                    delay,
                    opened: if index == 0 { first.take() } else { None },
                }));
            }
            if let Some(byte) = table.last_byte_due() {
                let at = layout.total - 1;
                let file = Arc::clone(&file);
                let path = self.part.path().to_path_buf();
                let wrote = super::part::blocking(&path, {
                    let path = path.clone();
                    move || write_all_at(&file, &[byte], at).map_err(super::part::io(&path))
                })
                .await;
                if let Err(error) = wrote {
                    break Stop::Failed(error);
                }
                table.reached(layout.count() - 1, layout.total);
                self.report(table.written(), layout.total);
                check.advance(layout.total);
            }
            if table.is_complete() {
                break Stop::Written;
            }
            if check.failed() {
                break Stop::CheckFailed;
            }
            if fetches.is_empty() {
                // Every range not written has a fetch, unless the table lost one: a bug.
                break Stop::Failed(Error::Archive(ArchiveProblem::EndedEarly {
                    at: table.prefix(),
                }));
            }
            tokio::select! {
                Some(event) = written.recv() => {
                    table.reached(event.index, event.reached);
                    if event.generation == self.link.generation {
                        self.link.refreshes = 0;
                    }
                    self.report(table.written(), layout.total);
                    check.advance(table.prefix());
                    record_due |= table.written() - recorded >= RECORD_EVERY;
                }
                Some(ended) = fetches.next() => {
                    match self.ended(&mut table, ended, &policy).await {
                        Ok(Step::Go { whole }) => record_due |= whole,
                        Ok(Step::Stop(stop)) => break stop,
                        Err(error) => break Stop::Failed(error),
                    }
                    self.report(table.written(), layout.total);
                    check.advance(table.prefix());
                }
                joined = wait(&mut recording), if recording.is_some() => {
                    recording = None;
                    if let Err(error) = joined.unwrap_or_else(|error| Err(join_error(self.part.path(), error))) {
                        break Stop::Failed(error);
                    }
                }
            }
            if record_due && recording.is_none() {
                recording = Some(self.part.record(&file, &validator, &layout, table.done()));
                recorded = table.written();
                record_due = false;
            }
        };
        // The fetches in flight are dropped: what they wrote and did not report is fetched again.
        drop(fetches);
        drop(fetcher);
        // A record in flight must end before the part is placed or recorded again.
        if let Some(recording) = recording {
            let _ = recording.await;
        }
        match stop {
            Stop::Written => match check.finish().await {
                Ok(()) => Outcome::Complete(file),
                Err(error) => Outcome::Failed(error),
            },
            // The check ended with what it found.
            Stop::CheckFailed => Outcome::Failed(check.finish().await.err().unwrap_or_else(|| {
                Error::Archive(ArchiveProblem::Corrupt {
                    at: 0,
                    reason: "the check of its gzip data failed".to_owned(),
                })
            })),
            Stop::Failed(error) => {
                // What is written is recorded, for the next download; this one failed already.
                let _ = self
                    .part
                    .record(&file, &validator, &layout, table.done())
                    .await;
                Outcome::Failed(error)
            }
            Stop::Changed => Outcome::Changed,
            Stop::OneStream => Outcome::OneStream,
        }
    }

    /// Takes the end of a fetch: the range is written, or fetched again (after a refresh or a
    /// backoff), or the download cannot go on.
    async fn ended(
        &mut self,
        table: &mut PartTable,
        ended: Ended,
        policy: &crate::RetryPolicy,
    ) -> Result<Step> {
        table.release(ended.index);
        table.reached(ended.index, ended.reached);
        let progressed = ended.reached > ended.from;
        let interrupted = |table: &mut PartTable, resumes: &mut u32, error: Option<Error>| {
            let failures = table.interrupted(ended.index, progressed);
            if failures >= policy.max_attempts {
                return Err(error.unwrap_or(Error::Archive(ArchiveProblem::EndedEarly {
                    at: ended.reached,
                })));
            }
            *resumes += 1;
            tracing::debug!(
                range = ended.index,
                from = ended.reached,
                "resuming a range"
            );
            table.wait_before(ended.index, policy.backoff(failures));
            Ok(Step::Go { whole: false })
        };
        match ended.outcome {
            Ok(End::Complete { last_byte }) => {
                if let Some(byte) = last_byte {
                    table.hold_last_byte(byte);
                }
                Ok(Step::Go { whole: true })
            }
            Ok(End::Changed) => Ok(Step::Stop(Stop::Changed)),
            Ok(End::RangesIgnored) => Ok(Step::Stop(Stop::OneStream)),
            Ok(End::Short) => interrupted(table, &mut self.resumes, None),
            Err(error @ (Error::Unauthorized { .. } | Error::Forbidden { .. })) => {
                self.refresh_link(ended.generation, error).await?;
                Ok(Step::Go { whole: false })
            }
            Err(error) if resumable(&error) => interrupted(table, &mut self.resumes, Some(error)),
            Err(error) => Err(error),
        }
    }

    /// Reports `bytes` of `total`, unless that was the last report.
    fn report(&mut self, bytes: u64, total: u64) {
        if self.reported != Some(bytes) {
            self.reported = Some(bytes);
            (self.on_progress)(Progress {
                bytes,
                total: Some(total),
            });
        }
    }
}

/// What the coordinator does after a fetch ended.
enum Step {
    /// Goes on; `whole` when a range was written whole (worth recording).
    Go { whole: bool },
    /// Stops fetching.
    Stop(Stop),
}

/// Whether a failed request of a range is worth making again: a failure of the connection (the
/// retry policy's, for a request that can always be repeated), or a body that ended early.
fn resumable(error: &Error) -> bool {
    retry::retryable(error, Repeatable::Always)
        || matches!(error, Error::Archive(ArchiveProblem::EndedEarly { .. }))
}

/// The outcome of the job in `handle`, once there is one.
async fn wait<T>(
    handle: &mut Option<JoinHandle<T>>,
) -> std::result::Result<T, tokio::task::JoinError> {
    match handle {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// A job of the blocking pool that did not run to its end, as an error about `path`.
fn join_error(path: &std::path::Path, error: tokio::task::JoinError) -> Error {
    Error::Io {
        path: Some(path.to_path_buf()),
        source: std::io::Error::other(error),
    }
}
