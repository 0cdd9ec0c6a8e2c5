//! Every kind of failing answer, against every operation of a database the contract has (from its
//! operation table): each ends in the right typed error with a message a person understands and
//! the answer's request id, never in a panic, and never shows a secret.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use httpmock::MockServer;
use scalingo_db::{Client, Database, Error, NewUser, OperationId, RetryPolicy};
use serde_json::json;

use crate::contract::success_status;
use crate::support::{DB, PASSWORD, TOKEN, builder, client, database, nothing_listening};

type Outcome<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// How the facade calls an operation, on the user `my_app_1` or the backup `b1`.
type Caller = for<'a> fn(&'a Database) -> Outcome<'a>;

/// One operation of the facade, with the status its success answers (the contract's).
struct Operation {
    operation: OperationId,
    success: u16,
    call: Caller,
}

/// How the facade calls `operation`, or `None` for the operations whose failing answers are
/// checked elsewhere (each arm says where). No `_` arm: an operation added to the contract does
/// not compile until it is called here or said to be covered elsewhere.
fn facade_call(operation: OperationId) -> Option<Caller> {
    let call: Caller = match operation {
        OperationId::GetDatabase => |db| Box::pin(async move { db.show().await.map(drop) }),
        OperationId::UpdateDatabase => {
            |db| Box::pin(async move { db.backups().schedule_at(3).await.map(drop) })
        }
        OperationId::GetRecoveryWindow => {
            |db| Box::pin(async move { db.pitr().window().await.map(drop) })
        }
        // The window is read before a restore is asked for, so the failing answers of any
        // request would be the window's: `every_error_answer_of_a_restore_maps_to_its_variant`
        // answers the window and fails the restore.
        OperationId::RestoreDatabase => return None,
        OperationId::GetOperation => {
            |db| Box::pin(async move { db.operations().get("op1").await.map(drop) })
        }
        OperationId::ListUsers => |db| Box::pin(async move { db.users().list().await.map(drop) }),
        OperationId::CreateUser => |db| {
            Box::pin(async move {
                let user = NewUser::new("my-user").password(PASSWORD);
                db.users().create(user).await.map(drop)
            })
        },
        OperationId::UpdateUserPassword => |db| {
            Box::pin(async move {
                db.users()
                    .update_password("my_app_1", PASSWORD)
                    .await
                    .map(drop)
            })
        },
        OperationId::ResetUserPassword => {
            |db| Box::pin(async move { db.users().reset_password("my_app_1").await.map(drop) })
        }
        OperationId::DeleteUser => {
            |db| Box::pin(async move { db.users().delete("my_app_1").await })
        }
        OperationId::ListBackups => {
            |db| Box::pin(async move { db.backups().list().await.map(drop) })
        }
        OperationId::CreateBackup => {
            |db| Box::pin(async move { db.backups().create().await.map(drop) })
        }
        OperationId::GetBackupById => {
            |db| Box::pin(async move { db.backups().get("b1").await.map(drop) })
        }
        // The JavaScript client's nested path: the facade shows a backup through
        // `get_backup_by_id`; the sandbox's answers on it are in `sandbox_backups.rs`.
        OperationId::GetBackup => return None,
        OperationId::GetBackupArchiveUrl => {
            |db| Box::pin(async move { db.backups().archive_url("b1").await.map(drop) })
        }
        // Not a JSON answer: `a_failed_archive_download_is_typed_and_hides_the_link_token` below
        // and downloads.rs check its failures.
        OperationId::DownloadBackupArchive => return None,
        // Not a call of a database but the token flow before one: api_token_auth.rs checks its
        // refusals, and retries.rs's token-flow cases every kind of failing answer on it.
        OperationId::ExchangeApiToken | OperationId::GetAddonToken => return None,
    };
    Some(call)
}

/// Every operation the facade calls on a database, from the contract's operation table.
fn every_operation() -> Vec<Operation> {
    OperationId::ALL
        .into_iter()
        .filter_map(|operation| {
            Some(Operation {
                operation,
                success: success_status(operation),
                call: facade_call(operation)?,
            })
        })
        .collect()
}

#[test]
fn success_statuses_are_read_from_the_contract() {
    for operation in OperationId::ALL {
        let status = success_status(operation);
        assert!((200..300).contains(&status), "{operation}: {status}");
    }
    // One of each kind, and the download's whole answer rather than its range answer (206).
    assert_eq!(success_status(OperationId::ListUsers), 200);
    assert_eq!(success_status(OperationId::CreateBackup), 201);
    assert_eq!(success_status(OperationId::DeleteUser), 204);
    assert_eq!(success_status(OperationId::DownloadBackupArchive), 200);
}

