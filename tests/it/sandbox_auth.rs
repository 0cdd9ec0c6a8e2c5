//! Authentication against the in-process sandbox: the platform's token flow over plain HTTP (API
//! token → user token → database token, JWTs whose `exp` says when they end), token lifetimes to
//! the millisecond on a clock the test moves, the facade's refusals for unusable, misplaced and
//! expired database tokens, and the JSON answers of unauthenticated requests, unknown routes and
//! wrong methods.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scalingo_db::{Database, Error};
use scalingo_db_sandbox::{
    Clock, DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, OperationId,
    Sandbox, SandboxConfig,
};
use serde_json::Value;

use crate::support::{SharedClock, database, sandbox_builder};

/// Where the manual clocks of these tests start, in seconds since 1970 (a whole second, so that
/// the JWT claims, in whole seconds, are exact).
const START: i64 = 1_800_000_000;

/// A clock standing at [`START`], which moves only when a test advances it.
fn manual_clock() -> Clock {
    Clock::manual(DateTime::<Utc>::from_timestamp(START, 0).expect("a valid time"))
}

/// A sandbox started with `config` and the facade's [`DEFAULT_DATABASE`] using `token` (a fresh
/// database token when `None`).
async fn start(config: SandboxConfig, token: Option<&str>) -> (Sandbox, Database) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let token = token.map_or_else(|| sandbox.database_token(DEFAULT_DATABASE), str::to_owned);
    let client = client(&sandbox, &token);
    (sandbox, client)
}

/// The sandbox's [`DEFAULT_DATABASE`], called with `token` whatever it is.
fn client(sandbox: &Sandbox, token: &str) -> Database {
    database(
        sandbox_builder(sandbox).database_token(DEFAULT_DATABASE, token),
        DEFAULT_DATABASE,
    )
}

/// Decodes unpadded (or padded) URL-safe base64, as JWT parts are written.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The claims of a JWT (its middle part).
fn claims(jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {jwt}");
    let decoded = base64url_decode(parts[1]).expect("base64url claims");
    serde_json::from_slice(&decoded).expect("JSON claims")
}

/// Asserts the token was issued at [`START`] and expires `lifetime` seconds later, exactly (the
/// sandbox's clock is [`manual_clock`] and has not moved).
fn assert_issued_at_start_for(claims: &Value, lifetime: i64) {
    assert_eq!(claims["iat"].as_i64(), Some(START), "{claims}");
    assert_eq!(claims["exp"].as_i64(), Some(START + lifetime), "{claims}");
}

async fn json(response: reqwest::Response) -> Value {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    response.json().await.expect("a JSON body")
}

async fn exchange(http: &reqwest::Client, sandbox: &Sandbox) -> String {
    let response = http
        .post(format!("{}/v1/tokens/exchange", sandbox.base_url()))
        .basic_auth("", Some(DEFAULT_API_TOKEN))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    let body = json(response).await;
    body["token"].as_str().expect("a token").to_owned()
}

