//! [`StreamPart`]: the part file of a download in one stream, written from its start to its end
//! through a [`Sink`], and renamed into place once whole.
//!
//! Its sidecar holds the backup's id and the version of its archive ([`super::sidecar`]): the part
//! is the archive's start, as long as it is. The part and its sidecar are created when the
//! archive's first byte comes (the sink then calls [`Destination::prepare`]), replacing whatever
//! leftover was there.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use super::part::{PartPaths, Prefix, blocking, io};
use super::safe_fs::{self, Access};
use super::sidecar;
use super::sink::{Destination, Sink};
use super::validator::Validator;
use crate::error::Result;

/// The part file of a download in one stream, and the sink that writes it.
pub(super) struct StreamPart {
    paths: PartPaths,
    pub(super) sink: Sink<PartFile>,
}

impl StreamPart {
    /// The part at `paths`, continuing `prefix` if an interrupted download left one.
    pub(super) fn new(paths: PartPaths, prefix: Option<Prefix>) -> StreamPart {
        let part_file = PartFile {
            paths: paths.clone(),
            file: None,
            owned: false,
        };
        let sink = match prefix {
            Some(Prefix {
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
                let checks = paths.checks.clone();
                Sink::resumed(paths.part.clone(), part_file, len, validator, check, checks)
            }
            None => Sink::new(Some(paths.part.clone()), part_file, paths.checks.clone()),
        };
        StreamPart { paths, sink }
    }

    /// Syncs the part and puts it in place ([`PartPaths::place`]). Answers the archive's size.
    pub(super) async fn finish(mut self) -> Result<u64> {
        self.sink.flush().await?;
        let part = self.paths.part.clone();
        let Some(file) = self.sink.get_mut().file.as_mut() else {
            return Err(io(&part)(std::io::Error::other(
                "the part file was never written",
            )));
        };
        file.sync_all().await.map_err(io(&part))?;
        let written = file.metadata().await.map_err(io(&part))?;
        let paths = self.paths.clone();
        blocking(&part, move || paths.place(&written)).await?;
        Ok(self.sink.len())
    }

    /// Removes the part and its sidecar, when this download wrote or continued them (their
    /// content is not worth resuming); someone else's leftover is left alone.
    pub(super) async fn discard(mut self) {
        let part_file = self.sink.get_mut();
        part_file.file = None;
        if part_file.owned {
            let paths = self.paths.clone();
            let _ = blocking(&self.paths.part, move || {
                paths.remove();
                Ok(())
            })
            .await;
        }
    }
}

/// The part file as the sink's destination: created when the archive's first byte comes.
pub(super) struct PartFile {
    paths: PartPaths,
    /// Open for writing at its end once created or continued.
    file: Option<tokio::fs::File>,
    /// Whether the part on disk was written or continued by this download.
    owned: bool,
}

impl Destination for PartFile {
    /// Replaces whatever leftover is there by a new part, named by a new sidecar first: a crash
    /// in between leaves a sidecar without a part, or an old sidecar without one, never bytes
    /// under a name that is not theirs.
    async fn prepare(&mut self, validator: Option<&Validator>) -> Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let paths = self.paths.clone();
        let text = sidecar::stream_text(&paths.backup_id, validator);
        let file = blocking(&self.paths.part, move || {
            create(&paths, &text, Access::Append)
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

/// Replaces whatever is at `paths` by a sidecar holding `text`, then an empty part opened for
/// `access`, both created exclusively. Blocks.
pub(super) fn create(paths: &PartPaths, text: &str, access: Access) -> Result<std::fs::File> {
    use std::io::Write as _;
    let (part, sidecar) = (&paths.part, &paths.sidecar);
    safe_fs::remove(part).map_err(io(part))?;
    safe_fs::remove(sidecar).map_err(io(sidecar))?;
    safe_fs::create_new(sidecar, Access::Append)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(io(sidecar))?;
    safe_fs::create_new(part, access).map_err(io(part))
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
