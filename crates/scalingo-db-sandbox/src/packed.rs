//! The archives packed from `--archive-from` dumps, as the download route serves them: which
//! database type serves which, and any byte range of one streamed from its file in bounded
//! chunks, so that a GiB dump costs one chunk of memory per download.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

use crate::archive_source::{ArchiveSource, check_sources};
use crate::config::DatabaseType;
use crate::pack::pack;

/// One packed archive. Cloning is cheap: the file is shared, and each read gives its own
/// offset, so concurrent downloads never move one another's position.
#[derive(Clone, Debug)]
pub struct PackedArchive {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    len: u64,
    etag: String,
}

impl PackedArchive {
    /// Packs `source` (blocking: call it off the runtime's workers).
    fn pack(source: &ArchiveSource) -> io::Result<Self> {
        let packed = pack(&source.path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot pack `{}`: {error}", source.path.display()),
            )
        })?;
        // Of the digest, as many hex digits as a generated archive's tag has (and object
        // storage's): the tag changes exactly when the packed bytes do.
        let hex: String = packed.digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(PackedArchive {
            inner: Arc::new(Inner {
                file: packed.file,
                len: packed.len,
                etag: format!("\"{hex}\""),
            }),
        })
    }

    /// The archive's length in bytes.
    pub fn len(&self) -> u64 {
        self.inner.len
    }

    /// A strong entity tag (quotes included) derived from the SHA-256 of the packed bytes.
    pub fn etag(&self) -> &str {
        &self.inner.etag
    }

    /// The bytes of `range` (clamped to the length) in chunks of at most `chunk_size` bytes, each
    /// read from the file on tokio's blocking threads when the body asks for it.
    pub fn stream(
        &self,
        range: Range<u64>,
        chunk_size: usize,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let chunk_size = chunk_size.max(1) as u64;
        let inner = Arc::clone(&self.inner);
        futures_util::stream::try_unfold(start, move |pos| {
            let inner = Arc::clone(&inner);
            async move {
                if pos >= end {
                    return Ok(None);
                }
                let want = chunk_size.min(end - pos);
                let chunk =
                    tokio::task::spawn_blocking(move || read_exact_at(&inner.file, pos, want))
                        .await
                        .map_err(io::Error::other)??;
                Ok(Some((Bytes::from(chunk), pos + want)))
            }
        })
    }
}

/// Exactly `len` bytes of `file` from `offset`, without touching the file's shared position.
fn read_exact_at(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(len).map_err(io::Error::other)?];
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, &mut buf, offset)?;
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                read => done += read,
            }
        }
    }
    Ok(buf)
}

/// The packed archives of a sandbox, by the database type whose backups serve them.
#[derive(Clone, Debug, Default)]
pub struct PackedArchives {
    by_kind: Vec<(Option<DatabaseType>, PackedArchive)>,
}

impl PackedArchives {
    /// Checks `sources` ([`check_sources`]) and packs each once, on tokio's blocking threads.
    pub async fn pack(sources: &[ArchiveSource]) -> io::Result<Self> {
        check_sources(sources).map_err(|rule| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("archive_from: {rule}"))
        })?;
        let mut by_kind = Vec::with_capacity(sources.len());
        for source in sources {
            let owned = source.clone();
            let packed = tokio::task::spawn_blocking(move || PackedArchive::pack(&owned))
                .await
                .map_err(io::Error::other)??;
            by_kind.push((source.kind, packed));
        }
        Ok(PackedArchives { by_kind })
    }

    /// The archive the backups of `kind` serve: the one packed for `kind`, else the one packed
    /// for every type, else none (they serve generated archives).
    pub fn for_kind(&self, kind: DatabaseType) -> Option<&PackedArchive> {
        let of = |wanted: Option<DatabaseType>| {
            self.by_kind
                .iter()
                .find(|(named, _)| *named == wanted)
                .map(|(_, archive)| archive)
        };
        of(Some(kind)).or_else(|| of(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures_util::TryStreamExt as _;

    #[tokio::test]
    async fn a_type_takes_its_own_dump_else_the_bare_one_else_none() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let sql = dir.path().join("shop.sql");
        std::fs::write(&sql, "CREATE TABLE orders (id int);\n").expect("write");
        let pg = dir.path().join("shop.pgdump");
        std::fs::write(&pg, b"PGDMP\x01\x0e\x00").expect("write");

        let only_mysql =
            PackedArchives::pack(&[ArchiveSource::new(Some(DatabaseType::Mysql), &sql)])
                .await
                .expect("packed");
        assert!(only_mysql.for_kind(DatabaseType::Mysql).is_some());
        assert!(only_mysql.for_kind(DatabaseType::Postgresql).is_none());

        let both = PackedArchives::pack(&[
            ArchiveSource::new(None, &sql),
            ArchiveSource::new(Some(DatabaseType::Postgresql), &pg),
        ])
        .await
        .expect("packed");
        let tag = |kind| both.for_kind(kind).expect("an archive").etag().to_owned();
        assert_ne!(tag(DatabaseType::Postgresql), tag(DatabaseType::Mysql));
        assert_eq!(tag(DatabaseType::Redis), tag(DatabaseType::Mysql));
        assert_eq!(
            tag(DatabaseType::Mysql),
            only_mysql
                .for_kind(DatabaseType::Mysql)
                .expect("one")
                .etag()
        );
    }

    #[tokio::test]
    async fn a_range_streams_in_bounded_chunks_to_the_files_bytes() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dump = dir.path().join("big.sql");
        // Bytes gzip cannot shrink much, so that the archive spans many chunks.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let content: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        std::fs::write(&dump, content).expect("write");
        let source = ArchiveSource::new(None, &dump);
        let archive = PackedArchive::pack(&source).expect("packed");
        let packed = crate::pack::pack(&dump).expect("packed");
        let whole = crate::pack::tests::bytes_of(&packed);
        assert_eq!(archive.len(), whole.len() as u64);
        assert!(archive.len() > 200_000, "{}", archive.len());

        let chunks: Vec<Bytes> = archive
            .stream(100..archive.len() - 7, 4096)
            .try_collect()
            .await
            .expect("read");
        assert!(
            chunks
                .iter()
                .all(|chunk| !chunk.is_empty() && chunk.len() <= 4096)
        );
        assert_eq!(chunks.concat(), &whole[100..whole.len() - 7]);
        let past: Vec<Bytes> = archive
            .stream(archive.len()..u64::MAX, 4096)
            .try_collect()
            .await
            .expect("read");
        assert!(past.is_empty());
    }
}
