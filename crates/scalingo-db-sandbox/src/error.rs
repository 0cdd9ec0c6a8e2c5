//! The sandbox's refusals, answered in the contract's error shapes (`{"error"}`,
//! `{"resource", "error"}`, `{"errors": {field: [..]}}`), built from the generated `Error` type.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scalingo_db_generated::types;

/// A request the sandbox refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// 400 with a message (`A backup is running`, a body that is not JSON, ...).
    BadRequest(String),
    /// 401: missing, malformed, expired or misplaced token.
    Unauthorized(String),
    /// 404 naming the kind of resource that does not exist.
    NotFound(&'static str),
    /// 404 for a path no operation has (`{"resource": "route"}`), with a message that names it.
    NoRoute(String),
    /// 405 on a known path with another method.
    MethodNotAllowed,
    /// 408 with a message: the request's body stopped arriving.
    RequestTimeout(String),
    /// 409 with a message: the database is busy with something that excludes the request (another
    /// operation running).
    Conflict(String),
    /// 413 with a message: the request's body is larger than the sandbox reads.
    PayloadTooLarge(String),
    /// 416 for a range past the end of an archive.
    RangeNotSatisfiable(u64),
    /// 422 with messages per field.
    Unprocessable(BTreeMap<String, Vec<String>>),
    /// 500: the sandbox cannot answer as the contract says (a contract it does not fit, which
    /// `cargo xtask codegen` would have to have let through).
    Internal(String),
}

impl ApiError {
    /// A 422 about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = |text: String| types::ErrorBody {
            error: Some(text),
            resource: None,
            errors: Default::default(),
        };
        let (status, body) = match self {
            ApiError::BadRequest(text) => (StatusCode::BAD_REQUEST, message(text)),
            ApiError::Unauthorized(text) => (StatusCode::UNAUTHORIZED, message(text)),
            ApiError::Conflict(text) => (StatusCode::CONFLICT, message(text)),
            ApiError::RequestTimeout(text) => (StatusCode::REQUEST_TIMEOUT, message(text)),
            ApiError::PayloadTooLarge(text) => (StatusCode::PAYLOAD_TOO_LARGE, message(text)),
            ApiError::Internal(text) => (StatusCode::INTERNAL_SERVER_ERROR, message(text)),
            ApiError::NotFound(resource) => (
                StatusCode::NOT_FOUND,
                types::ErrorBody {
                    error: Some("not found".to_owned()),
                    resource: Some(resource.to_owned()),
                    errors: Default::default(),
                },
            ),
            ApiError::NoRoute(text) => (
                StatusCode::NOT_FOUND,
                types::ErrorBody {
                    error: Some(text),
                    resource: Some("route".to_owned()),
                    errors: Default::default(),
                },
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                message("method not allowed on this path".to_owned()),
            ),
            ApiError::RangeNotSatisfiable(len) => {
                let mut response = (
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    Json(message(format!("the archive has {len} bytes"))),
                )
                    .into_response();
                if let Ok(value) = format!("bytes */{len}").parse() {
                    response
                        .headers_mut()
                        .insert(axum::http::header::CONTENT_RANGE, value);
                }
                return response;
            }
            ApiError::Unprocessable(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                types::ErrorBody {
                    error: None,
                    resource: None,
                    errors: errors.into_iter().collect(),
                },
            ),
        };
        (status, Json(body)).into_response()
    }
}
