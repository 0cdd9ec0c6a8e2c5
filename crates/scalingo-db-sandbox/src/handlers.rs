//! The HTTP side of each operation: read the request, ask the [`Store`](crate::store::Store),
//! answer in the contract's shapes (wrapped in `database_user` / `database_backup`, as the real
//! service does).

pub mod auth;
pub mod backups;
pub mod control;
pub mod users;

use axum::http::HeaderMap;

use crate::error::ApiError;
use crate::server::AppState;

/// Checks the request's bearer token for `database`.
fn authorize(state: &AppState, headers: &HeaderMap, database: &str) -> Result<(), ApiError> {
    state
        .store()
        .authorize(crate::http::bearer(headers), database)
}
