//! Downloading a backup's archive, safely, to a file or into any writer: resumed with `Range`
//! after an interruption or a stall (with a fresh link when the old one expired), only from the
//! same version of the archive (`If-Range`), and checked (a gzip archive, of the announced and
//! recorded size, whose trailer agrees with its content). A file is written as `<path>.part`
//! (`part.rs`), then synced and renamed: whatever fails, nothing at `<path>` looks like a
//! complete archive that is not one. A writer never receives a body that does not start like an
//! archive.
//!
//! A large archive is downloaded to a file in ranges over several connections at once
//! (`ranged.rs`, as `plan.rs` decides); a small one, one whose size is unknown, and any download
//! into a writer come in one stream, the resume loop below.

mod background_check;
#[cfg(test)]
mod disk_full_tests;
mod gzip_check;
mod part;
mod part_table;
mod plan;
mod positioned;
mod prefix_check;
mod range_fetch;
mod ranged;
mod ranged_part;
mod safe_fs;
mod sidecar;
mod sink;
mod stream_part;
mod validator;
mod verifying;

use std::future::IntoFuture;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWrite;

use crate::ArchiveUrl;
use crate::BackupStatus;
use crate::backups::Backups;
use crate::call::BoxFuture;
use crate::error::{ArchiveProblem, Error, Result};
use crate::retry::{self, Repeatable};
use crate::verify::{Report, VerifyOptions};
use part::{Leftover, PartPaths};
use ranged::{RangedEnd, Start};
use ranged_part::RangedPart;
use sink::{Destination, GZIP_MAGIC, Sink, Writer, not_gzip};
use stream_part::StreamPart;
pub(crate) use validator::Validator;
use verifying::Checks;

/// How far a download is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the archive received so far (for a file, including those of an earlier,
    /// interrupted download). It goes back to 0 when the archive changed on the server since
    /// those bytes came, and the download of a file starts over.
    pub bytes: u64,
    /// The archive's size, when known.
    pub total: Option<u64>,
}

/// A finished download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// Where the archive is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How many times the transfer was resumed after an interruption.
    pub resumes: u32,
    /// What the verification of the archive found, when [`Download::verify`] asked for one.
    pub verification: Option<Report>,
}

/// A finished download into a writer, from [`Backups::download_to`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Streamed {
    /// The archive's size: the bytes written.
    pub bytes: u64,
    /// How many times the transfer was resumed after an interruption.
    pub resumes: u32,
}

/// A download to a file, from [`Backups::download`]; `.await` it.
#[must_use = "a download does nothing until it is awaited"]
pub struct Download<'a, F> {
    backups: Backups<'a>,
    backup_id: String,
    path: PathBuf,
    /// Connections asked for: 0 automatic, 1 one stream.
    connections: usize,
    /// Part size asked for: 0 automatic.
    part_size: u64,
    /// The verification asked for, if any.
    verify: Option<VerifyOptions>,
    on_progress: F,
}

/// A download into a writer, from [`Backups::download_to`]; `.await` it.
#[must_use = "a download does nothing until it is awaited"]
pub struct DownloadTo<'a, W, F> {
    backups: Backups<'a>,
    backup_id: String,
    writer: W,
    on_progress: F,
}

impl<F> std::fmt::Debug for Download<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("backup_id", &self.backup_id)
            .field("path", &self.path)
            .field("connections", &self.connections)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl<W, F> std::fmt::Debug for DownloadTo<'_, W, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadTo")
            .field("backup_id", &self.backup_id)
            .finish_non_exhaustive()
    }
}

/// How many times an expired link is replaced in one download.
const MAX_LINK_REFRESHES: u32 = 3;

