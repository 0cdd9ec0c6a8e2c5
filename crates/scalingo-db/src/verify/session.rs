//! A verification fed chunk by chunk from somewhere that already sees an archive's bytes in
//! order: a download's gzip check, which runs on a thread of its own in every download mode (one
//! stream, ranges, a part read back). The bytes cross a short queue to the verification's own
//! thread, so memory stays bounded and a verification slower than the network slows the check
//! (and so the transfer) rather than growing a buffer.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{VerifyOptions, inspect};
use crate::error::Result;

/// Chunks waiting for the verification at most (the check hands over 256 KiB to 1 MiB at once).
const QUEUE: usize = 8;

/// Where the archive's bytes go, in order; dropping it ends the archive.
pub(crate) struct Tap {
    chunks: SyncSender<Vec<u8>>,
}

impl Tap {
    /// Hands over the archive's next bytes, waiting while the verification is [`QUEUE`] chunks
    /// behind. A verification that stopped reading (it cannot, until the end) is not fed.
    pub(crate) fn feed(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            let _ = self.chunks.send(bytes.to_vec());
        }
    }
}

/// A verification running on its thread.
pub(crate) struct Session {
    worker: JoinHandle<Result<super::Report>>,
}

impl Session {
    /// Starts verifying what the returned [`Tap`] is fed.
    pub(crate) fn start(options: VerifyOptions) -> (Tap, Session) {
        let (chunks, received) = sync_channel(QUEUE);
        let worker = std::thread::spawn(move || {
            inspect::inspect(
                Chunks {
                    received,
                    current: Vec::new(),
                    at: 0,
                },
                &options,
            )
        });
        (Tap { chunks }, Session { worker })
    }

    /// Waits for the report (blocking: the [`Tap`] must be gone, or it never comes).
    pub(crate) fn report(self) -> Result<super::Report> {
        self.worker
            .join()
            .map_err(|_| super::thread_failed("it panicked"))?
    }
}

/// The chunks, read as one stream.
struct Chunks {
    received: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for Chunks {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match self.received.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.at = 0;
                }
                // Every tap is gone: the archive ended here.
                Err(_) => return Ok(0),
            }
        }
        let read = buffer.len().min(self.current.len() - self.at);
        buffer[..read].copy_from_slice(&self.current[self.at..self.at + read]);
        self.at += read;
        Ok(read)
    }
}