/// A failing answer, and what the error must then be and say.
struct Case {
    name: &'static str,
    status: u16,
    content_type: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    expect: fn(&Error) -> bool,
    says: &'static str,
}

fn error_answers() -> Vec<Case> {
    vec![
        Case {
            name: "401 with a JSON error",
            status: 401,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"token expired"}"#,
            expect: |e| matches!(e, Error::Unauthorized { message: Some(m), .. } if m == "token expired"),
            says: "the API refused the token (401 Unauthorized): token expired; check that it is a current token for this database",
        },
        Case {
            name: "403 with a JSON error",
            status: 403,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"not allowed"}"#,
            expect: |e| matches!(e, Error::Forbidden { message: Some(m), .. } if m == "not allowed"),
            says: "the API forbids this operation to this token (403 Forbidden): not allowed",
        },
        Case {
            name: "404 naming the resource",
            status: 404,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"resource":"database_user","error":"not found"}"#,
            expect: |e| {
                matches!(e, Error::NotFound { resource: Some(r), message: Some(m), .. }
                    if r == "database_user" && m == "not found")
            },
            says: "the database user was not found (404 Not Found)",
        },
        Case {
            name: "422 with field errors",
            status: 422,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"errors":{"name":["has already been taken"],"password":["is too short","is too common"]}}"#,
            expect: |e| match e {
                Error::Unprocessable { errors, .. } => {
                    errors.get("name").map(Vec::as_slice)
                        == Some(&["has already been taken".to_owned()][..])
                        && errors.get("password").map(Vec::len) == Some(2)
                }
                _ => false,
            },
            says: "the API refused the request (422 Unprocessable Entity): name has already been taken; password is too short, is too common",
        },
        Case {
            name: "plain-text 429 with Retry-After",
            status: 429,
            content_type: Some("text/plain"),
            headers: &[("retry-after", "7")],
            body: "Retry later",
            expect: |e| matches!(e, Error::RateLimited { retry_after: Some(d), .. } if *d == Duration::from_secs(7)),
            says: "the API is rate limiting this client (429 Too Many Requests); retry in 7 s",
        },
        Case {
            name: "plain-text 429 without Retry-After",
            status: 429,
            content_type: Some("text/plain"),
            headers: &[],
            body: "Retry later",
            expect: |e| {
                matches!(
                    e,
                    Error::RateLimited {
                        retry_after: None,
                        ..
                    }
                )
            },
            says: "the API is rate limiting this client (429 Too Many Requests); retry later",
        },
        Case {
            name: "400 A backup is running",
            status: 400,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"A backup is running"}"#,
            expect: |e| {
                matches!(e, Error::Refused { status: 400, message: Some(m), .. }
                    if m == "A backup is running")
            },
            says: "the API refused the request (400 Bad Request): A backup is running",
        },
        Case {
            name: "HTML 502 from a gateway",
            status: 502,
            content_type: Some("text/html"),
            headers: &[],
            body: "<html><body><h1>502 Bad Gateway</h1></body></html>",
            expect: |e| {
                matches!(
                    e,
                    Error::Server {
                        status: 502,
                        message: None,
                        ..
                    }
                )
            },
            says: "the API failed (502 Bad Gateway)",
        },
        Case {
            name: "empty 500",
            status: 500,
            content_type: None,
            headers: &[],
            body: "",
            expect: |e| {
                matches!(
                    e,
                    Error::Server {
                        status: 500,
                        message: None,
                        ..
                    }
                )
            },
            says: "the API failed (500 Internal Server Error)",
        },
        Case {
            name: "JSON 503",
            status: 503,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"upstream unavailable"}"#,
            expect: |e| matches!(e, Error::Server { status: 503, message: Some(m), .. } if m == "upstream unavailable"),
            says: "the API failed (503 Service Unavailable): upstream unavailable",
        },
        Case {
            name: "a 4xx the contract does not name, with a truncated JSON body",
            status: 409,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"conf"#,
            expect: |e| {
                matches!(
                    e,
                    Error::Refused {
                        status: 409,
                        message: None,
                        ..
                    }
                )
            },
            says: "the API refused the request (409 Conflict)",
        },
    ]
}

/// The request id every failing answer of [`serve`] carries.
const REQUEST_ID: &str = "req-3f9c2e71b0a84d56";

/// A server that answers every request with `case_status`, `body` and `headers`, and names the
/// answer [`REQUEST_ID`] as the service does.
async fn serve(
    case_status: u16,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            answer(then, case_status, content_type, headers, body);
        })
        .await;
    server
}

