//! Every operation of the contract on the wire, driven by openapi.yaml itself: for each
//! [`OperationId`], through an exhaustive `match` (a new operation does not compile until it has
//! a case here), the facade must send exactly the operation table's method and path (under its
//! server's prefix), the headers of its security scheme, its body when it has one, and decode
//! every example of its success answer that openapi.yaml gives, read at test time.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use httpmock::{Mock, MockServer, When};
use scalingo_db::{ArchiveUrl, Client, Database, NewUser, OperationId, ResponseMeta, RetryPolicy};
use scalingo_db_generated::types::{AddonTokenResponse, UserToken};
use scalingo_db_generated::{Credential, SecurityScheme};
use serde_json::{Value, json};

use crate::contract::{Contract, Example, Success};
use crate::support::{DB, TOKEN, api_headers, basic_authorization, json_body_headers};

/// The path parameters of every case.
const USERNAME: &str = "my_app_4553";
const BACKUP_ID: &str = "5b8b36104ffb090be1ac3ce1";
const APP: &str = "my-app";
/// The operation of openapi.yaml's examples.
const OPERATION_ID: &str = "5c10e85ca506b701f42f92dc";
/// The credentials of the token flow and of an archive link.
const API_TOKEN: &str = "tk-us-matrix-SENTINEL";
const USER_TOKEN: &str = "user-token-of-the-matrix";
const LINK_TOKEN: &str = "link-token-of-the-matrix";
/// What the mock names each answer, for the call's metadata.
const REQUEST_ID: &str = "5e1f0c2a9b8d47f6a3c2e1d0f9b8a7c6";

/// `operation`'s path with its parameters filled in, under its server's prefix.
fn full_path(operation: OperationId) -> String {
    let path = operation
        .path()
        .replace("{database_id}", DB)
        .replace("{username}", USERNAME)
        .replace("{backup_id}", BACKUP_ID)
        .replace("{app}", APP)
        .replace("{addon_id}", DB)
        .replace("{operation_id}", OPERATION_ID);
    assert!(
        !path.contains('{'),
        "{operation}: a parameter is left: {path}"
    );
    format!("{}{path}", operation.server().path_prefix())
}

/// The request `operation` must be on the wire: its method and path, the headers of its
/// security scheme with `credential`, and `body` (or no body at all).
fn expected_request(
    when: When,
    operation: OperationId,
    credential: &str,
    body: Option<&Value>,
) -> When {
    let when = when.method(operation.method()).path(full_path(operation));
    let when = match operation.security() {
        Some(SecurityScheme::DatabaseToken) => {
            assert_eq!(credential, TOKEN, "the support's headers carry TOKEN");
            if body.is_some() {
                json_body_headers(when)
            } else {
                api_headers(when)
            }
        }
        Some(
            scheme @ (SecurityScheme::ApiToken
            | SecurityScheme::UserToken
            | SecurityScheme::ArchiveLink),
        ) => {
            let when = match scheme.credential() {
                Credential::Bearer => when.header("authorization", format!("Bearer {credential}")),
                Credential::Basic => when.header("authorization", basic_authorization(credential)),
                Credential::Query(name) => when
                    .query_param(name, credential)
                    .header_missing("authorization"),
                Credential::Header(name) => when
                    .header(name, credential)
                    .header_missing("authorization"),
            };
            let accept = if scheme == SecurityScheme::ArchiveLink {
                "application/octet-stream"
            } else {
                "application/json"
            };
            when.header("accept", accept)
                .header("user-agent", scalingo_db::default_user_agent())
                .header_missing("api-version")
        }
        None => when.header_missing("authorization"),
    };
    match (body, operation.method()) {
        (Some(body), _) => when.json_body(body.clone()),
        // httpmock refuses a body matcher on a GET, which has none anyway.
        (None, "GET") => when.header_missing("content-type"),
        (None, _) => when.header_missing("content-type").body(""),
    }
}

/// A mock of `operation` on `server` that answers `status` with `answer` (a JSON body, or none).
async fn mock_operation<'a>(
    server: &'a MockServer,
    operation: OperationId,
    credential: &str,
    body: Option<&Value>,
    status: u16,
    answer: Option<&Value>,
) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            expected_request(when, operation, credential, body);
            let then = then.status(status).header("x-request-id", REQUEST_ID);
            if let Some(answer) = answer {
                then.header("content-type", "application/json")
                    .json_body(answer.clone());
            }
        })
        .await
}

