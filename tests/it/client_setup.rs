//! Building a client and picking its databases: regions and where each server is reached
//! (`all_servers_at` and its prefixes), the short paths, what is required and what is refused
//! (before anything is sent), the HTTP client a caller gives, a call's own time limit, a call's
//! metadata, and what every request then carries.

use std::time::Duration;

use httpmock::MockServer;
use scalingo_db::reqwest;
use scalingo_db::{Client, Database, Error, Region, RetryPolicy, Server};
use serde_json::json;

use crate::support::{DB, TOKEN, api_headers, basic_authorization, builder, client, database};

/// A database the wire tests' clients have no token for.
const OTHER_DB: &str = "ad-77e1b0c4-other";

#[test]
fn regions_point_at_their_servers_and_osc_fr1_is_the_default() {
    let cases = [
        (
            Region::OscFr1,
            "https://db-api.osc-fr1.scalingo.com/api",
            "https://api.osc-fr1.scalingo.com",
        ),
        (
            Region::OscSecnumFr1,
            "https://db-api.osc-secnum-fr1.scalingo.com/api",
            "https://api.osc-secnum-fr1.scalingo.com",
        ),
    ];
    for (region, database_api, main_api) in cases {
        assert_eq!(Server::DatabaseApi.url(region), database_api);
        assert_eq!(Server::MainApi.url(region), main_api);
        assert_eq!(Server::Auth.url(region), "https://auth.scalingo.com");
        let client = Client::builder()
            .region(region)
            .database_token(DB, TOKEN)
            .build()
            .expect("client");
        assert_eq!(client.database_api_url(), database_api);
    }
    assert_eq!(
        "osc-secnum-fr1".parse::<Region>().ok(),
        Some(Region::OscSecnumFr1)
    );
    let error = "fr-paris".parse::<Region>().expect_err("unknown region");
    assert_eq!(
        error.to_string(),
        "unknown region `fr-paris`; known regions: osc-fr1, osc-secnum-fr1"
    );

    // No region given: the contract's default. (The builder once refused this.)
    let client = Client::builder()
        .database_token(DB, TOKEN)
        .build()
        .expect("a region is not required");
    assert_eq!(
        client.database_api_url(),
        Server::DatabaseApi.url(Region::OscFr1)
    );
}

#[tokio::test]
async fn the_short_paths_give_a_database_of_one_region_with_its_one_credential() {
    let db = Database::new(Region::OscSecnumFr1, DB, TOKEN).expect("database");
    assert_eq!((db.addon_id(), db.app()), (DB, None));
    assert_eq!(
        db.client().database_api_url(),
        Server::DatabaseApi.url(Region::OscSecnumFr1)
    );
    assert!(!format!("{db:?}").contains(TOKEN), "{db:?}");
    // Its client holds the token of that database only; another is refused before sending (so
    // this reaches no real host).
    let error = db
        .client()
        .database(OTHER_DB)
        .users()
        .list()
        .await
        .expect_err("no token for it");
    assert!(
        matches!(&error, Error::InvalidInput { message } if message.contains(OTHER_DB)),
        "{error:?}"
    );

    let api_token = "tk-us-SECRET-short-path";
    let db = Database::from_api_token(Region::OscFr1, "my-app", DB, api_token).expect("database");
    assert_eq!((db.addon_id(), db.app()), (DB, Some("my-app")));
    assert_eq!(
        db.client().database_api_url(),
        Server::DatabaseApi.url(Region::OscFr1)
    );
    assert!(!format!("{db:?}").contains(api_token), "{db:?}");
    // The app was given for that database only: the client's other databases need theirs.
    let error = db
        .client()
        .database(OTHER_DB)
        .backups()
        .list()
        .await
        .expect_err("no app");
    assert_eq!(
        error.to_string(),
        format!(
            "invalid configuration: an API token needs the app of database {OTHER_DB}: use \
             `client.database_of(app, id)` or the builder's `app(..)`"
        )
    );
}

#[test]
fn missing_or_bad_settings_are_refused_with_what_to_do() {
    let cases = [
        (
            Client::builder().region(Region::OscFr1),
            "invalid configuration: no credentials: call `api_token(..)`, or `database_token(..)` per database",
        ),
        (
            Client::builder()
                .api_token("tk-us-x")
                .database_token(DB, TOKEN),
            "invalid configuration: both an API token and database tokens: give one kind of credential",
        ),
        (
            Client::builder()
                .database_api_url("ftp://127.0.0.1/api")
                .database_token(DB, TOKEN),
            "invalid configuration: base URL `ftp://127.0.0.1/api` must start with http:// or https://",
        ),
        (
            Client::builder()
                .auth_url("ftp://127.0.0.1")
                .api_token("tk-us-x"),
            "invalid configuration: base URL `ftp://127.0.0.1` must start with http:// or https://",
        ),
        (
            Client::builder()
                .main_api_url("not a URL")
                .api_token("tk-us-x"),
            "invalid configuration: base URL `not a URL` is not a URL: relative URL without a base",
        ),
    ];
    for (builder, message) in cases {
        let error = builder.build().expect_err(message);
        assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
        assert_eq!(error.to_string(), message);
    }
}

