//! Deterministic backup archives that are never held in memory.
//!
//! The sandbox's backup download endpoint has to serve archives from a few hundred bytes to
//! several GiB, honour HTTP `Range` requests at any offset and still hand clients a file that
//! `tar xzf` and gzip libraries accept. Generating (or caching) such a file would cost memory or
//! disk proportional to its size, so [`Archive`] describes the file arithmetically instead: a
//! gzip member whose DEFLATE stream only uses *stored* blocks (so compressed and uncompressed
//! offsets map onto each other by simple arithmetic), wrapping a one-file ustar stream whose
//! content repeats a 64 KiB seeded pseudo-random pattern. Any byte range is then produced by
//! copying a handful of spans, and the gzip CRC32 is derived once with CRC combination instead of
//! hashing GiB of data.

use std::convert::Infallible;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use crc32fast::Hasher;
use futures_util::Stream;

/// gzip member header: CM 8 (deflate), no flags, MTIME 0 (reproducible), XFL 0, OS 255 (unknown).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
const GZIP_HEADER_LEN: u64 = GZIP_HEADER.len() as u64;
/// CRC32 and ISIZE, both little-endian.
const TRAILER_LEN: u64 = 8;
/// LEN is a u16, so a stored block holds at most this many bytes.
const STORED_MAX: u64 = 65_535;
/// Every stored block starts byte-aligned (the previous one ended on a byte), so its 3 header
/// bits plus padding take one byte, followed by LEN and NLEN.
const BLOCK_HEADER_LEN: u64 = 5;
const BLOCK_SPAN: u64 = BLOCK_HEADER_LEN + STORED_MAX;

const TAR_BLOCK: u64 = 512;
const TAR_HEADER_LEN: usize = 512;
/// Two zero blocks mark the end of a tar stream.
const TAR_END_LEN: u64 = 2 * TAR_BLOCK;
/// The largest size the 11 octal digits of the ustar size field can express; bigger sizes use the
/// base-256 extension that GNU tar, bsdtar and the `tar` crate understand.
const MAX_OCTAL_SIZE: u64 = (1 << 33) - 1;
const FILE_NAME: &[u8] = b"backup.dump";

/// Large enough that the content does not look trivially periodic to someone eyeballing a
/// download, small enough to be generated per archive in well under a millisecond.
const PATTERN_LEN: usize = 64 * 1024;

/// Zeros for hashing the tar padding and end-of-archive blocks, which never exceed
/// 511 + 1024 bytes.
const ZEROS: [u8; (TAR_BLOCK - 1 + TAR_END_LEN) as usize] =
    [0; (TAR_BLOCK - 1 + TAR_END_LEN) as usize];

/// A deterministic `.tar.gz` backup archive whose bytes are computed on demand.
///
/// Cloning is cheap: the 64 KiB pattern and the precomputed headers are shared.
#[derive(Clone, Debug)]
pub struct Archive {
    inner: Arc<Inner>,
}

struct Inner {
    seed: u64,
    /// Length of `backup.dump`'s content inside the tar stream.
    content_len: u64,
    /// Uncompressed length: tar header, content, padding and end blocks.
    tar_len: u64,
    /// Number of stored DEFLATE blocks.
    blocks: u64,
    /// Total gzip length.
    len: u64,
    /// CRC32 of the whole tar stream, as written in the trailer.
    crc: u32,
    tar_header: [u8; TAR_HEADER_LEN],
    trailer: [u8; TRAILER_LEN as usize],
    pattern: Arc<[u8]>,
}