impl<'a, F: FnMut(Progress) + Send + 'a> Download<'a, F> {
    /// Calls `on_progress` as bytes arrive. In ranges, `bytes` counts every range's bytes
    /// written so far, whatever their order.
    pub fn on_progress<G: FnMut(Progress) + Send + 'a>(self, on_progress: G) -> Download<'a, G> {
        Download {
            backups: self.backups,
            backup_id: self.backup_id,
            path: self.path,
            connections: self.connections,
            part_size: self.part_size,
            verify: self.verify,
            on_progress,
        }
    }

    /// Also verifies the archive as it downloads (see [`crate::verify`]): its bytes are read in
    /// order by the verification as they are checked, in one stream or in ranges, so it ends
    /// about when the download does, and nothing is read twice. The report is in
    /// [`Downloaded::verification`]; a damaged archive still fails the download itself. Unless
    /// `options` expect a kind, the dump of the database's engine is expected. When the archive
    /// starts over (it changed on the server), so does its verification. The tools a
    /// PostgreSQL dump needs are looked for before anything is downloaded ([`Error::Tool`]).
    pub fn verify(mut self, options: VerifyOptions) -> Self {
        self.verify = Some(options);
        self
    }

    /// How many connections fetch ranges of the archive at once: 1 for one stream, 0 (the
    /// default) to choose from the archive's size: one stream below 64 MiB, else 8. At most 32.
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }

    /// The size of the ranges the archive is cut into, in bytes; 0 (the default) to choose from
    /// the archive's size: about eight ranges per connection, from 8 MiB to 64 MiB each. Asking
    /// for a part size splits even an archive below 64 MiB (unless one connection is asked for);
    /// it is raised if it would cut the archive into more than 4,096 ranges. A download that
    /// continues an interrupted one in ranges keeps that one's ranges.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// The download as a future, for what takes a future rather than something to `.await`.
    pub fn send(self) -> BoxFuture<'a, Result<Downloaded>> {
        self.into_future()
    }

    async fn run(mut self) -> Result<Downloaded> {
        let backups = self.backups;
        let expected = backups.done_archive_size(&self.backup_id).await?;
        let plan = plan::choose(expected, self.connections, self.part_size);
        let checks = match self.verify.take() {
            Some(options) => Checks::verifying(backups.resolve(options, &[]).await?),
            None => Checks::default(),
        };
        let (paths, leftover) =
            PartPaths::open(&self.path, &self.backup_id, expected, checks.clone()).await?;
        let (start, connections) = match (leftover, plan) {
            (Some(Leftover::Ranged(leftover)), plan) => {
                let count = leftover.layout.count();
                let connections = plan.map_or(
                    match self.connections {
                        0 => plan::AUTO_CONNECTIONS,
                        asked => asked.min(plan::MAX_CONNECTIONS),
                    },
                    |plan| plan.connections,
                );
                (Start::Ranged(leftover), connections.min(count))
            }
            (Some(Leftover::Prefix(prefix)), Some(plan)) => {
                (Start::Prefix(prefix, plan.layout), plan.connections)
            }
            (None, Some(plan)) => (Start::Fresh(plan.layout), plan.connections),
            (Some(Leftover::Prefix(prefix)), None) => {
                return self.in_one_stream(paths, Some(prefix), expected).await;
            }
            (None, None) => return self.in_one_stream(paths, None, expected).await,
        };
        let continued = matches!(start, Start::Ranged(_) | Start::Prefix(..));
        let part = RangedPart::new(paths.clone(), continued);
        let ended = ranged::download(
            backups,
            &self.backup_id,
            part,
            start,
            connections,
            &mut self.on_progress,
        )
        .await?;
        match ended {
            RangedEnd::Complete { bytes, resumes } => Ok(Downloaded {
                path: self.path,
                bytes,
                resumes,
                verification: verification(&checks).await?,
            }),
            // The part is gone: the whole archive comes again, from its start.
            RangedEnd::OneStream => self.in_one_stream(paths, None, expected).await,
        }
    }

    /// The download in one stream into the part at `paths`, continuing `prefix` if there is one.
    async fn in_one_stream(
        mut self,
        paths: PartPaths,
        prefix: Option<part::Prefix>,
        expected: Option<u64>,
    ) -> Result<Downloaded> {
        let backups = self.backups;
        let paths_checks = paths.checks.clone();
        let mut part = StreamPart::new(paths, prefix);
        let fetched = backups
            .fetch(
                &self.backup_id,
                &mut part.sink,
                expected,
                &mut self.on_progress,
            )
            .await;
        let resumes = match fetched {
            Ok(resumes) => resumes,
            Err(error) => {
                if not_worth_resuming(&error, part.sink.starts_like_gzip()) {
                    part.discard().await;
                }
                return Err(error);
            }
        };
        let bytes = part.finish().await?;
        Ok(Downloaded {
            path: self.path,
            bytes,
            resumes,
            verification: verification(&paths_checks).await?,
        })
    }
}

