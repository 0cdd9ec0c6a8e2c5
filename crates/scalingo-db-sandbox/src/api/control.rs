//! `/_sandbox/...`: fault injection, counters, tokens and the clock over HTTP, for tests written
//! in other languages. Not part of the contract (and not counted), and only served when the
//! configuration enables them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::faults::FaultRule;
use crate::http::{bad_body, bad_json, bad_path};
use crate::service::Service;

/// The control routes, on `service`.
pub fn routes(service: Arc<Service>) -> Router {
    Router::new()
        .route("/_sandbox/faults", post(inject_fault).delete(clear_faults))
        .route("/_sandbox/counters", get(counters).delete(reset_counters))
        .route("/_sandbox/expire-tokens", post(expire_tokens))
        .route(
            "/_sandbox/databases/{database_id}/token",
            post(database_token),
        )
        .route("/_sandbox/clock", get(clock).post(advance_clock))
        .with_state(service)
}

type Shared = State<Arc<Service>>;

/// A control route's body, read whole; a body that cannot be read is refused as the contract's
/// routes refuse it (`crate::http::bad_body`), in JSON.
type Body = Result<Bytes, BytesRejection>;

/// `POST /_sandbox/faults`: adds a fault rule ([`FaultRule`]'s JSON); 400 for a rule that does
/// not read, such as one naming an operation the contract lacks (the message lists those it has).
async fn inject_fault(State(service): Shared, body: Body) -> Result<StatusCode, ApiError> {
    service
        .faults
        .inject(read::<FaultRule>(&body.map_err(bad_body)?)?);
    Ok(StatusCode::CREATED)
}

/// `DELETE /_sandbox/faults`: removes every fault rule.
async fn clear_faults(State(service): Shared) -> StatusCode {
    service.faults.clear();
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/counters`: `{"total": n, "operations": {"list_users": n, ...}}`, with only the
/// operations that received requests.
async fn counters(State(service): Shared) -> Json<Value> {
    Json(json!({
        "total": service.counters.total(),
        "operations": service.counters.snapshot(),
    }))
}

/// `DELETE /_sandbox/counters`: starts counting from zero.
async fn reset_counters(State(service): Shared) -> StatusCode {
    service.counters.reset();
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/expire-tokens`: every token issued so far expires now.
async fn expire_tokens(State(service): Shared) -> StatusCode {
    service.store().expire_tokens();
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/databases/{database_id}/token`: a database token, without the token flow.
async fn database_token(
    State(service): Shared,
    database: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(database) = database.map_err(bad_path)?;
    Ok(Json(
        json!({ "token": service.store().issue_database_token(&database) }),
    ))
}

/// `GET /_sandbox/clock`: `{"now": "<RFC 3339>"}`, the time the sandbox reads.
async fn clock(State(service): Shared) -> Json<Value> {
    now(&service)
}

/// The body of `POST /_sandbox/clock`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    /// How far to move the clock forward.
    advance_seconds: u64,
}

/// `POST /_sandbox/clock` with `{"advance_seconds": n}`: moves the sandbox's clock forward (its
/// backups progress, its tokens and links expire), then answers as `GET` does.
async fn advance_clock(State(service): Shared, body: Body) -> Result<Json<Value>, ApiError> {
    let Advance { advance_seconds } = read(&body.map_err(bad_body)?)?;
    service
        .clock()
        .advance(Duration::from_secs(advance_seconds));
    Ok(now(&service))
}

fn now(service: &Service) -> Json<Value> {
    let now = service.clock().now();
    Json(json!({ "now": now.to_rfc3339_opts(SecondsFormat::Millis, true) }))
}

/// A control route's JSON body. Read through a `Value`, so that a refusal is the reader's message
/// alone, without a line and column (an unknown operation's message lists the known ones).
fn read<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(bad_json)?;
    serde_json::from_value(value).map_err(|error| ApiError::BadRequest(error.to_string()))
}
