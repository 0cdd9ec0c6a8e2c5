//! The `pitr` operations: the point-in-time recovery window of a PostgreSQL database, and the
//! restore to a time within it, which starts an operation (`api/operations.rs` shows it).

use chrono::{DateTime, SubsecRound as _, Utc};
use scalingo_db_generated::Envelope as _;
use scalingo_db_generated::OperationStatus;
use scalingo_db_generated::types::{OperationResponse, RecoveryWindow, RestoreResponse};

use crate::error::ApiError;
use crate::generated_api::{GetRecoveryWindowPath, PitrApi, Request, RestoreDatabasePath};
use crate::service::Service;
use crate::store::{Database, Operation, pitr};

/// The 400 of an engine without point-in-time recovery.
fn only_postgresql(database: &Database) -> Result<(), ApiError> {
    if database.kind.supports_pitr() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "point-in-time recovery is only available for PostgreSQL databases".to_owned(),
        ))
    }
}

impl PitrApi for Service {
    /// From the creation of the oldest done backup to now; both ends null while no backup is
    /// done.
    async fn get_recovery_window(
        &self,
        request: Request<GetRecoveryWindowPath>,
    ) -> Result<RecoveryWindow, ApiError> {
        let store = self.store();
        let now = store.now();
        let database = store.database(&request.path.database_id)?;
        only_postgresql(database)?;
        Ok(database.recovery_window(store.lifecycle(), now))
    }

    /// A restore to a time within the window, unless another operation is under way (409). The
    /// answer is the new operation wrapped in `operation` (what the service sends and current
    /// clients decode, not the documentation's bare id), always `pending`, even when the
    /// configured phases are zero and it has finished by the time anyone asks again.
    async fn restore_database(
        &self,
        request: Request<RestoreDatabasePath, DateTime<Utc>>,
    ) -> Result<RestoreResponse, ApiError> {
        let restore_time = request.body;
        let mut store = self.store();
        let now = store.now();
        let (lifecycle, operations) = (store.lifecycle(), store.operation_lifecycle());
        let database = store.database_mut(&request.path.database_id)?;
        only_postgresql(database)?;
        if database.current_operation(operations, now).is_some() {
            return Err(ApiError::Conflict(
                "another operation is running on this database".to_owned(),
            ));
        }
        let window = database.recovery_window(lifecycle, now);
        if !pitr::within(&window, restore_time) {
            return Err(ApiError::field(
                "restore_time",
                format!("is outside the recovery window {}", pitr::describe(&window)),
            ));
        }
        // The service reports milliseconds.
        let operation = Operation::restore(now.trunc_subsecs(3), restore_time);
        let mut view = operation.view(operations, now);
        view.status = OperationStatus::Pending;
        view.finished_at = None;
        database.operations.push(operation);
        Ok(RestoreResponse::Response(OperationResponse::wrap(view)))
    }
}
