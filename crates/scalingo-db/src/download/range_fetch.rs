//! One range of a download in ranges: its request (`Range` and `If-Range`), the checks of the
//! answer's head, and its bytes, written at their place in the part file as they arrive.
//!
//! An answer is joined to the others only when it proves to be of the same version of the
//! archive: a 206 that carries the first answer's `ETag` (or date) and the very range asked for
//! (`Content-Range`, `Content-Length`). A 200 is the whole archive instead of a range: of the same
//! version, the server ignores ranges (the download goes on in one stream); of another, or of no
//! version said, the archive changed (the download starts over). Either way its body is not read.
//! A fetch ends with what it wrote (every byte before [`Ended::reached`] is in the file), so that
//! the next request of the range starts after it.

use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::CONTENT_RANGE;
use tokio::sync::mpsc;

use super::positioned::PositionedWriter;
use super::sidecar::number;
use super::validator::Validator;
use crate::ArchiveUrl;
use crate::backups::{ArchiveStream, Backups};
use crate::error::{ArchiveProblem, Error, Result};

/// A request of one range.
pub(super) struct Job {
    /// Which range.
    pub(super) index: usize,
    /// The bytes wanted: from the first not yet written to the range's end.
    pub(super) range: Range<u64>,
    pub(super) link: Arc<ArchiveUrl>,
    /// Which link it is: a refresh makes a new one.
    pub(super) generation: u32,
    /// How long to wait before the request (after a failure).
    pub(super) delay: Duration,
    /// An answer already received for it (the first range's, read to check the gzip magic).
    pub(super) opened: Option<Opened>,
}

/// An answer whose head was read, with the first chunks of its body.
pub(super) struct Opened {
    pub(super) stream: ArchiveStream,
    pub(super) head: Vec<Bytes>,
}

/// How the fetch of a range ended.
pub(super) struct Ended {
    pub(super) index: usize,
    pub(super) generation: u32,
    /// Where it started.
    pub(super) from: u64,
    /// Every byte from `from` to this offset is in the file.
    pub(super) reached: u64,
    pub(super) outcome: Result<End>,
}

/// What an answer was.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum End {
    /// The range is written; for the archive's last range, but its last byte, held back.
    Complete { last_byte: Option<u8> },
    /// The body ended early (or the server answered less than asked): resume.
    Short,
    /// Another version of the archive, or none said: start over.
    Changed,
    /// The whole archive, of the same version: the server ignores ranges.
    RangesIgnored,
}

/// Range `index` is written up to `reached`, with the link of `generation`.
pub(super) struct Written {
    pub(super) index: usize,
    pub(super) generation: u32,
    pub(super) reached: u64,
}

/// What the fetches of one download share.
pub(super) struct Fetcher<'a> {
    pub(super) backups: Backups<'a>,
    pub(super) file: Arc<File>,
    pub(super) path: PathBuf,
    pub(super) validator: Validator,
    pub(super) total: u64,
    pub(super) events: mpsc::Sender<Written>,
}

