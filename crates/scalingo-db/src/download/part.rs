//! [`Part`]: the file a download to `<path>` writes until the archive is whole, `<path>.part`,
//! and its sidecar `<path>.part.backup`, which says whose archive the part holds the start of.
//!
//! The part is created on the archive's first byte, never before: a download that fails earlier
//! (a refused link, a body that is not an archive) leaves nothing behind. It is created
//! exclusively and opened without following links ([`super::safe_fs`]); a part or a sidecar that
//! is not a regular file is refused and left alone. The destination itself is replaced only if
//! it is a regular file or nothing: a device, a FIFO, a directory or a link at `<path>` is
//! refused before anything is downloaded, and again just before the rename.
//!
//! The sidecar holds two lines: the backup's id, then the version of its archive the part is of
//! (`etag "<tag>"` or `last-modified <date>`, see [`Validator`]). A part is continued only when
//! both say it can be: this backup, and a version that the resumed request sends in `If-Range`.
//! A sidecar written by an earlier version of this crate (the id alone) names no version, so its
//! part is started again rather than continued unproven.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use super::gzip_check::GzipCheck;
use super::safe_fs::{self, Found};
use super::sink::{Destination, GZIP_MAGIC, Sink};
use super::validator::Validator;
use crate::error::{Error, Result};

/// Why a part or sidecar that is not a regular file is refused.
const PART_REFUSED: &str = "a download never writes through it, and leaves it as it is";
/// Why a destination that is not a regular file is refused.
const DESTINATION_REFUSED: &str =
    "a download replaces only a regular file, and never follows a link";
/// At most this much of a sidecar is read: two short lines.
const SIDECAR_LIMIT: u64 = 4096;
/// A leftover part is read back through the gzip check in pieces of this size.
const READ_BACK: usize = 1024 * 1024;

/// The partial file of a download to `destination`, and the sink that writes it.
pub(super) struct Part {
    destination: PathBuf,
    /// The part's path.
    path: PathBuf,
    pub(super) sink: Sink<PartFile>,
}

impl Part {
    /// Prepares a download of `backup_id`'s archive (of `expected` bytes, when known) to
    /// `destination`: fails if `destination`, the part or its sidecar is something other than a
    /// regular file, or if its directory cannot be reached, and continues a part left by an interrupted download of the same version of
    /// the same archive (after reading it back through the gzip check). Creates nothing.
    pub(super) async fn open(
        destination: &Path,
        backup_id: &str,
        expected: Option<u64>,
    ) -> Result<Part> {
        let path = part_path(destination);
        let part_file = PartFile {
            path: path.clone(),
            sidecar: sidecar_path(&path),
            backup_id: backup_id.to_owned(),
            file: None,
            owned: false,
        };
        let leftover = {
            let destination = destination.to_path_buf();
            let part_file = part_file.paths();
            let backup_id = backup_id.to_owned();
            blocking(&path, move || {
                refuse_unless_regular(&destination, DESTINATION_REFUSED)?;
                // Nothing is created before the first byte: a missing directory would only
                // show then, after a request. It shows now, naming the destination.
                if let Some(dir) = destination
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                {
                    std::fs::metadata(dir).map_err(|source| Error::Io {
                        path: Some(destination.clone()),
                        source,
                    })?;
                }
                leftover(&part_file, &backup_id, expected)
            })
            .await?
        };
        let sink = match leftover {
            Some(Leftover {
                file,
                len,
                validator,
                check,
            }) => {
                let part_file = PartFile {
                    file: Some(tokio::fs::File::from_std(file)),
                    owned: true,
                    ..part_file
                };
                Sink::resumed(path.clone(), part_file, len, validator, check)
            }
            None => Sink::new(Some(path.clone()), part_file),
        };
        Ok(Part {
            destination: destination.to_path_buf(),
            path,
            sink,
        })
    }

