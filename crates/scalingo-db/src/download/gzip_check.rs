//! [`GzipCheck`]: proves, as an archive's bytes stream through, that they are a whole gzip file
//! whose every member decompresses and ends with the CRC-32 and length (mod 2^32) its trailer
//! records.
//!
//! Sizes and the gzip magic say an archive is plausible; only its trailer says it is right. A
//! resumed range of another object joined to a first part, a byte flipped on the way, a body cut
//! short at the announced length: each passes the size checks and fails here. The check
//! decompresses into a small scratch buffer that is hashed and dropped (nothing accumulates), so
//! it keeps up with the transfer; it parses the gzip framing itself (RFC 1952) to name what is
//! wrong in a typed [`ArchiveProblem`] rather than an opaque decoder message.

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::ArchiveProblem;
use crate::verify::session::Tap;

/// A member header is at least this long: magic, method, flags, time, extra flags, system.
const FIXED_HEADER: usize = 10;
/// A longer header (its name and comment are unbounded) is taken for garbage.
const MAX_HEADER: usize = 1024 * 1024;
/// CRC-32 and ISIZE, little-endian.
const TRAILER: usize = 8;
/// Decompressed bytes are hashed in pieces of this size, then dropped.
const SCRATCH: usize = 64 * 1024;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED_FLAGS: u8 = 0xe0;

/// Where the checker is in the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Reading a member's header (into `pending`).
    Header,
    /// Decompressing a member's data.
    Data,
    /// Reading a member's trailer (into `pending`).
    Trailer,
    /// A member ended: another may follow.
    Between,
    /// Zeros after the last member, which gzip ignores.
    Padding,
}

/// The running check of one archive.
pub(crate) struct GzipCheck {
    stage: Stage,
    inflate: Decompress,
    /// CRC-32 of the current member's decompressed bytes.
    crc: crc32fast::Hasher,
    /// Their count, mod 2^32 as ISIZE records it.
    size: u32,
    /// A header or trailer being gathered across chunks.
    pending: Vec<u8>,
    /// Where, in the archive, `pending` starts (for messages).
    pending_at: u64,
    /// Archive bytes taken so far.
    at: u64,
    scratch: Box<[u8]>,
    /// Where the bytes go next, in order, when the archive is also verified.
    tap: Option<Tap>,
}

impl std::fmt::Debug for GzipCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipCheck")
            .field("stage", &self.stage)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl Default for GzipCheck {
    fn default() -> Self {
        GzipCheck {
            stage: Stage::Header,
            inflate: Decompress::new(false),
            crc: crc32fast::Hasher::new(),
            size: 0,
            pending: Vec::new(),
            pending_at: 0,
            at: 0,
            tap: None,
            scratch: vec![0; SCRATCH].into_boxed_slice(),
        }
    }
}

