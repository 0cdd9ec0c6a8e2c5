//! From what a pass over an archive found to a [`Report`]: which checks passed, failed or were
//! not made, and the verdict, in one order of precedence (a damaged archive, then an unreadable
//! dump, then a failed restore). Pure, so that every verdict is tested without an archive.

use std::collections::BTreeMap;
use std::time::Duration;

use super::VerifyOptions;
use super::mongo::MongoCounts;
use super::postgres::{PLATFORM_FLAGS, PgFindings};
use super::report::{
    ArchiveSummary, Check, DumpKind, DumpSummary, Outcome, Report, RestoreSummary, RestoredTable,
    Verdict,
};

/// Rows per table, counted after a restore: `(table, rows in the dump, rows restored)`.
pub(super) type Restored = std::result::Result<Vec<(String, u64, Option<u64>)>, String>;

/// Everything a pass over an archive found.
#[derive(Default)]
pub(super) struct Findings {
    pub(super) archive: ArchiveSummary,
    /// What is wrong with the gzip stream, if anything.
    pub(super) gzip: Option<String>,
    /// What is wrong with the tar stream, if anything.
    pub(super) tar: Option<String>,
    /// Whether the dump's readers had been started when the archive broke.
    pub(super) dump_started: bool,
    /// The dump, if one was found.
    pub(super) found: Option<Found>,
    /// The rows after a restore that went well.
    pub(super) restored: Option<Restored>,
}

/// A dump found in the archive, and what its readers said.
pub(super) struct Found {
    pub(super) kind: DumpKind,
    pub(super) member: String,
    pub(super) bytes: u64,
    pub(super) pg: Option<PgFindings>,
    pub(super) mysql: Option<std::result::Result<BTreeMap<String, u64>, String>>,
    pub(super) mongo: Option<std::result::Result<MongoCounts, String>>,
}

impl Found {
    pub(super) fn new(kind: DumpKind, member: String, bytes: u64) -> Found {
        Found {
            kind,
            member,
            bytes,
            pg: None,
            mysql: None,
            mongo: None,
        }
    }
}

/// The report on `findings`.
pub(super) fn judge(findings: Findings, options: &VerifyOptions, took: Duration) -> Report {
    let mut checks = Checks::default();
    let Findings {
        archive,
        gzip,
        tar,
        found,
        restored,
        ..
    } = findings;

    let damaged = gzip.is_some() || tar.is_some();
    match gzip {
        Some(problem) => checks.failed(Verdict::ArchiveDamaged, "gzip", problem),
        None => checks.passed(
            "gzip",
            format!(
                "one whole gzip stream: {} bytes inflate to {}, and its CRC-32 and length agree",
                archive.compressed_bytes, archive.tar_bytes
            ),
        ),
    }
    match tar {
        Some(problem) => checks.failed(Verdict::ArchiveDamaged, "tar", problem),
        None if damaged => checks.skipped("tar", "the gzip stream around it is damaged"),
        None => checks.passed(
            "tar",
            match archive.member_count {
                1 => "1 member, read to its end".to_owned(),
                count => format!("{count} members, each read to its end"),
            },
        ),
    }

    let mut dump = None;
    let mut restore = None;
    match found {
        None if damaged => checks.skipped("dump", "the archive could not be read far enough"),
        None => match &options.engine_without_dump {
            Some(engine) => checks.skipped(
                "dump",
                format!(
                    "a {engine} backup holds no dump this verification reads (it reads \
                     PostgreSQL, MySQL and MongoDB dumps): only the archive was checked"
                ),
            ),
            None => checks.failed(Verdict::DumpUnreadable, "dump", no_dump(&archive)),
        },
        Some(found) => {
            let readable = judge_dump(&found, options, damaged, &mut checks);
            let (contents, rows) = contents(&found);
            if let Some(target) = &options.restore_into {
                restore = judge_restore(&found, readable, target, restored, &mut checks);
            }
            dump = Some(DumpSummary {
                kind: found.kind,
                member: found.member,
                bytes: found.bytes,
                contents,
                rows,
            });
        }
    }
    if options.restore_into.is_some() && dump.is_none() {
        checks.skipped("restore", "there is no dump to restore");
    }

    let (verdict, problem) = checks.verdict();
    Report {
        verdict,
        problem,
        expected: options.expect,
        archive,
        dump,
        restore,
        checks: checks.list,
        millis: millis(took),
    }
}

