//! What a request may carry, and where: the transport's own guarantees, against httpmock servers
//! on loopback (two servers are two origins).
//!
//! - A redirect to another origin is never followed, for an API call with a password in its body
//!   (`307` and `308` would send it again) nor for an archive link (whose token a `Referer`
//!   would carry): the call fails with `Error::CrossOriginRedirect`, which names the origin, and
//!   the other server receives nothing. Within one origin, redirects are followed, bodies
//!   included.
//! - No request carries `Referer`.
//! - A caller's own HTTP client keeps those guarantees when built with `same_origin_redirects()`.
//! - A transport error names the URL it failed on readably, without its query.

use httpmock::{Mock, MockServer};
use scalingo_db::{Client, Database, Error, NewUser, RetryPolicy};
use serde_json::{Value, json};

use crate::support::{
    DB, FAST_RETRIES, PASSWORD, TOKEN, assert_no_token, builder, database, gzip, nothing_listening,
};

/// The backup whose archive the download tests fetch.
const BACKUP: &str = "b-1";
/// The token of the archive links, to look for where it must not be.
const LINK_TOKEN: &str = "link-SECRET-4e1f";
/// An archive: the gzip magic, then bytes.
/// A backup's archive: gzip data, which the download checks to its trailer.
fn archive() -> Vec<u8> {
    gzip(b"archive bytes")
}

/// The user the API answers for the calls that set a password.
fn user_answer() -> Value {
    json!({"database_user": {"name": "bob-the-user", "read_only": false, "protected": false}})
}

/// A mock on `server` that answers every request, so that any request reaching it is counted.
async fn catch_all(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200)
                .header("content-type", "application/json")
                .json_body(user_answer());
        })
        .await
}

/// A client of `server`'s origin that retries quickly: a refused redirect must not be retried.
fn retrying_client(server: &MockServer) -> Database {
    database(builder(server).retry(FAST_RETRIES), DB)
}

/// The calls that send a password in their body.
#[derive(Clone, Copy, Debug)]
enum PasswordCall {
    /// `POST /databases/{id}/users` with a password.
    Create,
    /// `PATCH /databases/{id}/users/bob-the-user`.
    UpdatePassword,
}

impl PasswordCall {
    const ALL: [PasswordCall; 2] = [PasswordCall::Create, PasswordCall::UpdatePassword];

    fn method(self) -> &'static str {
        match self {
            PasswordCall::Create => "POST",
            PasswordCall::UpdatePassword => "PATCH",
        }
    }

    /// The status of its success.
    fn success(self) -> u16 {
        match self {
            PasswordCall::Create => 201,
            PasswordCall::UpdatePassword => 200,
        }
    }

    fn path(self) -> String {
        match self {
            PasswordCall::Create => format!("/databases/{DB}/users"),
            PasswordCall::UpdatePassword => format!("/databases/{DB}/users/bob-the-user"),
        }
    }

    async fn send(self, db: &Database) -> Result<(), Error> {
        let users = db.users();
        match self {
            PasswordCall::Create => {
                users
                    .create(NewUser::new("bob-the-user").password(PASSWORD))
                    .await
            }
            PasswordCall::UpdatePassword => users.update_password("bob-the-user", PASSWORD).await,
        }
        .map(drop)
    }
}

/// Fails unless `error` is the refused redirect of `status` to `to`'s origin, and shows neither
/// a password nor a token.
fn assert_refused(error: &Error, status: u16, to: &MockServer, what: &str) {
    match error {
        Error::CrossOriginRedirect {
            status: got,
            to: origin,
        } => {
            assert_eq!(
                (*got, origin.as_str()),
                (status, to.base_url().as_str()),
                "{what}"
            );
        }
        other => panic!("{what}: expected a refused redirect, got {other:?}"),
    }
    assert_eq!(error.status(), Some(status), "{what}");
    let shown = format!("{error} | {error:?}");
    let says = format!(
        "the server answered a redirect ({status} {}) to another origin, {}; it was not \
         followed, so nothing was sent there",
        if status == 307 {
            "Temporary Redirect"
        } else {
            "Permanent Redirect"
        },
        to.base_url()
    );
    assert_eq!(error.to_string(), says, "{what}");
    assert!(
        !shown.contains(PASSWORD),
        "{what}: a password is shown: {shown}"
    );
    assert!(
        !shown.contains(LINK_TOKEN),
        "{what}: a link token is shown: {shown}"
    );
    assert_no_token(error, TOKEN);
}

