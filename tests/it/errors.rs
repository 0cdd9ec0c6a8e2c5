//! Every kind of failing answer, against every operation: each ends in the right typed error with
//! a message a person understands, never in a panic, and never shows a secret.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use httpmock::MockServer;
use scalingo_db::{Client, Error, NewUser, RetryPolicy};
use serde_json::json;

use crate::support::{DB, PASSWORD, TOKEN, builder, client, nothing_listening};

type Outcome<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + 'a>>;

/// One operation of the facade, with the status its success answers.
struct Operation {
    name: &'static str,
    success: u16,
    call: for<'a> fn(&'a Client) -> Outcome<'a>,
}

fn every_operation() -> Vec<Operation> {
    vec![
        Operation {
            name: "list_users",
            success: 200,
            call: |c| Box::pin(async move { c.users().list().await.map(drop) }),
        },
        Operation {
            name: "create_user",
            success: 201,
            call: |c| {
                Box::pin(async move {
                    let user = NewUser::new("my-user").password(PASSWORD);
                    c.users().create(user).await.map(drop)
                })
            },
        },
        Operation {
            name: "update_user_password",
            success: 200,
            call: |c| {
                Box::pin(async move {
                    c.users()
                        .update_password("my_app_1", PASSWORD)
                        .await
                        .map(drop)
                })
            },
        },
        Operation {
            name: "reset_user_password",
            success: 200,
            call: |c| Box::pin(async move { c.users().reset_password("my_app_1").await.map(drop) }),
        },
        Operation {
            name: "delete_user",
            success: 204,
            call: |c| Box::pin(async move { c.users().delete("my_app_1").await }),
        },
        Operation {
            name: "list_backups",
            success: 200,
            call: |c| Box::pin(async move { c.backups().list().await.map(drop) }),
        },
        Operation {
            name: "create_backup",
            success: 201,
            call: |c| Box::pin(async move { c.backups().create().await.map(drop) }),
        },
        Operation {
            name: "get_backup",
            success: 200,
            call: |c| Box::pin(async move { c.backups().get("b1").await.map(drop) }),
        },
        Operation {
            name: "get_backup_archive_url",
            success: 200,
            call: |c| Box::pin(async move { c.backups().archive_link("b1").await.map(drop) }),
        },
    ]
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
            expect: |e| matches!(e, Error::Unauthorized { message: Some(m) } if m == "token expired"),
            says: "the API refused the token (401 Unauthorized): token expired; check that it is a current token for this database",
        },
        Case {
            name: "403 with a JSON error",
            status: 403,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"not allowed"}"#,
            expect: |e| matches!(e, Error::Forbidden { message: Some(m) } if m == "not allowed"),
            says: "the API forbids this operation to this token (403 Forbidden): not allowed",
        },
        Case {
            name: "404 naming the resource",
            status: 404,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"resource":"database_user","error":"not found"}"#,
            expect: |e| {
                matches!(e, Error::NotFound { resource: Some(r), message: Some(m) }
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
            expect: |e| matches!(e, Error::RateLimited { retry_after: Some(d) } if *d == Duration::from_secs(7)),
            says: "the API is rate limiting this client (429 Too Many Requests); retry in 7 s",
        },
        Case {
            name: "plain-text 429 without Retry-After",
            status: 429,
            content_type: Some("text/plain"),
            headers: &[],
            body: "Retry later",
            expect: |e| matches!(e, Error::RateLimited { retry_after: None }),
            says: "the API is rate limiting this client (429 Too Many Requests); retry later",
        },
        Case {
            name: "400 A backup is running",
            status: 400,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"A backup is running"}"#,
            expect: |e| {
                matches!(e, Error::Refused { status, message: Some(m) }
                    if status.as_u16() == 400 && m == "A backup is running")
            },
            says: "the API refused the request (400 Bad Request): A backup is running",
        },
        Case {
            name: "HTML 502 from a gateway",
            status: 502,
            content_type: Some("text/html"),
            headers: &[],
            body: "<html><body><h1>502 Bad Gateway</h1></body></html>",
            expect: |e| matches!(e, Error::Server { status, message: None } if status.as_u16() == 502),
            says: "the API failed (502 Bad Gateway)",
        },
        Case {
            name: "empty 500",
            status: 500,
            content_type: None,
            headers: &[],
            body: "",
            expect: |e| matches!(e, Error::Server { status, message: None } if status.as_u16() == 500),
            says: "the API failed (500 Internal Server Error)",
        },
        Case {
            name: "JSON 503",
            status: 503,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"upstream unavailable"}"#,
            expect: |e| matches!(e, Error::Server { status, message: Some(m) } if status.as_u16() == 503 && m == "upstream unavailable"),
            says: "the API failed (503 Service Unavailable): upstream unavailable",
        },
        Case {
            name: "a 4xx the contract does not name, with a truncated JSON body",
            status: 409,
            content_type: Some("application/json"),
            headers: &[],
            body: r#"{"error":"conf"#,
            expect: |e| matches!(e, Error::Refused { status, message: None } if status.as_u16() == 409),
            says: "the API refused the request (409 Conflict)",
        },
    ]
}

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
            let mut then = then.status(case_status).body(body);
            if let Some(content_type) = content_type {
                then = then.header("content-type", content_type);
            }
            for (name, value) in headers {
                then = then.header(*name, *value);
            }
        })
        .await;
    server
}

