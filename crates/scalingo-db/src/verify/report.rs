//! What a verification found, as one value: printed for people by the CLI, serialised as JSON for
//! audit logs, and read by callers who act on the verdict. Every figure in it was measured on
//! the archive at hand; a check that was not made says so with its reason rather than passing.

use std::collections::BTreeMap;

use serde::Serialize;

/// The kinds of dump a Scalingo archive holds, one per database engine that has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DumpKind {
    /// A `pg_dump` custom-format file (`pg_dump -Fc`), which `pg_restore` reads.
    Postgresql,
    /// A `mysqldump` SQL file.
    Mysql,
    /// A `mongodump` folder of BSON collections and their metadata.
    Mongodb,
}

impl DumpKind {
    /// The dump a database of this engine (a Database API `type_name`) is backed up as; `None`
    /// for engines whose archives hold no dump this crate reads (Redis, InfluxDB, ...).
    pub fn of_database_type(type_name: &str) -> Option<DumpKind> {
        match type_name {
            "postgresql" => Some(DumpKind::Postgresql),
            "mysql" => Some(DumpKind::Mysql),
            "mongodb" => Some(DumpKind::Mongodb),
            _ => None,
        }
    }
}

impl std::fmt::Display for DumpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DumpKind::Postgresql => "PostgreSQL custom-format dump",
            DumpKind::Mysql => "MySQL dump",
            DumpKind::Mongodb => "MongoDB dump",
        })
    }
}

/// The outcome of a verification, worst first in precedence: an archive that is damaged makes
/// whatever its dump looked like beside the point, and a dump that cannot be read cannot be
/// restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check made passed.
    Verified,
    /// The archive is not a complete gzip and tar stream.
    ArchiveDamaged,
    /// The archive is whole, but holds no dump of the expected kind, or one its tool cannot read.
    DumpUnreadable,
    /// The dump reads, but restoring it failed or did not bring back what it holds.
    RestoreFailed,
}

/// One check and what it found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// What was checked, e.g. `gzip`, `tar`, `pg_restore --list`.
    pub name: String,
    /// How it went.
    pub outcome: Outcome,
    /// What it proved, or why it failed or was not made.
    pub detail: String,
}

/// How a check went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed: the detail says what is wrong.
    Failed,
    /// It was not made: the detail says why.
    Skipped,
}

/// A file or folder in the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Member {
    /// Its path in the archive.
    pub name: String,
    /// Its size, in bytes (0 for a folder).
    pub bytes: u64,
}

/// The archive as a container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ArchiveSummary {
    /// Bytes of the `.tar.gz` read.
    pub compressed_bytes: u64,
    /// Bytes of the tar stream inside it.
    pub tar_bytes: u64,
    /// How many members it has (as far as it could be read).
    pub member_count: u64,
    /// Its members, in order, the first thousand.
    pub members: Vec<Member>,
}

/// The dump found in the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DumpSummary {
    /// What kind of dump it is.
    pub kind: DumpKind,
    /// The member holding it (the folder, for a MongoDB dump).
    pub member: String,
    /// Its size, in bytes.
    pub bytes: u64,
    /// What its table of contents holds, by entry type (`TABLE`, `TABLE DATA`, `INDEX`, ...
    /// for PostgreSQL; `CREATE TABLE`, `INSERT INTO` statements for MySQL; collections and
    /// metadata files for MongoDB).
    pub contents: BTreeMap<String, u64>,
    /// Rows (documents, for MongoDB) per table as the dump holds them, where the dump says:
    /// PostgreSQL's `COPY` data and MongoDB's collections. Keys are written as in the dump
    /// (`public."Order"`, `shop.orders`).
    pub rows: BTreeMap<String, u64>,
}

/// A table after a restore, beside what the dump holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RestoredTable {
    /// The table, written as in the dump.
    pub table: String,
    /// Rows in the dump.
    pub dump_rows: u64,
    /// Rows counted in the database after the restore; `None` when the table is not there.
    pub restored_rows: Option<u64>,
}

/// A restore into a scratch database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RestoreSummary {
    /// The database restored into, without its password.
    pub target: String,
    /// The command's flags, the platform's own.
    pub flags: Vec<String>,
    /// Every table with data in the dump, and what came back.
    pub tables: Vec<RestoredTable>,
    /// How long the restore took, in milliseconds (streamed with the reading of the archive, so
    /// it includes the transfer).
    pub millis: u64,
}

/// Everything a verification found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// The outcome.
    pub verdict: Verdict,
    /// What is wrong, in one sentence, when something is.
    pub problem: Option<String>,
    /// The dump expected, from the database's engine or the caller.
    pub expected: Option<DumpKind>,
    /// The archive as a container.
    pub archive: ArchiveSummary,
    /// The dump found, if any.
    pub dump: Option<DumpSummary>,
    /// The restore, when one was asked for and the dump could be read.
    pub restore: Option<RestoreSummary>,
    /// Every check, in the order made, with what it found.
    pub checks: Vec<Check>,
    /// How long the whole verification took, in milliseconds.
    pub millis: u64,
}

impl Report {
    /// Whether every check made passed.
    pub fn is_verified(&self) -> bool {
        self.verdict == Verdict::Verified
    }
}