#[test]
fn the_base64url_helper_decodes_what_jwts_contain() {
    assert_eq!(base64url_decode("").as_deref(), Some(&b""[..]));
    assert_eq!(base64url_decode("Zg").as_deref(), Some(&b"f"[..]));
    assert_eq!(base64url_decode("Zm8").as_deref(), Some(&b"fo"[..]));
    assert_eq!(base64url_decode("Zm9v").as_deref(), Some(&b"foo"[..]));
    assert_eq!(base64url_decode("Zm9vYg==").as_deref(), Some(&b"foob"[..]));
    assert_eq!(base64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
    assert_eq!(base64url_decode("a+b"), None);
}

#[tokio::test]
async fn an_api_token_is_exchanged_for_a_user_token_that_expires_in_an_hour() {
    let sandbox = Sandbox::start(SandboxConfig {
        clock: manual_clock(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let http = reqwest::Client::new();
    let url = format!("{}/v1/tokens/exchange", sandbox.base_url());

    let token = exchange(&http, &sandbox).await;
    let claims = claims(&token);
    assert_issued_at_start_for(&claims, 3600);
    assert_eq!(claims["sub"], "user", "{claims}");

    let wrong = http
        .post(&url)
        .basic_auth("", Some("tk-us-not-a-known-token"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(wrong.status().as_u16(), 401);
    let body = json(wrong).await;
    assert_eq!(body["error"], "invalid API token", "{body}");

    let anonymous = http.post(&url).send().await.expect("an answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    let body = json(anonymous).await;
    assert!(body["error"].is_string(), "{body}");

    let empty_password = http
        .post(&url)
        .basic_auth("", Some(""))
        .send()
        .await
        .expect("an answer");
    assert_eq!(empty_password.status().as_u16(), 401);
    assert_eq!(sandbox.counters().get(OperationId::ExchangeApiToken), 4);
}

#[tokio::test]
async fn a_user_token_gets_a_database_token_that_the_facade_can_use() {
    let sandbox = Sandbox::start(SandboxConfig {
        clock: manual_clock(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let http = reqwest::Client::new();
    let user_token = exchange(&http, &sandbox).await;
    let addon_url = |app: &str, addon: &str| {
        format!("{}/v1/apps/{app}/addons/{addon}/token", sandbox.base_url())
    };

    let response = http
        .post(addon_url(DEFAULT_APP, DEFAULT_DATABASE))
        .bearer_auth(&user_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    let body = json(response).await;
    let addon = &body["addon"];
    assert_eq!(addon["id"], DEFAULT_DATABASE, "{body}");
    let database_token = addon["token"].as_str().expect("a token").to_owned();
    let claims = claims(&database_token);
    assert_issued_at_start_for(&claims, 3600);
    assert_eq!(claims["sub"], format!("database:{DEFAULT_DATABASE}"));

    let client = client(&sandbox, &database_token);
    let users = client.users().list().await.expect("the token works");
    assert_eq!(
        addon["resource_id"].as_str(),
        Some(users[0].name.as_str()),
        "the addon's resource is the default user"
    );
    client.backups().list().await.expect("the token works");

    for (app, addon) in [
        ("another-app", DEFAULT_DATABASE),
        (DEFAULT_APP, "ad-00000000-unknown"),
    ] {
        let response = http
            .post(addon_url(app, addon))
            .bearer_auth(&user_token)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 404, "{app}/{addon}");
        let body = json(response).await;
        assert_eq!(body["resource"], "addon", "{body}");
    }

    // A database token is not a user token.
    let response = http
        .post(addon_url(DEFAULT_APP, DEFAULT_DATABASE))
        .bearer_auth(&database_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 401);
    let body = json(response).await;
    assert_eq!(
        body["error"], "this token is not valid for this resource",
        "{body}"
    );

    // Nor is no token at all.
    let response = http
        .post(addon_url(DEFAULT_APP, DEFAULT_DATABASE))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 401);

    // And a user token does not open the Database API.
    match self::client(&sandbox, &user_token).users().list().await {
        Err(Error::Unauthorized { message, .. }) => assert_eq!(
            message.as_deref(),
            Some("this token is not valid for this resource")
        ),
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn unusable_tokens_are_refused_with_unauthorized() {
    let (sandbox, garbage) = start(SandboxConfig::default(), Some("garbage")).await;
    match garbage.users().list().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message.as_deref(), Some("invalid token"));
        }
        other => panic!("expected a 401, got {other:?}"),
    }

    let redis_token = sandbox.database_token(DEFAULT_REDIS_DATABASE);
    let misplaced = client(&sandbox, &redis_token);
    let outcomes = [
        ("list_users", misplaced.users().list().await.err()),
        ("list_backups", misplaced.backups().list().await.err()),
        ("create_backup", misplaced.backups().create().await.err()),
    ];
    for (operation, error) in outcomes {
        match error {
            Some(Error::Unauthorized { message, .. }) => assert_eq!(
                message.as_deref(),
                Some("this token is not valid for this resource"),
                "{operation}"
            ),
            other => panic!("{operation}: expected a 401, got {other:?}"),
        }
    }
    let backups = client(&sandbox, &sandbox.database_token(DEFAULT_DATABASE))
        .backups()
        .list()
        .await
        .expect("list");
    assert_eq!(backups.len(), 1, "the refused create created nothing");
}

#[tokio::test]
async fn expired_tokens_are_refused_and_fresh_ones_work() {
    let (sandbox, client) = start(SandboxConfig::default(), None).await;
    client.users().list().await.expect("a fresh token works");

    sandbox.expire_tokens();
    match client.users().list().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message.as_deref(), Some("token expired"));
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    let fresh = self::client(&sandbox, &sandbox.database_token(DEFAULT_DATABASE));
    fresh
        .users()
        .list()
        .await
        .expect("a token issued after works");
}

#[tokio::test]
async fn a_database_token_ends_exactly_after_its_configured_lifetime() {
    let sandbox = Sandbox::start(SandboxConfig {
        database_token_lifetime: Duration::from_secs(1),
        clock: manual_clock(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let clock = SharedClock::of(&sandbox);
    // The tokens it issues say so: they expire a second after they are issued.
    let token = sandbox.database_token(DEFAULT_DATABASE);
    assert_issued_at_start_for(&claims(&token), 1);
    let db = database(
        sandbox_builder(&sandbox)
            .database_token(DEFAULT_DATABASE, token)
            .clock(clock.clone()),
        DEFAULT_DATABASE,
    );
    db.backups().list().await.expect("a fresh token works");

    sandbox.clock().advance(Duration::from_millis(999));
    db.backups()
        .list()
        .await
        .expect("the token still works a millisecond before it ends");

    sandbox.clock().advance(Duration::from_millis(1));
    match db.backups().list().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message.as_deref(), Some("token expired"));
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(OperationId::ListBackups), 3);
    assert_eq!(
        clock.sleeps(),
        [],
        "a database token is used as it is: nothing is waited for, nothing renewed"
    );
}

#[tokio::test]
async fn a_user_token_ends_exactly_after_its_configured_lifetime() {
    let sandbox = Sandbox::start(SandboxConfig {
        user_token_lifetime: Duration::from_secs(60),
        clock: manual_clock(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let http = reqwest::Client::new();
    let user_token = exchange(&http, &sandbox).await;
    assert_issued_at_start_for(&claims(&user_token), 60);
    let addon_token = || {
        http.post(format!(
            "{}/v1/apps/{DEFAULT_APP}/addons/{DEFAULT_DATABASE}/token",
            sandbox.base_url()
        ))
        .bearer_auth(&user_token)
        .send()
    };

    sandbox.clock().advance(Duration::from_secs(59));
    let response = addon_token().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 200, "valid for 59 s");
    let body = json(response).await;
    // A database token issued then lasts its own lifetime (an hour), not what remains of the
    // user token's.
    let database_token = body["addon"]["token"].as_str().expect("a token");
    assert_eq!(
        claims(database_token)["exp"].as_i64(),
        Some(START + 59 + 3600)
    );

    sandbox.clock().advance(Duration::from_secs(1));
    let response = addon_token().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 401, "expired after 60 s");
    let body = json(response).await;
    assert_eq!(body["error"], "token expired", "{body}");
}

#[tokio::test]
async fn refusals_over_plain_http_are_json() {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let http = reqwest::Client::new();
    let users_url = format!(
        "{}/databases/{DEFAULT_DATABASE}/users",
        sandbox.database_api_url()
    );

    let response = http.get(&users_url).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 401);
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        request_id.len() == 32 && request_id.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "a refusal carries the request's id too: {request_id:?}"
    );
    let body = json(response).await;
    assert_eq!(body["error"], "a bearer token is required", "{body}");

    let response = http
        .get(&users_url)
        .header(reqwest::header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 401, "a bearer token is needed");

    for path in ["/api/nowhere", "/api/databases", "/v1/tokens", "/"] {
        let response = http
            .get(format!("{}{path}", sandbox.base_url()))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body = json(response).await;
        assert_eq!(body["resource"], "route", "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }

    let token = sandbox.database_token(DEFAULT_DATABASE);
    let wrong_methods = [
        (reqwest::Method::PUT, users_url.clone()),
        (reqwest::Method::DELETE, users_url.clone()),
        (
            reqwest::Method::GET,
            format!("{}/v1/tokens/exchange", sandbox.base_url()),
        ),
    ];
    for (method, url) in wrong_methods {
        let response = http
            .request(method.clone(), &url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 405, "{method} {url}");
        let body = json(response).await;
        assert!(body["error"].is_string(), "{method} {url}: {body}");
    }
}