// Hand-written so that logging an archive does not dump 64 KiB of pattern bytes.
impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("seed", &self.seed)
            .field("len", &self.len)
            .field("content_len", &self.content_len)
            .field("tar_len", &self.tar_len)
            .field("blocks", &self.blocks)
            .field("crc", &format_args!("{:#010x}", self.crc))
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Builds the archive for `seed` whose length is as close to `target_len` as possible
    /// without exceeding it.
    ///
    /// The file content is the largest multiple of 512 bytes that fits. When even an archive
    /// with empty content is longer than `target_len`, the empty-content archive is used anyway,
    /// so the result can exceed tiny targets by a few KiB. The same `(target_len, seed)` always
    /// yields the same bytes.
    pub fn new(target_len: u64, seed: u64) -> Archive {
        let content_len = content_len_for_target(target_len);
        let tar_len = tar_len_for(content_len);
        let blocks = blocks_for(tar_len);
        let len = gzip_len(tar_len, blocks);
        let pattern = generate_pattern(seed);
        let tar_header = tar_header(content_len);
        let crc = tar_crc(&tar_header, &pattern, content_len, tar_len);

        let mut trailer = [0; TRAILER_LEN as usize];
        trailer[..4].copy_from_slice(&crc.to_le_bytes());
        // ISIZE is defined modulo 2^32, so the truncation is the point.
        trailer[4..].copy_from_slice(&(tar_len as u32).to_le_bytes());

        Archive {
            inner: Arc::new(Inner {
                seed,
                content_len,
                tar_len,
                blocks,
                len,
                crc,
                tar_header,
                trailer,
                pattern,
            }),
        }
    }

    /// The length of every archive built for `target_len` (whatever its seed), without building
    /// one: what a backup reports as its size.
    pub fn len_for(target_len: u64) -> u64 {
        let tar_len = tar_len_for(content_len_for_target(target_len));
        gzip_len(tar_len, blocks_for(tar_len))
    }

    /// A strong entity tag (RFC 9110 `ETag`, quotes included) that names these very bytes: it
    /// is made of the seed and the content's length, which are all the bytes depend on, so two
    /// archives have the same tag exactly when they have the same bytes. It looks like object
    /// storage's (32 hex digits), where the service's links lead.
    pub fn etag(&self) -> String {
        format!(
            "\"{:016x}{:016x}\"",
            self.inner.seed, self.inner.content_len
        )
    }

    /// The exact length of the archive in bytes.
    pub fn len(&self) -> u64 {
        self.inner.len
    }

    /// Always `false`: even an archive with empty content has gzip and tar framing.
    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }

    /// Fills `buf` with the archive's bytes starting at `offset`; returns how many were written
    /// (0 at or past the end).
    ///
    /// Fewer than `buf.len()` bytes are written only when the end of the archive is reached.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let inner = &*self.inner;
        let remaining = inner.len.saturating_sub(offset);
        let want = clamp_len(buf.len(), remaining);
        let mut done = 0;
        while done < want {
            let written = inner.read_segment(offset + done as u64, &mut buf[done..want]);
            if written == 0 {
                // Unreachable while the layout arithmetic is consistent; stopping short is
                // better than spinning forever on a request handler.
                break;
            }
            done += written;
        }
        done
    }

    /// The bytes of `range` (clamped to len) as a stream of chunks of at most `chunk_size`
    /// bytes.
    ///
    /// A `chunk_size` of 0 is treated as 1. Each chunk is a freshly allocated buffer, so memory
    /// use stays at one chunk however large the range is.
    pub fn stream(
        &self,
        range: Range<u64>,
        chunk_size: usize,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        let end = range.end.min(self.len());
        let mut pos = range.start.min(end);
        let chunk_size = chunk_size.max(1);
        let archive = self.clone();
        futures_util::stream::iter(std::iter::from_fn(move || {
            if pos >= end {
                return None;
            }
            let mut buf = vec![0; clamp_len(chunk_size, end - pos)];
            let written = archive.read_at(pos, &mut buf);
            if written == 0 {
                return None;
            }
            buf.truncate(written);
            pos += written as u64;
            Some(Ok(Bytes::from(buf)))
        }))
    }
}

impl Inner {
    /// Copies bytes from the single layout span (gzip header, stored block header, block
    /// payload, trailer) that contains `pos`; returns how many, which is non-zero for any
    /// `pos < len` and non-empty `out`.
    fn read_segment(&self, pos: u64, out: &mut [u8]) -> usize {
        if pos < GZIP_HEADER_LEN {
            return copy_span(&GZIP_HEADER, pos, out);
        }
        let trailer_start = self.len - TRAILER_LEN;
        if pos >= trailer_start {
            return copy_span(&self.trailer, pos - trailer_start, out);
        }
        let rel = pos - GZIP_HEADER_LEN;
        let block = rel / BLOCK_SPAN;
        let within = rel % BLOCK_SPAN;
        if within < BLOCK_HEADER_LEN {
            return copy_span(&self.block_header(block), within, out);
        }
        let tar_pos = block * STORED_MAX + (within - BLOCK_HEADER_LEN);
        let block_end = ((block + 1) * STORED_MAX).min(self.tar_len);
        let n = clamp_len(out.len(), block_end.saturating_sub(tar_pos));
        self.read_tar(tar_pos, &mut out[..n]);
        n
    }