#[tokio::test]
async fn a_redirect_to_another_origin_never_receives_a_password() {
    for call in PasswordCall::ALL {
        for status in [307, 308] {
            let what = format!("{call:?} redirected with {status}");
            let api = MockServer::start_async().await;
            let elsewhere = MockServer::start_async().await;
            let received = catch_all(&elsewhere).await;
            let redirect = api
                .mock_async(|when, then| {
                    when.method(call.method()).path(call.path());
                    then.status(status)
                        .header("location", elsewhere.url(call.path()));
                })
                .await;

            let error = call
                .send(&retrying_client(&api))
                .await
                .expect_err("a redirect elsewhere is not followed");

            assert_eq!(
                received.calls_async().await,
                0,
                "{what}: the other origin was sent it"
            );
            assert_refused(&error, status, &elsewhere, &what);
            assert_eq!(redirect.calls_async().await, 1, "{what}: not retried");
        }
    }
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed_with_its_body_and_no_referer() {
    for call in PasswordCall::ALL {
        let api = MockServer::start_async().await;
        let moved = format!("/moved{}", call.path());
        let redirect = api
            .mock_async(|when, then| {
                when.method(call.method()).path(call.path());
                then.status(308).header("location", api.url(&moved));
            })
            .await;
        // Only the same body, again, and without a `Referer`, is answered.
        let target = api
            .mock_async(|when, then| {
                when.method(call.method())
                    .path(&moved)
                    .header_missing("referer")
                    .body_includes(PASSWORD);
                then.status(call.success())
                    .header("content-type", "application/json")
                    .json_body(user_answer());
            })
            .await;

        let outcome = call.send(&retrying_client(&api)).await;

        assert!(outcome.is_ok(), "{call:?}: {outcome:?}");
        redirect.assert_async().await;
        target.assert_async().await;
    }
}

/// On `api`: a done backup [`BACKUP`] of `archive().len()` bytes, whose archive link is `link`.
async fn backup_with_link(api: &MockServer, link: &str) {
    api.mock_async(|when, then| {
        when.method("GET").path(format!("/backups/{BACKUP}"));
        then.status(200).json_body(json!({"database_backup": {
            "id": BACKUP, "created_at": "2026-03-01T03:00:00Z", "name": "20260301030000_db",
            "status": "done", "size": archive().len(), "method": "periodic"}}));
    })
    .await;
    api.mock_async(|when, then| {
        when.method("GET")
            .path(format!("/databases/{DB}/backups/{BACKUP}/archive"));
        then.status(200).json_body(json!({"download_url": link}));
    })
    .await;
}

#[tokio::test]
async fn an_archive_link_redirected_to_another_origin_sends_nothing_there() {
    let api = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let received = catch_all(&elsewhere).await;
    backup_with_link(&api, &api.url(format!("/download?token={LINK_TOKEN}"))).await;
    let redirect = api
        .mock_async(|when, then| {
            when.method("GET").path("/download");
            then.status(307).header(
                "location",
                elsewhere.url(format!("/archive.tar.gz?token={LINK_TOKEN}")),
            );
        })
        .await;
    let db = retrying_client(&api);

    let mut written = Vec::new();
    let error = db
        .backups()
        .download_to(BACKUP, &mut written)
        .await
        .expect_err("a redirect elsewhere is not followed");

    assert_eq!(
        received.calls_async().await,
        0,
        "the other origin was asked"
    );
    assert_refused(&error, 307, &elsewhere, "the archive link");
    assert_eq!(redirect.calls_async().await, 1, "not resumed");
    assert!(written.is_empty());
}

#[tokio::test]
async fn an_archive_link_redirected_within_its_origin_sends_no_referer() {
    let api = MockServer::start_async().await;
    backup_with_link(&api, &api.url(format!("/download?token={LINK_TOKEN}"))).await;
    api.mock_async(|when, then| {
        when.method("GET").path("/download");
        then.status(302)
            .header("location", api.url("/storage/archive.tar.gz?signature=s"));
    })
    .await;
    // Only a request without `Referer` (which would hold the link and its token) gets the bytes.
    let storage = api
        .mock_async(|when, then| {
            when.method("GET")
                .path("/storage/archive.tar.gz")
                .header_missing("referer");
            then.status(200).body(archive());
        })
        .await;
    let db = database(builder(&api), DB);

    let mut written = Vec::new();
    let streamed = db
        .backups()
        .download_to(BACKUP, &mut written)
        .await
        .unwrap_or_else(|error| panic!("{error}"));

    storage.assert_async().await;
    assert_eq!(streamed.bytes, archive().len() as u64);
    assert_eq!(written, archive());
}

#[tokio::test]
async fn a_callers_http_client_keeps_the_guarantees_with_same_origin_redirects() {
    let api = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let received = catch_all(&elsewhere).await;
    let call = PasswordCall::UpdatePassword;
    api.mock_async(|when, then| {
        when.method(call.method()).path(call.path());
        then.status(307)
            .header("location", elsewhere.url(call.path()));
    })
    .await;
    let http = scalingo_db::reqwest::Client::builder()
        .redirect(scalingo_db::same_origin_redirects())
        .referer(false)
        .build()
        .expect("an HTTP client");
    let db = database(builder(&api).http_client(http), DB);

    let error = call.send(&db).await.expect_err("not followed");

    assert_eq!(received.calls_async().await, 0);
    assert_refused(&error, 307, &elsewhere, "a caller's client");
}

#[tokio::test]
async fn a_connect_error_names_the_url_readably_without_its_query() {
    // An archive link on a host where nothing listens.
    let api = MockServer::start_async().await;
    let link = format!(
        "{}/storage/archive.tar.gz?token={LINK_TOKEN}",
        nothing_listening()
    );
    backup_with_link(&api, &link).await;
    let db = database(builder(&api), DB);

    let error = db
        .backups()
        .download_to(BACKUP, Vec::new())
        .await
        .expect_err("nothing listens");

    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    let shown = error.to_string();
    let readable = format!("{}/storage/archive.tar.gz?…:", nothing_listening());
    assert!(shown.contains(&readable), "{shown}");
    assert!(!shown.contains('%'), "percent-encoded: {shown}");
    assert!(!shown.contains(LINK_TOKEN), "{shown}");
    assert_no_token(&error, TOKEN);

    // An API call: the path, as it was sent.
    let unreachable = Client::builder()
        .database_api_url(format!("{}/api", nothing_listening()))
        .database_token(DB, TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
        .database(DB);
    let error = unreachable
        .users()
        .list()
        .await
        .expect_err("nothing listens");
    let shown = error.to_string();
    let sent_to = format!(" for {}/api/databases/{DB}/users: ", nothing_listening());
    assert!(
        shown.starts_with("could not connect to the API: error sending request")
            && shown.contains(&sent_to),
        "{shown}"
    );
}
