//! The hand-written seams of the generated routes (`generated_api.rs` calls them by path): where
//! a credential is read from, how a path or a JSON body is refused, how an answer is written.
//! They hold no rule of the contract; the rules come in as tables.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use scalingo_db_generated::Credential;
use scalingo_db_generated::rules::{self, FieldRule};
use serde_json::Value;

use crate::error::ApiError;
use crate::timeouts::BodyStalled;

/// The credential of a request, taken where `credential` says it travels: the token of
/// `Authorization: Bearer`, the password of `Authorization: Basic`, a query parameter's value
/// (percent-decoded) or a header's value. `None` when it is absent, unreadable or empty.
pub fn credential(
    credential: Credential,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Option<String> {
    let found = match credential {
        Credential::Bearer => authorization(headers, "bearer").map(str::to_owned),
        Credential::Basic => basic_password(authorization(headers, "basic")?),
        Credential::Query(name) => query_parameter(query?, name),
        Credential::Header(name) => headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_owned()),
    };
    found.filter(|value| !value.is_empty())
}

/// What follows `<scheme> ` in the `Authorization` header, if the scheme is `scheme` (in any
/// case).
fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (sent, rest) = value.split_once(' ')?;
    sent.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// The password of `base64(user:password)`.
fn basic_password(encoded: &str) -> Option<String> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (_, password) = decoded.split_once(':')?;
    Some(password.to_owned())
}

/// The value of the first `name=` parameter of a query string, decoded as a form is (`%XX`
/// escapes, `+` for a space), as the link's issuer encoded it.
fn query_parameter(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The 400 for a path whose parameters cannot be read (not UTF-8 once decoded); a route that
/// lacks a parameter its operation names is the sandbox's fault, a 500.
pub fn bad_path(rejection: PathRejection) -> ApiError {
    match rejection {
        PathRejection::MissingPathParams(missing) => ApiError::Internal(missing.body_text()),
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// The largest request body the sandbox reads, in bytes (axum's default, made explicit so that
/// the refusal can say it): the contract's bodies are a few hundred bytes.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The refusal of a body that cannot be read, in the contract's error shape: 413 when it is
/// larger than [`BODY_LIMIT`], 408 when it stopped arriving ([`BodyStalled`]), else 400 (a
/// broken chunked encoding, a connection that ended mid-body), saying what went wrong.
pub fn bad_body(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(format!(
            "the request body is larger than the {BODY_LIMIT} bytes the sandbox reads"
        ));
    }
    let mut causes = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
    while let Some(error) = cause {
        if let Some(stalled) = error.downcast_ref::<BodyStalled>() {
            return ApiError::RequestTimeout(format!("the request body {stalled}"));
        }
        causes.push(error.to_string());
        cause = error.source();
    }
    // Each layer often repeats the one below it: keep the innermost, which is the most precise.
    let why = causes.last().map_or("unknown error", String::as_str);
    ApiError::BadRequest(format!("the request body could not be read: {why}"))
}

/// A request body of type `T`: an empty body reads as `null`; the contract's `rules` are checked
/// first (422, per field, quoting each rule), then the body is read as `T` (400, naming the
/// field that has the wrong type). A body that breaks both is a 422, as the service answers.
pub fn json_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    rules: &[FieldRule],
) -> Result<T, ApiError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(bad_json)?
    };
    objects_where_the_rules_say(&value, rules)?;
    let violations = rules::check(&value, rules);
    if !violations.is_empty() {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for violation in violations {
            errors
                .entry(violation.field.to_owned())
                .or_default()
                .push(format!("{} (rule: {})", violation.problem, violation.rule));
        }
        return Err(ApiError::Unprocessable(errors));
    }
    serde_path_to_error::deserialize(value).map_err(bad_json)
}

