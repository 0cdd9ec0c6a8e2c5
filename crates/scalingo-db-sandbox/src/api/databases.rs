//! The `databases` operations: a database as the Database API describes it, and its periodic
//! backup schedule.

use scalingo_db_generated::types::{Database as DatabaseView, DatabaseUpdate};

use crate::error::ApiError;
use crate::generated_api::{DatabasesApi, GetDatabasePath, Request, UpdateDatabasePath};
use crate::service::Service;

impl DatabasesApi for Service {
    /// The database: its engine, plan, status, schedule, features and instances.
    async fn get_database(
        &self,
        request: Request<GetDatabasePath>,
    ) -> Result<DatabaseView, ApiError> {
        let store = self.store();
        let now = store.now();
        let database = store.database(&request.path.database_id)?;
        Ok(database.view(store.lifecycle(), store.operation_lifecycle(), now))
    }

    /// Turns the periodic backups on or off and sets their hour (the list of hours becomes that
    /// one); a field left out keeps its value. The route has refused an hour outside 0–23.
    async fn update_database(
        &self,
        request: Request<UpdateDatabasePath, DatabaseUpdate>,
    ) -> Result<DatabaseView, ApiError> {
        let mut store = self.store();
        let now = store.now();
        let (lifecycle, operations) = (store.lifecycle(), store.operation_lifecycle());
        let database = store.database_mut(&request.path.database_id)?;
        let DatabaseUpdate {
            periodic_backups_enabled,
            periodic_backups_scheduled_at,
        } = request.body;
        database.update_schedule(periodic_backups_enabled, periodic_backups_scheduled_at, now);
        Ok(database.view(lifecycle, operations, now))
    }
}
