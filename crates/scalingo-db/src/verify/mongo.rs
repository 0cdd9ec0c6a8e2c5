//! Reading a `mongodump` folder as far as can be done without MongoDB's tools: every
//! collection's `.bson` file must be whole BSON documents end to end (each one's 32-bit length,
//! then its bytes, ending with the 0 byte BSON ends every document with), and every
//! `.metadata.json` must be JSON. Documents are counted per collection. What is not checked
//! (the fields inside documents, that `mongorestore` accepts the indexes) is said in the report.

use std::collections::BTreeMap;

/// The smallest BSON document: its length and its terminating 0.
const MIN_DOCUMENT: u32 = 5;
/// MongoDB refuses documents above 16 MiB; a length far above that is damage, not data.
const MAX_DOCUMENT: u32 = 48 * 1024 * 1024;

/// What a `mongodump` folder holds: collections and metadata files counted, and documents per
/// collection.
pub(super) type MongoCounts = (BTreeMap<String, u64>, BTreeMap<String, u64>);

/// A `mongodump` folder, fed member by member.
#[derive(Debug, Default)]
pub(super) struct MongoScan {
    /// Documents per collection (`<db>.<collection>`).
    documents: BTreeMap<String, u64>,
    metadata: u64,
    /// The first thing found wrong.
    problem: Option<String>,
    current: Option<Collection>,
    /// The metadata file being read, and its bytes (small: indexes and options).
    json: Option<(String, Vec<u8>)>,
}

#[derive(Debug)]
struct Collection {
    name: String,
    /// Bytes of the length prefix seen so far.
    length: [u8; 4],
    have: usize,
    /// Bytes of the current document still to come, after its length.
    remaining: u64,
    /// The document's last byte, which must be 0.
    last: u8,
}

impl MongoScan {
    /// Starts reading a collection's `.bson` member.
    pub(super) fn start_collection(&mut self, member: &str) {
        self.current = Some(Collection {
            name: collection_name(member, ".bson"),
            length: [0; 4],
            have: 0,
            remaining: 0,
            last: 0,
        });
    }

    /// Starts reading a `.metadata.json` member.
    pub(super) fn start_metadata(&mut self, member: &str) {
        self.json = Some((member.to_owned(), Vec::new()));
    }

    /// Reads the next bytes of the member started last.
    pub(super) fn feed(&mut self, mut bytes: &[u8]) {
        if let Some((_, json)) = &mut self.json {
            json.extend_from_slice(bytes);
            return;
        }
        let Some(collection) = &mut self.current else {
            return;
        };
        while !bytes.is_empty() && self.problem.is_none() {
            if collection.remaining == 0 {
                let take = (4 - collection.have).min(bytes.len());
                collection.length[collection.have..collection.have + take]
                    .copy_from_slice(&bytes[..take]);
                collection.have += take;
                bytes = &bytes[take..];
                if collection.have == 4 {
                    let length = u32::from_le_bytes(collection.length);
                    if !(MIN_DOCUMENT..=MAX_DOCUMENT).contains(&length) {
                        self.problem = Some(format!(
                            "{}: a document announces {length} bytes, which no BSON document has",
                            collection.name
                        ));
                        return;
                    }
                    collection.remaining = u64::from(length) - 4;
                    collection.have = 0;
                }
            } else {
                let take = (collection.remaining as usize).min(bytes.len());
                collection.last = bytes[take - 1];
                collection.remaining -= take as u64;
                bytes = &bytes[take..];
                if collection.remaining == 0 {
                    if collection.last != 0 {
                        self.problem = Some(format!(
                            "{}: document {} does not end as BSON documents end",
                            collection.name,
                            self.documents.get(&collection.name).copied().unwrap_or(0) + 1
                        ));
                        return;
                    }
                    *self.documents.entry(collection.name.clone()).or_insert(0) += 1;
                }
            }
        }
    }

    /// Ends the member started last.
    pub(super) fn end_member(&mut self) {
        if let Some((member, json)) = self.json.take() {
            self.metadata += 1;
            if self.problem.is_none() && serde_json::from_slice::<serde_json::Value>(&json).is_err()
            {
                self.problem = Some(format!("{member} is not JSON"));
            }
        }
        if let Some(collection) = self.current.take() {
            self.documents.entry(collection.name.clone()).or_insert(0);
            if self.problem.is_none() && (collection.remaining > 0 || collection.have > 0) {
                self.problem = Some(format!(
                    "{}: the last document is cut short",
                    collection.name
                ));
            }
        }
    }

    /// Whether any collection was seen.
    pub(super) fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// Collections and metadata files counted, documents per collection, or what is wrong.
    pub(super) fn finish(mut self) -> Result<MongoCounts, String> {
        self.end_member();
        if let Some(problem) = self.problem {
            return Err(problem);
        }
        let contents = BTreeMap::from([
            ("collections".to_owned(), self.documents.len() as u64),
            ("metadata files".to_owned(), self.metadata),
        ]);
        Ok((contents, self.documents))
    }
}

/// `dump/shop/orders.bson` → `shop.orders`.
fn collection_name(member: &str, suffix: &str) -> String {
    let path = member.strip_suffix(suffix).unwrap_or(member);
    let mut parts = path.rsplit('/');
    let collection = parts.next().unwrap_or(path);
    match parts.next() {
        Some(database) if !database.is_empty() => format!("{database}.{collection}"),
        _ => collection.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{"a": 1}` in BSON.
    const DOC: [u8; 12] = [12, 0, 0, 0, 0x10, b'a', 0, 1, 0, 0, 0, 0];

    fn scan(members: &[(&str, &[u8])], piece: usize) -> MongoScan {
        let mut scan = MongoScan::default();
        for (name, bytes) in members {
            if name.ends_with(".bson") {
                scan.start_collection(name);
            } else {
                scan.start_metadata(name);
            }
            for chunk in bytes.chunks(piece) {
                scan.feed(chunk);
            }
            scan.end_member();
        }
        scan
    }

    #[test]
    fn documents_are_counted_per_collection_in_pieces_of_any_size() {
        let three: Vec<u8> = DOC.iter().copied().cycle().take(36).collect();
        for piece in [1, 3, 5, 12, 100] {
            let (contents, documents) = scan(
                &[
                    ("dump/shop/orders.bson", &three),
                    ("dump/shop/orders.metadata.json", b"{\"indexes\": []}"),
                    ("dump/shop/empty.bson", b""),
                ],
                piece,
            )
            .finish()
            .unwrap();
            assert_eq!(documents["shop.orders"], 3, "pieces of {piece}");
            assert_eq!(documents["shop.empty"], 0);
            assert_eq!(contents["collections"], 2);
            assert_eq!(contents["metadata files"], 1);
        }
    }

    #[test]
    fn cut_or_damaged_documents_and_bad_metadata_are_named() {
        let cases: [(&[u8], &str, &str); 4] = [
            (&DOC[..7], "dump/shop/orders.bson", "cut short"),
            (&[3, 0, 0, 0], "dump/shop/orders.bson", "announces 3 bytes"),
            (
                &[12, 0, 0, 0, 0x10, b'a', 0, 1, 0, 0, 0, 9],
                "dump/shop/orders.bson",
                "does not end",
            ),
            (
                b"{\"indexes\": [",
                "dump/shop/orders.metadata.json",
                "is not JSON",
            ),
        ];
        for (bytes, name, expected) in cases {
            let problem = scan(&[(name, bytes)], 4).finish().unwrap_err();
            assert!(problem.contains(expected), "{problem}");
        }
    }
}