/// Judges the dump itself; whether it can be restored.
fn judge_dump(found: &Found, options: &VerifyOptions, damaged: bool, checks: &mut Checks) -> bool {
    let kind = found.kind;
    if let Some(expected) = options.expect.filter(|expected| *expected != kind) {
        checks.failed(
            Verdict::DumpUnreadable,
            "dump",
            format!(
                "the archive holds a {kind} ({}), not the {expected} expected",
                found.member
            ),
        );
        return false;
    }
    checks.passed(
        "dump",
        format!("a {kind}: {} ({} bytes)", found.member, found.bytes),
    );
    let failed = |checks: &mut Checks, name: &str, problem: &String| {
        // A damaged archive cuts the dump short: that is the verdict, not the dump.
        let problem = if damaged {
            format!("{problem} (the archive around it is damaged)")
        } else {
            problem.clone()
        };
        checks.failed(Verdict::DumpUnreadable, name, problem);
    };
    match (&found.pg, &found.mysql, &found.mongo) {
        (Some(pg), _, _) => {
            match &pg.toc {
                Ok(toc) => {
                    let count = |key: &str| toc.counts.get(key).copied().unwrap_or(0);
                    checks.passed(
                        "pg_restore --list",
                        format!(
                            "its table of contents reads: {} schemas, {} tables, {} data entries",
                            count("schemas"),
                            count("TABLE"),
                            count("TABLE DATA")
                        ),
                    );
                }
                Err(problem) => failed(checks, "pg_restore --list", problem),
            }
            match &pg.rows {
                Ok(rows) => checks.passed(
                    "pg_restore --file=-",
                    format!(
                        "every data block reads: {} rows in {} tables",
                        rows.values().sum::<u64>(),
                        rows.len()
                    ),
                ),
                Err(problem) => failed(checks, "pg_restore --file=-", problem),
            }
            pg.toc.is_ok() && pg.rows.is_ok()
        }
        (_, Some(mysql), _) => {
            match mysql {
                Ok(counts) => checks.passed(
                    "mysqldump end",
                    format!(
                        "read to its `-- Dump completed` line: {} CREATE TABLE, {} INSERT INTO",
                        counts.get("CREATE TABLE").copied().unwrap_or(0),
                        counts.get("INSERT INTO").copied().unwrap_or(0)
                    ),
                ),
                Err(problem) => failed(checks, "mysqldump end", problem),
            }
            mysql.is_ok()
        }
        (_, _, Some(mongo)) => {
            match mongo {
                Ok((contents, documents)) => checks.passed(
                    "bson",
                    format!(
                        "{} collections of whole BSON documents ({} in all), {} metadata files \
                         of JSON",
                        documents.len(),
                        documents.values().sum::<u64>(),
                        contents.get("metadata files").copied().unwrap_or(0)
                    ),
                ),
                Err(problem) => failed(checks, "bson", problem),
            }
            checks.skipped(
                "mongorestore",
                "not run: the fields inside documents and the indexes are not checked",
            );
            mongo.is_ok()
        }
        (None, None, None) => {
            checks.skipped("read", "the archive broke before the dump could be read");
            false
        }
    }
}

