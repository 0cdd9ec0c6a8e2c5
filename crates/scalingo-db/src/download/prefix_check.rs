//! [`PrefixCheck`]: the gzip check of a download in ranges, which needs the archive's bytes in
//! order while they arrive out of it.
//!
//! The check follows the archive's contiguous start as it grows (the coordinator says how far it
//! reaches, [`PrefixCheck::advance`]), reading it back from the part file on a thread of its own
//! with positioned reads on a handle of its own (a duplicate of the writers', never a path opened
//! again). The bytes it reads were written moments before and are still in the page cache, so
//! reading them back costs a copy, not a disk read; the check overlaps the transfer, and what is
//! left at the end is what arrived after the start last grew (a range or two). Checking after the
//! transfer instead would add the whole check to every download: about 30 s for 4 GiB at the
//! 136 MiB/s one core inflates a real dump at, against 0.1 s or so this way (see BENCHMARKS.md).
//! Memory: one buffer of [`READ_BACK`] bytes, whatever the archive's size.
//!
//! A failure shows at once to the coordinator ([`PrefixCheck::failed`]), which stops the
//! download; a download given up (or dropped) abandons the check, whose thread then ends.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use tokio::task::JoinHandle;

use super::gzip_check::GzipCheck;
use super::positioned::read_exact_at;
use crate::error::{Error, Result};

/// The archive is read back in pieces of this size.
pub(super) const READ_BACK: usize = 1024 * 1024;

/// A running check.
pub(super) struct PrefixCheck {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<Result<()>>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// The archive's first `ready` bytes are in the file.
    ready: u64,
    /// The download was given up: the thread ends.
    abandoned: bool,
    /// The check found something (the thread ended with it).
    failed: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PrefixCheck {
    /// Starts checking the archive of `total` bytes in `file` (`path` names it in errors) from
    /// byte `from`, where `check` stands: it has taken the first `from` bytes.
    pub(super) fn start(
        file: File,
        path: PathBuf,
        check: GzipCheck,
        from: u64,
        total: u64,
    ) -> PrefixCheck {
        let shared = Arc::new(Shared::default());
        let worker = {
            let shared = Arc::clone(&shared);
            tokio::task::spawn_blocking(move || {
                let outcome = follow(&shared, &file, &path, check, from, total);
                if outcome.is_err() {
                    shared.lock().failed = true;
                }
                outcome
            })
        };
        PrefixCheck {
            shared,
            worker: Some(worker),
        }
    }

    /// The archive's first `ready` bytes are in the file.
    pub(super) fn advance(&self, ready: u64) {
        let mut state = self.shared.lock();
        if ready > state.ready {
            state.ready = ready;
            self.shared.wake.notify_one();
        }
    }

    /// Whether the check found something wrong: [`PrefixCheck::finish`] says what.
    pub(super) fn failed(&self) -> bool {
        self.shared.lock().failed
    }

    /// What the check found: to be called once it [`PrefixCheck::failed`], or once the whole
    /// archive is in the file (else it would wait for bytes that never come).
    pub(super) async fn finish(mut self) -> Result<()> {
        let Some(worker) = self.worker.take() else {
            return Ok(());
        };
        worker.await.unwrap_or_else(|error| {
            Err(Error::Archive(crate::error::ArchiveProblem::Corrupt {
                at: 0,
                reason: format!("the check of its gzip data failed to run: {error}"),
            }))
        })
    }
}

impl Drop for PrefixCheck {
    fn drop(&mut self) {
        // Harmless once the thread has ended (after `finish`); needed whenever it may still wait.
        self.shared.lock().abandoned = true;
        self.shared.wake.notify_one();
    }
}

/// The check's thread: reads and checks the archive as its start grows, to its end.
fn follow(
    shared: &Shared,
    file: &File,
    path: &Path,
    mut check: GzipCheck,
    from: u64,
    total: u64,
) -> Result<()> {
    let mut buffer = vec![0; READ_BACK];
    let mut at = from;
    // Bounded: each turn checks at least a byte, or ends.
    while at < total {
        let ready = {
            let mut state = shared.lock();
            while state.ready <= at && !state.abandoned {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.abandoned {
                return Ok(());
            }
            state.ready.min(total)
        };
        while at < ready {
            let n = usize::try_from(ready - at).map_or(READ_BACK, |left| left.min(READ_BACK));
            read_exact_at(file, &mut buffer[..n], at).map_err(|source| Error::Io {
                path: Some(path.to_path_buf()),
                source,
            })?;
            check.update(&buffer[..n]).map_err(Error::Archive)?;
            at += n as u64;
        }
    }
    check.finish().map_err(Error::Archive)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::error::ArchiveProblem;

    fn archive() -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        encoder.write_all(&content).expect("in memory");
        encoder.finish().expect("in memory")
    }

    fn file_of(dir: &tempfile::TempDir, bytes: &[u8]) -> (File, PathBuf) {
        let path = dir.path().join("part");
        std::fs::write(&path, bytes).expect("write");
        (File::open(&path).expect("open"), path)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_whole_archive_passes_as_its_start_grows() {
        let archive = archive();
        let dir = tempfile::tempdir().expect("a directory");
        let (file, path) = file_of(&dir, &archive);
        let total = archive.len() as u64;
        let check = PrefixCheck::start(file, path, GzipCheck::default(), 0, total);
        for ready in [1, 2, 1000, 1000, 500, total / 2, total] {
            check.advance(ready);
        }
        assert!(check.finish().await.is_ok());
    }

    /// Longer than any check of these few MiB takes; only there so that a hung thread fails.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

    #[tokio::test(flavor = "current_thread")]
    async fn a_flipped_byte_fails_and_shows_without_finish() {
        let mut archive = archive();
        let total = archive.len() as u64;
        archive[100] ^= 0xff;
        let dir = tempfile::tempdir().expect("a directory");
        let (file, path) = file_of(&dir, &archive);
        let mut check = PrefixCheck::start(file, path, GzipCheck::default(), 0, total);
        check.advance(total);
        // The thread ends on what it found; waiting for it (bounded, never a sleep) is waiting
        // for the failure to be known.
        let worker = check.worker.take().expect("a running check");
        let outcome = tokio::time::timeout(WAIT, worker)
            .await
            .expect("the check's thread ends")
            .expect("the thread did not panic");
        assert!(
            check.failed(),
            "seen by the coordinator before it asks for the outcome"
        );
        match outcome {
            Err(Error::Archive(
                ArchiveProblem::Corrupt { .. } | ArchiveProblem::ChecksumMismatch { .. },
            )) => {}
            other => panic!("expected a corrupt archive, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_check_dropped_before_the_end_lets_its_thread_go() {
        let archive = archive();
        let dir = tempfile::tempdir().expect("a directory");
        let (file, path) = file_of(&dir, &archive);
        let mut check = PrefixCheck::start(
            file,
            path,
            GzipCheck::default(),
            0,
            10 * archive.len() as u64,
        );
        check.advance(100);
        let shared = Arc::clone(&check.shared);
        let worker = check.worker.take().expect("a running check");
        drop(check);
        assert!(shared.lock().abandoned);
        // The thread ends once it sees the check abandoned (bounded wait, never a sleep).
        let _ = tokio::time::timeout(WAIT, worker)
            .await
            .expect("the check's thread ends");
        assert_eq!(Arc::strong_count(&shared), 1, "the thread let its state go");
    }
}
