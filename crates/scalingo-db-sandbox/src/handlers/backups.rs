//! `/api/databases/{database_id}/backups...`: list, create, show, archive link, download.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scalingo_db_generated::types::{BackupArchive, BackupEnvelope, Backups};

use super::authorize;
use crate::archive::{RangeRequest, parse_range};
use crate::error::ApiError;
use crate::http::public_base;
use crate::server::AppState;

type Answer<T> = Result<T, ApiError>;

/// The size of the chunks an archive is streamed in.
const CHUNK: usize = 64 * 1024;

/// `list_backups`.
pub async fn list(
    State(state): State<AppState>,
    Path(database): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<Backups>> {
    authorize(&state, &headers, &database)?;
    let backups = state.store().list_backups(&database)?;
    Ok(Json(Backups {
        database_backups: backups,
    }))
}

/// `create_backup`.
pub async fn create(
    State(state): State<AppState>,
    Path(database): Path<String>,
    headers: HeaderMap,
) -> Answer<(StatusCode, Json<BackupEnvelope>)> {
    authorize(&state, &headers, &database)?;
    let backup = state.store().create_backup(&database)?;
    Ok((
        StatusCode::CREATED,
        Json(BackupEnvelope {
            database_backup: backup,
        }),
    ))
}

/// `get_backup`.
pub async fn get(
    State(state): State<AppState>,
    Path((database, backup)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer<Json<BackupEnvelope>> {
    authorize(&state, &headers, &database)?;
    let backup = state.store().backup(&database, &backup)?;
    Ok(Json(BackupEnvelope {
        database_backup: backup,
    }))
}

/// `get_backup_archive_url`.
pub async fn archive_url(
    State(state): State<AppState>,
    Path((database, backup)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer<Json<BackupArchive>> {
    authorize(&state, &headers, &database)?;
    let base = public_base(&headers, &state.base_url());
    let download_url = state.store().archive_link(&database, &backup, &base)?;
    Ok(Json(BackupArchive {
        download_url: download_url.into(),
    }))
}

/// `download_backup_archive`: the pre-signed link. Streams the generated archive, whole (200) or
/// the requested range (206), never holding it in memory.
pub async fn download(
    State(state): State<AppState>,
    Path((database, backup)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer<Response> {
    let token = query.get("token").map(String::as_str);
    let archive = state.store().archive(&database, &backup, token)?;
    let len = archive.len();
    let range = headers.get(RANGE).and_then(|value| value.to_str().ok());
    let (status, range) = match parse_range(range, len) {
        RangeRequest::Full => (StatusCode::OK, 0..len),
        RangeRequest::Partial(range) => (StatusCode::PARTIAL_CONTENT, range),
        RangeRequest::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable(len)),
    };
    let mut response = Body::from_stream(archive.stream(range.clone(), CHUNK)).into_response();
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(range.end - range.start));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::try_from(format!(
            "bytes {}-{}/{len}",
            range.start,
            range.end.saturating_sub(1)
        ))
    {
        headers.insert(CONTENT_RANGE, value);
    }
    Ok(response)
}