impl<'a, F: FnMut(Progress) + Send + 'a> IntoFuture for Download<'a, F> {
    type Output = Result<Downloaded>;
    type IntoFuture = BoxFuture<'a, Result<Downloaded>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The report of the verification `checks` ran, once it has read the archive's end.
async fn verification(checks: &Checks) -> Result<Option<Report>> {
    let checks = checks.clone();
    tokio::task::spawn_blocking(move || checks.report().transpose())
        .await
        .map_err(crate::verify::thread_failed)?
}

impl<'a, W, F> DownloadTo<'a, W, F>
where
    W: AsyncWrite + Unpin + Send + 'a,
    F: FnMut(Progress) + Send + 'a,
{
    /// Calls `on_progress` as bytes arrive.
    pub fn on_progress<G: FnMut(Progress) + Send + 'a>(
        self,
        on_progress: G,
    ) -> DownloadTo<'a, W, G> {
        DownloadTo {
            backups: self.backups,
            backup_id: self.backup_id,
            writer: self.writer,
            on_progress,
        }
    }

    /// The download as a future, for what takes a future rather than something to `.await`.
    pub fn send(self) -> BoxFuture<'a, Result<Streamed>> {
        self.into_future()
    }

    async fn run(mut self) -> Result<Streamed> {
        let backups = self.backups;
        let expected = backups.done_archive_size(&self.backup_id).await?;
        let mut sink = Sink::new(None, Writer(self.writer), Checks::default());
        let resumes = backups
            .fetch(&self.backup_id, &mut sink, expected, &mut self.on_progress)
            .await?;
        sink.flush().await?;
        Ok(Streamed {
            bytes: sink.len(),
            resumes,
        })
    }
}

