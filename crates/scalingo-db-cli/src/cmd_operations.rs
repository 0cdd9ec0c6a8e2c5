//! `scalingo-db operations …`: the long operations on a database (a restore, an upgrade): show
//! one, or wait until it ends with a spinner, as `backups wait` does for a backup.

use clap::Subcommand;
use scalingo_db::{Database, Operation, WaitOptions};

use crate::cmd_backups::WaitArgs;
use crate::cmd_schema::JsonOutput;
use crate::exit::CliError;
use crate::human;
use crate::interrupt::interruptible;
use crate::output::Output;
use crate::progress::WaitDisplay;

/// `scalingo-db operations …`
#[derive(Debug, Subcommand)]
pub enum OperationsCommand {
    /// Show one operation.
    Show {
        /// The operation's ID.
        id: String,
    },

    /// Wait until an operation ends.
    Wait {
        /// The operation's ID.
        id: String,

        #[command(flatten)]
        wait_options: WaitArgs,
    },
}

/// What each `operations` command prints with `--json`.
pub const JSON_OUTPUTS: &[JsonOutput] = &[
    JsonOutput::new::<Operation>("operations show"),
    JsonOutput::new::<Operation>("operations wait"),
];

/// Runs one `operations` command.
pub async fn run(
    command: OperationsCommand,
    db: &Database,
    output: &Output,
) -> Result<(), CliError> {
    match command {
        OperationsCommand::Show { id } => {
            let operation = interruptible(db.operations().get(id)).await?;
            if output.json() {
                return output.object(&operation);
            }
            output.data(&details(&operation))
        }
        OperationsCommand::Wait { id, wait_options } => {
            let operation = wait_for(db, output, &id, &wait_options).await?;
            if output.json() {
                return output.object(&operation);
            }
            output.outcome(&format!(
                "Operation {} is {}.",
                operation.id,
                human::operation_status(&operation.status)
            ))
        }
    }
}

/// Waits for operation `id` to end, with a spinner unless `--silent`.
pub async fn wait_for(
    db: &Database,
    output: &Output,
    id: &str,
    args: &WaitArgs,
) -> Result<Operation, CliError> {
    let display = WaitDisplay::new(output, args.silent);
    let options = WaitOptions {
        timeout: Some(args.timeout),
        ..WaitOptions::default()
    };
    let result = interruptible(
        db.operations()
            .wait(id)
            .options(options)
            .on_change(|operation| {
                let kind = operation
                    .type_
                    .as_ref()
                    .map_or_else(|| "operation".to_owned(), |kind| kind.to_string());
                display.update(
                    &format!("{kind} {}", operation.id),
                    human::operation_status(&operation.status),
                );
            }),
    )
    .await;
    display.finish();
    result
}

/// One operation, a field a line.
fn details(operation: &Operation) -> String {
    let mut fields = vec![("ID", operation.id.clone())];
    if let Some(kind) = &operation.type_ {
        fields.push(("Type", kind.to_string()));
    }
    fields.push((
        "Status",
        human::operation_status(&operation.status).to_string(),
    ));
    let mut time = |label, at: Option<chrono::DateTime<chrono::Utc>>| {
        if let Some(at) = at {
            fields.push((label, human::local_time(at)));
        }
    };
    time("Created", operation.created_at);
    time("Finished", operation.finished_at);
    if let Some(error) = &operation.error {
        fields.push(("Error", error.clone()));
    }
    human::fields(&fields)
}
