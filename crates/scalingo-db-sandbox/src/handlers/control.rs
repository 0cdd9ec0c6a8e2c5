//! `/_sandbox/...`: fault injection, counters and tokens over HTTP, for tests written in other
//! languages. Not part of the contract, and only served when the configuration enables it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::faults::FaultRule;
use crate::server::AppState;

/// `POST /_sandbox/faults`: adds a fault rule.
pub async fn inject_fault(
    State(state): State<AppState>,
    Json(rule): Json<FaultRule>,
) -> StatusCode {
    state.faults.inject(rule);
    StatusCode::CREATED
}

/// `DELETE /_sandbox/faults`: removes every fault rule.
pub async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/counters`: requests per operation.
pub async fn counters(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "total": state.counters.total(),
        "operations": state.counters.snapshot(),
    }))
}

/// `DELETE /_sandbox/counters`: starts counting from zero.
pub async fn reset_counters(State(state): State<AppState>) -> StatusCode {
    state.counters.reset();
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/expire-tokens`: every token issued so far expires now.
pub async fn expire_tokens(State(state): State<AppState>) -> StatusCode {
    state.store().expire_tokens();
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/databases/{database_id}/token`: a database token, without the token flow.
pub async fn database_token(
    State(state): State<AppState>,
    Path(database): Path<String>,
) -> Json<Value> {
    Json(json!({ "token": state.store().issue_database_token(&database) }))
}