impl<'a, W, F> IntoFuture for DownloadTo<'a, W, F>
where
    W: AsyncWrite + Unpin + Send + 'a,
    F: FnMut(Progress) + Send + 'a,
{
    type Output = Result<Streamed>;
    type IntoFuture = BoxFuture<'a, Result<Streamed>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<'a> Backups<'a> {
    /// Downloads the archive of a `done` backup to `path`; [`Download::on_progress`] reports
    /// the bytes as they arrive.
    ///
    /// The bytes go to `<path>.part`, created (exclusively, never through a symbolic link) when
    /// the first byte arrives. An existing part, left by an interrupted download of the same
    /// backup, is continued: `<path>.part.backup` names the backup and the version of its
    /// archive (the server's `ETag`, else its `Last-Modified`), so the part of another backup,
    /// or of another version, is started again rather than completed with these bytes. An
    /// interrupted or stalled transfer is resumed from where it stopped with a `Range` request
    /// carrying that version in `If-Range`, after the retry policy's backoff, for as long as
    /// resumes make progress (the policy's `max_attempts` interruptions in a row without a new
    /// byte end it), and a link that expired meanwhile is replaced; a server that answers the
    /// whole archive instead (it changed) is followed from its start. The client's request time
    /// limit bounds the wait for each answer's head, and for each byte of its body.
    ///
    /// The result must start like a gzip file, have the size the server announced and the backup
    /// records, and end with a gzip trailer (CRC-32 and length) that agrees with its content;
    /// then it is flushed to disk and renamed to `path`. `path` must be a regular file or
    /// nothing: a device, a FIFO, a directory or a symbolic link is refused with an
    /// [`Error::Io`] naming it before anything is downloaded (write into a device or a pipe with
    /// [`Backups::download_to`]); so is a part or sidecar that is not a regular file. On failure
    /// `path` is untouched; `<path>.part` is kept to be resumed, unless its content is not (or
    /// not that of) an archive.
    ///
    /// An archive of 64 MiB or more is fetched in ranges over several connections at once (8 by
    /// default; see [`Download::connections`] and [`Download::part_size`]), each written at its
    /// place in `<path>.part`, with the bytes written of each range recorded in the sidecar once
    /// synced, so an interrupted download resumes each range where it stopped. Every range is
    /// asked for with `If-Range` and must answer with the version the first range named (and
    /// exactly the bytes asked for): an archive that changed meanwhile is started over, a server
    /// that answers a range with the whole archive is followed in one stream. The checks are the
    /// same, the gzip data read back from the part as its start fills in. Memory is bounded by
    /// the connections (two 256 KiB buffers each) and the check's buffer, whatever the size.
    pub fn download(
        &self,
        backup_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Download<'a, fn(Progress)> {
        Download {
            backups: *self,
            backup_id: backup_id.into(),
            path: path.as_ref().to_path_buf(),
            connections: 0,
            part_size: 0,
            verify: None,
            on_progress: |_| {},
        }
    }

    /// Downloads the archive of a `done` backup into `writer` (standard output, a pipe, memory,
    /// ...); [`DownloadTo::on_progress`] reports the bytes as they arrive.
    ///
    /// Like [`Backups::download`], an interrupted or stalled transfer is resumed with a `Range`
    /// (and `If-Range`) request from the bytes already written, within the same bounds, and an
    /// expired link is replaced. The archive's first bytes are held back until they show a gzip
    /// file: a body that is not an archive fails with [`Error::Archive`] before anything reaches
    /// `writer`. A size that disagrees with the announced or recorded one, a gzip trailer that
    /// disagrees with the content, and an archive that changed on the server during the
    /// download ([`ArchiveProblem::Changed`]) are [`Error::Archive`]s too, but a writer cannot
    /// be taken back: what was written by then stays written, so on any failure treat the output
    /// as incomplete. `writer` is flushed at the end. A failed write is an [`Error::Io`] without
    /// a path, which says "the writer"; name it yourself (e.g. "stdout") when you report it.
    ///
    /// The archive comes in one stream, over one connection, whatever its size: a writer takes
    /// bytes in order only, so ranges fetched side by side would wait in memory for those before
    /// them. A reorder buffer of a few ranges holds connections x range size (64 MiB for eight
    /// connections of 8 MiB ranges, against well under 1 MiB for one stream) and still stalls
    /// every connection behind the slowest range. To fetch a large archive over several
    /// connections, download it to a file with [`Backups::download`], whose part is written in
    /// place, then read the file.
    pub fn download_to<W: AsyncWrite + Unpin + Send + 'a>(
        &self,
        backup_id: impl Into<String>,
        writer: W,
    ) -> DownloadTo<'a, W, fn(Progress)> {
        DownloadTo {
            backups: *self,
            backup_id: backup_id.into(),
            writer,
            on_progress: |_| {},
        }
    }

    /// The archive size a `done` backup records, if it records one; an error for any other
    /// backup, which has no archive to download.
    async fn done_archive_size(&self, backup_id: &str) -> Result<Option<u64>> {
        let backup = self.get(backup_id).await?;
        if backup.status != BackupStatus::Done {
            return Err(Error::Archive(ArchiveProblem::NotDone {
                backup_id: backup_id.to_owned(),
                status: backup.status,
            }));
        }
        Ok(backup
            .size
            .and_then(|size| u64::try_from(size).ok())
            .filter(|size| *size > 0))
    }

    /// Streams the archive into `sink` from where it stands, resuming and replacing the link as
    /// needed, until it is whole; answers how many times the transfer was resumed.
    async fn fetch<D: Destination>(
        &self,
        backup_id: &str,
        sink: &mut Sink<D>,
        expected: Option<u64>,
        on_progress: &mut impl FnMut(Progress),
    ) -> Result<u32> {
        let mut link = self.archive_url(backup_id).await?;
        let mut link_refreshes = 0;
        let mut resumes = 0;
        // Interruptions in a row without a byte of progress; bounded by the retry policy.
        let mut stalled = 0;
        let client = self.database().client();
        let policy = client.retry_policy();

        loop {
            let before = sink.len();
            let error = match self.transfer(&link, sink, expected, on_progress).await {
                Ok(Transfer::Complete) => break,
                Ok(Transfer::Short) => None,
                Err(error) => Some(error),
            };
            match error {
                // The link's token expired (or was refused): ask for a new link.
                Some(Error::Unauthorized { .. } | Error::Forbidden { .. })
                    if link_refreshes < MAX_LINK_REFRESHES =>
                {
                    link_refreshes += 1;
                    link = self.archive_url(backup_id).await?;
                }
                Some(error) if !retry::retryable(&error, Repeatable::Always) => return Err(error),
                error => {
                    stalled = if sink.len() > before { 1 } else { stalled + 1 };
                    if stalled >= policy.max_attempts {
                        return Err(error.unwrap_or_else(|| {
                            Error::Archive(ArchiveProblem::EndedEarly { at: sink.len() })
                        }));
                    }
                    resumes += 1;
                    tracing::debug!(from = sink.len(), resumes, "resuming the download");
                    client.clock().sleep(policy.backoff(stalled)).await;
                }
            }
        }
        sink.check_complete().await?;
        Ok(resumes)
    }

    /// One request for the rest of the archive (of the version the sink holds), written to
    /// `sink`.
    async fn transfer<D: Destination>(
        &self,
        link: &ArchiveUrl,
        sink: &mut Sink<D>,
        expected: Option<u64>,
        on_progress: &mut impl FnMut(Progress),
    ) -> Result<Transfer> {
        if expected.is_some_and(|expected| sink.len() == expected) {
            return Ok(Transfer::Complete);
        }
        let from = sink.len();
        let if_range = sink.validator().cloned().filter(|_| from > 0);
        let mut stream = self
            .request_archive(link, from, None, if_range.as_ref())
            .await?;
        if from == 0 {
            sink.begin(stream.validator().cloned());
        } else if !stream.is_range() {
            // The whole archive instead of the rest: it changed (`If-Range` failed), or the
            // server ignores ranges. Either way this body is the archive from its start.
            sink.start_over(stream.validator().cloned()).await?;
        } else if sink
            .validator()
            .is_some_and(|ours| ours.contradicted_by(stream.headers()))
        {
            // A range of another version, from a server that ignored `If-Range`: it cannot be
            // joined to what the sink holds; ask for the whole archive again.
            sink.start_over(None).await?;
            return Ok(Transfer::Short);
        }
        let announced = stream.content_length().map(|length| sink.len() + length);
        if let (Some(announced), Some(expected)) = (announced, expected)
            && announced != expected
        {
            // A storage error answered with 200 has the wrong size too; its text says more.
            if sink.len() == 0
                && let Some(first) = stream.chunk().await?
                && !first.starts_with(&GZIP_MAGIC)
            {
                return Err(not_gzip(&first));
            }
            return Err(Error::Archive(ArchiveProblem::SizeMismatch {
                announced,
                recorded: expected,
            }));
        }
        let total = expected.or(announced);
        on_progress(Progress {
            bytes: sink.len(),
            total,
        });
        // A stalled transfer ends like a lost connection, to be resumed; the client has no
        // general read limit, which would add a timer to every API call.
        let stall_limit = self.database().client().request_timeout();
        let read = async {
            while let Some(chunk) = stalled_after(stall_limit, stream.chunk()).await? {
                sink.write(chunk).await?;
                on_progress(Progress {
                    bytes: sink.len(),
                    total,
                });
            }
            Ok::<_, Error>(())
        }
        .await;
        // Keep what arrived, so a resume starts after it.
        sink.flush().await?;
        read?;
        match total {
            Some(total) if sink.len() < total => Ok(Transfer::Short),
            Some(total) if sink.len() > total => Err(Error::Archive(ArchiveProblem::Oversized {
                received: sink.len(),
                announced: total,
            })),
            _ => Ok(Transfer::Complete),
        }
    }
}

/// Whether a failed download's part is worth keeping for a later one: not when it holds no
/// checked archive start, nor when its bytes are proven wrong.
fn not_worth_resuming(error: &Error, starts_like_gzip: bool) -> bool {
    match error {
        Error::Archive(ArchiveProblem::NotGzip { .. }) => !starts_like_gzip,
        Error::Archive(
            ArchiveProblem::Corrupt { .. } | ArchiveProblem::ChecksumMismatch { .. },
        ) => true,
        _ => false,
    }
}

/// `chunk`, unless no byte arrives within `limit`.
async fn stalled_after<T>(
    limit: std::time::Duration,
    chunk: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    // The real clock: this measures a connection, not the client's notion of time.
    tokio::time::timeout(limit, chunk)
        .await
        .unwrap_or(Err(Error::Stalled { after: limit }))
}

/// How one transfer ended.
enum Transfer {
    /// The destination holds the whole archive.
    Complete,
    /// The server ended the body early without an error, or the archive must be asked for
    /// again from its start: resume.
    Short,
}
