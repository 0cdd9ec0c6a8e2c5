//! Fuzz targets of what the facade makes of a server's answers: any failing answer (status,
//! headers, body, or the service's JSON error with any text in it) maps to an error without a
//! panic, whose message is one line of text; and no
//! secret a body carries survives into the snippet an error shows. Tests that run random inputs
//! for a second each (`BOLERO_RANDOM_TEST_TIME_MS` sets longer); `cargo bolero test <name>` runs
//! them under libFuzzer (nightly).

use std::time::{Duration, UNIX_EPOCH};

use bolero::check;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use scalingo_db_generated::SECRET_FIELDS;

use crate::error::from_status;
use crate::redact;

#[test]
fn fuzz_any_failing_answer_is_a_typed_error_in_one_line() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    check!()
        .with_type::<(u16, Vec<u8>, Vec<u8>)>()
        .for_each(|(status, retry_after, body)| {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(retry_after) {
                headers.insert(RETRY_AFTER, value);
            }
            let error = from_status(*status, &headers, body, now);
            let shown = error.to_string();
            assert!(!shown.is_empty());
            assert!(!shown.chars().any(char::is_control), "{status}: {shown:?}");
            if (400..600).contains(status) {
                assert_eq!(error.status(), Some(*status), "{shown}");
            }
        });
}

#[test]
fn fuzz_a_service_error_of_any_text_is_shown_in_one_line() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    check!()
        .with_type::<(u16, String, String, String, String)>()
        .for_each(|(status, message, resource, field, problem)| {
            let body = serde_json::json!({
                "error": message,
                "resource": resource,
                "errors": { field: [problem] },
            });
            let error = from_status(
                400 + status % 200,
                &HeaderMap::new(),
                body.to_string().as_bytes(),
                now,
            );
            let shown = error.to_string();
            assert!(!shown.chars().any(char::is_control), "{body} → {shown:?}");
        });
}

#[test]
fn fuzz_a_secret_in_a_body_never_reaches_the_snippet() {
    check!()
        .with_type::<(String, u8, u64, String)>()
        .for_each(|(before, field, secret, after)| {
            let field = SECRET_FIELDS[usize::from(*field) % SECRET_FIELDS.len()];
            // Long and unlike anything else in the body, so that finding it means it leaked.
            let secret = format!("S3cr3t{secret:020}");
            let body = format!("{before}\"{field}\": \"{secret}\"{after}");
            let snippet = redact::snippet(body.as_bytes());
            assert!(!snippet.contains(&secret), "{body:?} → {snippet:?}");
        });
}