    /// Syncs the part, renames it to the destination (still a regular file or nothing, and the
    /// part still the file written) and syncs the directory, so the rename survives a crash.
    /// Answers the archive's size.
    pub(super) async fn finish(mut self) -> Result<u64> {
        self.sink.flush().await?;
        let io = |at: &Path| {
            let at = at.to_path_buf();
            move |source| Error::Io {
                path: Some(at),
                source,
            }
        };
        let part_file = self.sink.get_mut();
        let Some(file) = part_file.file.as_mut() else {
            return Err(io(&self.path)(std::io::Error::other(
                "the part file was never written",
            )));
        };
        file.sync_all().await.map_err(io(&self.path))?;
        let written = file.metadata().await.map_err(io(&self.path))?;
        let (part, sidecar) = part_file.paths();
        let destination = self.destination.clone();
        blocking(&self.path, move || {
            if !safe_fs::is_same_file(&written, &part).map_err(io(&part))? {
                return Err(io(&part)(std::io::Error::other(
                    "it was replaced while the download wrote it: nothing was renamed",
                )));
            }
            refuse_unless_regular(&destination, DESTINATION_REFUSED)?;
            std::fs::rename(&part, &destination).map_err(io(&destination))?;
            // Only a leftover: without its part, the next download starts afresh anyway.
            let _ = safe_fs::remove(&sidecar);
            if let Some(dir) = destination
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
            {
                // Directories cannot be synced on every platform; the data itself is synced.
                let _ = std::fs::File::open(dir).and_then(|dir| dir.sync_all());
            }
            Ok(())
        })
        .await?;
        Ok(self.sink.len())
    }

    /// Removes the part and its sidecar, when this download wrote or continued them (their
    /// content is not worth resuming); someone else's leftover is left alone.
    pub(super) async fn discard(mut self) {
        let part_file = self.sink.get_mut();
        part_file.file = None;
        if part_file.owned {
            let (part, sidecar) = part_file.paths();
            let _ = blocking(&self.path, move || {
                let _ = safe_fs::remove(&part);
                let _ = safe_fs::remove(&sidecar);
                Ok(())
            })
            .await;
        }
    }
}

/// `<path>.part`.
fn part_path(path: &Path) -> PathBuf {
    with_suffix(path, ".part")
}

/// `<part>.backup`: what the part holds the start of.
fn sidecar_path(part: &Path) -> PathBuf {
    with_suffix(part, ".backup")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The part file as the sink's destination: created when the archive's first byte comes.
pub(super) struct PartFile {
    path: PathBuf,
    sidecar: PathBuf,
    backup_id: String,
    /// Open for appending once created or continued.
    file: Option<tokio::fs::File>,
    /// Whether the part on disk was written or continued by this download.
    owned: bool,
}

impl PartFile {
    /// The part's path and its sidecar's.
    fn paths(&self) -> (PathBuf, PathBuf) {
        (self.path.clone(), self.sidecar.clone())
    }
}

impl Destination for PartFile {
    /// Replaces whatever leftover is there by a new part, named by a new sidecar first: a crash
    /// in between leaves a sidecar without a part, or an old sidecar without one, never bytes
    /// under a name that is not theirs.
    async fn prepare(&mut self, validator: Option<&Validator>) -> Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let (part, sidecar) = self.paths();
        let text = sidecar_text(&self.backup_id, validator);
        let file = blocking(&self.path, move || {
            let io = |at: &Path| {
                let at = at.to_path_buf();
                move |source| Error::Io {
                    path: Some(at),
                    source,
                }
            };
            safe_fs::remove(&part).map_err(io(&part))?;
            safe_fs::remove(&sidecar).map_err(io(&sidecar))?;
            safe_fs::create_new(&sidecar)
                .and_then(|mut file| file.write_all(text.as_bytes()))
                .map_err(io(&sidecar))?;
            safe_fs::create_new(&part).map_err(io(&part))
        })
        .await?;
        self.file = Some(tokio::fs::File::from_std(file));
        self.owned = true;
        Ok(())
    }

    /// Closes the part; the next [`Destination::prepare`] replaces it.
    async fn forget(&mut self) -> Result<bool> {
        self.file = None;
        Ok(true)
    }
}

