//! [`Plan`]: whether a download to a file is split into ranges fetched over several connections
//! at once, and how, from the archive's size and the caller's overrides.
//!
//! One HTTP stream from object storage is capped well below the machine's link (tens of MB/s per
//! connection, tens of milliseconds away); ranges fetched side by side add up. Each range costs a
//! request (a round trip before its first byte), so ranges are large enough for that to be a few
//! percent of their transfer on a far link (8 MiB takes about 0.3 s at 25 MB/s, against 40 ms of
//! round trip), and small enough that the connections finish close together (at most 64 MiB, and
//! about eight ranges per connection). Below 64 MiB the split gains less than the requests cost,
//! and the archive comes in one stream, as it always did. How many ranges a part file records is
//! bounded ([`MAX_PARTS`]), so its sidecar stays small whatever part size is asked for.

/// Connections used when the caller does not say.
pub(super) const AUTO_CONNECTIONS: usize = 8;
/// Connections used at most, whatever the caller asks: more would only queue at the server.
pub(super) const MAX_CONNECTIONS: usize = 32;
/// Archives smaller than this come in one stream unless the caller asks otherwise.
pub(super) const SPLIT_FROM: u64 = 64 * MIB;
/// The smallest and largest automatic part sizes.
const MIN_AUTO_PART: u64 = 8 * MIB;
const MAX_AUTO_PART: u64 = 64 * MIB;
/// Automatic parts aim at this many per connection, so that the last ones end close together.
const PARTS_PER_CONNECTION: u64 = 8;
/// A part file records at most this many ranges; a smaller part size asked for is raised.
pub(super) const MAX_PARTS: u64 = 4096;

const MIB: u64 = 1024 * 1024;

/// How an archive of `total` bytes is cut: consecutive ranges of `part_size` bytes, the last one
/// shorter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    /// The archive's size.
    pub(super) total: u64,
    /// The size of every range but the last.
    pub(super) part_size: u64,
}

impl Layout {
    /// How many ranges there are.
    pub(super) fn count(&self) -> usize {
        usize::try_from(self.total.div_ceil(self.part_size)).unwrap_or(usize::MAX)
    }

    /// Where range `index` starts and ends (exclusive).
    pub(super) fn range(&self, index: usize) -> std::ops::Range<u64> {
        let start = (index as u64)
            .saturating_mul(self.part_size)
            .min(self.total);
        start..start.saturating_add(self.part_size).min(self.total)
    }

    /// Whether the layout could be one this crate chose: a size, parts that are not empty, and
    /// not more of them than a sidecar records.
    pub(super) fn is_plausible(&self) -> bool {
        self.total > 0 && self.part_size > 0 && self.total.div_ceil(self.part_size) <= MAX_PARTS
    }
}

/// A download in ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    pub(super) layout: Layout,
    /// Ranges fetched at once (at least 1, at most the number of ranges).
    pub(super) connections: usize,
}

/// The plan of a download of `total` bytes (`None` when unknown) with `connections` asked for (0:
/// automatic, 1: one stream) and `part_size` (0: automatic); `None` for one stream. An unknown
/// size is one stream: there is nothing to cut.
pub(super) fn choose(total: Option<u64>, connections: usize, part_size: u64) -> Option<Plan> {
    let total = total.filter(|total| *total > 1)?;
    if connections == 1 || (connections == 0 && part_size == 0 && total < SPLIT_FROM) {
        return None;
    }
    let connections = match connections {
        0 => AUTO_CONNECTIONS,
        asked => asked.min(MAX_CONNECTIONS),
    };
    let part_size = match part_size {
        0 => total
            .div_ceil(connections as u64 * PARTS_PER_CONNECTION)
            .clamp(MIN_AUTO_PART, MAX_AUTO_PART),
        asked => asked,
    }
    .max(total.div_ceil(MAX_PARTS));
    let layout = Layout { total, part_size };
    let count = layout.count();
    if count < 2 {
        return None;
    }
    Some(Plan {
        layout,
        connections: connections.min(count),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * MIB;

    fn plan(total: u64, connections: usize, part_size: u64) -> Option<(u64, usize, usize)> {
        choose(Some(total), connections, part_size)
            .map(|plan| (plan.layout.part_size, plan.layout.count(), plan.connections))
    }

    #[test]
    fn small_or_unknown_archives_come_in_one_stream_unless_asked() {
        assert_eq!(choose(None, 0, 0), None, "no size, nothing to cut");
        assert_eq!(choose(None, 8, 1024), None);
        assert_eq!(plan(SPLIT_FROM - 1, 0, 0), None);
        assert_eq!(plan(GIB, 1, 0), None, "one connection asked for");
        assert_eq!(plan(GIB, 1, MIB), None);
        // Asked for: a forced part size splits even a small archive (the tests' way).
        assert_eq!(plan(MIB, 0, 64 * 1024), Some((64 * 1024, 16, 8)));
        assert_eq!(plan(MIB, 3, 300 * 1024), Some((300 * 1024, 4, 3)));
        // Connections asked for on a small archive: automatic parts are at least 8 MiB.
        assert_eq!(plan(MIB, 4, 0), None, "one part is one stream");
        assert_eq!(plan(20 * MIB, 4, 0), Some((8 * MIB, 3, 3)));
        assert_eq!(plan(1, 0, 1), None, "a single byte");
    }

    #[test]
    fn large_archives_use_several_connections_and_bounded_parts() {
        assert_eq!(plan(SPLIT_FROM, 0, 0), Some((8 * MIB, 8, 8)));
        assert_eq!(plan(GIB, 0, 0), Some((16 * MIB, 64, 8)));
        // The benchmark: a 4 GiB archive over a far link.
        assert_eq!(plan(4 * GIB, 0, 0), Some((64 * MIB, 64, 8)));
        assert_eq!(plan(40 * GIB, 0, 0), Some((64 * MIB, 640, 8)));
        assert_eq!(plan(4 * GIB, 16, 0), Some((32 * MIB, 128, 16)));
        assert_eq!(
            plan(4 * GIB, 100, 0),
            Some((16 * MIB, 256, MAX_CONNECTIONS))
        );
        // Tiny parts asked for a huge archive: raised, so a sidecar stays small.
        let (part, count, _) = plan(40 * GIB, 0, 1024).expect("split");
        assert_eq!(count as u64, MAX_PARTS);
        assert_eq!(part, 10 * MIB);
    }

    #[test]
    fn ranges_cover_the_archive_once() {
        let layout = Layout {
            total: 10,
            part_size: 4,
        };
        assert_eq!(layout.count(), 3);
        assert_eq!(
            (0..3).map(|index| layout.range(index)).collect::<Vec<_>>(),
            [0..4, 4..8, 8..10]
        );
        assert!(layout.is_plausible());
        assert!(
            !Layout {
                total: 10,
                part_size: 0
            }
            .is_plausible()
        );
        assert!(
            !Layout {
                total: 10 * MAX_PARTS,
                part_size: 1
            }
            .is_plausible()
        );
    }
}