/// Judges a restore; its summary when one ran.
fn judge_restore(
    found: &Found,
    readable: bool,
    target: &super::target::RestoreTarget,
    restored: Option<Restored>,
    checks: &mut Checks,
) -> Option<RestoreSummary> {
    if found.kind != DumpKind::Postgresql {
        checks.failed(
            Verdict::RestoreFailed,
            "restore",
            format!(
                "a {} cannot be restored into {target}: only PostgreSQL dumps are",
                found.kind
            ),
        );
        return None;
    }
    let (outcome, took) = found.pg.as_ref()?.restore.as_ref()?;
    let flags: Vec<String> = PLATFORM_FLAGS
        .iter()
        .map(|flag| (*flag).to_owned())
        .collect();
    match outcome {
        Err(problem) if !readable => checks.skipped(
            "restore",
            format!("the dump does not read, so neither does its restore ({problem})"),
        ),
        Err(problem) => checks.failed(Verdict::RestoreFailed, "restore", problem.clone()),
        Ok(()) => checks.passed(
            "restore",
            format!(
                "restored into {target} in {:.1} s with pg_restore {}",
                took.as_secs_f64(),
                flags.join(" ")
            ),
        ),
    }
    let mut tables = Vec::new();
    match restored {
        None => {}
        Some(Err(problem)) => checks.failed(Verdict::RestoreFailed, "row counts", problem),
        Some(Ok(counted)) => {
            let wrong: Vec<String> = counted
                .iter()
                .filter(|(_, dumped, restored)| *restored != Some(*dumped))
                .map(|(table, dumped, restored)| match restored {
                    Some(restored) => {
                        format!("{table}: {dumped} rows in the dump, {restored} restored")
                    }
                    None => format!("{table}: {dumped} rows in the dump, the table is missing"),
                })
                .collect();
            if wrong.is_empty() {
                checks.passed(
                    "row counts",
                    format!(
                        "every table has its dump's rows: {} tables, {} rows",
                        counted.len(),
                        counted.iter().map(|(_, rows, _)| rows).sum::<u64>()
                    ),
                );
            } else {
                checks.failed(Verdict::RestoreFailed, "row counts", wrong.join("; "));
            }
            tables = counted
                .into_iter()
                .map(|(table, dump_rows, restored_rows)| RestoredTable {
                    table,
                    dump_rows,
                    restored_rows,
                })
                .collect();
        }
    }
    Some(RestoreSummary {
        target: target.without_password(),
        flags,
        tables,
        millis: millis(*took),
    })
}

/// What the dump holds, as its readers counted it.
fn contents(found: &Found) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    if let Some(pg) = &found.pg {
        let toc = pg
            .toc
            .as_ref()
            .map(|toc| toc.counts.clone())
            .unwrap_or_default();
        let rows = pg.rows.clone().unwrap_or_default();
        return (toc, rows);
    }
    if let Some(Ok(counts)) = &found.mysql {
        return (counts.clone(), BTreeMap::new());
    }
    if let Some(Ok((contents, documents))) = &found.mongo {
        return (contents.clone(), documents.clone());
    }
    (BTreeMap::new(), BTreeMap::new())
}

/// "The archive holds no dump", with its members.
fn no_dump(archive: &ArchiveSummary) -> String {
    let members: Vec<String> = archive
        .members
        .iter()
        .take(5)
        .map(|member| format!("{} ({} bytes)", member.name, member.bytes))
        .collect();
    let more = archive.member_count.saturating_sub(5);
    let listed = match (members.is_empty(), more) {
        (true, _) => "it is empty".to_owned(),
        (false, 0) => format!("it holds {}", members.join(", ")),
        (false, more) => format!("it holds {} and {more} more", members.join(", ")),
    };
    format!(
        "the archive holds no PostgreSQL custom-format, MySQL or MongoDB dump: {listed} (archives \
         the sandbox generates hold none)"
    )
}

fn millis(took: Duration) -> u64 {
    u64::try_from(took.as_millis()).unwrap_or(u64::MAX)
}

/// The checks made so far, and the worst verdict among their failures.
#[derive(Default)]
struct Checks {
    list: Vec<Check>,
    /// The first failure of each verdict.
    failures: Vec<(Verdict, String)>,
}

impl Checks {
    fn passed(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Outcome::Passed, detail.into());
    }

    fn skipped(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Outcome::Skipped, detail.into());
    }

    fn failed(&mut self, verdict: Verdict, name: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.failures.push((verdict, format!("{name}: {detail}")));
        self.push(name, Outcome::Failed, detail);
    }

    fn push(&mut self, name: &str, outcome: Outcome, detail: String) {
        self.list.push(Check {
            name: name.to_owned(),
            outcome,
            detail,
        });
    }

    /// The verdict: the failure that comes first in precedence, and what it said.
    fn verdict(&self) -> (Verdict, Option<String>) {
        let rank = |verdict: &Verdict| match verdict {
            Verdict::ArchiveDamaged => 0,
            Verdict::DumpUnreadable => 1,
            Verdict::RestoreFailed => 2,
            Verdict::Verified => 3,
        };
        self.failures
            .iter()
            .min_by_key(|(verdict, _)| rank(verdict))
            .map_or((Verdict::Verified, None), |(verdict, problem)| {
                (*verdict, Some(problem.clone()))
            })
    }
}