/// A 400 when the body, or an object the `rules` reach into, is there but not an object: serde
/// would read a struct from an array (`{"database": [true, 3]}`) as readily as from an object.
fn objects_where_the_rules_say(body: &Value, rules: &[FieldRule]) -> Result<(), ApiError> {
    for rule in rules {
        for depth in 0..rule.path.len() {
            let parent = &rule.path[..depth];
            let found = parent.iter().try_fold(body, |value, key| value.get(key));
            match found {
                // Absent, or the empty body: what is missing is the rules' to say.
                None | Some(Value::Null | Value::Object(_)) => {}
                Some(other) => {
                    let at = if parent.is_empty() {
                        "the body".to_owned()
                    } else {
                        parent.join(".")
                    };
                    return Err(bad_json(format!(
                        "{at}: invalid type: {}, expected an object",
                        json_kind(other)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `sequence`, `string`, ...: a JSON value's kind as serde names it.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "map",
    }
}

/// The 400 for a body that is not JSON or not of the expected shape, worded as the service words
/// it; `problem` names the field when it can (a `serde_path_to_error` error does).
pub fn bad_json(problem: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!(
        "There was a problem in the JSON you submitted: {problem}"
    ))
}

/// An answer of `status` with `body` as JSON.
pub fn json_answer(status: u16, body: &impl serde::Serialize) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        // Only a map with non-string keys fails to serialize; no answer of the contract has one.
        Err(error) => axum::response::IntoResponse::into_response(ApiError::Internal(format!(
            "the answer cannot be written as JSON: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalingo_db_generated::rules::tables;
    use scalingo_db_generated::types::{CreateUserRequest, UpdateDatabaseRequest};

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("a header value"),
        );
        headers
    }

    #[test]
    fn credentials_are_read_where_their_scheme_says() {
        let bearer = headers("bearer  tok.en ");
        assert_eq!(
            credential(Credential::Bearer, &bearer, None).as_deref(),
            Some("tok.en")
        );
        assert_eq!(credential(Credential::Basic, &bearer, None), None);

        // `:secret`, as `curl -u ":secret"` sends it.
        let basic = headers("Basic OnNlY3JldA==");
        assert_eq!(
            credential(Credential::Basic, &basic, None).as_deref(),
            Some("secret")
        );
        assert_eq!(credential(Credential::Bearer, &basic, None), None);
        assert_eq!(
            credential(Credential::Basic, &headers("Basic Og=="), None),
            None
        );
        assert_eq!(
            credential(Credential::Bearer, &headers("Bearer "), None),
            None
        );

        let query = Some("a=1&token=x%2By+z%&token=second");
        let none = HeaderMap::new();
        assert_eq!(
            credential(Credential::Query("token"), &none, query).as_deref(),
            Some("x+y z%")
        );
        assert_eq!(credential(Credential::Query("token"), &none, None), None);
        assert_eq!(
            credential(Credential::Query("token"), &none, Some("token=")),
            None
        );
        // Bytes that are not UTF-8 decode to U+FFFD, as forms decode: no token is that.
        assert_eq!(
            credential(Credential::Query("token"), &none, Some("token=%FF")).as_deref(),
            Some("\u{FFFD}")
        );

        let mut custom = HeaderMap::new();
        custom.insert("x-api-key", HeaderValue::from_static(" key "));
        assert_eq!(
            credential(Credential::Header("x-api-key"), &custom, None).as_deref(),
            Some("key")
        );
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_400_that_names_it_and_a_broken_rule_a_422() {
        let body =
            Bytes::from_static(br#"{"database_user": {"name": "abcdefg", "read_only": "yes"}}"#);
        let refused = json_body::<CreateUserRequest>(&body, tables::CREATE_USER);
        assert_eq!(
            refused.map(drop),
            Err(ApiError::BadRequest(
                "There was a problem in the JSON you submitted: database_user.read_only: \
                 invalid type: string \"yes\", expected a boolean"
                    .to_owned()
            ))
        );

        // A body that breaks a rule too is a 422 about that rule.
        let body = Bytes::from_static(br#"{"database_user": {"name": "a", "read_only": "yes"}}"#);
        let refused = json_body::<CreateUserRequest>(&body, tables::CREATE_USER);
        assert!(
            matches!(&refused, Err(ApiError::Unprocessable(errors)) if errors.contains_key("name")),
            "{refused:?}"
        );
    }

    #[test]
    fn an_array_where_the_contract_has_an_object_is_a_400_that_names_it() {
        for (body, at) in [
            (
                &br#"{"database": [null, null]}"#[..],
                "database: invalid type: sequence",
            ),
            (
                br#"[{"periodic_backups_enabled": true}]"#,
                "the body: invalid type: sequence",
            ),
            (br#"{"database": "on"}"#, "database: invalid type: string"),
        ] {
            let refused = json_body::<UpdateDatabaseRequest>(
                &Bytes::copy_from_slice(body),
                tables::UPDATE_DATABASE,
            );
            assert_eq!(
                refused.map(drop),
                Err(ApiError::BadRequest(format!(
                    "There was a problem in the JSON you submitted: {at}, expected an object"
                ))),
            );
        }
    }

    #[test]
    fn an_empty_body_reads_as_null_and_broken_json_is_a_400() {
        let refused =
            json_body::<CreateUserRequest>(&Bytes::from_static(b"  "), tables::CREATE_USER);
        assert!(
            matches!(&refused, Err(ApiError::Unprocessable(errors)) if errors.contains_key("name")),
            "the required name is missing: {refused:?}"
        );
        let refused =
            json_body::<CreateUserRequest>(&Bytes::from_static(b"{"), tables::CREATE_USER);
        assert!(
            matches!(&refused, Err(ApiError::BadRequest(message))
                if message.starts_with("There was a problem in the JSON you submitted: ")),
            "{refused:?}"
        );
        let read: Value = json_body(&Bytes::new(), &[]).expect("no rules");
        assert_eq!(read, Value::Null);
    }

    #[test]
    fn answers_are_json_with_their_status() {
        let response = json_answer(201, &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            http_body::Body::size_hint(response.body()).exact(),
            Some(7),
            "an exact length, which a truncating fault announces"
        );
    }
}
