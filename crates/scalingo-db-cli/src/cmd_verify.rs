//! `scalingo-db backups verify`: proves that a backup restores. It reads a backup's archive as it
//! streams from its link (or an archive on disk, with no credentials at all), checks it with
//! `scalingo_db::verify`, optionally restores it into a scratch database, and reports for people
//! or, with `--json`, for audit logs. Its exit codes tell what failed (see `exit.rs`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use scalingo_db::Database;
use scalingo_db::verify::{self, DumpKind, Outcome, Report, RestoreTarget, Verdict, VerifyOptions};
use serde::Serialize;

use crate::exit::CliError;
use crate::interrupt::interruptible;
use crate::output::Output;
use crate::prompt;
use crate::table::Table;

/// The variable `--restore-into` without a value reads, so that a URL with a password never
/// shows in the process list.
pub const RESTORE_INTO_VARIABLE: &str = "SCALINGO_DB_RESTORE_INTO";
/// Variables that hold the production database's URL in an app's environment.
const PRODUCTION_VARIABLES: [&str; 2] = ["SCALINGO_POSTGRESQL_URL", "DATABASE_URL"];

/// `scalingo-db backups verify …`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup's ID (default: the most recent done backup). Its archive is read as it
    /// downloads; nothing is written to disk.
    #[arg(conflicts_with = "file")]
    id: Option<String>,

    /// Verify an archive on disk instead (no credentials needed).
    #[arg(long, value_name = "ARCHIVE")]
    file: Option<PathBuf>,

    /// The dump the archive must hold (default: for a backup, the one of the database's engine;
    /// for --file, whichever dump the archive holds).
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<KindArg>,

    /// Also restore the dump (PostgreSQL) into this scratch database, with the platform's flags,
    /// and compare the rows of every table. Without a value, the URL is read from
    /// SCALINGO_DB_RESTORE_INTO, where it may carry a password; on the command line it may not
    /// (use PGPASSWORD or ~/.pgpass). A URL that looks like the app's production database is
    /// refused.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    restore_into: Option<String>,

    /// Restore without asking first.
    #[arg(long, short = 'y')]
    yes: bool,

    /// Run pg_restore and psql from this folder (e.g. /usr/lib/postgresql/17/bin) rather than
    /// from the PATH.
    #[arg(long, value_name = "DIR")]
    postgres_bin: Option<PathBuf>,
}

impl VerifyArgs {
    /// Whether an archive on disk was named: then no API (nor credentials) is needed.
    pub fn names_a_file(&self) -> bool {
        self.file.is_some()
    }
}

/// `--type`'s values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum KindArg {
    Postgresql,
    Mysql,
    Mongodb,
}

impl From<KindArg> for DumpKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Postgresql => DumpKind::Postgresql,
            KindArg::Mysql => DumpKind::Mysql,
            KindArg::Mongodb => DumpKind::Mongodb,
        }
    }
}

/// What `backups verify --json` prints: the report, and what was verified.
#[derive(Serialize, schemars::JsonSchema)]
pub struct VerifyJson<'a> {
    /// The backup verified, when it was one.
    backup: Option<BackupRef<'a>>,
    /// The archive verified, when it was a file.
    file: Option<&'a std::path::Path>,
    /// What the verification found.
    #[serde(flatten)]
    report: &'a Report,
}

/// A backup, as a report names it.
#[derive(Serialize, schemars::JsonSchema)]
struct BackupRef<'a> {
    id: &'a str,
    name: &'a str,
}

/// Verifies the archive of a backup of `db`.
pub async fn run(args: VerifyArgs, db: &Database, output: &Output) -> Result<(), CliError> {
    let backup = match &args.id {
        Some(id) => interruptible(db.backups().get(id)).await?,
        None => interruptible(db.backups().latest_done())
            .await?
            .ok_or_else(|| {
                CliError::NotFound(format!(
                    "database {} has no done backup to verify (see `scalingo-db backups list`)",
                    db.addon_id()
                ))
            })?,
    };
    let mut options = options(&args);
    if let Some(target) = restore_target(&args)? {
        // The database's own description is checked by the library, before anything is read.
        confirm_restore(&target, &args)?;
        options = options.restore_into(target);
    }
    output.note(&format!(
        "Verifying backup {} ({})…",
        backup.id, backup.name
    ));
    let verification = db
        .backups()
        .verify(&backup.id)
        .options(options)
        .production_urls(production_urls());
    let report = interruptible(verification).await?;
    let reference = BackupRef {
        id: &backup.id,
        name: &backup.name,
    };
    let title = format!("Backup {} ({})", backup.id, backup.name);
    finish(&report, Some(reference), None, &title, output)
}

/// Verifies the archive on disk `--file` names: no API, no credentials.
pub async fn run_file(args: VerifyArgs, output: &Output) -> Result<(), CliError> {
    let Some(file) = args.file.clone() else {
        return Err(CliError::Usage("--file names no archive".to_owned()));
    };
    let mut options = options(&args);
    if let Some(target) = restore_target(&args)? {
        target.refuse_production(None, &production_urls())?;
        confirm_restore(&target, &args)?;
        options = options.restore_into(target);
    }
    let report = interruptible(verify::verify_file(&file, &options)).await?;
    let title = format!("Archive {}", file.display());
    finish(&report, None, Some(&file), &title, output)
}

