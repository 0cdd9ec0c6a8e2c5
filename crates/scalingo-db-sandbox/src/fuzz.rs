//! Fuzz targets of what the sandbox parses from any client: `Range` headers and request bodies.
//! A range is within the archive or refused; a body is read, or refused with the contract's 400
//! or 422, and what is read keeps the rules. Tests that run random inputs for a second each
//! (`BOLERO_RANDOM_TEST_TIME_MS` sets longer); `cargo bolero test <name>` runs them under
//! libFuzzer (nightly).

use axum::body::Bytes;
use bolero::check;
use scalingo_db_generated::rules::{self, tables};
use scalingo_db_generated::types::{
    CreateUserRequest, RestoreRequest, UpdateDatabaseRequest, UpdateUserPasswordRequest,
};

use crate::archive::{RangeRequest, parse_range};
use crate::error::ApiError;
use crate::http::json_body;

#[test]
fn fuzz_any_range_header_is_within_the_archive_or_refused() {
    check!()
        .with_type::<(String, u64)>()
        .for_each(|(header, len)| match parse_range(Some(header), *len) {
            RangeRequest::Full => {}
            RangeRequest::Partial(range) => {
                assert!(
                    range.start < range.end && range.end <= *len,
                    "{header:?} of {len}: {range:?}"
                );
            }
            RangeRequest::Unsatisfiable => {}
        });
}

/// Reads `body` as `T` with `table`, and checks that it is refused as the contract says or read
/// into a body that keeps the rules.
fn read<T: serde::de::DeserializeOwned + serde::Serialize>(
    body: &[u8],
    table: &[rules::FieldRule],
) {
    match json_body::<T>(&Bytes::copy_from_slice(body), table) {
        Ok(read) => {
            let value = serde_json::to_value(&read).expect("a body serializes");
            assert_eq!(
                rules::check(&value, table),
                [],
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        Err(ApiError::BadRequest(message)) => assert!(!message.is_empty()),
        Err(ApiError::Unprocessable(errors)) => assert!(!errors.is_empty()),
        Err(other) => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
    }
}

#[test]
fn fuzz_any_request_body_is_read_or_refused_with_the_contracts_answer() {
    check!()
        .with_type::<(u8, Vec<u8>)>()
        .for_each(|(kind, body)| match kind % 4 {
            0 => read::<CreateUserRequest>(body, tables::CREATE_USER),
            1 => read::<UpdateUserPasswordRequest>(body, tables::UPDATE_USER_PASSWORD),
            2 => read::<UpdateDatabaseRequest>(body, tables::UPDATE_DATABASE),
            _ => read::<RestoreRequest>(body, tables::RESTORE_DATABASE),
        });
}