#[tokio::test]
async fn a_database_without_a_token_is_refused_by_name_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({"database-users": []}));
        })
        .await;
    let client = builder(&server).build().expect("client");

    let error = client
        .database(OTHER_DB)
        .users()
        .list()
        .await
        .expect_err("no token for this database");

    assert_eq!(mock.calls_async().await, 0, "nothing was sent");
    assert_eq!(
        error.to_string(),
        format!(
            "invalid configuration: no token for database {OTHER_DB}: give one with \
             `database_token(..)`, or use an API token"
        )
    );
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    // The database it has a token for is served by the same client.
    client.database(DB).users().list().await.expect("list");
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn an_api_token_database_without_its_app_is_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({"token": "never-used"}));
        })
        .await;
    let client = Client::builder()
        .all_servers_at(server.base_url())
        .api_token("tk-us-x")
        .build()
        .expect("client");

    let error = client
        .database(DB)
        .users()
        .list()
        .await
        .expect_err("no app");

    assert!(
        matches!(&error, Error::InvalidInput { message } if message.contains(DB)),
        "{error:?}"
    );
    assert_eq!(mock.calls_async().await, 0, "nothing was sent");
}

#[tokio::test]
async fn a_token_a_header_cannot_carry_is_refused_without_leaking() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({"database-users": []}));
        })
        .await;
    let db = database(
        Client::builder()
            .database_api_url(server.base_url())
            .database_token(DB, "line\nbreak-SECRET"),
        DB,
    );

    let error = db.users().list().await.expect_err("bad token");

    assert_eq!(mock.calls_async().await, 0);
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("SECRET"));
}

#[tokio::test]
async fn a_product_name_goes_before_the_crate_user_agent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.header(
                "user-agent",
                format!("my-tool/1.2 {}", scalingo_db::default_user_agent()),
            );
            then.status(200).json_body(json!({"database-users": []}));
        })
        .await;
    let db = database(builder(&server).user_agent("my-tool/1.2"), DB);

    db.users().list().await.expect("list");

    mock.assert_async().await;
    // The crate's own part names the crate and its version.
    assert_eq!(
        scalingo_db::default_user_agent(),
        format!("scalingo-db-rs/{}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn all_servers_at_places_each_server_under_its_prefix() {
    let server = MockServer::start_async().await;
    let exchange = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/v1/tokens/exchange")
                .header("authorization", basic_authorization("tk-us-x"));
            then.status(200).json_body(json!({"token": "user-token"}));
        })
        .await;
    let addon_tokens: Vec<_> = [("default-app", "default-db-token"), ("other-app", TOKEN)]
        .into_iter()
        .map(|(app, token)| {
            server.mock(|when, then| {
                when.method("POST")
                    .path(format!("/v1/apps/{app}/addons/{DB}/token"))
                    .header("authorization", "Bearer user-token");
                then.status(200)
                    .json_body(json!({"addon": {"id": DB, "token": token}}));
            })
        })
        .collect();
    let users = server
        .mock_async(|when, then| {
            api_headers(
                when.method("GET")
                    .path(format!("/api/databases/{DB}/users")),
            );
            then.status(200).json_body(json!({"database-users": []}));
        })
        .await;
    // A trailing slash is ignored.
    let client = Client::builder()
        .all_servers_at(format!("{}/", server.base_url()))
        .api_token("tk-us-x")
        .app("default-app")
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    assert_eq!(
        client.database_api_url(),
        format!("{}/api", server.base_url())
    );

    // `database_of` names another app than the builder's.
    let db = client.database_of("other-app", DB);
    assert_eq!(db.app(), Some("other-app"));
    db.users().list().await.expect("list");

    exchange.assert_async().await;
    assert_eq!(addon_tokens[0].calls_async().await, 0);
    addon_tokens[1].assert_async().await;
    users.assert_async().await;
    assert_eq!(client.database(DB).app(), Some("default-app"));
}

