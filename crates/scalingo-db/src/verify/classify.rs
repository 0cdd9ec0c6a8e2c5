//! Which dump a member of an archive is, from its name and first bytes: the one place that knows
//! each tool's signature, so that every other part of the verification only asks "what is this".

use super::report::DumpKind;

/// How many of a member's first bytes [`classify`] wants to see.
pub(super) const HEAD: usize = 64;

/// `pg_dump`'s custom and directory formats start with this.
const PG_CUSTOM_MAGIC: &[u8] = b"PGDMP";
/// The first line of every `mysqldump` (and MariaDB's `mariadb-dump`) output.
const MYSQL_HEADERS: [&[u8]; 2] = [b"-- MySQL dump", b"-- MariaDB dump"];

/// What a member holds, as far as a dump is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MemberKind {
    /// A whole dump of this kind, in one file.
    Dump(DumpKind),
    /// One collection of a `mongodump` folder.
    MongoCollection,
    /// The indexes and options of a collection of a `mongodump` folder.
    MongoMetadata,
    /// Something else.
    Other,
}

/// Classifies a regular file of the archive from its path and its first bytes (at most
/// [`HEAD`], fewer when it is shorter).
pub(super) fn classify(name: &str, head: &[u8]) -> MemberKind {
    if head.starts_with(PG_CUSTOM_MAGIC) {
        MemberKind::Dump(DumpKind::Postgresql)
    } else if MYSQL_HEADERS.iter().any(|header| head.starts_with(header)) {
        MemberKind::Dump(DumpKind::Mysql)
    } else if name.ends_with(".metadata.json") {
        MemberKind::MongoMetadata
    } else if name.ends_with(".bson") {
        MemberKind::MongoCollection
    } else {
        MemberKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tool_is_known_by_its_signature_not_its_name() {
        assert_eq!(
            classify("x.sql", b"PGDMP\x01\x0e\x00"),
            MemberKind::Dump(DumpKind::Postgresql)
        );
        assert_eq!(
            classify("backup.dump", b"-- MySQL dump 10.13  Distrib 8.0.36"),
            MemberKind::Dump(DumpKind::Mysql)
        );
        assert_eq!(
            classify("a", b"-- MariaDB dump 10.19"),
            MemberKind::Dump(DumpKind::Mysql)
        );
        assert_eq!(
            classify("dump/shop/orders.bson", b"\x16\0\0\0"),
            MemberKind::MongoCollection
        );
        assert_eq!(
            classify("dump/shop/orders.metadata.json", b"{\"indexes\":[]}"),
            MemberKind::MongoMetadata
        );
        assert_eq!(classify("backup.dump", &[0x8b; 64]), MemberKind::Other);
        assert_eq!(classify("x.pgsql", b"PGDM"), MemberKind::Other);
        assert_eq!(
            classify("x.sql", b"-- PostgreSQL database dump"),
            MemberKind::Other
        );
    }
}
