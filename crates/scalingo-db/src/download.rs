//! Downloading a backup's archive to a file, safely: into `<path>.part`, resumed with `Range`
//! after an interruption (with a fresh link when the old one expired), checked (a gzip archive,
//! of the announced and recorded size), then synced and renamed. Whatever fails, nothing at
//! `<path>` looks like a complete archive that is not one.

use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

use crate::BackupStatus;
use crate::backups::{ArchiveLink, Backups};
use crate::error::{Error, Result};
use crate::retry::{self, Repeatable};

/// How far a download is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes in the file so far (including those of an earlier, interrupted download).
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

/// The two bytes every gzip file starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Writes reach the disk in pieces of this size, whatever the network's chunk size.
const WRITE_BUFFER: usize = 1024 * 1024;
/// How many times an expired link is replaced in one download.
const MAX_LINK_REFRESHES: u32 = 3;

impl Backups<'_> {
    /// Downloads the archive of a `done` backup to `path`, calling `on_progress` as bytes arrive.
    ///
    /// The bytes go to `<path>.part` (an existing one, left by an interrupted download of the
    /// same archive, is continued). An interrupted transfer is resumed from where it stopped with
    /// a `Range` request, after the retry policy's backoff, for as long as resumes make progress
    /// (the policy's `max_attempts` interruptions in a row without a new byte end it), and a link
    /// that expired meanwhile is replaced. The result must start like a gzip file and have the size
    /// the server announced and the backup records; then it is flushed to disk and renamed to
    /// `path`. On failure `path` is untouched; `<path>.part` is kept to be resumed, unless its
    /// content is not an archive.
    pub async fn download(
        &self,
        backup_id: &str,
        path: &Path,
        mut on_progress: impl FnMut(Progress),
    ) -> Result<Downloaded> {
        let backup = self.get(backup_id).await?;
        if backup.status != BackupStatus::Done {
            return Err(Error::Archive {
                message: format!(
                    "backup {backup_id} is {}: only a done backup can be downloaded",
                    backup.status
                ),
            });
        }
        let expected = backup
            .size
            .and_then(|size| u64::try_from(size).ok())
            .filter(|size| *size > 0);
        let part = part_path(path);
        let mut file = Part::open(&part, expected).await?;
        let mut link = self.archive_link(backup_id).await?;
        let mut link_refreshes = 0;
        let mut resumes = 0;
        // Interruptions in a row without a byte of progress; bounded by the retry policy.
        let mut stalled = 0;
        let policy = self.client().retry_policy();

        loop {
            let before = file.len;
            let outcome = self
                .transfer(&link, &mut file, expected, &mut on_progress)
                .await;
            let error = match outcome {
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
                    link = self.archive_link(backup_id).await?;
                    continue;
                }
                Some(error @ Error::Archive { .. }) => {
                    if !file.starts_like_gzip {
                        file.discard().await;
                    }
                    return Err(error);
                }
                Some(error) if !retry::retryable(&error, Repeatable::Always) => return Err(error),
                error => {
                    stalled = if file.len > before { 1 } else { stalled + 1 };
                    if stalled >= policy.max_attempts {
                        return Err(error.unwrap_or_else(|| Error::Archive {
                            message: format!(
                                "the transfer kept ending early, at {} bytes",
                                file.len
                            ),
                        }));
                    }
                    resumes += 1;
                    tracing::debug!(from = file.len, resumes, "resuming the download");
                    tokio::time::sleep(policy.backoff(stalled)).await;
                }
            }
        }

        let bytes = file.finish(path).await?;
        Ok(Downloaded {
            path: path.to_path_buf(),
            bytes,
            resumes,
        })
    }

    /// One request for the rest of the archive, written to `file`.
    async fn transfer(
        &self,
        link: &ArchiveLink,
        file: &mut Part,
        expected: Option<u64>,
        on_progress: &mut impl FnMut(Progress),
    ) -> Result<Transfer> {
        if expected.is_some_and(|expected| file.len == expected) {
            return Ok(Transfer::Complete);
        }
        let mut stream = self.open_archive_from(link, file.len).await?;
        let announced = stream.content_length().map(|length| file.len + length);
        if let (Some(announced), Some(expected)) = (announced, expected)
            && announced != expected
        {
            // A storage error answered with 200 has the wrong size too; its text says more.
            if file.len == 0
                && let Some(first) = stream.chunk().await?
                && !first.starts_with(&GZIP_MAGIC)
            {
                return Err(not_gzip(&first));
            }
            return Err(Error::Archive {
                message: format!(
                    "the server announced an archive of {announced} bytes, the backup records {expected}"
                ),
            });
        }
        let total = expected.or(announced);
        on_progress(Progress {
            bytes: file.len,
            total,
        });
        // A stalled transfer ends like a lost connection, to be resumed; the client has no
        // general read limit, which would add a timer to every API call.
        let stall_limit = self.client().request_timeout();
        let read = async {
            while let Some(chunk) = stalled_after(stall_limit, stream.chunk()).await? {
                file.write(&chunk).await?;
                on_progress(Progress {
                    bytes: file.len,
                    total,
                });
            }
            Ok::<_, Error>(())
        }
        .await;
        // Keep what arrived, so a resume starts after it.
        file.flush().await?;
        read?;
        match total {
            Some(total) if file.len < total => Ok(Transfer::Short),
            Some(total) if file.len > total => Err(Error::Archive {
                message: format!(
                    "received {} bytes, more than the {total} announced",
                    file.len
                ),
            }),
            _ => Ok(Transfer::Complete),
        }
    }
}

