//! Where a download's bytes go, whatever the destination: the resume loop in `download.rs` is
//! written once, against [`Sink`], for a `.part` file and for any writer alike.
//!
//! The sink holds back an archive's first bytes until it can compare them with the gzip magic, so
//! a body that is not an archive (a storage error answered with 200, a gateway's HTML page) never
//! reaches the destination: a file could be removed afterwards, but a writer cannot be un-written.
//! Every byte also goes through a [`GzipCheck`] (on a thread of its own, [`BackgroundCheck`]), so
//! a finished archive is one whose gzip trailer agrees with its content. The sink knows which version of the archive it holds (its
//! [`Validator`]) and, for a destination that can take it back, starts over when that changes.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt as _, BufWriter};

use super::background_check::BackgroundCheck;
use super::gzip_check::GzipCheck;
use super::validator::Validator;
use super::verifying::Checks;
use crate::error::{ArchiveProblem, Error, Result};

/// The two bytes every gzip file starts with.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Writes reach the destination in pieces of this size, whatever the network's chunk size.
const WRITE_BUFFER: usize = 1024 * 1024;

/// What a [`Sink`] writes into: a part file, or a caller's writer ([`Writer`]).
pub(super) trait Destination: AsyncWrite + Unpin + Send {
    /// Readies the destination for the archive's first byte, of the version `validator` names
    /// (a part file is created then, not before). Called again before each first byte after
    /// [`Destination::forget`]; otherwise at most once.
    fn prepare(&mut self, validator: Option<&Validator>)
    -> impl Future<Output = Result<()>> + Send;

    /// Forgets what was written, so that the archive is written again from its start; `false`
    /// when what was written cannot be taken back.
    fn forget(&mut self) -> impl Future<Output = Result<bool>> + Send;
}

/// A caller's writer as a [`Destination`]: nothing to prepare, nothing to take back.
pub(super) struct Writer<W>(pub(super) W);

impl<W: AsyncWrite + Unpin + Send> Destination for Writer<W> {
    async fn prepare(&mut self, _: Option<&Validator>) -> Result<()> {
        Ok(())
    }

