//! `scalingo-db database …`: the database itself, as the Database API describes it: its
//! arguments, what it does, and the schema of what it prints with `--json`.

use clap::Subcommand;
use scalingo_db::{Database, DatabaseInfo};

use crate::cmd_schema::JsonOutput;
use crate::exit::CliError;
use crate::human;
use crate::interrupt::interruptible;
use crate::output::Output;

/// `scalingo-db database …`
#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Show the database: engine and version, status, plan, periodic backups, features,
    /// maintenance window and instances.
    Show,
}

/// What each `database` command prints with `--json`.
pub const JSON_OUTPUTS: &[JsonOutput] = &[JsonOutput::new::<DatabaseInfo>("database show")];

/// Runs one `database` command.
pub async fn run(command: DatabaseCommand, db: &Database, output: &Output) -> Result<(), CliError> {
    match command {
        DatabaseCommand::Show => {
            let info = interruptible(db.show()).await?;
            if output.json() {
                return output.object(&info);
            }
            output.data(&details(db, &info))
        }
    }
}

/// The database, a field a line; what the API leaves out is left out.
fn details(db: &Database, info: &DatabaseInfo) -> String {
    let mut fields = vec![("Addon", db.addon_id().to_owned())];
    let mut add = |label, value: Option<String>| {
        if let Some(value) = value {
            fields.push((label, value));
        }
    };
    add("App", info.app_name.clone());
    let engine = match (&info.type_name, &info.readable_version) {
        (Some(kind), Some(version)) => Some(format!("{kind} {version}")),
        (Some(kind), None) => Some(kind.to_string()),
        (None, version) => version.clone(),
    };
    add("Engine", engine);
    add("Status", info.status.as_ref().map(ToString::to_string));
    add("Plan", info.plan.clone());
    add("Created", info.created_at.map(human::local_time));
    add("Host", info.hostname.clone());
    let backups = match info.periodic_backups_enabled {
        Some(false) => Some("disabled".to_owned()),
        _ if info.periodic_backups_scheduled_at.is_empty() => None,
        _ => Some(format!(
            "daily at {}",
            human::utc_hours(&info.periodic_backups_scheduled_at)
        )),
    };
    add("Periodic backups", backups);
    add(
        "Operation",
        info.current_operation_id
            .as_ref()
            .map(|id| format!("{id} (see `scalingo-db operations show {id}`)")),
    );
    let features: Vec<String> = info
        .features
        .iter()
        .map(|feature| match &feature.status {
            Some(status) => format!("{} ({status})", feature.name),
            None => feature.name.clone(),
        })
        .collect();
    add(
        "Features",
        (!features.is_empty()).then(|| features.join(", ")),
    );
    let window = info.maintenance_window.as_ref().and_then(|window| {
        let day = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ]
        .get(usize::try_from(window.weekday_utc?).ok()?)?;
        let hour = window.starting_hour_utc?;
        let hours = window
            .duration_in_hour
            .map(|hours| format!(", {hours} h"))
            .unwrap_or_default();
        Some(format!("{day} {hour:02}:00 UTC{hours}"))
    });
    add("Maintenance", window);
    let instances: Vec<String> = info
        .instances
        .iter()
        .map(|instance| {
            let kind = instance.type_.as_ref().map(ToString::to_string);
            let status = instance.status.as_ref().map(ToString::to_string);
            [kind, status]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    add(
        "Instances",
        (!instances.is_empty()).then(|| instances.join(", ")),
    );
    human::fields(&fields)
}
