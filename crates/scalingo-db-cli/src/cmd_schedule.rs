//! `scalingo-db backups schedule`: show, move or stop the daily backups of a database. The
//! service keeps the hour in UTC; people type it in their own zone or any other, and read it back
//! in both.

use clap::Args;
use scalingo_db::{Database, Schedule};
use serde::Serialize;

use crate::exit::CliError;
use crate::interrupt::interruptible;
use crate::output::Output;
use crate::{human, prompt, when};

/// `scalingo-db backups schedule [--at <HOUR> | --disable]`
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Make the daily backup at this hour: `3` or `03:00` (local time), `"10 UTC"`,
    /// `"03:00 Europe/Paris"`. It is kept in UTC, so a zone with summer time sees it move by an
    /// hour across the year.
    #[arg(long, value_name = "HOUR", conflicts_with = "disable")]
    pub at: Option<String>,

    /// Stop the daily backups. Asks for confirmation unless --yes.
    #[arg(long)]
    pub disable: bool,

    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// What `backups schedule --json` prints: the schedule as the API names it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ScheduleJson {
    /// Whether a backup is made every day.
    periodic_backups_enabled: bool,
    /// The hours of the day, in UTC, it is made at: usually one.
    periodic_backups_scheduled_at: Vec<i32>,
}

impl From<&Schedule> for ScheduleJson {
    fn from(schedule: &Schedule) -> Self {
        ScheduleJson {
            periodic_backups_enabled: schedule.enabled,
            periodic_backups_scheduled_at: schedule.hours_utc.clone(),
        }
    }
}

/// Runs `backups schedule`.
pub async fn run(args: ScheduleArgs, db: &Database, output: &Output) -> Result<(), CliError> {
    let current = interruptible(db.backups().schedule()).await?;
    let schedule = if let Some(at) = &args.at {
        let hour = when::parse_hour(at, jiff::ZonedDateTime::now().date())
            .map_err(|error| CliError::Usage(format!("--at {error}")))?;
        if current.enabled && current.hours_utc.len() > 1 {
            let question = format!(
                "Database {} is backed up daily at {}; replace these with one backup at \
                 {:02}:00 UTC?",
                db.addon_id(),
                human::utc_hours(&current.hours_utc),
                hour.utc
            );
            if !args.yes && !prompt::confirm(&question, "--yes")? {
                return Err(CliError::Failed(
                    "not confirmed: the schedule was not changed".to_owned(),
                ));
            }
        }
        let schedule = interruptible(db.backups().schedule_at(hour.utc)).await?;
        if hour.zone != "UTC" {
            output.note(&format!(
                "{at} in {} is {:02}:00 UTC today; the service keeps the UTC hour.",
                hour.zone, hour.utc
            ));
        }
        schedule
    } else if args.disable {
        if !current.enabled {
            output.note(&format!(
                "The daily backups of database {} are already disabled.",
                db.addon_id()
            ));
            current
        } else {
            let question = format!(
                "Stop the daily backups of database {}? Until they are enabled again, a restore \
                 can only go back to the last backup made",
                db.addon_id()
            );
            if !args.yes && !prompt::confirm(&question, "--yes")? {
                return Err(CliError::Failed(
                    "not confirmed: the daily backups are still enabled".to_owned(),
                ));
            }
            interruptible(db.backups().disable_schedule()).await?
        }
    } else {
        if output.json() {
            return output.object(&ScheduleJson::from(&current));
        }
        return output.data(&describe(db, &current));
    };
    if output.json() {
        return output.object(&ScheduleJson::from(&schedule));
    }
    output.outcome(&describe(db, &schedule))
}

/// `Database ad-… is backed up daily at 03:00 UTC (04:00 local, +01:00).`
fn describe(db: &Database, schedule: &Schedule) -> String {
    if !schedule.enabled {
        return format!(
            "Database {} has no daily backups (`--at <HOUR>` enables them).",
            db.addon_id()
        );
    }
    if schedule.hours_utc.is_empty() {
        return format!(
            "Database {} is backed up daily, at an hour the service chooses.",
            db.addon_id()
        );
    }
    format!(
        "Database {} is backed up daily at {}.",
        db.addon_id(),
        human::utc_hours(&schedule.hours_utc)
    )
}