/// The error for a body that does not start like a gzip file, quoting its start.
fn not_gzip(start: &[u8]) -> Error {
    Error::Archive {
        message: format!(
            "the download is not a gzip archive; it begins with: {}",
            crate::redact::snippet(start)
        ),
    }
}

/// `chunk`, unless no byte arrives within `limit`.
async fn stalled_after<T>(
    limit: std::time::Duration,
    chunk: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(limit, chunk)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
                what: format!(
                    "the download stalled: no data for {}",
                    crate::error::seconds(limit)
                ),
                source: None,
            })
        })
}

/// How one transfer ended.
enum Transfer {
    /// The file holds the whole archive.
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

/// The partial file being written.
struct Part {
    path: PathBuf,
    writer: tokio::io::BufWriter<tokio::fs::File>,
    len: u64,
    starts_like_gzip: bool,
    /// The first bytes, until there are enough to check the gzip magic.
    head: Vec<u8>,
}

impl Part {
    /// Opens `path` to continue it, or starts it again when it cannot be the start of the archive.
    async fn open(path: &Path, expected: Option<u64>) -> Result<Part> {
        let io = |error: std::io::Error| Error::Io {
            path: path.to_path_buf(),
            source: error,
        };
        let mut head = Vec::new();
        let mut len = match tokio::fs::metadata(path).await {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => return Err(io(error)),
        };
        if len > 0 {
            let start = read_head(path).await.map_err(io)?;
            let too_long = expected.is_some_and(|expected| len > expected);
            if too_long || (start.len() >= 2 && start[..2] != GZIP_MAGIC) {
                len = 0;
            } else {
                head = start;
            }
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(len > 0)
            .truncate(len == 0)
            .open(path)
            .await
            .map_err(io)?;
        Ok(Part {
            path: path.to_path_buf(),
            writer: tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file),
            len,
            starts_like_gzip: head.len() >= 2,
            head,
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if !self.starts_like_gzip {
            let needed = 2 - self.head.len().min(2);
            self.head
                .extend_from_slice(&chunk[..chunk.len().min(needed)]);
            if self.head.len() >= 2 {
                if self.head[..2] != GZIP_MAGIC {
                    return Err(not_gzip(chunk));
                }
                self.starts_like_gzip = true;
            }
        }
        self.writer
            .write_all(chunk)
            .await
            .map_err(|error| Error::Io {
                path: self.path.clone(),
                source: error,
            })?;
        self.len += chunk.len() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.writer.flush().await.map_err(|error| Error::Io {
            path: self.path.clone(),
            source: error,
        })
    }

    /// Syncs the file, renames it to `path` and syncs the directory, so the rename survives a crash.
    async fn finish(mut self, path: &Path) -> Result<u64> {
        let io = |at: &Path| {
            let at = at.to_path_buf();
            move |error| Error::Io {
                path: at,
                source: error,
            }
        };
        self.flush().await?;
        self.writer
            .get_mut()
            .sync_all()
            .await
            .map_err(io(&self.path))?;
        tokio::fs::rename(&self.path, path)
            .await
            .map_err(io(path))?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            let dir = dir.to_path_buf();
            // Directories cannot be synced on every platform; the data itself is synced above.
            let _ = tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all()).await;
        }
        Ok(self.len)
    }

    /// Removes the partial file (its content is not worth resuming).
    async fn discard(self) {
        drop(self.writer);
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut head = Vec::with_capacity(2);
    tokio::fs::File::open(path)
        .await?
        .take(2)
        .read_to_end(&mut head)
        .await?;
    Ok(head)
}