/// The answer of a case: `status` with `body`, its content type and `headers`, and an id.
fn answer(
    then: httpmock::Then,
    status: u16,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) {
    let mut then = then
        .status(status)
        .header("x-request-id", REQUEST_ID)
        .body(body);
    if let Some(content_type) = content_type {
        then = then.header("content-type", content_type);
    }
    for (name, value) in headers {
        then = then.header(*name, *value);
    }
}

#[tokio::test]
async fn every_error_answer_maps_to_its_variant_for_every_operation() {
    for case in error_answers() {
        let server = serve(case.status, case.content_type, case.headers, case.body).await;
        let db = client(&server);
        for Operation {
            operation, call, ..
        } in every_operation()
        {
            let name = case.name;
            let error = call(&db)
                .await
                .expect_err(&format!("{name} on {operation}: should fail"));
            assert!(
                (case.expect)(&error),
                "{name} on {operation}: unexpected error {error:?}"
            );
            assert_eq!(error.to_string(), case.says, "{name} on {operation}");
            assert_eq!(error.status(), Some(case.status), "{name} on {operation}");
            assert_eq!(
                error.request_id(),
                Some(REQUEST_ID),
                "{name} on {operation}: the answer's request id"
            );
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains(TOKEN), "{name}: the token leaked: {shown}");
        }
    }
}

/// A server whose recovery window holds [`restore_at`] and whose restore answers as [`serve`]
/// answers everything.
async fn serve_restore(
    status: u16,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> MockServer {
    let server = MockServer::start_async().await;
    let window = OperationId::GetRecoveryWindow;
    server
        .mock_async(|when, then| {
            when.method(window.method()).path(path_of(window));
            then.status(200).json_body(json!({"recovery_window": {
                "earliest_recoverable_at": "2026-08-02T00:00:00Z",
                "latest_recoverable_at": "2026-08-09T00:00:00Z",
            }}));
        })
        .await;
    let restore = OperationId::RestoreDatabase;
    server
        .mock_async(|when, then| {
            when.method(restore.method()).path(path_of(restore));
            answer(then, status, content_type, headers, body);
        })
        .await;
    server
}

/// `operation`'s path on [`DB`] ([`client`]'s Database API URL is the server's root).
fn path_of(operation: OperationId) -> String {
    operation.path().replace("{database_id}", DB)
}

/// A time within [`serve_restore`]'s window.
fn restore_at() -> chrono::DateTime<chrono::Utc> {
    "2026-08-05T23:00:00Z".parse().expect("a time")
}

#[tokio::test]
async fn every_error_answer_of_a_restore_maps_to_its_variant() {
    for case in error_answers() {
        let name = case.name;
        let server = serve_restore(case.status, case.content_type, case.headers, case.body).await;
        let error = client(&server)
            .pitr()
            .restore(restore_at())
            .await
            .expect_err(&format!("{name} on a restore: should fail"));
        assert!((case.expect)(&error), "{name} on a restore: {error:?}");
        assert_eq!(error.to_string(), case.says, "{name} on a restore");
        assert_eq!(error.status(), Some(case.status), "{name} on a restore");
        assert_eq!(error.request_id(), Some(REQUEST_ID), "{name} on a restore");
    }
    let success = success_status(OperationId::RestoreDatabase);
    for body in [r#"{"unexpected":true}"#, "<html>maintenance</html>"] {
        let server = serve_restore(success, Some("application/json"), &[], body).await;
        let error = client(&server)
            .pitr()
            .restore(restore_at())
            .await
            .expect_err(&format!("{body} on a restore: should fail"));
        assert_eq!(
            error.to_string(),
            format!(
                "could not read the API's answer: {}; the body began with: {body}",
                decode_reason(body, OperationId::RestoreDatabase)
            )
        );
    }
}

/// Why decoding `body` fails for `operation`: serde's message, which depends on what the
/// operation's answer is (a list under its key, a user or a backup, a link).
fn decode_reason(body: &str, operation: OperationId) -> &'static str {
    const TRUNCATED: &str = r#"{"database-users":[{"name":"my_app_4553","read_o"#;
    const NOT_JSON: &str = "<html>maintenance</html>";
    const OTHER_SHAPE: &str = r#"{"unexpected":true}"#;
    match (body, operation) {
        (TRUNCATED, _) => "EOF while parsing a string at line 1 column 48",
        (NOT_JSON, _) => "expected value at line 1 column 1",
        (OTHER_SHAPE, OperationId::GetDatabase | OperationId::UpdateDatabase) => {
            "missing field `database` at line 1 column 19"
        }
        (OTHER_SHAPE, OperationId::GetRecoveryWindow) => {
            "missing field `recovery_window` at line 1 column 19"
        }
        (OTHER_SHAPE, OperationId::GetOperation) => "missing field `operation` at line 1 column 19",
        (OTHER_SHAPE, OperationId::RestoreDatabase) => {
            "data did not match any variant of untagged enum RestoreResponse"
        }
        (OTHER_SHAPE, OperationId::ListUsers) => {
            "missing field `database-users` at line 1 column 19"
        }
        (OTHER_SHAPE, OperationId::ListBackups) => {
            "missing field `database_backups` at line 1 column 19"
        }
        (OTHER_SHAPE, OperationId::GetBackupArchiveUrl) => {
            "missing field `download_url` at line 1 column 19"
        }
        (
            OTHER_SHAPE,
            OperationId::CreateUser
            | OperationId::UpdateUserPassword
            | OperationId::ResetUserPassword,
        ) => "data did not match any variant of untagged enum DatabaseUserResponse",
        (OTHER_SHAPE, OperationId::CreateBackup | OperationId::GetBackupById) => {
            "data did not match any variant of untagged enum BackupResponse"
        }
        _ => panic!("no decoding reason for {operation} and {body}"),
    }
}

