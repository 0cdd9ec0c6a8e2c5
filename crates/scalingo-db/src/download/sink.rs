//! Where a download's bytes go, whatever the destination: the resume loop in `download.rs` is
//! written once, against [`Sink`], for a `.part` file and for any writer alike.
//!
//! The sink holds back an archive's first bytes until it can compare them with the gzip magic, so
//! a body that is not an archive (a storage error answered with 200, a gateway's HTML page) never
//! reaches the destination: a file could be removed afterwards, but a writer cannot be un-written.

use std::path::PathBuf;

use tokio::io::{AsyncWrite, AsyncWriteExt as _, BufWriter};

use crate::error::{ArchiveProblem, Error, Result};

/// The two bytes every gzip file starts with.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Writes reach the destination in pieces of this size, whatever the network's chunk size.
const WRITE_BUFFER: usize = 1024 * 1024;

/// The destination of an archive's bytes, checked as they arrive.
pub(super) struct Sink<W> {
    /// Names the destination in [`Error::Io`]: a file, or `None` for a caller's writer.
    path: Option<PathBuf>,
    writer: BufWriter<W>,
    /// Bytes of the archive received: written, or held in `head`. A resume asks for the rest.
    len: u64,
    /// The first bytes, held back until there are enough to compare with the gzip magic.
    head: Vec<u8>,
    starts_like_gzip: bool,
}

impl<W: AsyncWrite + Unpin> Sink<W> {
    /// A sink whose destination already holds the archive's first `len` bytes: none, or at least
    /// the gzip magic (the caller checked it).
    pub(super) fn new(path: Option<PathBuf>, writer: W, len: u64) -> Self {
        Sink {
            path,
            writer: BufWriter::with_capacity(WRITE_BUFFER, writer),
            len,
            head: Vec::with_capacity(GZIP_MAGIC.len()),
            starts_like_gzip: len >= GZIP_MAGIC.len() as u64,
        }
    }

    /// Bytes of the archive received so far.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Whether the archive's start was checked; until then the destination holds none of it.
    pub(super) fn starts_like_gzip(&self) -> bool {
        self.starts_like_gzip
    }

    /// Takes the next bytes of the archive. Fails, writing nothing, if the archive does not start
    /// like a gzip file.
    pub(super) async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let mut rest = chunk;
        if !self.starts_like_gzip {
            let taken = chunk.len().min(GZIP_MAGIC.len() - self.head.len());
            self.head.extend_from_slice(&chunk[..taken]);
            self.len += taken as u64;
            rest = &chunk[taken..];
            if self.head.len() < GZIP_MAGIC.len() {
                return Ok(());
            }
            if self.head[..] != GZIP_MAGIC {
                return Err(not_gzip(&[&self.head[..], rest].concat()));
            }
            self.starts_like_gzip = true;
            let head = std::mem::take(&mut self.head);
            self.put(&head).await?;
        }
        self.put(rest).await?;
        self.len += rest.len() as u64;
        Ok(())
    }

    /// Fails unless the archive's start was checked: an archive shorter than the gzip magic is
    /// not one, and what was held back must not be lost silently.
    pub(super) fn check_complete(&self) -> Result<()> {
        if self.starts_like_gzip {
            Ok(())
        } else {
            Err(not_gzip(&self.head))
        }
    }

    /// Hands what is buffered to the destination.
    pub(super) async fn flush(&mut self) -> Result<()> {
        let result = self.writer.flush().await;
        result.map_err(|error| self.io(error))
    }

    /// The destination itself.
    pub(super) fn get_mut(&mut self) -> &mut W {
        self.writer.get_mut()
    }

    async fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let result = self.writer.write_all(bytes).await;
        result.map_err(|error| self.io(error))
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// The error for a body that does not start like a gzip file, quoting its start.
pub(super) fn not_gzip(start: &[u8]) -> Error {
    Error::Archive(ArchiveProblem::NotGzip {
        snippet: crate::redact::snippet(start),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(into: &mut Vec<u8>) -> Sink<&mut Vec<u8>> {
        Sink::new(None, into, 0)
    }

    #[tokio::test]
    async fn a_magic_split_across_chunks_is_held_back_then_written_whole() {
        let mut written = Vec::new();
        let mut sink = sink(&mut written);
        sink.write(&[0x1f]).await.expect("the first byte is held");
        sink.flush().await.expect("flush");
        assert_eq!(sink.len(), 1, "a resume would start after the held byte");
        assert!(!sink.starts_like_gzip());
        sink.write(&[0x8b, 8, 0])
            .await
            .expect("the magic is complete");
        sink.flush().await.expect("flush");
        sink.check_complete().expect("an archive's start");
        assert_eq!(sink.len(), 4);
        drop(sink);
        assert_eq!(written, [0x1f, 0x8b, 8, 0]);
    }

    #[tokio::test]
    async fn a_start_that_is_not_gzip_is_refused_before_anything_is_written() {
        for chunks in [&[&b"<html>"[..]][..], &[&b"<"[..], &b"html>"[..]][..]] {
            let mut written = Vec::new();
            let mut sink = sink(&mut written);
            let mut outcome = Ok(());
            for chunk in chunks {
                outcome = sink.write(chunk).await;
            }
            sink.flush().await.expect("flush");
            match outcome {
                Err(Error::Archive(ArchiveProblem::NotGzip { snippet })) => {
                    assert!(snippet.contains("<html>"), "{chunks:?}: {snippet}")
                }
                other => panic!("{chunks:?}: expected an archive error, got {other:?}"),
            }
            drop(sink);
            assert!(written.is_empty(), "{chunks:?}: {written:?}");
        }
    }

    #[tokio::test]
    async fn an_archive_shorter_than_the_magic_is_not_one() {
        let mut written = Vec::new();
        let mut empty = sink(&mut written);
        assert!(matches!(empty.check_complete(), Err(Error::Archive(_))));
        empty.write(&[0x1f]).await.expect("held");
        assert!(matches!(empty.check_complete(), Err(Error::Archive(_))));
        empty.flush().await.expect("flush");
        drop(empty);
        assert!(written.is_empty());
    }
}
