//! Building a client: what is required, what is refused, and what the requests then carry.

use httpmock::MockServer;
use scalingo_db::{Client, Error, Region};
use serde_json::json;

use crate::support::{DB, TOKEN};

#[test]
fn regions_point_at_their_database_api_hosts() {
    assert_eq!(
        Region::OscFr1.base_url(),
        "https://db-api.osc-fr1.scalingo.com/api"
    );
    assert_eq!(
        Region::OscSecnumFr1.base_url(),
        "https://db-api.osc-secnum-fr1.scalingo.com/api"
    );
    assert_eq!(
        "osc-secnum-fr1".parse::<Region>().ok(),
        Some(Region::OscSecnumFr1)
    );
    let error = "fr-paris".parse::<Region>().expect_err("unknown region");
    assert_eq!(
        error.to_string(),
        "invalid configuration: unknown region `fr-paris`; known regions: osc-fr1, osc-secnum-fr1"
    );
    let client = Client::new(Region::OscFr1, DB, TOKEN).expect("client");
    assert_eq!(client.base_url(), Region::OscFr1.base_url());
    assert_eq!(client.database_id(), DB);
}

#[test]
fn missing_or_bad_settings_are_refused_with_what_to_do() {
    let cases = [
        (
            Client::builder().database_id(DB).token(TOKEN),
            "invalid configuration: no API location: call `region(..)` or `base_url(..)`",
        ),
        (
            Client::builder().region(Region::OscFr1).token(TOKEN),
            "invalid configuration: no database: call `database_id(..)`",
        ),
        (
            Client::builder().region(Region::OscFr1).database_id(DB),
            "invalid configuration: no credentials: call `token(..)` with a database token or `api_token(..)`",
        ),
        (
            Client::builder()
                .base_url("ftp://127.0.0.1/api")
                .database_id(DB)
                .token(TOKEN),
            "invalid configuration: base URL `ftp://127.0.0.1/api` must start with http:// or https://",
        ),
    ];
    for (builder, message) in cases {
        let error = builder.build().expect_err(message);
        assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
        assert_eq!(error.to_string(), message);
    }
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
    let client = Client::builder()
        .base_url(server.base_url())
        .database_id(DB)
        .token("line\nbreak-SECRET")
        .build()
        .expect("client");

    let error = client.users().list().await.expect_err("bad token");

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
    let client = Client::builder()
        .base_url(server.base_url())
        .database_id(DB)
        .token(TOKEN)
        .user_agent("my-tool/1.2")
        .build()
        .expect("client");

    client.users().list().await.expect("list");

    mock.assert_async().await;
    // The crate's own part names the crate and its version.
    assert_eq!(
        scalingo_db::default_user_agent(),
        format!("scalingo-db-rs/{}", env!("CARGO_PKG_VERSION"))
    );
}
