//! [`PartTable`]: where each range of a download in ranges stands: how many of its bytes are
//! written, whether a connection is fetching it, how many times in a row it failed without
//! progress, and the archive's last byte, held back until every other byte is written.
//!
//! Holding the last byte back keeps the part file shorter than the archive until the archive is
//! whole: ranges land out of order and the file grows to the end of the furthest one, so without
//! it a part whose last range came first would have the archive's length, with holes.

use std::time::Duration;

use super::plan::Layout;

/// The ranges of one download.
#[derive(Debug)]
pub(super) struct PartTable {
    layout: Layout,
    /// Bytes written from the start of each range.
    done: Vec<u64>,
    /// Whether a connection is fetching the range.
    busy: Vec<bool>,
    /// Interruptions in a row without a new byte, per range.
    failures: Vec<u32>,
    /// The wait before the next request of each range (after a failure).
    delay: Vec<Duration>,
    /// The archive's last byte, once received (it is written last).
    last_byte: Option<u8>,
}

impl PartTable {
    /// The ranges of `layout`, of which the first `done[i]` bytes of each range `i` are
    /// written (all zero for a new download).
    pub(super) fn new(layout: Layout, done: Vec<u64>) -> PartTable {
        let count = layout.count();
        debug_assert_eq!(done.len(), count);
        PartTable {
            layout,
            done,
            busy: vec![false; count],
            failures: vec![0; count],
            delay: vec![Duration::ZERO; count],
            last_byte: None,
        }
    }

    pub(super) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The bytes written of each range, as the sidecar records them.
    pub(super) fn done(&self) -> &[u64] {
        &self.done
    }

    /// Bytes of the archive written in all.
    pub(super) fn written(&self) -> u64 {
        self.done.iter().sum()
    }

    /// How far the archive's contiguous start reaches: every byte before it is written.
    pub(super) fn prefix(&self) -> u64 {
        let mut reach = 0;
        for (index, done) in self.done.iter().enumerate() {
            let range = self.layout.range(index);
            reach = range.start + done;
            if reach < range.end {
                break;
            }
        }
        reach
    }

    /// Where range `index` stands: its first byte not written yet, and its end.
    pub(super) fn remaining(&self, index: usize) -> std::ops::Range<u64> {
        let range = self.layout.range(index);
        range.start + self.done[index]..range.end
    }

    /// Whether range `index` ends the archive.
    pub(super) fn is_last(&self, index: usize) -> bool {
        index + 1 == self.done.len()
    }

    /// Records that range `index` is written up to offset `reached` (never backwards).
    pub(super) fn reached(&mut self, index: usize, reached: u64) {
        let range = self.layout.range(index);
        let done = reached.clamp(range.start, range.end) - range.start;
        self.done[index] = self.done[index].max(done);
    }

    /// Holds back the archive's last byte, received with the last range.
    pub(super) fn hold_last_byte(&mut self, byte: u8) {
        self.last_byte = Some(byte);
    }

    /// The archive's last byte, when every other byte is written and it is held: to be written
    /// now, then recorded with [`PartTable::reached`].
    pub(super) fn last_byte_due(&self) -> Option<u8> {
        let last = self.done.len().checked_sub(1)?;
        let range = self.layout.range(last);
        (self.prefix() == range.end - 1)
            .then_some(self.last_byte)
            .flatten()
    }

    /// Whether every byte is written.
    pub(super) fn is_complete(&self) -> bool {
        self.prefix() == self.layout.total
    }

    /// Whether range `index` has nothing left to fetch: written, or written but its held last
    /// byte.
    fn is_fetched(&self, index: usize) -> bool {
        let left = self.remaining(index);
        left.is_empty()
            || (self.is_last(index) && left.end - left.start == 1 && self.last_byte.is_some())
    }

    /// The first range that needs a connection and has none, marked busy, with the wait before
    /// its request.
    pub(super) fn take_next(&mut self) -> Option<(usize, Duration)> {
        let index =
            (0..self.done.len()).find(|&index| !self.busy[index] && !self.is_fetched(index))?;
        self.busy[index] = true;
        Some((index, std::mem::take(&mut self.delay[index])))
    }

    /// Range `index` is no longer being fetched.
    pub(super) fn release(&mut self, index: usize) {
        self.busy[index] = false;
    }

    /// Counts an interruption of range `index`, which `progressed` or not since its request:
    /// answers how many interruptions in a row it had without progress (1 after progress).
    pub(super) fn interrupted(&mut self, index: usize, progressed: bool) -> u32 {
        self.failures[index] = if progressed {
            1
        } else {
            self.failures[index] + 1
        };
        self.failures[index]
    }

    /// The next request of range `index` waits `delay` first.
    pub(super) fn wait_before(&mut self, index: usize, delay: Duration) {
        self.delay[index] = delay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(done: Vec<u64>) -> PartTable {
        PartTable::new(
            Layout {
                total: 10,
                part_size: 4,
            },
            done,
        )
    }

    #[test]
    fn the_prefix_is_what_is_written_from_the_start_without_a_gap() {
        assert_eq!(table(vec![0, 0, 0]).prefix(), 0);
        assert_eq!(table(vec![3, 4, 2]).prefix(), 3);
        assert_eq!(table(vec![4, 1, 2]).prefix(), 5);
        assert_eq!(table(vec![4, 4, 1]).prefix(), 9);
        assert_eq!(table(vec![4, 4, 2]).prefix(), 10);
        assert!(table(vec![4, 4, 2]).is_complete());
        assert_eq!(table(vec![4, 1, 2]).written(), 7);
    }

    #[test]
    fn ranges_are_handed_out_from_the_first_once_each() {
        let mut parts = table(vec![4, 1, 0]);
        assert_eq!(parts.take_next(), Some((1, Duration::ZERO)));
        assert_eq!(parts.remaining(1), 5..8);
        assert_eq!(parts.take_next(), Some((2, Duration::ZERO)));
        assert_eq!(parts.take_next(), None, "both busy, the first written");
        parts.reached(1, 6);
        parts.reached(1, 5);
        assert_eq!(parts.remaining(1), 6..8, "never backwards");
        assert_eq!(parts.interrupted(1, true), 1);
        assert_eq!(parts.interrupted(1, false), 2);
        parts.wait_before(1, Duration::from_millis(5));
        parts.release(1);
        assert_eq!(parts.take_next(), Some((1, Duration::from_millis(5))));
        parts.release(1);
        assert_eq!(parts.take_next(), Some((1, Duration::ZERO)), "waited once");
    }

    #[test]
    fn the_last_byte_is_written_last() {
        let mut parts = table(vec![4, 2, 0]);
        // The last range arrives first: all but its last byte are written, that one is held.
        parts.reached(2, 9);
        parts.hold_last_byte(0xab);
        parts.release(2);
        assert_eq!(parts.last_byte_due(), None, "range 1 is not written yet");
        assert_eq!(parts.take_next(), Some((1, Duration::ZERO)));
        assert_eq!(
            parts.take_next(),
            None,
            "the last range waits for its byte's turn"
        );
        parts.reached(1, 8);
        assert!(!parts.is_complete());
        assert_eq!(parts.last_byte_due(), Some(0xab));
        parts.reached(2, 10);
        assert!(parts.is_complete());
    }
}