/// The options of `args`: the dump expected, if named, and where PostgreSQL's programs are.
fn options(args: &VerifyArgs) -> VerifyOptions {
    let options = download_options(args.postgres_bin.clone());
    match args.kind {
        Some(kind) => options.expect(kind.into()),
        None => options,
    }
}

/// The restore target `--restore-into` names, if any: a URL without a password on the command
/// line, or any URL in [`RESTORE_INTO_VARIABLE`].
fn restore_target(args: &VerifyArgs) -> Result<Option<RestoreTarget>, CliError> {
    let Some(given) = &args.restore_into else {
        return Ok(None);
    };
    if given.is_empty() {
        let url = std::env::var(RESTORE_INTO_VARIABLE).map_err(|_| {
            CliError::Usage(format!(
                "--restore-into without a URL reads {RESTORE_INTO_VARIABLE}, which is not set"
            ))
        })?;
        return Ok(Some(RestoreTarget::parse(&url)?));
    }
    let target = RestoreTarget::parse(given)?;
    if target.has_password() {
        return Err(CliError::Usage(format!(
            "--restore-into: a password on the command line shows in the process list; give the \
             URL in {RESTORE_INTO_VARIABLE} and pass --restore-into alone, or the password in \
             PGPASSWORD or ~/.pgpass"
        )));
    }
    Ok(Some(target))
}

fn production_urls() -> Vec<String> {
    PRODUCTION_VARIABLES
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .collect()
}

fn confirm_restore(target: &RestoreTarget, args: &VerifyArgs) -> Result<(), CliError> {
    if args.yes {
        return Ok(());
    }
    let question =
        format!("Restore into {target}? pg_restore --clean drops what the dump holds there first");
    if prompt::confirm(&question, "--yes")? {
        Ok(())
    } else {
        Err(CliError::Failed("not restored: declined".to_owned()))
    }
}

/// Prints the report, and turns its verdict into the command's outcome.
fn finish(
    report: &Report,
    backup: Option<BackupRef<'_>>,
    file: Option<&std::path::Path>,
    title: &str,
    output: &Output,
) -> Result<(), CliError> {
    if output.json() {
        output.object(&VerifyJson {
            backup,
            file,
            report,
        })?;
    } else {
        output.data(&human(report, title))?;
    }
    verdict(report)
}

/// The command's outcome for `report`'s verdict: its exit code and what is wrong.
pub fn verdict(report: &Report) -> Result<(), CliError> {
    match report.verdict {
        Verdict::Verified => Ok(()),
        verdict => Err(CliError::Unverified {
            verdict,
            problem: report.problem.clone().unwrap_or_default(),
        }),
    }
}

/// What `backups download --verify` verifies with: the database's engine decides the dump.
pub fn download_options(postgres_bin: Option<PathBuf>) -> VerifyOptions {
    let options = VerifyOptions::new();
    match postgres_bin {
        Some(folder) => options.postgres_programs(folder),
        None => options,
    }
}

/// The report for people: a line per check, the dump's contents, the restored tables.
pub fn human(report: &Report, title: &str) -> String {
    let verdict = match report.verdict {
        Verdict::Verified => "verified",
        Verdict::ArchiveDamaged => "ARCHIVE DAMAGED",
        Verdict::DumpUnreadable => "DUMP UNREADABLE",
        Verdict::RestoreFailed => "RESTORE FAILED",
    };
    let mut text = format!(
        "{title}: {verdict} in {:.1} s\n",
        report.millis as f64 / 1000.0
    );
    let mut checks = Table::new(&["", "CHECK", "RESULT"]);
    for check in &report.checks {
        let mark = match check.outcome {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "not made",
        };
        checks.row(vec![
            mark.to_owned(),
            check.name.clone(),
            check.detail.clone(),
        ]);
    }
    text.push_str(&checks.render(false));
    if let Some(dump) = &report.dump
        && !dump.contents.is_empty()
    {
        let contents: Vec<String> = dump
            .contents
            .iter()
            .map(|(entry, count)| format!("{count} {entry}"))
            .collect();
        text.push_str(&format!("\nThe dump holds: {}\n", contents.join(", ")));
    }
    if let Some(restore) = &report.restore
        && !restore.tables.is_empty()
    {
        text.push_str(&format!(
            "\nRestored into {} in {:.1} s:\n",
            restore.target,
            restore.millis as f64 / 1000.0
        ));
        let mut tables = Table::new(&["TABLE", "ROWS IN DUMP", "ROWS RESTORED"]);
        for table in &restore.tables {
            let restored = table
                .restored_rows
                .map_or_else(|| "missing".to_owned(), |rows| rows.to_string());
            tables.row(vec![
                table.table.clone(),
                table.dump_rows.to_string(),
                restored,
            ]);
        }
        text.push_str(&tables.render(false));
    }
    text.trim_end().to_owned()
}