    fn block_header(&self, block: u64) -> [u8; BLOCK_HEADER_LEN as usize] {
        let is_last = block + 1 >= self.blocks;
        let payload = if is_last {
            self.tar_len - block * STORED_MAX
        } else {
            STORED_MAX
        };
        // Every block payload is at most STORED_MAX bytes, so it fits LEN's 16 bits.
        let [lo, hi] = (payload as u16).to_le_bytes();
        [u8::from(is_last), lo, hi, !lo, !hi]
    }

    /// Fills all of `out` with the tar stream from `pos`; the caller keeps `out` within the tar.
    fn read_tar(&self, mut pos: u64, mut out: &mut [u8]) {
        let content_start = TAR_BLOCK;
        let content_end = content_start + self.content_len;
        while !out.is_empty() {
            let n = if pos < content_start {
                copy_span(&self.tar_header, pos, out)
            } else if pos < content_end {
                let in_pattern = (pos - content_start) % PATTERN_LEN as u64;
                let span = &self.pattern[in_pattern as usize..];
                let n = clamp_len(out.len().min(span.len()), content_end - pos);
                out[..n].copy_from_slice(&span[..n]);
                n
            } else {
                // Padding and end-of-archive blocks: zeros up to the end of the tar stream.
                let n = clamp_len(out.len(), self.tar_len.saturating_sub(pos));
                if n == 0 {
                    // Only reachable if a caller asked past the tar stream; leave the rest.
                    return;
                }
                out[..n].fill(0);
                n
            };
            pos += n as u64;
            out = &mut out[n..];
        }
    }
}

/// Copies `src[start..]` into the front of `out` as far as both allow; returns the count.
fn copy_span(src: &[u8], start: u64, out: &mut [u8]) -> usize {
    let src = usize::try_from(start)
        .ok()
        .and_then(|start| src.get(start..))
        .unwrap_or_default();
    let n = src.len().min(out.len());
    out[..n].copy_from_slice(&src[..n]);
    n
}

/// `min(len, available)` without a lossy cast on 32-bit targets.
fn clamp_len(len: usize, available: u64) -> usize {
    usize::try_from(available).map_or(len, |available| available.min(len))
}

fn round_up_512(n: u64) -> u64 {
    n.div_ceil(TAR_BLOCK) * TAR_BLOCK
}

fn tar_len_for(content_len: u64) -> u64 {
    TAR_BLOCK + round_up_512(content_len) + TAR_END_LEN
}

fn blocks_for(tar_len: u64) -> u64 {
    tar_len.div_ceil(STORED_MAX).max(1)
}

fn gzip_len(tar_len: u64, blocks: u64) -> u64 {
    GZIP_HEADER_LEN + BLOCK_HEADER_LEN * blocks + tar_len + TRAILER_LEN
}

/// Total gzip length for a given content length, in `u128` so that probing contents near
/// `u64::MAX` cannot overflow.
fn gzip_len_for(content_len: u64) -> u128 {
    let tar_len = u128::from(TAR_BLOCK)
        + u128::from(content_len).div_ceil(u128::from(TAR_BLOCK)) * u128::from(TAR_BLOCK)
        + u128::from(TAR_END_LEN);
    let blocks = tar_len.div_ceil(u128::from(STORED_MAX)).max(1);
    u128::from(GZIP_HEADER_LEN)
        + u128::from(BLOCK_HEADER_LEN) * blocks
        + tar_len
        + u128::from(TRAILER_LEN)
}

/// The largest multiple of 512 whose archive fits in `target_len`, or 0 when none does.
fn content_len_for_target(target_len: u64) -> u64 {
    let fits = |blocks: u64| gzip_len_for(blocks * TAR_BLOCK) <= u128::from(target_len);
    // Binary search over 512-byte blocks: `fits(lo)` holds (or lo is the 0 fallback) and
    // `fits(hi)` does not, since a content longer than the target cannot fit.
    let mut lo = 0;
    let mut hi = target_len / TAR_BLOCK + 1;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo * TAR_BLOCK
}

/// splitmix64: tiny, dependency-free and good enough for bytes that only need to look random.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn generate_pattern(seed: u64) -> Arc<[u8]> {
    let mut state = seed;
    let mut pattern = vec![0; PATTERN_LEN];
    for word in pattern.chunks_exact_mut(8) {
        word.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    pattern.into()
}