#[tokio::test]
async fn malformed_success_bodies_are_decode_errors_with_a_snippet() {
    let bodies = [
        (
            "truncated JSON",
            r#"{"database-users":[{"name":"my_app_4553","read_o"#,
        ),
        ("not JSON at all", "<html>maintenance</html>"),
        ("JSON of another shape", r#"{"unexpected":true}"#),
    ];
    for (what, body) in bodies {
        for Operation {
            operation,
            success,
            call,
        } in every_operation()
        {
            if success == 204 {
                continue; // a 204 has no body to decode
            }
            let server = serve(success, Some("application/json"), &[], body).await;
            let error = call(&client(&server))
                .await
                .expect_err(&format!("{what} on {operation}: should fail"));
            let Error::Decode { snippet, .. } = &error else {
                panic!("{what} on {operation}: expected a decode error, got {error:?}");
            };
            // These bodies are short and hold no secret: the snippet is the whole body.
            assert_eq!(snippet, body, "{what} on {operation}");
            assert_eq!(
                error.to_string(),
                format!(
                    "could not read the API's answer: {}; the body began with: {body}",
                    decode_reason(body, operation)
                ),
                "{what} on {operation}"
            );
        }
    }
}

#[tokio::test]
async fn a_truncated_answer_never_shows_the_password_it_carried() {
    let password = "Generated-SECRET-password-123";
    let body = format!(r#"{{"database_user":{{"name":"my-user","password":"{password}","protec"#);
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .header("content-type", "application/json")
                .body(body.clone());
        })
        .await;

    let error = client(&server)
        .users()
        .reset_password("my-user")
        .await
        .expect_err("truncated");

    let shown = format!("{error} {error:?}");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(!shown.contains("SECRET"), "the password leaked: {shown}");
    assert!(
        shown.contains("my-user"),
        "the snippet should still help: {shown}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // Not retried: one refused connection is the error under test.
    let db = Client::builder()
        .database_api_url(format!("{}/api", nothing_listening()))
        .database_token(DB, TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
        .database(DB);

    let error = db.users().list().await.expect_err("nothing listens");

    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_eq!(error.status(), None, "no answer, no status");
    assert_eq!(error.request_id(), None, "no answer, no request id");
    assert!(
        error
            .to_string()
            .starts_with("could not connect to the API: "),
        "{error}"
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .delay(Duration::from_secs(5))
                .json_body(json!({"database-users": []}));
        })
        .await;
    let db = database(
        builder(&server).request_timeout(Duration::from_millis(200)),
        DB,
    );

    let error = db.users().list().await.expect_err("too slow");

    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("the API did not answer in time: "),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_archive_download_is_typed_and_hides_the_link_token() {
    let server = MockServer::start_async().await;
    let link_token = "presigned-SECRET-77";
    server
        .mock_async(|when, then| {
            when.path_suffix("/archive");
            then.status(200)
                .json_body(json!({"download_url": server.url(format!(
                    "/databases/{DB}/backups/b1/download?token={link_token}"
                ))}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path_suffix("/download");
            then.status(504)
                .header("content-type", "text/html")
                .body("<h1>Gateway Timeout</h1>");
        })
        .await;

    let db = client(&server);
    let link = db.backups().archive_url("b1").await.expect("link");
    let error = db.backups().open_archive(&link).await.expect_err("504");

    assert!(
        matches!(&error, Error::Server { status: 504, .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(link_token), "{shown}");
}
