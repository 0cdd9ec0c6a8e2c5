//! `/api/databases/{database_id}/users...`: list, create, update, reset, delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use scalingo_db_generated::types::{DatabaseUserEnvelope, DatabaseUsers};

use super::authorize;
use crate::error::ApiError;
use crate::http::json_body;
use crate::server::AppState;

type Answer<T> = Result<T, ApiError>;

/// `list_users`.
pub async fn list(
    State(state): State<AppState>,
    Path(database): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<DatabaseUsers>> {
    authorize(&state, &headers, &database)?;
    let users = state.store().list_users(&database)?;
    Ok(Json(DatabaseUsers {
        database_users: users,
    }))
}

/// `create_user`.
pub async fn create(
    State(state): State<AppState>,
    Path(database): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer<(StatusCode, Json<DatabaseUserEnvelope>)> {
    authorize(&state, &headers, &database)?;
    let body = json_body(&body)?;
    let user = state.store().create_user(&database, &body)?;
    Ok((
        StatusCode::CREATED,
        Json(DatabaseUserEnvelope {
            database_user: user,
        }),
    ))
}

/// `update_user_password`.
pub async fn update_password(
    State(state): State<AppState>,
    Path((database, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer<Json<DatabaseUserEnvelope>> {
    authorize(&state, &headers, &database)?;
    let body = json_body(&body)?;
    let user = state
        .store()
        .update_user_password(&database, &name, &body)?;
    Ok(Json(DatabaseUserEnvelope {
        database_user: user,
    }))
}

/// `reset_user_password`.
pub async fn reset_password(
    State(state): State<AppState>,
    Path((database, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer<Json<DatabaseUserEnvelope>> {
    authorize(&state, &headers, &database)?;
    let user = state.store().reset_user_password(&database, &name)?;
    Ok(Json(DatabaseUserEnvelope {
        database_user: user,
    }))
}

/// `delete_user`.
pub async fn delete(
    State(state): State<AppState>,
    Path((database, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer<StatusCode> {
    authorize(&state, &headers, &database)?;
    state.store().delete_user(&database, &name)?;
    Ok(StatusCode::NO_CONTENT)
}