/// Writes `value` as zero-padded octal followed by a NUL, filling `field`.
fn write_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    // Callers only pass values that fit; keep the low digits rather than overflow the field.
    let text = &text.as_bytes()[text.len().saturating_sub(digits)..];
    field[..digits].copy_from_slice(text);
    field[digits] = 0;
}

/// The ustar header of `backup.dump` with `content_len` bytes of content.
fn tar_header(content_len: u64) -> [u8; TAR_HEADER_LEN] {
    let mut h = [0; TAR_HEADER_LEN];
    h[..FILE_NAME.len()].copy_from_slice(FILE_NAME);
    write_octal(&mut h[100..108], 0o644);
    write_octal(&mut h[108..116], 0);
    write_octal(&mut h[116..124], 0);
    if content_len <= MAX_OCTAL_SIZE {
        write_octal(&mut h[124..136], content_len);
    } else {
        // Base-256 extension: high bit of the first byte set, big-endian value in the rest.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&content_len.to_be_bytes());
    }
    write_octal(&mut h[136..148], 0);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field read as spaces.
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    // Conventional layout: six octal digits, NUL, space (the sum is at most 512 * 255).
    write_octal(&mut h[148..155], sum);
    h[155] = b' ';
    h
}

/// CRC state of `unit` repeated `times` times, built by doubling so that it costs
/// O(log times) combinations instead of hashing every repetition.
fn repeat_crc(unit: &Hasher, times: u64) -> Hasher {
    let mut result = Hasher::new();
    let mut power = unit.clone();
    let mut remaining = times;
    while remaining > 0 {
        // The repetitions are identical, so the order in which powers are appended is free.
        if remaining & 1 == 1 {
            result.combine(&power);
        }
        remaining >>= 1;
        if remaining > 0 {
            let copy = power.clone();
            power.combine(&copy);
        }
    }
    result
}

fn crc_of(bytes: &[u8]) -> Hasher {
    let mut hasher = Hasher::new();
    hasher.update(bytes);
    hasher
}

/// CRC32 of the whole tar stream without materialising it.
fn tar_crc(header: &[u8], pattern: &[u8], content_len: u64, tar_len: u64) -> u32 {
    let pattern_len = pattern.len() as u64;
    let full_patterns = content_len / pattern_len;
    let partial = clamp_len(pattern.len(), content_len % pattern_len);
    let zeros = clamp_len(ZEROS.len(), tar_len - TAR_BLOCK - content_len);

    let mut crc = crc_of(header);
    crc.combine(&repeat_crc(&crc_of(pattern), full_patterns));
    crc.combine(&crc_of(&pattern[..partial]));
    crc.combine(&crc_of(&ZEROS[..zeros]));
    crc.finalize()
}

/// What a `Range` request header asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: serve the whole body with `200 OK`.
    Full,
    /// Serve this half-open byte range with `206 Partial Content`.
    Partial(Range<u64>),
    /// The range starts past the end: answer `416 Range Not Satisfiable`.
    Unsatisfiable,
}

/// Parses an HTTP `Range` header value for a body of `len` bytes (RFC 9110): supports one range
/// `bytes=a-b`, `bytes=a-`, `bytes=-n` (suffix). Absent or syntactically invalid or multi-range
/// → Full. A range starting at or past `len` → Unsatisfiable. End is clamped to len-1. Returned
/// range is half-open.
///
/// A range covering the whole body (such as `bytes=0-`) is still reported as `Partial`, since
/// the client explicitly asked for a range response. A zero-length suffix (`bytes=-0`) selects
/// nothing and is therefore `Unsatisfiable`, as is every range of an empty body.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(header) = header else {
        return RangeRequest::Full;
    };
    let Some((unit, spec)) = header.trim().split_once('=') else {
        return RangeRequest::Full;
    };
    // Multiple ranges would need a multipart/byteranges body; RFC 9110 lets a server ignore
    // the header instead.
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };

    if first.is_empty() {
        let Some(suffix) = parse_position(last) else {
            return RangeRequest::Full;
        };
        if suffix == 0 || len == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Partial(len.saturating_sub(suffix)..len);
    }

    let Some(start) = parse_position(first) else {
        return RangeRequest::Full;
    };
    let last = if last.is_empty() {
        None
    } else {
        match parse_position(last) {
            // `last < first` makes the range-spec invalid, which means ignoring the header.
            Some(last) if last >= start => Some(last),
            _ => return RangeRequest::Full,
        }
    };
    if start >= len {
        return RangeRequest::Unsatisfiable;
    }
    let end = last.map_or(len, |last| last.saturating_add(1).min(len));
    RangeRequest::Partial(start..end)
}

