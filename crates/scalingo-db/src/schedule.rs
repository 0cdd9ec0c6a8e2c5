//! The periodic backup schedule of a database: read from its details, set with `update_database`.
//! The service takes one hour in UTC and answers the list of hours (support can set several a
//! day), so the schedule reads as a list and is set as one hour.

use scalingo_db_generated::OperationId;
use scalingo_db_generated::rules::tables;
use scalingo_db_generated::types::{DatabaseUpdate, UpdateDatabaseRequest};

use crate::DatabaseInfo;
use crate::backups::Backups;
use crate::call::Call;
use crate::transport::never;
use crate::validation;

/// When a database's periodic backups run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Whether a backup is made every day.
    pub enabled: bool,
    /// The hours of the day, in UTC, it is made at: usually one.
    pub hours_utc: Vec<i32>,
}

impl From<&DatabaseInfo> for Schedule {
    fn from(database: &DatabaseInfo) -> Self {
        Schedule {
            // The service sends it; absent, the hours say whether there is a schedule.
            enabled: database
                .periodic_backups_enabled
                .unwrap_or(!database.periodic_backups_scheduled_at.is_empty()),
            hours_utc: database.periodic_backups_scheduled_at.clone(),
        }
    }
}

impl<'a> Backups<'a> {
    /// The periodic backup schedule, from the database's details (`get_database`).
    pub fn schedule(&self) -> Call<'a, Schedule> {
        let db = self.database();
        Call::new(move |options| {
            Box::pin(async move {
                let (database, meta) = db
                    .send(
                        OperationId::GetDatabase,
                        &[],
                        options,
                        never,
                        |api| async move { api.get_database(db.addon_id()).await },
                    )
                    .await?;
                Ok((Schedule::from(&database), meta))
            })
        })
    }

    /// Makes a backup every day at `hour_utc` (0 to 23, in UTC; checked against the contract's
    /// rule before anything is sent), and answers the schedule as the service then reports it.
    pub fn schedule_at(&self, hour_utc: u8) -> Call<'a, Schedule> {
        self.update_schedule(DatabaseUpdate {
            periodic_backups_enabled: Some(true),
            periodic_backups_scheduled_at: Some(i32::from(hour_utc)),
        })
    }

    /// Stops the daily backups. The database then has no backup more recent than the last one:
    /// a restore after a loss or a mistake can only go back to it.
    pub fn disable_schedule(&self) -> Call<'a, Schedule> {
        self.update_schedule(DatabaseUpdate {
            periodic_backups_enabled: Some(false),
            periodic_backups_scheduled_at: None,
        })
    }

    fn update_schedule(&self, update: DatabaseUpdate) -> Call<'a, Schedule> {
        let db = self.database();
        let request = UpdateDatabaseRequest { database: update };
        Call::new(move |options| {
            Box::pin(async move {
                let table = tables::UPDATE_DATABASE;
                validation::check(db.client().validation(), &request, table)?;
                let request = &request;
                let (database, meta) = db
                    .send(
                        OperationId::UpdateDatabase,
                        &[],
                        options,
                        never,
                        |api| async move { api.update_database(db.addon_id(), request).await },
                    )
                    .await?;
                Ok((Schedule::from(&database), meta))
            })
        })
    }
}
