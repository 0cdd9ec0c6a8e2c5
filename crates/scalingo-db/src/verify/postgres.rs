//! A PostgreSQL custom-format dump, read by `pg_restore` itself as it streams out of the archive:
//! `pg_restore --list` proves its table of contents reads, `pg_restore --file=-` makes it read and
//! inflate every data block (a flipped bit in a compressed block fails there), and, when asked,
//! a third `pg_restore` restores it into a scratch database with the platform's flags. All three
//! are fed the same bytes at once, so the dump is never written to disk.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::Command;
use std::time::{Duration, Instant};

use super::pg_script;
use super::pg_toc::{self, TocSummary};
use super::target::RestoreTarget;
use super::tools::{self, Programs, Running};
use crate::error::Result;

/// The flags Scalingo's guides restore a logical backup with.
pub(super) const PLATFORM_FLAGS: [&str; 5] = [
    "--clean",
    "--if-exists",
    "--no-owner",
    "--no-privileges",
    "--no-comments",
];

/// A table of contents above this is not held (a few hundred thousand entries).
const LIST_LIMIT: u64 = 64 * 1024 * 1024;

/// The `pg_restore`s reading one dump.
pub(super) struct PgReader {
    list: Running<String>,
    script: Running<(BTreeMap<String, u64>, u64)>,
    restore: Option<(Running<()>, Instant)>,
}

/// What they found.
pub(super) struct PgFindings {
    /// The table of contents, or why `pg_restore --list` failed.
    pub(super) toc: std::result::Result<TocSummary, String>,
    /// Rows per table and the script's size, or why reading the data failed.
    pub(super) rows: std::result::Result<BTreeMap<String, u64>, String>,
    /// How the restore went and how long it took, when there was one.
    pub(super) restore: Option<(std::result::Result<(), String>, Duration)>,
}

impl PgReader {
    /// Starts the readers (and the restore into `target`, if any).
    pub(super) fn start(programs: &Programs, target: Option<&RestoreTarget>) -> Result<PgReader> {
        let mut list = programs.command("pg_restore");
        list.arg("--list");
        let list = programs.spawn("pg_restore --list", list, |output| {
            tools::read_bounded(output, LIST_LIMIT)
        })?;
        let mut script = programs.command("pg_restore");
        script.arg("--file=-");
        let script = programs.spawn("pg_restore", script, |output| {
            pg_script::count_rows(BufReader::with_capacity(256 * 1024, output))
        })?;
        let restore = match target {
            Some(target) => {
                let command = restore_command(programs, target);
                let running = programs.spawn("pg_restore (restore)", command, |mut output| {
                    std::io::copy(&mut output, &mut std::io::sink()).map(drop)
                })?;
                Some((running, Instant::now()))
            }
            None => None,
        };
        Ok(PgReader {
            list,
            script,
            restore,
        })
    }

    /// Hands every reader the dump's next bytes.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        self.list.feed(bytes);
        self.script.feed(bytes);
        if let Some((restore, _)) = &mut self.restore {
            restore.feed(bytes);
        }
    }

    /// Ends the dump and collects what each reader found.
    pub(super) fn finish(self) -> PgFindings {
        let toc = self.list.finish().map(|list| pg_toc::summarise(&list));
        let rows = self.script.finish().map(|(rows, _bytes)| rows);
        let restore = self
            .restore
            .map(|(restore, started)| (restore.finish(), started.elapsed()));
        PgFindings { toc, rows, restore }
    }
}

/// Fails with [`crate::Error::Tool`] unless `pg_restore` (and `psql`, for a restore) can be run
/// from `programs`: better said before a download than after it.
pub(super) fn check_programs(programs: &Programs, restoring: bool) -> Result<()> {
    let needed: &[&str] = if restoring {
        &["pg_restore", "psql"]
    } else {
        &["pg_restore"]
    };
    for &name in needed {
        let running = programs.spawn(name, version(programs, name), |output| {
            tools::read_bounded(output, 4096)
        })?;
        if let Err(why) = running.finish() {
            return Err(crate::Error::Tool {
                program: name.to_owned(),
                message: why,
            });
        }
    }
    Ok(())
}

fn version(programs: &Programs, name: &str) -> Command {
    let mut command = programs.command(name);
    command.arg("--version");
    command
}

fn restore_command(programs: &Programs, target: &RestoreTarget) -> Command {
    let mut command = programs.command("pg_restore");
    command.args(PLATFORM_FLAGS);
    let password = target.password();
    tools::connect(
        &mut command,
        &target.without_password(),
        password.as_deref(),
    );
    command
}

/// Counts the rows of `tables` (written as in the dump, so already quoted for SQL) in `target`
/// with `psql`: `None` for a table that is not there.
pub(super) fn count_restored(
    programs: &Programs,
    target: &RestoreTarget,
    tables: &[&String],
) -> Result<std::result::Result<Vec<Option<u64>>, String>> {
    let mut command = programs.command("psql");
    // No psqlrc (it could change the output), unaligned tuples only, errors do not stop the
    // script: a missing table prints an error and no line, the others still count.
    command.args([
        "--no-psqlrc",
        "--quiet",
        "--no-align",
        "--tuples-only",
        "--field-separator=\t",
    ]);
    command.args(["--set=ON_ERROR_STOP=0", "--file=-"]);
    let password = target.password();
    tools::connect(
        &mut command,
        &target.without_password(),
        password.as_deref(),
    );
    let mut psql = programs.spawn("psql", command, |output| {
        tools::read_bounded(output, LIST_LIMIT)
    })?;
    for (index, table) in tables.iter().enumerate() {
        psql.feed(format!("SELECT {index}, count(*) FROM {table};\n").as_bytes());
    }
    // psql exits with 0 even when a statement failed (ON_ERROR_STOP is off), so a failure here
    // is a connection that failed.
    let printed = match psql.finish() {
        Ok(printed) => printed,
        Err(why) => return Ok(Err(why)),
    };
    let mut counts = vec![None; tables.len()];
    for line in printed.lines() {
        if let Some((index, count)) = line.split_once('\t')
            && let (Ok(index), Ok(count)) = (index.parse::<usize>(), count.parse::<u64>())
            && let Some(slot) = counts.get_mut(index)
        {
            *slot = Some(count);
        }
    }
    Ok(Ok(counts))
}