impl Fetcher<'_> {
    /// Fetches `job`'s range, reporting what is written as it goes.
    pub(super) async fn fetch(&self, mut job: Job) -> Ended {
        let mut writer = PositionedWriter::new(Arc::clone(&self.file), job.range.start);
        let outcome = self.transfer(&mut job, &mut writer).await;
        // Keep what arrived, so that the next request starts after it.
        let flushed = writer.flush().await.map_err(|source| self.io(source));
        let outcome = match (outcome, flushed) {
            (Ok(_), Err(error)) => Err(error),
            (outcome, _) => outcome,
        };
        Ended {
            index: job.index,
            generation: job.generation,
            from: job.range.start,
            reached: writer.written(),
            outcome,
        }
    }

    async fn transfer(&self, job: &mut Job, writer: &mut PositionedWriter) -> Result<End> {
        let client = self.backups.database().client();
        if !job.delay.is_zero() {
            client.clock().sleep(job.delay).await;
        }
        let last = job.range.end - 1;
        let (mut stream, head) = match job.opened.take() {
            Some(opened) => (opened.stream, opened.head),
            None => {
                let stream = self
                    .backups
                    .request_archive(
                        &job.link,
                        job.range.start,
                        Some(last),
                        Some(&self.validator),
                    )
                    .await?;
                (stream, Vec::new())
            }
        };
        if !stream.is_range() {
            return Ok(if self.validator.carried_by(stream.headers()) {
                End::RangesIgnored
            } else {
                End::Changed
            });
        }
        if !self.validator.carried_by(stream.headers()) {
            // A range of another version, from a server that ignored `If-Range`, or of no
            // version said: it cannot be joined to the others.
            return Ok(End::Changed);
        }
        let end = answered_end(&stream, job.range.start, last, Some(self.total))?;
        let keep_last = end == self.total;
        let stall_limit = client.request_timeout();
        let mut at = job.range.start;
        let mut last_byte = None;
        let mut reported = writer.written();
        let mut head = head.into_iter();
        // Bounded by the answer's length: every turn takes a chunk, the body ends.
        loop {
            let chunk = match head.next() {
                Some(chunk) => chunk,
                None => match super::stalled_after(stall_limit, stream.chunk()).await? {
                    Some(chunk) => chunk,
                    None => break,
                },
            };
            let len = chunk.len() as u64;
            if at + len > end {
                return Err(Error::Archive(ArchiveProblem::Oversized {
                    received: at + len - job.range.start,
                    announced: end - job.range.start,
                }));
            }
            let mut bytes = &chunk[..];
            if keep_last && at + len == end {
                last_byte = bytes.last().copied();
                bytes = &bytes[..bytes.len().saturating_sub(1)];
            }
            writer
                .write(bytes)
                .await
                .map_err(|source| self.io(source))?;
            at += len;
            if writer.written() > reported {
                reported = writer.written();
                // A closed channel: the download is over, and this fetch is about to be dropped.
                let _ = self
                    .events
                    .send(Written {
                        index: job.index,
                        generation: job.generation,
                        reached: reported,
                    })
                    .await;
            }
        }
        Ok(if at == job.range.end {
            End::Complete { last_byte }
        } else {
            End::Short
        })
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: Some(self.path.clone()),
            source,
        }
    }
}

/// The end (exclusive) of the range a 206 answers for a request of bytes `from` to `last`: it
/// must start at `from`, end at `last` or before, be of an archive of `total` bytes (when known
/// and said) and be as long as its `Content-Length` says.
pub(super) fn answered_end(
    stream: &ArchiveStream,
    from: u64,
    last: u64,
    total: Option<u64>,
) -> Result<u64> {
    let headers = stream.headers();
    let content_range = headers
        .get(CONTENT_RANGE)
        .and_then(|value| value.to_str().ok());
    let mismatch = || {
        Error::Archive(ArchiveProblem::RangeMismatch {
            from,
            to: last,
            answered: format!(
                "Content-Range: {}, Content-Length: {}",
                content_range.unwrap_or("(none)"),
                stream
                    .content_length()
                    .map_or_else(|| "(none)".to_owned(), |length| length.to_string())
            ),
        })
    };
    let (first, answered_last, size) = content_range
        .and_then(parse_content_range)
        .ok_or_else(mismatch)?;
    let fits = first == from
        && answered_last <= last
        && total.is_none_or(|total| size.is_none_or(|size| size == total))
        && stream
            .content_length()
            .is_none_or(|length| length == answered_last - first + 1);
    if !fits {
        return Err(mismatch());
    }
    Ok(answered_last + 1)
}

/// `bytes <first>-<last>/<size or *>`: the first and last byte, and the size when said.
pub(super) fn parse_content_range(text: &str) -> Option<(u64, u64, Option<u64>)> {
    let (unit, rest) = text.trim().split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, size) = rest.trim().split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last) = (number(first)?, number(last)?);
    let size = match size {
        "*" => None,
        size => Some(number(size)?),
    };
    (first <= last && size.is_none_or(|size| last < size)).then_some((first, last, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_range_reads_as_it_is_written_and_nothing_else_does() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, Some(10))));
        assert_eq!(parse_content_range("bytes 5-5/*"), Some((5, 5, None)));
        assert_eq!(parse_content_range(" Bytes 1-2/3 "), Some((1, 2, Some(3))));
        for text in [
            "",
            "bytes",
            "bytes */10",
            "bytes 0-9",
            "bytes 9-0/10",
            "bytes 0-10/10",
            "bytes +0-9/10",
            "bytes 0-9/ten",
            "items 0-9/10",
            "bytes 0 -9/10",
            "bytes 0-99999999999999999999/*",
        ] {
            assert_eq!(parse_content_range(text), None, "{text:?}");
        }
    }
}