impl AsyncWrite for PartFile {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.file.as_mut() {
            Some(file) => Pin::new(file).poll_write(cx, buf),
            // The sink prepares the part before its first byte: this is a bug, not a state.
            None => Poll::Ready(Err(std::io::Error::other("the part file is not open"))),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.file.as_mut() {
            Some(file) => Pin::new(file).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.file.as_mut() {
            Some(file) => Pin::new(file).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// The sidecar of a part of `backup_id`'s archive, in the version `validator` names.
fn sidecar_text(backup_id: &str, validator: Option<&Validator>) -> String {
    match validator {
        Some(validator) => format!("{backup_id}\n{}\n", validator.line()),
        None => format!("{backup_id}\n"),
    }
}

/// The version a sidecar names, if it is `backup_id`'s.
fn sidecar_version(text: &str, backup_id: &str) -> Option<Validator> {
    let mut lines = text.lines();
    if lines.next()? != backup_id {
        return None;
    }
    Validator::from_line(lines.next()?)
}

/// A part worth continuing.
struct Leftover {
    file: std::fs::File,
    len: u64,
    validator: Validator,
    check: GzipCheck,
}

/// The part at `paths` if it can be continued: a regular file named by a regular sidecar as the
/// start of a version of `backup_id`'s archive, no longer than `expected`, that reads back
/// through the gzip check. `None` when it must be started again; an error when the part or the
/// sidecar is something else than a regular file.
fn leftover(
    (part, sidecar): &(PathBuf, PathBuf),
    backup_id: &str,
    expected: Option<u64>,
) -> Result<Option<Leftover>> {
    // Both are looked at, whether or not the other is there: either would be replaced.
    let part_found = refuse_unless_regular(part, PART_REFUSED)?;
    let sidecar_found = refuse_unless_regular(sidecar, PART_REFUSED)?;
    if part_found == Found::Nothing || sidecar_found == Found::Nothing {
        return Ok(None);
    }
    let io = |at: &Path| {
        let at = at.to_path_buf();
        move |source| Error::Io {
            path: Some(at),
            source,
        }
    };
    let mut text = String::new();
    let read = safe_fs::open_regular(sidecar, false, PART_REFUSED)
        .and_then(|file| file.take(SIDECAR_LIMIT).read_to_string(&mut text));
    match read {
        Ok(_) => {}
        // Not text: no sidecar this crate wrote.
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => return Ok(None),
        Err(error) => return Err(io(sidecar)(error)),
    }
    let Some(validator) = sidecar_version(&text, backup_id) else {
        return Ok(None);
    };
    let mut file = safe_fs::open_regular(part, true, PART_REFUSED).map_err(io(part))?;
    let len = file.metadata().map_err(io(part))?.len();
    if len < GZIP_MAGIC.len() as u64 || expected.is_some_and(|expected| len > expected) {
        return Ok(None);
    }
    // The check must have seen every byte before the rest arrives; reading back what is on disk
    // is much cheaper than downloading it again.
    let mut check = GzipCheck::default();
    let mut buffer = vec![0; READ_BACK];
    let mut read_back = 0;
    while read_back < len {
        let n = file.read(&mut buffer).map_err(io(part))?;
        if n == 0 {
            break;
        }
        let n = n.min(usize::try_from(len - read_back).unwrap_or(n));
        // Not gzip from its first bytes, or not gzip data further on: not worth continuing.
        if check.update(&buffer[..n]).is_err() {
            tracing::debug!(part = %part.display(), "a leftover part is not gzip data: starting over");
            return Ok(None);
        }
        read_back += n as u64;
    }
    if read_back < len {
        return Ok(None);
    }
    Ok(Some(Leftover {
        file,
        len,
        validator,
        check,
    }))
}

/// What is at `path`: nothing or a regular file, else an error that names it and says `why` it
/// is refused.
fn refuse_unless_regular(path: &Path, why: &str) -> Result<Found> {
    let found = safe_fs::look(path).map_err(|source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    })?;
    match found {
        Found::Other(what) => Err(Error::Io {
            path: Some(path.to_path_buf()),
            source: safe_fs::refusal(what, why),
        }),
        found => Ok(found),
    }
}

/// Runs `job` (file system calls, which block) off the runtime's threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job)
        .await
        .unwrap_or_else(|error| {
            Err(Error::Io {
                path: Some(path.to_path_buf()),
                source: std::io::Error::other(error),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sidecar_names_a_version_only_when_it_is_this_backup_s_and_says_one() {
        let etag = Validator::ETag("\"abc\"".into());
        let text = sidecar_text("b-1", Some(&etag));
        assert_eq!(text, "b-1\netag \"abc\"\n");
        assert_eq!(sidecar_version(&text, "b-1"), Some(etag));
        assert_eq!(sidecar_version(&text, "b-2"), None, "another backup's");
        // Written by an earlier version (the id alone), or without a version to name.
        assert_eq!(sidecar_version("b-1", "b-1"), None);
        assert_eq!(sidecar_version(&sidecar_text("b-1", None), "b-1"), None);
        assert_eq!(sidecar_version("", "b-1"), None);
    }
}