/// A clock standing before the contract's example tokens expire (their `exp` is in 2026), so
/// that they are fresh whatever the date.
struct FixedClock;

impl scalingo_db::Clock for FixedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        panic!("nothing retries here, so nothing sleeps")
    }
}

/// [`DB`] with [`TOKEN`], every server at `server`.
fn database_token_client(server: &MockServer) -> Database {
    Client::builder()
        .all_servers_at(server.base_url())
        .database_token(DB, TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
        .database(DB)
}

/// [`DB`] of [`APP`] with [`API_TOKEN`], the token flow's hosts and the Database API (under its
/// prefix) at `server`.
fn api_token_client(server: &MockServer) -> Database {
    Client::builder()
        .auth_url(server.base_url())
        .main_api_url(server.base_url())
        .database_api_url(server.url(scalingo_db::Server::DatabaseApi.path_prefix()))
        .api_token(API_TOKEN)
        .app(APP)
        .retry(RetryPolicy::none())
        .clock(FixedClock)
        .build()
        .expect("client")
        .database(DB)
}

/// Asserts that `mock` received its one request and the call saw the answer's status and id.
async fn assert_exchanged(mock: &Mock<'_>, meta: &ResponseMeta, status: u16, what: &str) {
    assert_eq!(
        mock.calls_async().await,
        1,
        "{what}: the request on the wire"
    );
    assert_eq!(meta.status, status, "{what}");
    assert_eq!(meta.request_id.as_deref(), Some(REQUEST_ID), "{what}");
    assert_eq!(meta.attempts, 1, "{what}");
}

/// Asserts that `decoded` has every field of `example` with its value: `null` where absent,
/// dates as the same instant in any offset, unknown extra fields of `decoded` allowed.
fn assert_fields(decoded: &Value, example: &Value, at: &str) {
    match (example, decoded) {
        (Value::Object(expected), Value::Object(got)) => {
            for (key, value) in expected {
                let at = format!("{at}.{key}");
                match got.get(key) {
                    Some(got) => assert_fields(got, value, &at),
                    None => assert!(value.is_null(), "{at}: missing from {decoded}"),
                }
            }
        }
        (Value::Array(expected), Value::Array(got)) => {
            assert_eq!(got.len(), expected.len(), "{at}: {decoded}");
            for (index, (got, value)) in got.iter().zip(expected).enumerate() {
                assert_fields(got, value, &format!("{at}[{index}]"));
            }
        }
        (Value::String(expected), Value::String(got)) if expected != got => {
            let instant = |text: &str| chrono::DateTime::parse_from_rfc3339(text).ok();
            assert!(
                instant(expected).is_some() && instant(expected) == instant(got),
                "{at}: {got:?}, the example says {expected:?}"
            );
        }
        _ => assert_eq!(decoded, example, "{at}"),
    }
}

/// The object an example wraps in `key` (what the service sends), or the example itself (the
/// unwrapped shape of the documentation).
fn opened<'a>(example: &'a Value, key: &str) -> &'a Value {
    example.get(key).unwrap_or(example)
}

/// For each success example of `$operation`: serves it as the answer to the request the contract
/// expects (with `$body`), makes the call `$call` on a database-token client `$db`, checks the
/// exchange, and checks that the value (as `$show` turns it into JSON) has every field of the
/// example, under `$key` when the service wraps it. Evaluates to how many examples it decoded.
macro_rules! each_example {
    (
        $success:expr, $operation:expr, $body:expr, $key:expr,
        |$db:ident| $call:expr, |$value:ident| $show:expr
    ) => {{
        let success: &Success = $success;
        let mut decoded = 0;
        for example in &success.examples {
            let what = format!("{}, example {}", $operation, example.name);
            let server = MockServer::start_async().await;
            let answer = Some(&example.value);
            let mock =
                mock_operation(&server, $operation, TOKEN, $body, success.status, answer).await;
            let $db = database_token_client(&server);
            let ($value, meta) = $call
                .with_meta()
                .await
                .unwrap_or_else(|error| panic!("{what}: {error}"));
            assert_exchanged(&mock, &meta, success.status, &what).await;
            let expected = match $key {
                Some(key) => opened(&example.value, key),
                None => &example.value,
            };
            assert_fields(&$show, expected, &what);
            decoded += 1;
        }
        decoded
    }};
}

