//! The `operations` operations: a long operation of a database (a point-in-time restore), whose
//! status follows the sandbox's clock: `pending`, `running`, then `finished`.

use scalingo_db_generated::types::Operation as OperationView;

use crate::error::ApiError;
use crate::generated_api::{GetOperationPath, OperationsApi, Request};
use crate::service::Service;

impl OperationsApi for Service {
    /// The operation as it is now; 404 (`operation`) for one the database never had.
    async fn get_operation(
        &self,
        request: Request<GetOperationPath>,
    ) -> Result<OperationView, ApiError> {
        let store = self.store();
        let now = store.now();
        let database = store.database(&request.path.database_id)?;
        let operation = database.operation(&request.path.operation_id)?;
        Ok(operation.view(store.operation_lifecycle(), now))
    }
}
