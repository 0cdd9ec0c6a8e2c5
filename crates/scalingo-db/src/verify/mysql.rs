//! Reading a `mysqldump` file to its end without holding it: its statements are counted and its
//! last line must be the marker `mysqldump` writes when, and only when, it finished
//! (`-- Dump completed on ...`). A dump cut short (a full disk, a killed dump) lacks it.

use std::collections::BTreeMap;

/// How much of a line's start is kept to recognise it; the rest of a long line (an extended
/// `INSERT` of megabytes) is only scanned for its end.
const PREFIX: usize = 32;
const END_MARKER: &[u8] = b"-- Dump completed";

/// A `mysqldump` file, fed in pieces.
#[derive(Debug, Default)]
pub(super) struct MysqlScan {
    /// The start of the line being read.
    line: Vec<u8>,
    /// The start of the last line that was not blank.
    last: Vec<u8>,
    creates: u64,
    inserts: u64,
}

impl MysqlScan {
    /// Reads the next bytes of the file.
    pub(super) fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.keep(&bytes[..end]);
                    self.end_line();
                    bytes = &bytes[end + 1..];
                }
                None => {
                    self.keep(bytes);
                    bytes = &[];
                }
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = PREFIX.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    fn end_line(&mut self) {
        if self.line.starts_with(b"CREATE TABLE") {
            self.creates += 1;
        } else if self.line.starts_with(b"INSERT INTO") {
            self.inserts += 1;
        }
        if !self.line.trim_ascii().is_empty() {
            std::mem::swap(&mut self.last, &mut self.line);
        }
        self.line.clear();
    }

    /// What the file holds, or why it is not a whole dump.
    pub(super) fn finish(mut self) -> Result<BTreeMap<String, u64>, String> {
        if !self.line.is_empty() {
            self.end_line();
        }
        if !self.last.starts_with(END_MARKER) {
            return Err(
                "the MySQL dump stops before the `-- Dump completed` line mysqldump ends with: \
                 it was cut short"
                    .to_owned(),
            );
        }
        Ok(BTreeMap::from([
            ("CREATE TABLE".to_owned(), self.creates),
            ("INSERT INTO".to_owned(), self.inserts),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "-- MySQL dump 10.13  Distrib 8.0.36
CREATE TABLE `accounts` (
  `id` int NOT NULL
);
INSERT INTO `accounts` VALUES (1),(2);
INSERT INTO `accounts` VALUES (3);
-- Dump completed on 2026-11-30 15:00:00

";

    #[test]
    fn a_whole_dump_is_counted_in_pieces_of_any_size() {
        for piece in [1, 2, 7, 64, DUMP.len()] {
            let mut scan = MysqlScan::default();
            for chunk in DUMP.as_bytes().chunks(piece) {
                scan.feed(chunk);
            }
            let counts = scan.finish().unwrap();
            assert_eq!(counts["CREATE TABLE"], 1, "pieces of {piece}");
            assert_eq!(counts["INSERT INTO"], 2, "pieces of {piece}");
        }
    }

    #[test]
    fn a_dump_cut_anywhere_before_its_marker_is_refused() {
        let marker = DUMP.find("-- Dump completed").unwrap();
        for cut in [0, 10, marker, marker + 5] {
            let mut scan = MysqlScan::default();
            scan.feed(&DUMP.as_bytes()[..cut]);
            let error = scan.finish().unwrap_err();
            assert!(error.contains("cut short"), "cut at {cut}: {error}");
        }
    }
}
