//! `scalingo-db pitr …`: point-in-time recovery of a PostgreSQL database: the window a restore
//! can go back to, and the restore, confirmed with someone who has read what it does.

use clap::Subcommand;
use scalingo_db::{Database, Operation, RecoveryWindow, check_restore_time};

use crate::cmd_backups::WaitArgs;
use crate::cmd_operations;
use crate::cmd_schema::JsonOutput;
use crate::exit::{CliError, unsure};
use crate::interrupt::{interruptible, leaving};
use crate::output::Output;
use crate::{human, prompt, when};

/// `scalingo-db pitr …`
#[derive(Debug, Subcommand)]
pub enum PitrCommand {
    /// Show the span of time a restore can go back to.
    Window,

    /// Restore the database to a point in time. The database is stopped meanwhile, and every
    /// change made after that time is lost. Asks for confirmation unless --yes.
    Restore {
        /// The time to go back to: RFC 3339 (`2026-11-30T14:05:00Z`), a date and time in a zone
        /// (`"2026-11-30 14:05 Europe/Paris"`, or local without a zone), or a span back from now
        /// (`-2h`, `-90m`, `-1d`).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        at: String,

        /// Do not ask for confirmation (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,

        /// Wait until the restore is done.
        #[arg(long)]
        wait: bool,

        #[command(flatten)]
        wait_options: WaitArgs,
    },
}

/// What each `pitr` command prints with `--json`.
pub const JSON_OUTPUTS: &[JsonOutput] = &[
    JsonOutput::new::<RecoveryWindow>("pitr window"),
    JsonOutput::new::<Operation>("pitr restore"),
];

/// Runs one `pitr` command.
pub async fn run(command: PitrCommand, db: &Database, output: &Output) -> Result<(), CliError> {
    match command {
        PitrCommand::Window => {
            let window = interruptible(db.pitr().window()).await?;
            if output.json() {
                return output.object(&window);
            }
            output.data(&describe(&window))
        }
        PitrCommand::Restore {
            at,
            yes,
            wait,
            wait_options,
        } => {
            let at = when::parse_time(&at, &jiff::ZonedDateTime::now())
                .map_err(|error| CliError::Usage(format!("--at {error}")))?;
            // Checked before asking: nobody should confirm a restore the service would refuse.
            let window = interruptible(db.pitr().window()).await?;
            check_restore_time(&window, at)?;
            let question = format!(
                "Restore database {} to {}? It is stopped while the restore runs, and every change \
                 made after that time is lost for good",
                db.addon_id(),
                human::local_and_utc(at)
            );
            if !yes && !prompt::confirm(&question, "--yes")? {
                return Err(CliError::Failed(
                    "not confirmed: nothing was restored".to_owned(),
                ));
            }
            let operation = interruptible(db.pitr().restore(at)).await.map_err(|error| {
                unsure(error, || {
                    "the request may have reached the API: `scalingo-db database show` names the \
                     operation under way"
                        .to_owned()
                })
            })?;
            if !wait {
                if output.json() {
                    return output.object(&operation);
                }
                return output.outcome(&format!(
                    "Started restore {} ({}); `scalingo-db operations wait {}` follows it.",
                    operation.id, operation.status, operation.id
                ));
            }
            let done = cmd_operations::wait_for(db, output, &operation.id, &wait_options)
                .await
                .map_err(|error| {
                    leaving(error, || {
                        format!(
                            "the restore goes on; `scalingo-db operations wait {}` follows it",
                            operation.id
                        )
                    })
                })?;
            if output.json() {
                return output.object(&done);
            }
            output.outcome(&format!(
                "Database {} is restored to {}.",
                db.addon_id(),
                human::local_and_utc(at)
            ))
        }
    }
}

/// The window, a bound a line; before the first base backup, what to expect instead.
fn describe(window: &RecoveryWindow) -> String {
    match (window.earliest_recoverable_at, window.latest_recoverable_at) {
        (Some(earliest), Some(latest)) => human::fields(&[
            ("Earliest", human::local_and_utc(earliest)),
            ("Latest", human::local_and_utc(latest)),
        ]),
        _ => "No restore is possible yet: the window opens with the first base backup.".to_owned(),
    }
}