    async fn forget(&mut self) -> Result<bool> {
        Ok(false)
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Writer<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The destination of an archive's bytes, checked as they arrive.
pub(super) struct Sink<D> {
    /// Names the destination in [`Error::Io`]: a file, or `None` for a caller's writer.
    path: Option<PathBuf>,
    writer: BufWriter<D>,
    /// Bytes of the archive received: written, or held in `head`. A resume asks for the rest.
    len: u64,
    /// The first bytes, held back until there are enough to compare with the gzip magic.
    head: Vec<u8>,
    starts_like_gzip: bool,
    /// Whether the destination was readied for this version's first byte.
    prepared: bool,
    /// The version of the archive whose bytes these are, when the server named it.
    validator: Option<Validator>,
    check: BackgroundCheck,
    /// Where a new check comes from when the archive starts over.
    checks: Checks,
}

impl<D: Destination> Sink<D> {
    /// A sink whose destination holds nothing of the archive yet.
    pub(super) fn new(path: Option<PathBuf>, destination: D, checks: Checks) -> Self {
        let check = checks.fresh();
        Sink::with_check(path, destination, check, checks)
    }

    /// A sink whose destination already holds the first `len` bytes of the version `validator`
    /// names, at least the gzip magic (the caller checked it), all of them taken by `check`.
    pub(super) fn resumed(
        path: PathBuf,
        destination: D,
        len: u64,
        validator: Validator,
        check: GzipCheck,
        checks: Checks,
    ) -> Self {
        Sink {
            len,
            starts_like_gzip: true,
            prepared: true,
            validator: Some(validator),
            // Not `Sink::new`: a fresh check would start a verification over, dropping the one
            // that read the part back.
            ..Sink::with_check(Some(path), destination, check, checks)
        }
    }

    fn with_check(path: Option<PathBuf>, destination: D, check: GzipCheck, checks: Checks) -> Self {
        Sink {
            path,
            writer: BufWriter::with_capacity(WRITE_BUFFER, destination),
            len: 0,
            head: Vec::with_capacity(GZIP_MAGIC.len()),
            starts_like_gzip: false,
            prepared: false,
            validator: None,
            check: BackgroundCheck::new(check),
            checks,
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

    /// The version of the archive the sink holds the start of, when known.
    pub(super) fn validator(&self) -> Option<&Validator> {
        self.validator.as_ref()
    }

    /// Names the version whose first bytes are about to arrive (the sink holds nothing yet).
    pub(super) fn begin(&mut self, validator: Option<Validator>) {
        debug_assert_eq!(self.len, 0, "a version is named before its first byte");
        self.validator = validator;
    }

    /// Drops what the sink holds, to receive the archive again from its start as the version
    /// `validator` names. Fails with [`ArchiveProblem::Changed`] when the destination cannot
    /// take back what it received (a writer).
    pub(super) async fn start_over(&mut self, validator: Option<Validator>) -> Result<()> {
        self.flush().await?;
        if !self.writer.get_mut().forget().await? {
            return Err(Error::Archive(ArchiveProblem::Changed {
                written: self.len,
            }));
        }
        tracing::debug!(dropped = self.len, "the archive changed: starting over");
        self.len = 0;
        self.head.clear();
        self.starts_like_gzip = false;
        self.prepared = false;
        self.validator = validator;
        self.check = BackgroundCheck::new(self.checks.fresh());
        Ok(())
    }

    /// Takes the next bytes of the archive. Fails, writing nothing, if the archive does not start
    /// like a gzip file, or as soon as its bytes cannot be a gzip file.
    pub(super) async fn write(&mut self, chunk: Bytes) -> Result<()> {
        let mut rest = chunk;
        if !self.starts_like_gzip {
            let taken = rest.len().min(GZIP_MAGIC.len() - self.head.len());
            self.head.extend_from_slice(&rest[..taken]);
            self.len += taken as u64;
            rest = rest.slice(taken..);
            if self.head.len() < GZIP_MAGIC.len() {
                return Ok(());
            }
            if self.head[..] != GZIP_MAGIC {
                return Err(not_gzip(&[&self.head[..], &rest[..]].concat()));
            }
            self.starts_like_gzip = true;
            let head = std::mem::take(&mut self.head);
            self.put(Bytes::from(head)).await?;
        }
        let len = rest.len() as u64;
        self.put(rest).await?;
        self.len += len;
        Ok(())
    }

    /// Fails unless the archive is whole: its start was checked (an archive shorter than the
    /// gzip magic is not one, and what was held back must not be lost silently) and its gzip
    /// data ended with a trailer that agrees with it.
    pub(super) async fn check_complete(&mut self) -> Result<()> {
        if !self.starts_like_gzip {
            return Err(not_gzip(&self.head));
        }
        self.check.finish().await.map_err(Error::Archive)
    }

    /// Hands what is buffered to the destination.
    pub(super) async fn flush(&mut self) -> Result<()> {
        let result = self.writer.flush().await;
        result.map_err(|error| self.io(error))
    }

    /// The destination itself.
    pub(super) fn get_mut(&mut self) -> &mut D {
        self.writer.get_mut()
    }

    /// Checks `bytes`, readies the destination before its first byte, then writes them.
    async fn put(&mut self, bytes: Bytes) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.check
            .update(bytes.clone())
            .await
            .map_err(Error::Archive)?;
        if !self.prepared {
            let validator = self.validator.clone();
            self.writer.get_mut().prepare(validator.as_ref()).await?;
            self.prepared = true;
        }
        let result = self.writer.write_all(&bytes).await;
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
    use std::io::Write as _;

    use super::*;

    fn sink(into: &mut Vec<u8>) -> Sink<Writer<&mut Vec<u8>>> {
        Sink::new(None, Writer(into), Checks::default())
    }

    /// A small but real `.tar.gz`-like file: gzip around some bytes.
    fn archive() -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&[7; 10_000]).expect("in memory");
        encoder.finish().expect("in memory")
    }

    #[tokio::test]
    async fn a_magic_split_across_chunks_is_held_back_then_written_whole() {
        let archive = archive();
        let mut written = Vec::new();
        let mut sink = sink(&mut written);
        sink.write(Bytes::copy_from_slice(&archive[..1]))
            .await
            .expect("the first byte is held");
        sink.flush().await.expect("flush");
        assert_eq!(sink.len(), 1, "a resume would start after the held byte");
        assert!(!sink.starts_like_gzip());
        sink.write(Bytes::copy_from_slice(&archive[1..]))
            .await
            .expect("the rest");
        sink.flush().await.expect("flush");
        sink.check_complete().await.expect("a whole archive");
        assert_eq!(sink.len(), archive.len() as u64);
        drop(sink);
        assert_eq!(written, archive);
    }

    #[tokio::test]
    async fn a_start_that_is_not_gzip_is_refused_before_anything_is_written() {
        for chunks in [&[&b"<html>"[..]][..], &[&b"<"[..], &b"html>"[..]][..]] {
            let mut written = Vec::new();
            let mut sink = sink(&mut written);
            let mut outcome = Ok(());
            for chunk in chunks {
                outcome = sink.write(Bytes::copy_from_slice(chunk)).await;
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
        assert!(matches!(
            empty.check_complete().await,
            Err(Error::Archive(_))
        ));
        empty
            .write(Bytes::from_static(&[0x1f]))
            .await
            .expect("held");
        assert!(matches!(
            empty.check_complete().await,
            Err(Error::Archive(_))
        ));
        empty.flush().await.expect("flush");
        drop(empty);
        assert!(written.is_empty());
    }

    #[tokio::test]
    async fn an_archive_whose_trailer_disagrees_is_not_complete() {
        let mut archive = archive();
        let last = archive.len() - 1;
        archive[last] ^= 1;
        let mut written = Vec::new();
        let mut sink = sink(&mut written);
        // Checked beside the transfer: the write is taken, the end tells.
        sink.write(Bytes::from(archive)).await.expect("taken");
        let outcome = sink.check_complete().await;
        assert!(
            matches!(
                outcome,
                Err(Error::Archive(ArchiveProblem::ChecksumMismatch { .. }))
            ),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_writer_cannot_start_over_but_says_how_much_it_holds() {
        let archive = archive();
        let mut written = Vec::new();
        let mut sink = sink(&mut written);
        sink.begin(Some(Validator::ETag("\"a\"".into())));
        sink.write(Bytes::copy_from_slice(&archive[..50]))
            .await
            .expect("a start");
        assert_eq!(sink.validator(), Some(&Validator::ETag("\"a\"".into())));
        match sink.start_over(None).await {
            Err(Error::Archive(ArchiveProblem::Changed { written })) => assert_eq!(written, 50),
            other => panic!("expected a changed archive, got {other:?}"),
        }
    }
}
