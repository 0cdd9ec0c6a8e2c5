//! The archive a backup's download serves: the generated one ([`Archive`]), or the one packed
//! from an `--archive-from` dump ([`PackedArchive`]). The download route asks both the same
//! things (length, `ETag`, a byte range as a stream), so `Range`, `If-Range` and resumes behave
//! the same whichever it is.

use std::io;
use std::ops::Range;

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::{Stream, TryStreamExt as _};

use crate::archive::Archive;
use crate::packed::PackedArchive;

/// A backup's archive, as the download route serves it.
#[derive(Clone, Debug)]
pub enum ServedArchive {
    /// Computed on demand from the backup's id and the configured size.
    Generated(Archive),
    /// Read from the file a dump was packed into at start-up.
    Packed(PackedArchive),
}

impl ServedArchive {
    /// The exact length in bytes, which the backup's `size` reports.
    pub fn len(&self) -> u64 {
        match self {
            ServedArchive::Generated(archive) => archive.len(),
            ServedArchive::Packed(archive) => archive.len(),
        }
    }

    /// A strong entity tag (quotes included) that changes exactly when the bytes do.
    pub fn etag(&self) -> String {
        match self {
            ServedArchive::Generated(archive) => archive.etag(),
            ServedArchive::Packed(archive) => archive.etag().to_owned(),
        }
    }

    /// The bytes of `range` (clamped to the length) in chunks of at most `chunk_size` bytes.
    pub fn stream(
        &self,
        range: Range<u64>,
        chunk_size: usize,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        match self {
            ServedArchive::Generated(archive) => Either::Left(
                archive
                    .stream(range, chunk_size)
                    .map_err(|never| match never {}),
            ),
            ServedArchive::Packed(archive) => Either::Right(archive.stream(range, chunk_size)),
        }
    }
}
