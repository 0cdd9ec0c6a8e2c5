//! [`PartPaths`]: the file a download to `<path>` writes until the archive is whole,
//! `<path>.part`, and its sidecar `<path>.part.backup`, which says whose archive the part holds
//! bytes of ([`super::sidecar`]); what an interrupted download left there ([`Leftover`]); and how
//! a whole archive is put in place.
//!
//! The part is created on the archive's first byte, never before: a download that fails earlier
//! (a refused link, a body that is not an archive) leaves nothing behind. It is created
//! exclusively and opened without following links ([`super::safe_fs`]); a part or a sidecar that
//! is not a regular file is refused and left alone. The destination itself is replaced only if
//! it is a regular file or nothing: a device, a FIFO, a directory or a link at `<path>` is
//! refused before anything is downloaded, and again just before the rename.
//!
//! A part is continued only when its sidecar says it can be: this backup, and a version that the
//! resumed requests send in `If-Range`. One written in one stream is the archive's start, read
//! back through the gzip check before it is continued; one written in ranges must have the
//! archive's size, and its file must hold what its sidecar counts, starting with the gzip magic.
//! How each kind of download writes is in `stream_part.rs` and `ranged_part.rs`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::gzip_check::GzipCheck;
use super::plan::Layout;
use super::positioned::read_exact_at;
use super::safe_fs::{self, Access, Found};
use super::sidecar::{self, Sidecar};
use super::sink::GZIP_MAGIC;
use super::validator::Validator;
use super::verifying::Checks;
use crate::error::{Error, Result};

/// Why a part or sidecar that is not a regular file is refused.
pub(super) const PART_REFUSED: &str = "a download never writes through it, and leaves it as it is";
/// Why a destination that is not a regular file is refused.
const DESTINATION_REFUSED: &str =
    "a download replaces only a regular file, and never follows a link";
/// At most this much of a sidecar is read: a few lines, the longest counting the bytes of each
/// of at most 4,096 ranges.
const SIDECAR_LIMIT: u64 = 128 * 1024;
/// A leftover part is read back through the gzip check in pieces of this size.
const READ_BACK: usize = 1024 * 1024;

/// Where a download to `destination` writes, and whose archive it is.
#[derive(Clone, Debug)]
pub(super) struct PartPaths {
    pub(super) destination: PathBuf,
    /// `<destination>.part`.
    pub(super) part: PathBuf,
    /// `<destination>.part.backup`.
    pub(super) sidecar: PathBuf,
    pub(super) backup_id: String,
    /// How each pass over the archive is checked (and verified, when asked).
    pub(super) checks: Checks,
}

/// What an interrupted download left, worth continuing.
pub(super) enum Leftover {
    /// The archive's start, written in one stream.
    Prefix(Prefix),
    /// Ranges of the archive, written at their places.
    Ranged(RangedLeftover),
}

/// The archive's first `len` bytes, of the version `validator` names, all of them taken by
/// `check`; `file` is open for positioned writes, at `len`.
pub(super) struct Prefix {
    pub(super) file: std::fs::File,
    pub(super) len: u64,
    pub(super) validator: Validator,
    pub(super) check: GzipCheck,
}

/// The ranges of `layout` of which the first `done[i]` bytes of each range `i` are in `file`
/// (open for positioned writes), of the version `validator` names.
pub(super) struct RangedLeftover {
    pub(super) file: std::fs::File,
    pub(super) validator: Validator,
    pub(super) layout: Layout,
    pub(super) done: Vec<u64>,
}

impl PartPaths {
    /// Prepares a download of `backup_id`'s archive (of `expected` bytes, when known) to
    /// `destination`: fails if `destination`, the part or its sidecar is something other than a
    /// regular file, or if its directory cannot be reached; answers what an interrupted download
    /// of the same version of the same archive left, if it can be continued. Creates nothing.
    pub(super) async fn open(
        destination: &Path,
        backup_id: &str,
        expected: Option<u64>,
        checks: Checks,
    ) -> Result<(PartPaths, Option<Leftover>)> {
        let part = with_suffix(destination, ".part");
        let paths = PartPaths {
            destination: destination.to_path_buf(),
            sidecar: with_suffix(&part, ".backup"),
            part,
            backup_id: backup_id.to_owned(),
            checks,
        };
        let leftover = {
            let paths = paths.clone();
            blocking(destination, move || {
                refuse_unless_regular(&paths.destination, DESTINATION_REFUSED)?;
                // Nothing is created before the first byte: a missing directory would only
                // show then, after a request. It shows now, naming the destination.
                if let Some(dir) = paths
                    .destination
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                {
                    std::fs::metadata(dir).map_err(io(&paths.destination))?;
                }
                leftover(&paths, expected)
            })
            .await?
        };
        Ok((paths, leftover))
    }

