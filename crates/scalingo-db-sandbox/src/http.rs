//! Small readers of request parts shared by the handlers: credentials, JSON bodies, and the
//! sandbox's public base URL.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, HOST};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::Value;

use crate::error::ApiError;

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// The password of `Authorization: Basic <base64(user:password)>`.
pub fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    Some(password.to_owned()).filter(|password| !password.is_empty())
}

/// A JSON request body; an empty body reads as `null`.
pub fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(bad_json)
}

/// The 400 for a body that is not JSON or not of the expected shape, worded as the service words
/// it; `problem` names the field when it can (a `serde_path_to_error` error does).
pub fn bad_json(problem: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!(
        "There was a problem in the JSON you submitted: {problem}"
    ))
}

/// The sandbox's base URL as this client reached it, for links it answers.
pub fn public_base(headers: &HeaderMap, fallback: &str) -> String {
    headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| !host.is_empty() && !host.contains(['/', ' ', '@']))
        .map(|host| format!("http://{host}"))
        .unwrap_or_else(|| fallback.to_owned())
}