/// Parses a run of ASCII digits; values beyond `u64::MAX` saturate, since they are still valid
/// syntax and simply lie past the end of any body.
fn parse_position(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read;

    use futures_util::{FutureExt, StreamExt};

    const GIB: u64 = 1 << 30;

    fn full_bytes(archive: &Archive) -> Vec<u8> {
        let mut buf = vec![0; usize::try_from(archive.len()).expect("test archive fits memory")];
        assert_eq!(archive.read_at(0, &mut buf), buf.len());
        buf
    }

    /// The length formula from the module's contract, written independently of the
    /// implementation's helpers.
    fn formula_len(content_len: u64) -> u64 {
        let tar_len = 512 + content_len.div_ceil(512) * 512 + 1024;
        let blocks = tar_len.div_ceil(65_535).max(1);
        10 + 5 * blocks + tar_len + 8
    }

    fn expected_content(seed: u64, len: u64) -> Vec<u8> {
        let pattern = generate_pattern(seed);
        (0..len)
            .map(|p| pattern[(p % pattern.len() as u64) as usize])
            .collect()
    }

    fn collect(stream: impl Stream<Item = Result<Bytes, Infallible>>) -> Vec<Bytes> {
        stream
            .map(|chunk| match chunk {
                Ok(bytes) => bytes,
                Err(never) => match never {},
            })
            .collect::<Vec<_>>()
            .now_or_never()
            .expect("the archive stream never waits")
    }

    fn assert_valid_tar_gz(archive: &Archive, seed: u64) {
        let bytes = full_bytes(archive);
        assert_eq!(&bytes[..10], &GZIP_HEADER);

        // GzDecoder checks the CRC32 and ISIZE trailer once it reaches the end.
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut tar_bytes)
            .expect("valid gzip");
        assert_eq!(tar_bytes.len() as u64, archive.inner.tar_len);
        assert_eq!(crc32fast::hash(&tar_bytes), archive.inner.crc);

        let mut tar = tar::Archive::new(&tar_bytes[..]);
        let mut entries = tar.entries().expect("tar entries");
        let mut entry = entries.next().expect("one entry").expect("valid entry");
        assert_eq!(entry.path().expect("path").to_str(), Some("backup.dump"));
        assert_eq!(entry.header().mode().expect("mode"), 0o644);
        assert_eq!(entry.header().uid().expect("uid"), 0);
        assert_eq!(entry.header().mtime().expect("mtime"), 0);
        assert_eq!(entry.header().entry_type(), tar::EntryType::Regular);
        assert_eq!(entry.size(), archive.inner.content_len);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("content");
        assert_eq!(content, expected_content(seed, archive.inner.content_len));
        drop(entry);
        assert!(entries.next().is_none(), "exactly one entry");
    }

    #[test]
    fn len_for_is_the_length_of_the_archive_it_describes() {
        for target in [0, 1, 600, 64 * 1024, 1024 * 1024 + 7, 3 << 30] {
            assert_eq!(
                Archive::len_for(target),
                Archive::new(target, 7).len(),
                "{target}"
            );
        }
    }

    #[test]
    fn small_archive_is_a_valid_tar_gz() {
        let archive = Archive::new(300_000, 42);
        assert!(archive.inner.blocks > 1, "spans several stored blocks");
        assert!(archive.inner.content_len > PATTERN_LEN as u64 * 4);
        assert_valid_tar_gz(&archive, 42);
    }

    #[test]
    fn archive_with_many_pattern_repeats_has_the_right_crc() {
        // 31 full patterns plus a partial one exercises every branch of the doubling.
        let target = 31 * PATTERN_LEN as u64 + 20_000;
        let archive = Archive::new(target, 7);
        assert_eq!(archive.inner.content_len / PATTERN_LEN as u64, 31);
        assert_valid_tar_gz(&archive, 7);
    }

    #[test]
    fn tiny_targets_still_produce_valid_archives() {
        for target in [0, 1, 100, 2048] {
            let archive = Archive::new(target, target);
            assert_eq!(archive.inner.content_len, 0);
            assert_eq!(archive.len(), formula_len(0));
            assert_valid_tar_gz(&archive, target);
        }
    }

    #[test]
    fn length_fits_the_target_and_follows_the_formula() {
        let empty_len = formula_len(0);
        for target in [
            0,
            1,
            100,
            2048,
            empty_len,
            65_535 + 600,
            1_000_000,
            5 * GIB,
            20 * GIB,
            u64::MAX,
        ] {
            let archive = Archive::new(target, 1);
            let content = archive.inner.content_len;
            assert_eq!(content % 512, 0);
            assert_eq!(archive.len(), formula_len(content), "target {target}");
            if target >= empty_len {
                assert!(archive.len() <= target, "target {target}");
            }
            // Maximality: one more 512-byte block would overflow the target.
            assert!(
                gzip_len_for(content + 512) > u128::from(target),
                "target {target}"
            );
        }
        assert_eq!(Archive::new(empty_len, 1).len(), empty_len);
        // Stored blocks cost 5 bytes per 64 KiB, so big archives land within a block of the
        // target.
        assert!(Archive::new(5 * GIB, 1).len() > 5 * GIB - 1024);
    }

    #[test]
    fn the_etag_changes_exactly_when_the_bytes_do() {
        let etag = Archive::new(100_000, 3).etag();
        assert_eq!(etag, Archive::new(100_000, 3).etag());
        // Targets that round to the same content give the same bytes, hence the same tag.
        assert_eq!(
            full_bytes(&Archive::new(100_000, 3)),
            full_bytes(&Archive::new(100_001, 3))
        );
        assert_eq!(etag, Archive::new(100_001, 3).etag());
        assert_ne!(etag, Archive::new(100_000, 4).etag(), "another backup");
        assert_ne!(etag, Archive::new(200_000, 3).etag(), "another size");
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
            "{etag}"
        );
    }

    #[test]
    fn same_inputs_give_same_bytes() {
        let a = full_bytes(&Archive::new(100_000, 3));
        let b = full_bytes(&Archive::new(100_000, 3));
        let c = full_bytes(&Archive::new(100_000, 4));
        assert_eq!(a, b);
        assert_eq!(a.len(), c.len());
        assert_ne!(a, c);
    }

    #[test]
    fn read_at_matches_the_full_read_everywhere() {
        let archive = Archive::new(300_000, 9);
        let full = full_bytes(&archive);
        let len = archive.len();

        let mut offsets = vec![0, 1, 9, 10, 11, 14, 15, 16, 511, 512, 527, 528, 1000];
        for block in 1..=archive.inner.blocks {
            let boundary = GZIP_HEADER_LEN + block * BLOCK_SPAN;
            offsets.extend(boundary.saturating_sub(3)..boundary + 7);
        }
        offsets.extend((len - 20)..=len + 3);
        offsets.extend((0..len).step_by(7_919));

        for &offset in &offsets {
            for size in [
                0, 1, 3, 5, 8, 100, 512, 4096, 65_535, 65_540, 70_000, 200_000,
            ] {
                let mut buf = vec![0xAA; size];
                let written = archive.read_at(offset, &mut buf);
                let start = usize::try_from(offset.min(len)).expect("small");
                let end = (start + size).min(full.len());
                assert_eq!(written, end - start, "offset {offset} size {size}");
                assert_eq!(
                    &buf[..written],
                    &full[start..end],
                    "offset {offset} size {size}"
                );
                assert!(
                    buf[written..].iter().all(|&b| b == 0xAA),
                    "nothing written past end"
                );
            }
        }
        assert_eq!(archive.read_at(u64::MAX, &mut [0; 16]), 0);
    }

    #[test]
    fn stream_concatenates_to_the_requested_slice() {
        let archive = Archive::new(300_000, 11);
        let full = full_bytes(&archive);

        let chunks = collect(archive.stream(1_000..250_000, 4096));
        assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 4096));
        assert_eq!(chunks.len(), 249_000usize.div_ceil(4096));
        assert_eq!(chunks.concat(), &full[1_000..250_000]);

        let clamped = collect(archive.stream(299_000..u64::MAX, 65_536));
        let tail_start = 299_000.min(full.len());
        assert_eq!(clamped.concat(), &full[tail_start..]);

        assert!(collect(archive.stream(10..10, 64)).is_empty());
        assert!(collect(archive.stream(u64::MAX - 1..u64::MAX, 64)).is_empty());
        assert_eq!(collect(archive.stream(5..8, 0)).concat(), &full[5..8]);
    }

    #[test]
    fn huge_archive_is_instant_and_its_tail_is_consistent() {
        let archive = Archive::new(5 * GIB, 5);
        let len = archive.len();
        assert_eq!(len, formula_len(archive.inner.content_len));

        let mut tail = [0; 100];
        assert_eq!(archive.read_at(len - 100, &mut tail), 100);
        let streamed = collect(archive.stream(len - 100..len, 64)).concat();
        assert_eq!(streamed, tail);

        let crc = u32::from_le_bytes(tail[92..96].try_into().expect("4 bytes"));
        let isize = u32::from_le_bytes(tail[96..].try_into().expect("4 bytes"));
        assert_eq!(crc, archive.inner.crc);
        assert_eq!(u64::from(isize), archive.inner.tar_len % (1 << 32));

        // The last stored block ends with the tar end-of-archive zeros and carries BFINAL.
        assert!(tail[..92].iter().all(|&b| b == 0));
        let last_block = archive.inner.blocks - 1;
        let mut header = [0; 5];
        archive.read_at(GZIP_HEADER_LEN + last_block * BLOCK_SPAN, &mut header);
        assert_eq!(header[0], 1);
        let payload = u16::from_le_bytes([header[1], header[2]]);
        assert_eq!(!payload, u16::from_le_bytes([header[3], header[4]]));
        assert_eq!(
            u64::from(payload),
            archive.inner.tar_len - last_block * STORED_MAX
        );
        // An earlier block is full and not final.
        archive.read_at(GZIP_HEADER_LEN + 1000 * BLOCK_SPAN, &mut header);
        assert_eq!(header, [0, 0xff, 0xff, 0, 0]);
    }

    #[test]
    fn repeated_crc_matches_direct_hashing() {
        let unit = b"some bytes that repeat";
        for times in [0, 1, 2, 3, 7, 8, 100, 1023] {
            let direct = crc32fast::hash(&unit.repeat(times));
            let doubled = repeat_crc(&crc_of(unit), times as u64);
            assert_eq!(doubled.finalize(), direct, "times {times}");
        }
    }

    #[test]
    fn sizes_beyond_octal_use_the_base_256_extension() {
        for size in [MAX_OCTAL_SIZE, MAX_OCTAL_SIZE + 1, 20 * GIB] {
            let bytes = tar_header(size);
            let header = tar::Header::from_byte_slice(&bytes);
            assert_eq!(header.entry_size().expect("size"), size);
            assert_eq!(header.cksum().expect("cksum"), {
                let mut copy = bytes;
                copy[148..156].fill(b' ');
                copy.iter().map(|&b| u32::from(b)).sum::<u32>()
            });
        }
    }

    #[test]
    fn parse_range_cases() {
        use RangeRequest::{Full, Partial, Unsatisfiable};
        let len = 100;
        let cases = [
            (None, len, Full),
            (Some("bytes=0-"), len, Partial(0..100)),
            (Some("bytes=10-19"), len, Partial(10..20)),
            (Some("bytes=-5"), len, Partial(95..100)),
            (Some("bytes=-500"), len, Partial(0..100)),
            (Some("bytes=5-1000000"), len, Partial(5..100)),
            (Some("bytes=99-99"), len, Partial(99..100)),
            (Some(" Bytes = 1-2 "), len, Partial(1..3)),
            (Some("bytes=100-"), len, Unsatisfiable),
            (Some("bytes=100-200"), len, Unsatisfiable),
            (Some("bytes=99999999999999999999999-"), len, Unsatisfiable),
            (Some("bytes=-0"), len, Unsatisfiable),
            (Some("bytes=0-"), 0, Unsatisfiable),
            (Some("bytes=1-2,4-5"), len, Full),
            (Some("items=1-2"), len, Full),
        ];
        // Headers that are not a usable range are ignored: the whole body is served.
        let garbage = [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=5",
            "bytes=+1-2",
            "bytes=1--2",
            "bytes=20-10",
            "bytes=1-2-3",
            "garbage",
        ]
        .map(|header| (Some(header), len, Full));
        for (header, len, expected) in cases.into_iter().chain(garbage) {
            assert_eq!(
                parse_range(header, len),
                expected,
                "{header:?} of {len} bytes"
            );
        }
    }
}