    /// Puts the written part in place, once synced: renames it to the destination (still a
    /// regular file or nothing, and the part still the file written, whose metadata is
    /// `written`), removes the sidecar and syncs the directory, so the rename survives a crash.
    /// Blocks.
    pub(super) fn place(&self, written: &std::fs::Metadata) -> Result<()> {
        if !safe_fs::is_same_file(written, &self.part).map_err(io(&self.part))? {
            return Err(io(&self.part)(std::io::Error::other(
                "it was replaced while the download wrote it: nothing was renamed",
            )));
        }
        refuse_unless_regular(&self.destination, DESTINATION_REFUSED)?;
        std::fs::rename(&self.part, &self.destination).map_err(io(&self.destination))?;
        // Only a leftover: without its part, the next download starts afresh anyway.
        let _ = safe_fs::remove(&self.sidecar);
        if let Some(dir) = self
            .destination
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
        {
            // Directories cannot be synced on every platform; the data itself is synced.
            let _ = std::fs::File::open(dir).and_then(|dir| dir.sync_all());
        }
        Ok(())
    }

    /// Removes the part and its sidecar (their content is not worth resuming). Blocks.
    pub(super) fn remove(&self) {
        let _ = safe_fs::remove(&self.part);
        let _ = safe_fs::remove(&self.sidecar);
    }
}

/// The part at `paths` if it can be continued: a regular file named by a regular sidecar as
/// bytes of a version of `backup_id`'s archive that fit `expected`. `None` when it must be
/// started again; an error when the part or the sidecar is something else than a regular file.
fn leftover(paths: &PartPaths, expected: Option<u64>) -> Result<Option<Leftover>> {
    let (part, sidecar) = (&paths.part, &paths.sidecar);
    // Both are looked at, whether or not the other is there: either would be replaced.
    let part_found = refuse_unless_regular(part, PART_REFUSED)?;
    let sidecar_found = refuse_unless_regular(sidecar, PART_REFUSED)?;
    if part_found == Found::Nothing || sidecar_found == Found::Nothing {
        return Ok(None);
    }
    let mut text = String::new();
    let read = safe_fs::open_regular(sidecar, Access::Read, PART_REFUSED)
        .and_then(|file| file.take(SIDECAR_LIMIT).read_to_string(&mut text));
    match read {
        Ok(_) => {}
        // Not text: no sidecar this crate wrote.
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => return Ok(None),
        Err(error) => return Err(io(sidecar)(error)),
    }
    let Some(said) = sidecar::parse(&text, &paths.backup_id) else {
        return Ok(None);
    };
    let file = safe_fs::open_regular(part, Access::Positioned, PART_REFUSED).map_err(io(part))?;
    let len = file.metadata().map_err(io(part))?.len();
    match said {
        Sidecar::Stream { validator } => {
            prefix(file, part, len, validator, expected, paths.checks.fresh())
        }
        Sidecar::Ranged {
            validator,
            layout,
            done,
        } => Ok(ranged(file, part, len, validator, layout, done, expected)?.map(Leftover::Ranged)),
    }
}

/// A part written in one stream, `len` bytes long, if it reads back through the gzip check and
/// is no longer than `expected`.
fn prefix(
    mut file: std::fs::File,
    part: &Path,
    len: u64,
    validator: Validator,
    expected: Option<u64>,
    mut check: GzipCheck,
) -> Result<Option<Leftover>> {
    use std::io::Seek as _;
    if len < GZIP_MAGIC.len() as u64 || expected.is_some_and(|expected| len > expected) {
        return Ok(None);
    }
    // The check must have seen every byte before the rest arrives; reading back what is on disk
    // is much cheaper than downloading it again.
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
    // The next byte goes right after those read back (the file may have grown since).
    file.seek(std::io::SeekFrom::Start(len)).map_err(io(part))?;
    Ok(Some(Leftover::Prefix(Prefix {
        file,
        len,
        validator,
        check,
    })))
}