impl GzipCheck {
    /// The same check, handing every byte it takes to `tap` as well.
    pub(crate) fn tapped(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Takes the archive's next bytes. Fails as soon as they cannot be a gzip file; once it has
    /// failed, the check is over (feed it nothing more).
    pub(crate) fn update(&mut self, input: &[u8]) -> Result<(), ArchiveProblem> {
        self.take(input)?;
        if let Some(tap) = &self.tap {
            tap.feed(input);
        }
        Ok(())
    }

    fn take(&mut self, mut input: &[u8]) -> Result<(), ArchiveProblem> {
        while !input.is_empty() {
            let taken = match self.stage {
                Stage::Header => self.header(input)?,
                Stage::Data => self.data(input)?,
                Stage::Trailer => self.trailer(input)?,
                Stage::Between => {
                    // Another member, or zeros that some writers pad a file with.
                    self.stage = if input[0] == 0 {
                        Stage::Padding
                    } else {
                        Stage::Header
                    };
                    0
                }
                Stage::Padding => match input.iter().position(|&byte| byte != 0) {
                    Some(at) => return Err(self.corrupt(self.at + at as u64, TRAILING)),
                    None => input.len(),
                },
            };
            self.at += taken as u64;
            input = &input[taken..];
        }
        Ok(())
    }

    /// Fails unless what was taken ends where a gzip file may end: after a member's trailer.
    pub(crate) fn finish(&mut self) -> Result<(), ArchiveProblem> {
        // The archive ends here for its verification too.
        self.tap = None;
        match self.stage {
            Stage::Between | Stage::Padding => Ok(()),
            Stage::Header | Stage::Data | Stage::Trailer => Err(self.corrupt(
                self.at,
                "the archive ends before its gzip data does (its last member has no trailer)",
            )),
        }
    }

    /// Gathers a member's header; answers how many bytes of `input` it used.
    fn header(&mut self, input: &[u8]) -> Result<usize, ArchiveProblem> {
        if self.pending.is_empty() {
            self.pending_at = self.at;
        }
        let before = self.pending.len();
        let take = input.len().min(MAX_HEADER - before);
        self.pending.extend_from_slice(&input[..take]);
        match header_len(&self.pending) {
            Ok(Some(len)) => {
                self.pending.clear();
                self.stage = Stage::Data;
                self.inflate.reset(false);
                self.crc = crc32fast::Hasher::new();
                self.size = 0;
                Ok(len - before)
            }
            Ok(None) if self.pending.len() == MAX_HEADER => {
                Err(self.corrupt(self.pending_at, "a gzip header longer than 1 MiB"))
            }
            Ok(None) => Ok(take),
            // Past the first member, what does not start like one is trailing garbage.
            Err(NOT_GZIP) if self.pending_at > 0 => Err(self.corrupt(self.pending_at, TRAILING)),
            Err(reason) => Err(self.corrupt(self.pending_at, reason)),
        }
    }

    /// Decompresses a member's data into the hash; answers how many bytes of `input` it used.
    fn data(&mut self, input: &[u8]) -> Result<usize, ArchiveProblem> {
        let mut used = 0;
        // Bounded: every round uses input or fills scratch, or it fails or ends the member; a
        // round that does neither is refused below.
        loop {
            let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self
                .inflate
                .decompress(&input[used..], &mut self.scratch, FlushDecompress::None)
                .map_err(|_| {
                    self.corrupt(self.at + used as u64, "its compressed data is invalid")
                })?;
            // Both deltas are bounded by the slices given.
            let consumed = (self.inflate.total_in() - in_before) as usize;
            let produced = (self.inflate.total_out() - out_before) as usize;
            self.crc.update(&self.scratch[..produced]);
            self.size = self.size.wrapping_add(produced as u32);
            used += consumed;
            if status == Status::StreamEnd {
                self.stage = Stage::Trailer;
                self.pending_at = self.at + used as u64;
                return Ok(used);
            }
            if consumed == 0 && produced == 0 {
                if used == input.len() {
                    return Ok(used);
                }
                return Err(self.corrupt(self.at + used as u64, "its compressed data is invalid"));
            }
            // More may be pending inside the decoder while scratch came back full.
            if used == input.len() && produced < self.scratch.len() {
                return Ok(used);
            }
        }
    }

    /// Gathers a member's trailer and compares it; answers how many bytes of `input` it used.
    fn trailer(&mut self, input: &[u8]) -> Result<usize, ArchiveProblem> {
        let take = input.len().min(TRAILER - self.pending.len());
        self.pending.extend_from_slice(&input[..take]);
        if self.pending.len() < TRAILER {
            return Ok(take);
        }
        let word = |at: usize| {
            u32::from_le_bytes([
                self.pending[at],
                self.pending[at + 1],
                self.pending[at + 2],
                self.pending[at + 3],
            ])
        };
        let (recorded_crc, recorded_len) = (word(0), word(4));
        let computed_crc = std::mem::take(&mut self.crc).finalize();
        if recorded_crc != computed_crc || recorded_len != self.size {
            return Err(ArchiveProblem::ChecksumMismatch {
                at: self.pending_at,
                recorded_crc,
                computed_crc,
                recorded_len,
                computed_len: self.size,
            });
        }
        self.pending.clear();
        self.stage = Stage::Between;
        Ok(take)
    }

    fn corrupt(&self, at: u64, reason: &str) -> ArchiveProblem {
        ArchiveProblem::Corrupt {
            at,
            reason: reason.to_owned(),
        }
    }
}

const TRAILING: &str = "bytes follow the end of its gzip data";
const NOT_GZIP: &str = "it does not start like a gzip file";

/// The length of the member header at the start of `header`, `None` while it is incomplete, or
/// what makes it no gzip header (RFC 1952, section 2.3).
fn header_len(header: &[u8]) -> Result<Option<usize>, &'static str> {
    const MAGIC: [u8; 2] = [0x1f, 0x8b];
    if header.iter().zip(MAGIC).any(|(&byte, magic)| byte != magic) {
        return Err(NOT_GZIP);
    }
    if header.len() < FIXED_HEADER {
        return Ok(None);
    }
    if header[2] != 8 {
        return Err("a gzip member that is not deflate-compressed");
    }
    let flags = header[3];
    if flags & RESERVED_FLAGS != 0 {
        return Err("a gzip header with reserved flags set");
    }
    let mut len = FIXED_HEADER;
    if flags & FEXTRA != 0 {
        let Some(extra) = header.get(len..len + 2) else {
            return Ok(None);
        };
        len += 2 + usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            // A zero-terminated string.
            match header
                .get(len..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
            {
                Some(end) => len += end + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        let Some(recorded) = header.get(len..len + 2) else {
            return Ok(None);
        };
        // The low half of the CRC-32 of the header before it.
        let computed = crc32fast::hash(&header[..len]) as u16;
        if u16::from_le_bytes([recorded[0], recorded[1]]) != computed {
            return Err("a gzip header whose own checksum is wrong");
        }
        len += 2;
    }
    Ok((header.len() >= len).then_some(len))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// `content` gzip-compressed (with a file name, so the header has a variable part).
    fn gzip(content: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::GzBuilder::new()
            .filename("backup.dump")
            .write(Vec::new(), flate2::Compression::fast());
        encoder.write_all(content).expect("in memory");
        encoder.finish().expect("in memory")
    }

    /// Bytes that compress, but not to nothing.
    fn content(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i * 7 % 251) as u8 ^ (i >> 12) as u8)
            .collect()
    }

