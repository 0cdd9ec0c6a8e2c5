//! [`BackgroundCheck`]: the [`GzipCheck`] of a download, run on a thread of its own so that it
//! overlaps the transfer instead of adding to it.
//!
//! Checking a real archive means inflating it, which one core does at a few hundred MiB/s of
//! archive: in line with the transfer, that time would add to every chunk's (a download at
//! 100 MiB/s would lose about 40%). Beside it, on the runtime's blocking pool, it costs nothing
//! while the network is slower than the check, and slows the transfer to the check's pace only
//! when it is faster. Chunks are handed over as they are (`Bytes` share their buffer), in
//! batches (a wake-up of the checking thread per network chunk would cost more than the check of
//! an uncompressed archive) through a short queue, so memory stays bounded (about 1 MiB); a
//! failure stops the transfer within a few batches.

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::gzip_check::GzipCheck;
use crate::error::ArchiveProblem;

/// Chunks are handed to the check in batches of at least this many bytes.
const BATCH: usize = 256 * 1024;
/// Batches waiting for the check at most; past that, the transfer waits for it.
const QUEUE: usize = 4;

/// A running check.
pub(super) struct BackgroundCheck {
    state: State,
}

enum State {
    /// Not started: no chunk yet (a download that fails before its first byte starts nothing).
    Idle(GzipCheck),
    /// Checking on the blocking pool.
    Running {
        queue: mpsc::Sender<Vec<Bytes>>,
        worker: JoinHandle<Result<(), ArchiveProblem>>,
        /// Chunks not handed over yet, and their size.
        batch: Vec<Bytes>,
        batched: usize,
    },
    /// Over, with what it found.
    Done(Result<(), ArchiveProblem>),
}

impl BackgroundCheck {
    /// The check of an archive whose first bytes (if any) `check` has already taken.
    pub(super) fn new(check: GzipCheck) -> Self {
        BackgroundCheck {
            state: State::Idle(check),
        }
    }

    /// Hands the archive's next bytes to the check, waiting while it is [`QUEUE`] batches
    /// behind. Fails with what the check found, once it found something.
    pub(super) async fn update(&mut self, chunk: Bytes) -> Result<(), ArchiveProblem> {
        if let State::Idle(_) = self.state {
            let State::Idle(mut check) = std::mem::replace(&mut self.state, State::Done(Ok(())))
            else {
                unreachable!("matched above");
            };
            let (queue, mut batches) = mpsc::channel::<Vec<Bytes>>(QUEUE);
            let worker = tokio::task::spawn_blocking(move || {
                while let Some(batch) = batches.blocking_recv() {
                    for chunk in batch {
                        check.update(&chunk)?;
                    }
                }
                check.finish()
            });
            self.state = State::Running {
                queue,
                worker,
                batch: Vec::new(),
                batched: 0,
            };
        }
        match &mut self.state {
            State::Running {
                queue,
                batch,
                batched,
                ..
            } => {
                *batched += chunk.len();
                batch.push(chunk);
                if *batched < BATCH {
                    return Ok(());
                }
                *batched = 0;
                match queue.send(std::mem::take(batch)).await {
                    Ok(()) => Ok(()),
                    // The worker stopped taking batches: it found something.
                    Err(_) => self.finish().await,
                }
            }
            State::Done(outcome) => outcome.clone(),
            State::Idle(_) => unreachable!("started above"),
        }
    }

    /// Ends the check (the archive has no more bytes): what it found.
    pub(super) async fn finish(&mut self) -> Result<(), ArchiveProblem> {
        let outcome = match std::mem::replace(&mut self.state, State::Done(Ok(()))) {
            State::Idle(mut check) => check.finish(),
            State::Running {
                queue,
                worker,
                batch,
                ..
            } => {
                // The last batch may be refused: the worker failed, and says why below.
                let _ = queue.send(batch).await;
                // Closing the queue lets the worker end, once it has taken every batch.
                drop(queue);
                worker.await.unwrap_or_else(|_| {
                    Err(ArchiveProblem::Corrupt {
                        at: 0,
                        reason: "the check of its gzip data failed to run".to_owned(),
                    })
                })
            }
            State::Done(outcome) => outcome,
        };
        self.state = State::Done(outcome.clone());
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn archive() -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        encoder.write_all(&content).expect("in memory");
        encoder.finish().expect("in memory")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_whole_archive_passes_and_the_outcome_stays() {
        let archive = archive();
        let mut check = BackgroundCheck::new(GzipCheck::default());
        for chunk in archive.chunks(1000) {
            check
                .update(Bytes::copy_from_slice(chunk))
                .await
                .expect("valid so far");
        }
        assert_eq!(check.finish().await, Ok(()));
        assert_eq!(check.finish().await, Ok(()), "asked again");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failure_stops_the_transfer_a_few_chunks_later() {
        let mut bytes = archive();
        let archive_chunks = bytes.len().div_ceil(1000);
        // Garbage after the archive: the check fails there.
        bytes.extend(vec![0x55; 10_000_000]);
        let mut check = BackgroundCheck::new(GzipCheck::default());
        let mut failed_at = None;
        for (index, chunk) in bytes.chunks(1000).enumerate() {
            if let Err(problem) = check.update(Bytes::copy_from_slice(chunk)).await {
                assert!(
                    matches!(problem, ArchiveProblem::Corrupt { .. }),
                    "{problem:?}"
                );
                failed_at = Some(index);
                break;
            }
        }
        let failed_at = failed_at.expect("the failure shows before the end");
        // It shows once the batch holding the archive's end is checked, and the queue's
        // batches after it are taken (or refused), the next one gathered.
        let late = (failed_at + 1 - archive_chunks) * 1000;
        assert!(
            failed_at + 1 >= archive_chunks && late <= (QUEUE + 3) * BATCH,
            "shown at chunk {failed_at}, the archive ends in chunk {}",
            archive_chunks - 1
        );
        assert!(check.finish().await.is_err(), "the outcome stays");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_check_never_fed_ends_where_it_stands() {
        let mut nothing = BackgroundCheck::new(GzipCheck::default());
        assert!(
            nothing.finish().await.is_err(),
            "no archive is no gzip file"
        );
    }
}