/// A part written in ranges, `len` bytes long, if its layout is of an archive of `expected`
/// bytes, the file holds every byte its sidecar counts, and the archive's first range holds the
/// gzip magic. (Its content is read back by the check once the download goes on.)
fn ranged(
    file: std::fs::File,
    part: &Path,
    len: u64,
    validator: Validator,
    layout: Layout,
    done: Vec<u64>,
    expected: Option<u64>,
) -> Result<Option<RangedLeftover>> {
    // A range with nothing written reaches nowhere, whatever its start.
    let furthest = done
        .iter()
        .enumerate()
        .filter(|(_, done)| **done > 0)
        .map(|(index, done)| layout.range(index).start + done)
        .max()
        .unwrap_or(0);
    let magic_counted = done
        .first()
        .is_some_and(|done| *done >= GZIP_MAGIC.len() as u64);
    if expected != Some(layout.total) || furthest > len || len >= layout.total || !magic_counted {
        return Ok(None);
    }
    let mut start = [0; GZIP_MAGIC.len()];
    read_exact_at(&file, &mut start, 0).map_err(io(part))?;
    if start != GZIP_MAGIC {
        return Ok(None);
    }
    Ok(Some(RangedLeftover {
        file,
        validator,
        layout,
        done,
    }))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// An [`Error::Io`] naming `at`.
pub(super) fn io(at: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let at = at.to_path_buf();
    move |source| Error::Io {
        path: Some(at),
        source,
    }
}

/// What is at `path`: nothing or a regular file, else an error that names it and says `why` it
/// is refused.
pub(super) fn refuse_unless_regular(path: &Path, why: &str) -> Result<Found> {
    let found = safe_fs::look(path).map_err(io(path))?;
    match found {
        Found::Other(what) => Err(Error::Io {
            path: Some(path.to_path_buf()),
            source: safe_fs::refusal(what, why),
        }),
        found => Ok(found),
    }
}

/// Runs `job` (file system calls, which block) off the runtime's threads.
pub(super) async fn blocking<T: Send + 'static>(
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

    fn paths(dir: &Path) -> PartPaths {
        PartPaths {
            destination: dir.join("a.tar.gz"),
            part: dir.join("a.tar.gz.part"),
            sidecar: dir.join("a.tar.gz.part.backup"),
            backup_id: "b-1".to_owned(),
            checks: Checks::default(),
        }
    }

    const LAYOUT: Layout = Layout {
        total: 100,
        part_size: 40,
    };

    fn leave(dir: &Path, part: &[u8], done: &[u64]) {
        let etag = Validator::ETag("\"v\"".into());
        std::fs::write(dir.join("a.tar.gz.part"), part).expect("part");
        std::fs::write(
            dir.join("a.tar.gz.part.backup"),
            sidecar::ranged_text("b-1", &etag, &LAYOUT, done),
        )
        .expect("sidecar");
    }

    #[test]
    fn a_ranged_part_is_continued_only_when_its_file_holds_what_it_counts() {
        let dir = tempfile::tempdir().expect("a directory");
        let paths = paths(dir.path());
        let mut bytes = vec![0x1f, 0x8b];
        bytes.resize(90, 7);
        let found = |part: &[u8], done: &[u64], expected| {
            leave(dir.path(), part, done);
            matches!(
                leftover(&paths, expected).expect("regular files"),
                Some(Leftover::Ranged(_))
            )
        };
        assert!(found(&bytes, &[40, 0, 10], Some(100)));
        assert!(found(&bytes[..50], &[40, 10, 0], Some(100)));
        assert!(!found(&bytes, &[40, 0, 10], Some(101)), "another size");
        assert!(!found(&bytes, &[40, 0, 10], None), "no size to compare");
        assert!(
            !found(&bytes[..85], &[40, 0, 10], Some(100)),
            "a shorter file"
        );
        assert!(
            !found(&bytes, &[1, 0, 10], Some(100)),
            "the magic not counted"
        );
        assert!(!found(&[7; 90], &[40, 0, 10], Some(100)), "not gzip");
        let mut whole = bytes.clone();
        whole.resize(100, 7);
        assert!(!found(&whole, &[40, 40, 20], Some(100)), "looks complete");
    }
}