#[tokio::test]
async fn every_error_answer_maps_to_its_variant_for_every_operation() {
    for case in error_answers() {
        let server = serve(case.status, case.content_type, case.headers, case.body).await;
        let client = client(&server);
        for operation in every_operation() {
            let error = (operation.call)(&client)
                .await
                .expect_err(&format!("{} on {}: should fail", case.name, operation.name));
            assert!(
                (case.expect)(&error),
                "{} on {}: unexpected error {error:?}",
                case.name,
                operation.name
            );
            assert_eq!(
                error.to_string(),
                case.says,
                "{} on {}",
                case.name,
                operation.name
            );
            assert_eq!(error.status().map(|s| s.as_u16()), Some(case.status));
            let shown = format!("{error} {error:?}");
            assert!(
                !shown.contains(TOKEN),
                "{}: the token leaked: {shown}",
                case.name
            );
        }
    }
}

/// Why decoding `body` fails for `operation`: serde's message, which depends on what the
/// operation's answer is (a list under its key, a user or a backup, a link).
fn decode_reason(body: &str, operation: &str) -> &'static str {
    const TRUNCATED: &str = r#"{"database-users":[{"name":"my_app_4553","read_o"#;
    const NOT_JSON: &str = "<html>maintenance</html>";
    const OTHER_SHAPE: &str = r#"{"unexpected":true}"#;
    match (body, operation) {
        (TRUNCATED, _) => "EOF while parsing a string at line 1 column 48",
        (NOT_JSON, _) => "expected value at line 1 column 1",
        (OTHER_SHAPE, "list_users") => "missing field `database-users` at line 1 column 19",
        (OTHER_SHAPE, "list_backups") => "missing field `database_backups` at line 1 column 19",
        (OTHER_SHAPE, "get_backup_archive_url") => {
            "missing field `download_url` at line 1 column 19"
        }
        (OTHER_SHAPE, "create_user" | "update_user_password" | "reset_user_password") => {
            "data did not match any variant of untagged enum DatabaseUserResponse"
        }
        (OTHER_SHAPE, "create_backup" | "get_backup") => {
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
        for operation in every_operation() {
            if operation.success == 204 {
                continue; // a 204 has no body to decode
            }
            let server = serve(operation.success, Some("application/json"), &[], body).await;
            let error = (operation.call)(&client(&server))
                .await
                .expect_err(&format!("{what} on {}: should fail", operation.name));
            let Error::Decode { snippet, .. } = &error else {
                panic!(
                    "{what} on {}: expected a decode error, got {error:?}",
                    operation.name
                );
            };
            // These bodies are short and hold no secret: the snippet is the whole body.
            assert_eq!(snippet, body, "{what} on {}", operation.name);
            assert_eq!(
                error.to_string(),
                format!(
                    "could not read the API's answer: {}; the body began with: {body}",
                    decode_reason(body, operation.name)
                ),
                "{what} on {}",
                operation.name
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
    let client = Client::builder()
        .base_url(format!("{}/api", nothing_listening()))
        .database_id(DB)
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");

    let error = client.users().list().await.expect_err("nothing listens");

    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
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
    let client = builder(&server)
        .request_timeout(Duration::from_millis(200))
        .build()
        .expect("client");

    let error = client.users().list().await.expect_err("too slow");

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

    let client = client(&server);
    let link = client.backups().archive_link("b1").await.expect("link");
    let error = client.backups().open_archive(&link).await.expect_err("504");

    assert!(
        matches!(&error, Error::Server { status, .. } if status.as_u16() == 504),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(link_token), "{shown}");
}