    /// The check of `archive` fed in pieces of `piece` bytes.
    fn check(archive: &[u8], piece: usize) -> Result<(), ArchiveProblem> {
        let mut check = GzipCheck::default();
        for chunk in archive.chunks(piece) {
            check.update(chunk)?;
        }
        check.finish()
    }

    #[test]
    fn a_whole_archive_passes_in_pieces_of_any_size() {
        let archive = gzip(&content(300_000));
        for piece in [1, 2, 7, 10, 11, 4096, 65_536, archive.len()] {
            check(&archive, piece).unwrap_or_else(|problem| panic!("{piece}: {problem}"));
        }
    }

    #[test]
    fn several_members_and_trailing_zeros_pass_like_gzip_takes_them() {
        let mut archive = gzip(b"first member");
        archive.extend(gzip(&content(100_000)));
        check(&archive, 1000).expect("two members");
        archive.extend([0; 512]);
        check(&archive, 1000).expect("zero padding");
        archive.push(1);
        assert!(matches!(
            check(&archive, 1000),
            Err(ArchiveProblem::Corrupt { at, .. }) if at == archive.len() as u64 - 1
        ));
    }

    #[test]
    fn a_wrong_trailer_is_a_checksum_mismatch_with_both_values() {
        let archive = gzip(&content(100_000));
        let trailer_at = archive.len() - TRAILER;
        for (flip, crc_wrong) in [(trailer_at, true), (archive.len() - 1, false)] {
            let mut wrong = archive.clone();
            wrong[flip] ^= 0x01;
            match check(&wrong, 4096) {
                Err(ArchiveProblem::ChecksumMismatch {
                    at,
                    recorded_crc,
                    computed_crc,
                    recorded_len,
                    computed_len,
                }) => {
                    assert_eq!(at, trailer_at as u64);
                    assert_eq!(computed_len, 100_000);
                    assert_eq!(recorded_crc != computed_crc, crc_wrong);
                    assert_eq!(recorded_len != computed_len, !crc_wrong);
                }
                other => panic!("flip at {flip}: {other:?}"),
            }
        }
    }

    #[test]
    fn bytes_of_another_archive_joined_to_a_start_fail() {
        // The splice: the start of one archive, the rest of another of the same size.
        let first = gzip(&content(200_000));
        let other = gzip(
            &content(200_000)
                .iter()
                .map(|b| b ^ 0x55)
                .collect::<Vec<_>>(),
        );
        let cut = first.len() / 2;
        let joined = [&first[..cut], &other[cut..]].concat();
        assert!(check(&joined, 4096).is_err(), "a joined archive passed");
    }

    #[test]
    fn an_archive_cut_anywhere_does_not_finish() {
        let archive = gzip(&content(50_000));
        for cut in [
            0,
            1,
            5,
            10,
            20,
            archive.len() / 2,
            archive.len() - 8,
            archive.len() - 1,
        ] {
            let mut check_of = GzipCheck::default();
            check_of.update(&archive[..cut]).expect("a start");
            assert!(
                matches!(check_of.finish(), Err(ArchiveProblem::Corrupt { .. })),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn headers_that_are_not_gzip_are_refused() {
        for (header, what) in [
            (&b"<html>"[..], "not gzip"),
            (&[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0][..], "another method"),
            (
                &[0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 0][..],
                "reserved flags",
            ),
            (
                &[0x1f, 0x8b, 8, FHCRC, 0, 0, 0, 0, 0, 0, 0, 0][..],
                "bad header CRC",
            ),
        ] {
            let mut check = GzipCheck::default();
            assert!(
                matches!(
                    check.update(header),
                    Err(ArchiveProblem::Corrupt { at: 0, .. })
                ),
                "{what}"
            );
        }
    }

    #[test]
    fn every_optional_header_field_is_read() {
        let mut header = vec![
            0x1f,
            0x8b,
            8,
            FEXTRA | FNAME | FCOMMENT | FHCRC,
            0,
            0,
            0,
            0,
            0,
            3,
        ];
        header.extend([3, 0, b'a', b'b', b'c']);
        header.extend(b"name\0comment\0");
        let crc = crc32fast::hash(&header) as u16;
        header.extend(crc.to_le_bytes());
        for cut in 0..header.len() {
            assert_eq!(header_len(&header[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(header_len(&header), Ok(Some(header.len())));
        // Then the member itself: an empty deflate stream and its trailer.
        let mut archive = header;
        archive.extend([3, 0]);
        archive.extend([0; TRAILER]);
        check(&archive, 3).expect("a whole archive of nothing");
    }
}