#[tokio::test]
async fn the_given_http_client_sends_every_request() {
    let server = MockServer::start_async().await;
    let link = server.url(format!("/storage/{DB}/archive.tar.gz?token=link-token"));
    // Every route requires the header and User-Agent that only the given HTTP client sends.
    let routes = [
        (
            "POST",
            "/v1/tokens/exchange".to_owned(),
            json!({"token": "user-token"}),
        ),
        (
            "POST",
            format!("/v1/apps/my-app/addons/{DB}/token"),
            json!({"addon": {"id": DB, "token": TOKEN}}),
        ),
        (
            "GET",
            format!("/api/databases/{DB}/users"),
            json!({"database-users": []}),
        ),
        (
            "GET",
            format!("/api/databases/{DB}/backups/b-1/archive"),
            json!({"download_url": link}),
        ),
    ];
    let mut mocks = Vec::new();
    for (method, path, answer) in routes {
        let mock = server
            .mock_async(|when, then| {
                when.method(method)
                    .path(path)
                    .header("accept", "application/json")
                    .header("x-corporate-proxy", "team-db")
                    .header("user-agent", "corp-agent/7");
                then.status(200).json_body(answer);
            })
            .await;
        mocks.push(mock);
    }
    let download = server
        .mock_async(|when, then| {
            when.method("GET")
                .path(format!("/storage/{DB}/archive.tar.gz"))
                .query_param("token", "link-token")
                .header("accept", "application/octet-stream")
                .header("x-corporate-proxy", "team-db")
                .header("user-agent", "corp-agent/7");
            then.status(200).body("archive bytes");
        })
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-corporate-proxy",
        reqwest::header::HeaderValue::from_static("team-db"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .user_agent("corp-agent/7")
        .build()
        .expect("HTTP client");
    let client = Client::builder()
        .all_servers_at(server.base_url())
        .api_token("tk-us-x")
        .app("my-app")
        .retry(RetryPolicy::none())
        .http_client(http)
        .build()
        .expect("client");
    let db = client.database(DB);

    db.users().list().await.expect("list");
    let url = db.backups().archive_url("b-1").await.expect("link");
    let mut archive = db.backups().open_archive(&url).await.expect("open");
    let mut received = Vec::new();
    while let Some(chunk) = archive.chunk().await.expect("chunk") {
        received.extend_from_slice(&chunk);
    }

    assert_eq!(received, b"archive bytes");
    for mock in &mocks {
        mock.assert_async().await;
    }
    download.assert_async().await;
}

#[tokio::test]
async fn a_time_limit_on_one_call_applies_to_that_call_only() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method("GET").path(format!("/databases/{DB}/users"));
            then.status(200)
                .delay(Duration::from_millis(200))
                .json_body(json!({"database-users": []}));
        })
        .await;

    // The call's limit is shorter than the answer's delay, the client's longer.
    let patient = database(builder(&server).request_timeout(Duration::from_secs(5)), DB);
    let error = patient
        .users()
        .list()
        .timeout(Duration::from_millis(50))
        .await
        .expect_err("the call's own limit");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    patient
        .users()
        .list()
        .await
        .expect("the client's limit again");

    // And the other way round.
    let hasty = database(
        builder(&server).request_timeout(Duration::from_millis(50)),
        DB,
    );
    hasty
        .users()
        .list()
        .timeout(Duration::from_secs(5))
        .await
        .expect("the call's own, longer limit");
    let error = hasty.users().list().await.expect_err("the client's limit");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");

    // (The timed-out requests may or may not have been read by the mock yet.)
    assert!(mock.calls_async().await >= 2);
}

#[tokio::test]
async fn with_meta_gives_the_status_and_the_request_id() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method("POST").path(format!("/databases/{DB}/backups"));
            then.status(201)
                .header("x-request-id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
                .json_body(json!({"database_backup": {
                    "id": "b-1", "created_at": "2026-11-30T10:00:00Z",
                    "name": "20261130100000_db", "status": "scheduled"}}));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method("DELETE")
                .path(format!("/databases/{DB}/users/my-user"));
            then.status(204);
        })
        .await;
    let db = client(&server);

    let (backup, meta) = db.backups().create().with_meta().await.expect("create");
    assert_eq!(backup.id, "b-1");
    assert_eq!(meta.status, 201);
    assert_eq!(
        meta.request_id.as_deref(),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    );
    assert_eq!(meta.attempts, 1);

    let ((), meta) = db
        .users()
        .delete("my-user")
        .with_meta()
        .await
        .expect("delete");
    assert_eq!(
        (meta.status, meta.request_id, meta.attempts),
        (204, None, 1),
        "no X-Request-ID, no id"
    );
    create.assert_async().await;
    delete.assert_async().await;
}
