//! The `databases` operations: a database as the Database API describes it.

use scalingo_db_generated::types::Database as DatabaseView;

use crate::error::ApiError;
use crate::generated_api::{DatabasesApi, GetDatabasePath, Request};
use crate::service::Service;

impl DatabasesApi for Service {
    /// The database: its engine, plan, status, schedule, features and instances.
    async fn get_database(
        &self,
        request: Request<GetDatabasePath>,
    ) -> Result<DatabaseView, ApiError> {
        let now = self.clock().now();
        let store = self.store();
        Ok(store.database(&request.path.database_id)?.view(now))
    }
}