#[tokio::test]
async fn every_operation_is_sent_as_the_contract_says_and_every_success_example_decodes() {
    let contract = Contract::get();

    // The generated table has every operation of the contract, and only those.
    let in_contract = contract.operation_ids();
    let in_table: BTreeSet<String> = OperationId::ALL
        .iter()
        .map(|operation| operation.name().to_owned())
        .collect();
    assert_eq!(in_table, in_contract);

    let mut decoded = 0;
    let mut examples_in_contract = 0;
    for operation in OperationId::ALL {
        let success = contract.success(operation);
        if success.json {
            assert!(
                !success.examples.is_empty(),
                "{operation}: its success answer is JSON but openapi.yaml gives no example"
            );
        }
        examples_in_contract += success.examples.len();
        let status = success.status;
        let what = |example: &Example| format!("{operation}, example {}", example.name);

        match operation {
            OperationId::GetDatabase => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("database"),
                    |db| db.show(),
                    |value| json!(&value)
                );
            }
            OperationId::UpdateDatabase => {
                // The facade's body is the contract's example: a schedule at its hour.
                let body = contract.request_example(operation).expect("a body");
                let hour = body["database"]["periodic_backups_scheduled_at"]
                    .as_u64()
                    .and_then(|hour| u8::try_from(hour).ok())
                    .expect("an hour");
                assert_eq!(body["database"]["periodic_backups_enabled"], json!(true));
                for example in &success.examples {
                    let server = MockServer::start_async().await;
                    let mock = mock_operation(
                        &server,
                        operation,
                        TOKEN,
                        Some(&body),
                        status,
                        Some(&example.value),
                    )
                    .await;
                    let (schedule, meta) = database_token_client(&server)
                        .backups()
                        .schedule_at(hour)
                        .with_meta()
                        .await
                        .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_exchanged(&mock, &meta, status, &what(example)).await;
                    let database = &example.value["database"];
                    assert_eq!(
                        json!(schedule.enabled),
                        database["periodic_backups_enabled"],
                        "{}",
                        what(example)
                    );
                    assert_eq!(
                        json!(schedule.hours_utc),
                        database["periodic_backups_scheduled_at"],
                        "{}",
                        what(example)
                    );
                    decoded += 1;
                }
            }
            OperationId::GetRecoveryWindow => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("recovery_window"),
                    |db| db.pitr().window(),
                    |value| json!(&value)
                );
            }
            OperationId::RestoreDatabase => {
                // The restore first reads the window (its example holds the request's time) and,
                // answered the operation's id alone, reads the operation (its example).
                let body = contract.request_example(operation).expect("a body");
                let at = body["restore_time"]
                    .as_str()
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                    .expect("a time")
                    .to_utc();
                let window = contract.success(OperationId::GetRecoveryWindow);
                let operation_example = contract.success(OperationId::GetOperation);
                for example in &success.examples {
                    let server = MockServer::start_async().await;
                    mock_operation(
                        &server,
                        OperationId::GetRecoveryWindow,
                        TOKEN,
                        None,
                        window.status,
                        Some(&window.examples[0].value),
                    )
                    .await;
                    let mock = mock_operation(
                        &server,
                        operation,
                        TOKEN,
                        Some(&body),
                        status,
                        Some(&example.value),
                    )
                    .await;
                    let read = mock_operation(
                        &server,
                        OperationId::GetOperation,
                        TOKEN,
                        None,
                        operation_example.status,
                        Some(&operation_example.examples[0].value),
                    )
                    .await;
                    let (restore, meta) = database_token_client(&server)
                        .pitr()
                        .restore(at)
                        .with_meta()
                        .await
                        .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_exchanged(&mock, &meta, status, &what(example)).await;
                    let expected = match example.value.get("operation_id") {
                        Some(id) => {
                            assert_eq!(id, OPERATION_ID, "{}: the id read", what(example));
                            assert_eq!(read.calls_async().await, 1, "{}", what(example));
                            &operation_example.examples[0].value["operation"]
                        }
                        None => {
                            assert_eq!(read.calls_async().await, 0, "{}", what(example));
                            &example.value["operation"]
                        }
                    };
                    assert_fields(&json!(&restore), expected, &what(example));
                    decoded += 1;
                }
            }
            OperationId::GetOperation => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("operation"),
                    |db| db.operations().get(OPERATION_ID),
                    |value| json!(&value)
                );
            }
            OperationId::ListUsers => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("database-users"),
                    |db| db.users().list(),
                    |value| json!(&value)
                );
            }
            OperationId::CreateUser => {
                // The facade's body is the contract's example, for this database.
                let mut body = contract.request_example(operation).expect("a body");
                body["database_user"]["database_id"] = json!(DB);
                let fields = &body["database_user"];
                let user = NewUser::new(fields["name"].as_str().expect("a name"))
                    .password(fields["password"].as_str().expect("a password"))
                    .read_only(fields["read_only"].as_bool().expect("read_only"));
                decoded += each_example!(
                    &success,
                    operation,
                    Some(&body),
                    Some("database_user"),
                    |db| db.users().create(user.clone()),
                    |value| json!(&value)
                );
            }
            OperationId::DeleteUser => {
                assert!(!success.json, "{operation}: decode its JSON answer here");
                let server = MockServer::start_async().await;
                let mock = mock_operation(&server, operation, TOKEN, None, status, None).await;
                let ((), meta) = database_token_client(&server)
                    .users()
                    .delete(USERNAME)
                    .with_meta()
                    .await
                    .expect("delete");
                assert_exchanged(&mock, &meta, status, operation.name()).await;
            }
            OperationId::UpdateUserPassword => {
                let mut body = contract.request_example(operation).expect("a body");
                body["database_user"]["database_id"] = json!(DB);
                let password = body["database_user"]["password"]
                    .as_str()
                    .expect("a password")
                    .to_owned();
                decoded += each_example!(
                    &success,
                    operation,
                    Some(&body),
                    Some("database_user"),
                    |db| db.users().update_password(USERNAME, password.as_str()),
                    |value| json!(&value)
                );
            }
            OperationId::ResetUserPassword => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("database_user"),
                    |db| db.users().reset_password(USERNAME),
                    |value| json!(&value)
                );
            }
            OperationId::ListBackups => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("database_backups"),
                    |db| db.backups().list(),
                    |value| json!(&value)
                );
            }
            OperationId::CreateBackup => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("database_backup"),
                    |db| db.backups().create(),
                    |value| json!(&value)
                );
            }
            OperationId::GetBackupById => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    Some("database_backup"),
                    |db| db.backups().get(BACKUP_ID),
                    |value| json!(&value)
                );
            }
            OperationId::GetBackup => {
                // The JavaScript client's nested path, which the facade does not take (it shows a
                // backup through `get_backup_by_id`): its answers decode as the same wire type.
                for example in &success.examples {
                    let answer: scalingo_db_generated::types::BackupResponse =
                        serde_json::from_value(example.value.clone())
                            .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_fields(&json!(&answer), &example.value, &what(example));
                    decoded += 1;
                }
            }
            OperationId::GetBackupArchiveUrl => {
                decoded += each_example!(
                    &success,
                    operation,
                    None,
                    None,
                    |db| db.backups().archive_url(BACKUP_ID),
                    |link| json!({"download_url": link.expose()})
                );
            }
            OperationId::DownloadBackupArchive => {
                // An archive, not JSON: the whole of it (200), then the rest of it from byte 4
                // (206), as the contract's two successes.
                assert!(!success.json, "{operation}: decode its JSON answer here");
                let server = MockServer::start_async().await;
                let archive: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
                let whole = server
                    .mock_async(|when, then| {
                        expected_request(when, operation, LINK_TOKEN, None).header_missing("range");
                        then.status(status)
                            .header("content-type", "application/octet-stream")
                            .body(archive.clone());
                    })
                    .await;
                let rest = server
                    .mock_async(|when, then| {
                        expected_request(when, operation, LINK_TOKEN, None)
                            .header("range", "bytes=4-");
                        then.status(206)
                            .header("content-type", "application/octet-stream")
                            .header("content-range", "bytes 4-4095/4096")
                            .body(&archive[4..]);
                    })
                    .await;
                let link = ArchiveUrl::new(
                    server.url(format!("{}?token={LINK_TOKEN}", full_path(operation))),
                );
                let db = database_token_client(&server);
                for (from, mock) in [(0, &whole), (4, &rest)] {
                    let mut stream = db
                        .backups()
                        .open_archive_from(&link, from)
                        .await
                        .unwrap_or_else(|error| panic!("{operation} from {from}: {error}"));
                    let mut received = Vec::new();
                    while let Some(chunk) = stream.chunk().await.expect("chunk") {
                        received.extend_from_slice(&chunk);
                    }
                    assert!(
                        received[..] == archive[from as usize..],
                        "{operation} from {from}: other bytes"
                    );
                    assert_eq!(mock.calls_async().await, 1, "{operation} from {from}");
                }
            }
            OperationId::ExchangeApiToken => {
                // The facade decodes the user token if it then asks for the database token with
                // it.
                for example in &success.examples {
                    let user_token: UserToken = serde_json::from_value(example.value.clone())
                        .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_fields(&json!(&user_token), &example.value, &what(example));
                    let server = MockServer::start_async().await;
                    let exchange = mock_operation(
                        &server,
                        operation,
                        API_TOKEN,
                        None,
                        status,
                        Some(&example.value),
                    )
                    .await;
                    let addon = json!({"addon": {"id": DB, "token": TOKEN}});
                    let addon_token = mock_operation(
                        &server,
                        OperationId::GetAddonToken,
                        user_token.token.expose(),
                        None,
                        200,
                        Some(&addon),
                    )
                    .await;
                    let users = json!({"database-users": []});
                    let list = mock_operation(
                        &server,
                        OperationId::ListUsers,
                        TOKEN,
                        None,
                        200,
                        Some(&users),
                    )
                    .await;
                    let (_, meta) = api_token_client(&server)
                        .users()
                        .list()
                        .with_meta()
                        .await
                        .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_eq!(exchange.calls_async().await, 1, "{}", what(example));
                    assert_eq!(addon_token.calls_async().await, 1, "{}", what(example));
                    assert_exchanged(&list, &meta, 200, &what(example)).await;
                    decoded += 1;
                }
            }
            OperationId::GetAddonToken => {
                // The facade decodes the database token if it then calls the Database API with
                // it.
                for example in &success.examples {
                    let response: AddonTokenResponse =
                        serde_json::from_value(example.value.clone())
                            .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_fields(&json!(&response), &example.value, &what(example));
                    let server = MockServer::start_async().await;
                    let user_token = json!({"token": USER_TOKEN});
                    let exchange = mock_operation(
                        &server,
                        OperationId::ExchangeApiToken,
                        API_TOKEN,
                        None,
                        200,
                        Some(&user_token),
                    )
                    .await;
                    let addon_token = mock_operation(
                        &server,
                        operation,
                        USER_TOKEN,
                        None,
                        status,
                        Some(&example.value),
                    )
                    .await;
                    let list = server
                        .mock_async(|when, then| {
                            when.method("GET")
                                .path(full_path(OperationId::ListBackups))
                                .header(
                                    "authorization",
                                    format!("Bearer {}", response.addon.token.expose()),
                                );
                            then.status(200)
                                .header("x-request-id", REQUEST_ID)
                                .json_body(json!({"database_backups": []}));
                        })
                        .await;
                    let (_, meta) = api_token_client(&server)
                        .backups()
                        .list()
                        .with_meta()
                        .await
                        .unwrap_or_else(|error| panic!("{}: {error}", what(example)));
                    assert_eq!(exchange.calls_async().await, 1, "{}", what(example));
                    assert_eq!(addon_token.calls_async().await, 1, "{}", what(example));
                    assert_exchanged(&list, &meta, 200, &what(example)).await;
                    decoded += 1;
                }
            }
        }
    }
    assert!(examples_in_contract > 0);
    assert_eq!(
        decoded, examples_in_contract,
        "every success example of the contract was decoded"
    );
}
