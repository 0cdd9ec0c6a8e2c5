//! Downloading a backup's archive, safely, to a file or into any writer: resumed with `Range`
//! after an interruption (with a fresh link when the old one expired) and checked (a gzip
//! archive, of the announced and recorded size). A file is written as `<path>.part`, then synced
//! and renamed: whatever fails, nothing at `<path>` looks like a complete archive that is not one.
//! A writer never receives a body that does not start like an archive.

mod sink;

use std::future::IntoFuture;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWrite;

use crate::ArchiveUrl;
use crate::BackupStatus;
use crate::backups::Backups;
use crate::call::BoxFuture;
use crate::error::{ArchiveProblem, Error, Result};
use crate::retry::{self, Repeatable};
use sink::{GZIP_MAGIC, Sink, not_gzip};

/// How far a download is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the archive received so far (for a file, including those of an earlier,
    /// interrupted download).
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
    /// Calls `on_progress` as bytes arrive.
    pub fn on_progress<G: FnMut(Progress) + Send + 'a>(self, on_progress: G) -> Download<'a, G> {
        Download {
            backups: self.backups,
            backup_id: self.backup_id,
            path: self.path,
            on_progress,
        }
    }

    /// The download as a future, for what takes a future rather than something to `.await`.
    pub fn send(self) -> BoxFuture<'a, Result<Downloaded>> {
        self.into_future()
    }

    async fn run(mut self) -> Result<Downloaded> {
        let backups = self.backups;
        let expected = backups.done_archive_size(&self.backup_id).await?;
        let mut part = Part::open(&part_path(&self.path), &self.backup_id, expected).await?;
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
                // Until the sink has checked the archive's start, the file holds none of it:
                // nothing worth resuming.
                if matches!(error, Error::Archive(_)) && !part.sink.starts_like_gzip() {
                    part.discard().await;
                }
                return Err(error);
            }
        };
        let bytes = part.finish(&self.path).await?;
        Ok(Downloaded {
            path: self.path,
            bytes,
            resumes,
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
        let mut sink = Sink::new(None, self.writer, 0);
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
    /// The bytes go to `<path>.part` (an existing one, left by an interrupted download of the
    /// same backup, is continued: `<path>.part.backup` names the backup it belongs to, so the
    /// part of another backup is started again rather than completed with this one's bytes). An
    /// interrupted transfer is resumed from where it stopped with a `Range` request, after the
    /// retry policy's backoff, for as long as resumes make progress (the policy's `max_attempts`
    /// interruptions in a row without a new byte end it), and a link that expired meanwhile is
    /// replaced. The result must start like a gzip file and have the size the server announced
    /// and the backup records; then it is flushed to disk and renamed to `path`. On failure
    /// `path` is untouched; `<path>.part` is kept to be resumed, unless its content is not an
    /// archive.
    pub fn download(
        &self,
        backup_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Download<'a, fn(Progress)> {
        Download {
            backups: *self,
            backup_id: backup_id.into(),
            path: path.as_ref().to_path_buf(),
            on_progress: |_| {},
        }
    }

    /// Downloads the archive of a `done` backup into `writer` (standard output, a pipe, memory,
    /// ...); [`DownloadTo::on_progress`] reports the bytes as they arrive.
    ///
    /// Like [`Backups::download`], an interrupted transfer is resumed with a `Range` request from
    /// the bytes already written, within the same bounds, and an expired link is replaced. The
    /// archive's first bytes are held back until they show a gzip file: a body that is not an
    /// archive fails with [`Error::Archive`] before anything reaches `writer`. A size that
    /// disagrees with the announced or recorded one is an [`Error::Archive`] too, but a writer
    /// cannot be taken back: what was written by then stays written, so on any failure treat the
    /// output as incomplete. `writer` is flushed at the end. A failed write is an [`Error::Io`]
    /// without a path.
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
    async fn fetch<W: AsyncWrite + Unpin>(
        &self,
        backup_id: &str,
        sink: &mut Sink<W>,
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
        sink.check_complete()?;
        Ok(resumes)
    }

    /// One request for the rest of the archive, written to `sink`.
    async fn transfer<W: AsyncWrite + Unpin>(
        &self,
        link: &ArchiveUrl,
        sink: &mut Sink<W>,
        expected: Option<u64>,
        on_progress: &mut impl FnMut(Progress),
    ) -> Result<Transfer> {
        if expected.is_some_and(|expected| sink.len() == expected) {
            return Ok(Transfer::Complete);
        }
        let mut stream = self.open_archive_from(link, sink.len()).await?;
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
                sink.write(&chunk).await?;
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
    /// The server ended the body early without an error: resume.
    Short,
}

/// `<path>.part`.
fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

/// `<part>.backup`: the id of the backup whose archive the part holds the start of.
fn owner_path(part: &Path) -> PathBuf {
    let mut name = part.file_name().unwrap_or_default().to_os_string();
    name.push(".backup");
    part.with_file_name(name)
}

/// The partial file being written.
struct Part {
    path: PathBuf,
    sink: Sink<tokio::fs::File>,
}

impl Part {
    /// Opens `path` to continue it, or starts it again when it cannot be the start of this
    /// backup's archive: written for another backup (or by a version that did not say), too long,
    /// or not starting like a gzip file.
    async fn open(path: &Path, backup_id: &str, expected: Option<u64>) -> Result<Part> {
        let io = |at: &Path| {
            let at = at.to_path_buf();
            move |error| Error::Io {
                path: Some(at),
                source: error,
            }
        };
        let owner = owner_path(path);
        let mut len = match tokio::fs::metadata(path).await {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => return Err(io(path)(error)),
        };
        if len > 0 {
            let owned = tokio::fs::read_to_string(&owner)
                .await
                .is_ok_and(|owner| owner == backup_id);
            let start = read_head(path).await.map_err(io(path))?;
            let too_long = expected.is_some_and(|expected| len > expected);
            // A leftover shorter than the magic is started again too: the sink checks an
            // archive's start only as it arrives.
            if !owned || too_long || start[..] != GZIP_MAGIC {
                len = 0;
            }
        }
        // Truncated before its owner is named: a crash in between leaves an empty part or a
        // part named after its old owner, never another backup's bytes under this one's name.
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(len > 0)
            .truncate(len == 0)
            .open(path)
            .await
            .map_err(io(path))?;
        if len == 0 {
            tokio::fs::write(&owner, backup_id)
                .await
                .map_err(io(&owner))?;
        }
        Ok(Part {
            path: path.to_path_buf(),
            sink: Sink::new(Some(path.to_path_buf()), file, len),
        })
    }

    /// Syncs the file, renames it to `path` and syncs the directory, so the rename survives a crash.
    async fn finish(mut self, path: &Path) -> Result<u64> {
        let io = |at: &Path| {
            let at = at.to_path_buf();
            move |error| Error::Io {
                path: Some(at),
                source: error,
            }
        };
        self.sink.flush().await?;
        self.sink
            .get_mut()
            .sync_all()
            .await
            .map_err(io(&self.path))?;
        tokio::fs::rename(&self.path, path)
            .await
            .map_err(io(path))?;
        // Only a leftover: without its part, the next download starts afresh anyway.
        let _ = tokio::fs::remove_file(owner_path(&self.path)).await;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            let dir = dir.to_path_buf();
            // Directories cannot be synced on every platform; the data itself is synced above.
            let _ = tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all()).await;
        }
        Ok(self.sink.len())
    }

    /// Removes the partial file (its content is not worth resuming).
    async fn discard(self) {
        drop(self.sink);
        let _ = tokio::fs::remove_file(&self.path).await;
        let _ = tokio::fs::remove_file(owner_path(&self.path)).await;
    }
}

async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    tokio::fs::File::open(path)
        .await?
        .take(GZIP_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .await?;
    Ok(head)
}
