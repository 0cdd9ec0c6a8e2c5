//! What a hostile client meets, through the whole router but without a socket: links that no
//! `Host` header can redirect, refusals of unreadable requests in the contract's JSON error shape
//! (a body too large or broken, a path that is not UTF-8), the decisions the contract leaves open
//! (a body's `database_id`, a password of control characters), messages that say what is
//! missing where, and configured durations as long as `Duration::MAX`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::{Method, Request};
use serde_json::json;

use super::tests::{Harness, start};
use crate::clock::Clock;
use crate::config::{DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE, SandboxConfig};
use crate::http::BODY_LIMIT;
use crate::store::Operation;

/// The users path of the default database.
fn users_path() -> String {
    format!("/api/databases/{DEFAULT_DATABASE}/users")
}

/// A request with the harness's database token.
fn with_token(harness: &Harness, method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(AUTHORIZATION, format!("Bearer {}", harness.token))
}

/// The id of the seeded periodic backup.
async fn seeded_backup(harness: &Harness) -> String {
    let (_, listed) = harness.api(Method::GET, "/backups", None).await;
    listed["database_backups"][0]["id"]
        .as_str()
        .expect("a seeded backup")
        .to_owned()
}

#[tokio::test]
async fn links_are_built_on_the_configured_url_never_on_the_host_header() {
    let harness = Harness::new(SandboxConfig::default());
    let backup = seeded_backup(&harness).await;
    let archive = format!("/api/databases/{DEFAULT_DATABASE}/backups/{backup}/archive");
    for host in ["evil.example#", "attacker.example:8700", "evil.example/x?"] {
        let request = with_token(&harness, Method::GET, &archive)
            .header(HOST, host)
            .body(Body::empty())
            .expect("a request");
        let (status, _, body) = harness.raw(request).await;
        assert_eq!(status, 200, "{host}: {body}");
        let link = body["download_url"].as_str().expect("a link");
        assert!(
            link.starts_with(&format!(
                "http://sandbox.test/api/databases/{DEFAULT_DATABASE}/backups/{backup}/download\
                 ?token="
            )),
            "{host}: {link}"
        );
    }

    // Behind a proxy, on the configured public URL; the link's path is the sandbox's own.
    let proxied = Harness::new(SandboxConfig {
        public_url: Some("https://proxy.example/sandbox/".parse().expect("a URL")),
        ..SandboxConfig::default()
    });
    let backup = seeded_backup(&proxied).await;
    let (status, body) = proxied
        .api(Method::GET, &format!("/backups/{backup}/archive"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let link = body["download_url"].as_str().expect("a link");
    let path = link
        .strip_prefix("https://proxy.example/sandbox")
        .unwrap_or_else(|| panic!("on the public URL: {link}"));
    assert!(path.starts_with("/api/databases/"), "{link}");
    assert_eq!(proxied.send(Method::GET, path, None, None).await.0, 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_in_the_contracts_error_shape() {
    let harness = Harness::new(SandboxConfig::default());
    let request = with_token(&harness, Method::POST, &users_path())
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; BODY_LIMIT + 1]))
        .expect("a request");
    let (status, headers, body) = harness.raw(request).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(
        body,
        json!({"error": "the request body is larger than the 2097152 bytes the sandbox reads"})
    );

    // A body at the limit is read (and refused for what it says).
    let request = with_token(&harness, Method::POST, &users_path())
        .body(Body::from(vec![b' '; BODY_LIMIT]))
        .expect("a request");
    let (status, _, body) = harness.raw(request).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn a_body_that_breaks_off_is_a_400_in_json_saying_why() {
    let harness = Harness::new(SandboxConfig::default());
    // What hyper's body yields on a broken chunked encoding: some bytes, then an error.
    let chunks = || {
        futures_util::stream::iter([
            Ok(Bytes::from_static(b"{\"database_user\"")),
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "invalid chunk size line",
            )),
        ])
    };
    for (method, uri) in [
        (Method::POST, users_path()),
        // An operation without a body refuses an unreadable one too.
        (Method::GET, users_path()),
        (Method::POST, "/_sandbox/clock".to_owned()),
    ] {
        let request = with_token(&harness, method.clone(), &uri)
            .body(Body::from_stream(chunks()))
            .expect("a request");
        let (status, headers, body) = harness.raw(request).await;
        assert_eq!(status, 400, "{method} {uri}: {body}");
        assert_eq!(headers[CONTENT_TYPE], "application/json", "{method} {uri}");
        assert_eq!(
            body,
            json!({"error": "the request body could not be read: invalid chunk size line"}),
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_400_in_json() {
    let harness = Harness::new(SandboxConfig::default());
    for (method, uri, parameter) in [
        (Method::DELETE, format!("{}/%ff", users_path()), "username"),
        (Method::PATCH, format!("{}/a%ffb", users_path()), "username"),
        (
            Method::POST,
            "/_sandbox/databases/%ff/token".to_owned(),
            "database_id",
        ),
    ] {
        let request = with_token(&harness, method.clone(), &uri)
            .body(Body::empty())
            .expect("a request");
        let (status, headers, body) = harness.raw(request).await;
        assert_eq!(status, 400, "{method} {uri}: {body}");
        assert_eq!(headers[CONTENT_TYPE], "application/json", "{method} {uri}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("Invalid UTF-8"),
            "{method} {uri}: {body} (about `{parameter}`)"
        );
    }
}

#[tokio::test]
async fn a_database_id_in_the_body_must_be_the_paths() {
    let harness = Harness::new(SandboxConfig::default());
    let password = "a-password-of-24-chars!!";
    let user = |database_id: &str| {
        json!({"database_user": {"database_id": database_id, "name": "reporting",
            "password": password, "password_confirmation": password}})
    };
    let (status, refused) = harness
        .api(Method::POST, "/users", Some(user("ad-another-database")))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused,
        json!({"errors": {"database_id": [
            format!("is not the database of the request's path ({DEFAULT_DATABASE})")
        ]}})
    );
    let (status, created) = harness
        .api(Method::POST, "/users", Some(user(DEFAULT_DATABASE)))
        .await;
    assert_eq!(status, 201, "the path's own id is fine: {created}");

    let update = |database_id: &str| {
        json!({"database_user": {"database_id": database_id, "password": password,
            "password_confirmation": password}})
    };
    let (status, refused) = harness
        .api(Method::PATCH, "/users/reporting", Some(update("ad-x")))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["errors"]["database_id"].is_array(), "{refused}");
    let (status, _) = harness
        .api(
            Method::PATCH,
            "/users/reporting",
            Some(update(DEFAULT_DATABASE)),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_password_of_control_characters_is_accepted_within_the_contracts_length() {
    let harness = Harness::new(SandboxConfig::default());
    // 24 characters, none printable: NUL, tab, newline, escape, DEL and other C0 controls.
    let password: String = ['\0', '\t', '\n', '\u{1b}', '\u{7f}', '\r']
        .into_iter()
        .chain(
            (1..=0x1f)
                .map(char::from)
                .filter(|c| !"\t\n\r\u{1b}".contains(*c)),
        )
        .take(24)
        .collect();
    assert_eq!(password.chars().count(), 24);
    let body = json!({"database_user": {"name": "controls", "password": password,
        "password_confirmation": password}});
    let (status, created) = harness.api(Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["database_user"].get("password").is_none());
    let store = harness.service.store();
    let user = store
        .database(DEFAULT_DATABASE)
        .expect("seeded")
        .user("controls")
        .expect("created");
    assert!(user.has_password(&password), "kept as a hash of exactly it");
}

#[tokio::test]
async fn a_link_without_its_token_says_the_links_token_is_missing() {
    let harness = Harness::new(SandboxConfig::default());
    let backup = seeded_backup(&harness).await;
    let download = format!("/api/databases/{DEFAULT_DATABASE}/backups/{backup}/download");
    for uri in [
        download.clone(),
        format!("{download}?token="),
        format!("{download}?other=1"),
    ] {
        let (status, refused) = harness.send(Method::GET, &uri, None, None).await;
        assert_eq!(status, 401, "{uri}");
        assert_eq!(
            refused["error"],
            "the link's token is missing: an archive link carries it as its `token` query \
             parameter (get_backup_archive_url answers a new link)",
            "{uri}"
        );
    }
    // A database operation still asks for its bearer token.
    let (status, refused) = harness.send(Method::GET, &users_path(), None, None).await;
    assert_eq!(
        (status, &refused["error"]),
        (401, &json!("a bearer token is required"))
    );
}

#[tokio::test]
async fn a_path_no_operation_has_is_named_with_why_it_may_have_changed() {
    let harness = Harness::new(SandboxConfig::default());
    // What a URL library sends for `backups/..`: the database's path with a trailing `/`.
    let (status, body) = harness
        .send(
            Method::GET,
            &format!("/api/databases/{DEFAULT_DATABASE}/"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["resource"], "route",
        "the contract's 404 shape: {body}"
    );
    let message = body["error"].as_str().expect("a message");
    assert!(
        message.starts_with(&format!(
            "no operation of the API is at GET /api/databases/{DEFAULT_DATABASE}/; it has an \
             empty segment: an id of `.` or `..` is removed"
        )),
        "{message}"
    );

    // A client that sends the id as it is (`curl --path-as-is`) gets the backup's 404.
    for id in ["..", ".", "%2e%2e"] {
        let (status, body) = harness
            .api(Method::GET, &format!("/backups/{id}"), None)
            .await;
        assert_eq!(
            (status, &body["resource"]),
            (404, &json!("database_backup")),
            "{id}: {body}"
        );
    }

    let (status, body) = harness.send(Method::POST, "/api/nowhere", None, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"resource": "route", "error": "no operation of the API is at POST /api/nowhere"})
    );
}

#[tokio::test]
async fn durations_as_long_as_duration_max_answer_without_panicking() {
    let clock = Clock::manual(start());
    let harness = Harness::new(SandboxConfig {
        clock: clock.clone(),
        user_token_lifetime: Duration::MAX,
        database_token_lifetime: Duration::MAX,
        archive_link_lifetime: Duration::MAX,
        // Sums of two phases are past `Duration::MAX`.
        backup_scheduled_for: Duration::from_secs(1),
        backup_running_for: Duration::MAX,
        operation_pending_for: Duration::from_secs(1),
        operation_running_for: Duration::MAX,
        header_read_timeout: Duration::MAX,
        idle_timeout: Duration::MAX,
        ..SandboxConfig::default()
    });
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(":{DEFAULT_API_TOKEN}"));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/tokens/exchange")
        .header(AUTHORIZATION, format!("Basic {basic}"))
        .body(Body::empty())
        .expect("a request");
    let (status, _, exchanged) = harness.raw(request).await;
    assert_eq!(status, 200, "{exchanged}");
    let user_token = exchanged["token"].as_str().expect("a token");
    let (status, addon) = harness
        .send(
            Method::POST,
            &format!("/v1/apps/{DEFAULT_APP}/addons/{DEFAULT_DATABASE}/token"),
            Some(user_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{addon}");

    let backup = seeded_backup(&harness).await;
    let (status, shown) = harness
        .api(Method::GET, &format!("/backups/{backup}"), None)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["database_backup"]["status"], "running", "for ever");
    let (status, _) = harness.api(Method::POST, "/backups", None).await;
    assert_eq!(status, 400, "a backup is running");

    let operation = Operation::restore(clock.now(), clock.now());
    let id = operation.id.clone();
    harness
        .service
        .store()
        .database_mut(DEFAULT_DATABASE)
        .expect("seeded")
        .operations
        .push(operation);
    clock.advance(Duration::from_secs(3600));
    let (status, shown) = harness
        .api(Method::GET, &format!("/operations/{id}"), None)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["operation"]["status"], "running", "{shown}");
}
