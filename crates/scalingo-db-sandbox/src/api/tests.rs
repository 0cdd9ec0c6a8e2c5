//! The operations as a client meets them, through the whole router but without a socket: the
//! clock moving backups and tokens along with no sleep, the control routes, counting and faults,
//! and the users operations' refusals.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request};
use chrono::{DateTime, Utc};
use scalingo_db_generated::{OperationId, Server};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::clock::Clock;
use crate::config::{DEFAULT_DATABASE, SandboxConfig};
use crate::faults::{Fault, FaultRule};
use crate::router::router;
use crate::service::Service;
use crate::store::Store;

/// A sandbox without a socket: its service (to reach the store, faults and counters) and its
/// router (with the control routes).
pub(super) struct Harness {
    pub(super) service: Arc<Service>,
    router: Router,
    pub(super) token: String,
}

impl Harness {
    pub(super) fn new(config: SandboxConfig) -> Self {
        let service = Arc::new(Service::new(
            Store::new(config),
            "http://sandbox.test".to_owned(),
        ));
        let token = service.store().issue_database_token(DEFAULT_DATABASE);
        Harness {
            router: router(Arc::clone(&service), true),
            service,
            token,
        }
    }

    /// A sandbox whose clock stands at a fixed time until advanced, with backups that take
    /// 1 s then 2 s.
    fn manual() -> (Self, Clock) {
        let clock = Clock::manual(start());
        let harness = Harness::new(SandboxConfig {
            clock: clock.clone(),
            backup_scheduled_for: Duration::from_secs(1),
            backup_running_for: Duration::from_secs(2),
            archive_size: 4096,
            ..SandboxConfig::default()
        });
        (harness, clock)
    }

    /// `method` on the Database API's `path` (below `/databases/{DEFAULT_DATABASE}`), with the
    /// harness's database token.
    pub(super) async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let uri = format!(
            "{}/databases/{DEFAULT_DATABASE}{path}",
            Server::DatabaseApi.path_prefix()
        );
        let token = self.token.clone();
        self.send(method, &uri, Some(&token), body).await
    }

    pub(super) async fn send(
        &self,
        method: Method,
        uri: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("a request");
        let (status, _, body) = self.raw(request).await;
        (status, body)
    }

    /// Any request: the answer's status, headers, and body as JSON (a JSON string of the body's
    /// text when it is not JSON).
    pub(super) async fn raw(&self, request: Request<Body>) -> (u16, HeaderMap, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, body)
    }
}

pub(super) fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00.250Z")
        .expect("a date")
        .to_utc()
}

#[tokio::test]
async fn a_backup_is_done_once_the_clock_passes_its_phases_with_no_sleep() {
    let (sandbox, clock) = Harness::manual();

    let (status, created) = sandbox.api(Method::POST, "/backups", None).await;
    assert_eq!(status, 201, "{created}");
    let backup = &created["database_backup"];
    assert_eq!(backup["status"], "scheduled");
    assert_eq!(backup["created_at"], "2026-03-01T12:00:00.250Z");
    let id = backup["id"].as_str().expect("an id").to_owned();
    let show = format!("/backups/{id}");

    let (status, refused) = sandbox.api(Method::POST, "/backups", None).await;
    assert_eq!(
        (status, &refused["error"]),
        (400, &json!("A backup is running"))
    );

    clock.advance(Duration::from_secs(1));
    let (_, shown) = sandbox.api(Method::GET, &show, None).await;
    assert_eq!(shown["database_backup"]["status"], "running", "{shown}");
    assert_eq!(
        shown["database_backup"]["started_at"],
        "2026-03-01T12:00:01.250Z"
    );
    let (status, refused) = sandbox
        .api(Method::GET, &format!("{show}/archive"), None)
        .await;
    assert_eq!(status, 400, "not done yet: {refused}");

    clock.advance(Duration::from_secs(2));
    let (_, shown) = sandbox.api(Method::GET, &show, None).await;
    assert_eq!(shown["database_backup"]["status"], "done", "{shown}");
    assert!(
        shown["database_backup"]["size"]
            .as_i64()
            .is_some_and(|size| size > 0)
    );
    let (status, _) = sandbox.api(Method::POST, "/backups", None).await;
    assert_eq!(status, 201, "another may start once it is done");

    // The seeded periodic backup was taken 20 hours before the clock's start.
    let (_, listed) = sandbox.api(Method::GET, "/backups", None).await;
    let backups = listed["database_backups"].as_array().expect("a list");
    assert_eq!(backups.len(), 3);
    assert_eq!(backups[2]["method"], "periodic");
    assert_eq!(backups[2]["created_at"], "2026-02-28T16:00:00.250Z");
}

#[tokio::test]
async fn tokens_and_archive_links_expire_when_the_clock_passes_their_lifetime() {
    let (sandbox, clock) = Harness::manual();
    let claims = |token: &str| -> Value {
        use base64::Engine as _;
        let part = token.split('.').nth(1).expect("a JWT");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON claims")
    };
    let claims = claims(&sandbox.token);
    assert_eq!(claims["iat"], start().timestamp(), "issued on the clock");
    assert_eq!(claims["exp"], start().timestamp() + 3600);

    let (_, listed) = sandbox.api(Method::GET, "/backups", None).await;
    let periodic = listed["database_backups"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (status, archive) = sandbox
        .api(Method::GET, &format!("/backups/{periodic}/archive"), None)
        .await;
    assert_eq!(status, 200, "{archive}");
    let link = archive["download_url"].as_str().expect("a link").to_owned();
    let link = link
        .strip_prefix("http://sandbox.test")
        .expect("on the sandbox's URL");
    assert_eq!(sandbox.send(Method::GET, link, None, None).await.0, 200);

    clock.advance(Duration::from_secs(600));
    let (status, refused) = sandbox.send(Method::GET, link, None, None).await;
    assert_eq!((status, &refused["error"]), (401, &json!("token expired")));
    let (status, _) = sandbox.api(Method::GET, "/users", None).await;
    assert_eq!(status, 200, "the database token lasts an hour");

    clock.advance(Duration::from_secs(3000));
    let (status, refused) = sandbox.api(Method::GET, "/users", None).await;
    assert_eq!((status, &refused["error"]), (401, &json!("token expired")));
}

#[tokio::test]
async fn the_clock_control_route_reads_and_advances_the_clock() {
    let (sandbox, clock) = Harness::manual();
    let (status, now) = sandbox
        .send(Method::GET, "/_sandbox/clock", None, None)
        .await;
    assert_eq!(
        (status, now),
        (200, json!({"now": "2026-03-01T12:00:00.250Z"}))
    );

    let (status, now) = sandbox
        .send(
            Method::POST,
            "/_sandbox/clock",
            None,
            Some(json!({"advance_seconds": 90})),
        )
        .await;
    assert_eq!(
        (status, now),
        (200, json!({"now": "2026-03-01T12:01:30.250Z"}))
    );
    assert_eq!(clock.now(), start() + chrono::TimeDelta::seconds(90));

    let (status, refused) = sandbox
        .send(
            Method::POST,
            "/_sandbox/clock",
            None,
            Some(json!({"advance_seconds": -1})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(clock.now(), start() + chrono::TimeDelta::seconds(90));
}

#[tokio::test]
async fn a_fault_rule_for_an_unknown_operation_is_refused_naming_the_known_ones() {
    let sandbox = Harness::new(SandboxConfig::default());
    let rule = |operation: &str| json!({"operation": operation, "times": 1, "fault": {"kind": "drop_connection"}});

    let (status, refused) = sandbox
        .send(
            Method::POST,
            "/_sandbox/faults",
            None,
            Some(rule("list_user")),
        )
        .await;
    assert_eq!(status, 400);
    let unknown = "list_user".parse::<OperationId>().expect_err("unknown");
    assert_eq!(refused["error"], unknown.to_string());
    assert_eq!(
        sandbox.service.faults.take(OperationId::ListUsers),
        None,
        "no rule was set"
    );

    let (status, _) = sandbox
        .send(
            Method::POST,
            "/_sandbox/faults",
            None,
            Some(rule("list_users")),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        sandbox.service.faults.take(OperationId::ListUsers),
        Some(Fault::DropConnection)
    );

    let (status, refused) = sandbox
        .send(Method::POST, "/_sandbox/faults", None, None)
        .await;
    assert_eq!(status, 400, "{refused}");
}

#[tokio::test]
async fn operations_are_counted_and_faulted_but_not_wrong_methods_or_control_routes() {
    let sandbox = Harness::new(SandboxConfig::default());
    sandbox.service.faults.inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::json_error(503, "upstream"),
    ));
    let (status, body) = sandbox.api(Method::GET, "/users", None).await;
    assert_eq!((status, body), (503, json!({"error": "upstream"})));
    assert_eq!(sandbox.api(Method::GET, "/users", None).await.0, 200);
    assert_eq!(sandbox.api(Method::PUT, "/users", None).await.0, 405);
    let anonymous = sandbox.send(Method::GET, "/api/nowhere", None, None).await;
    assert_eq!(anonymous.0, 404);
    assert_eq!(anonymous.1["resource"], "route");

    let (status, counters) = sandbox
        .send(Method::GET, "/_sandbox/counters", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        counters,
        json!({"total": 2, "operations": {"list_users": 2}})
    );
    assert_eq!(sandbox.service.counters.get(OperationId::ListUsers), 2);
}

#[tokio::test]
async fn users_are_created_once_and_the_protected_one_is_left_alone() {
    let sandbox = Harness::new(SandboxConfig::default());
    let password = "a-password-of-24-chars!!";
    let body = json!({"database_user": {"name": "reporting", "password": password,
        "password_confirmation": password}});
    let (status, created) = sandbox
        .api(Method::POST, "/users", Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["database_user"]["name"], "reporting");
    assert!(
        created["database_user"].get("password").is_none(),
        "a chosen password is not answered"
    );
    {
        let store = sandbox.service.store();
        let user = store
            .database(DEFAULT_DATABASE)
            .expect("seeded")
            .user("reporting")
            .expect("created");
        assert!(user.has_password(password), "kept as a hash of it");
    }

    let (status, refused) = sandbox.api(Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 422);
    assert_eq!(refused["errors"]["name"], json!(["has already been taken"]));

    let (status, reset) = sandbox
        .api(Method::POST, "/users/reporting/reset_password", None)
        .await;
    assert_eq!(status, 200);
    let generated = reset["database_user"]["password"]
        .as_str()
        .expect("answered once");
    assert_eq!(generated.len(), crate::store::GENERATED_PASSWORD_LEN);
    {
        let store = sandbox.service.store();
        let user = store
            .database(DEFAULT_DATABASE)
            .expect("seeded")
            .user("reporting")
            .expect("kept");
        assert!(user.has_password(generated) && !user.has_password(password));
    }

    let protected = sandbox
        .service
        .store()
        .database(DEFAULT_DATABASE)
        .expect("seeded")
        .default_user_name();
    let (status, refused) = sandbox
        .api(Method::DELETE, &format!("/users/{protected}"), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["error"],
        format!(
            "the user {protected} is protected: it is managed by the platform and cannot be deleted"
        )
    );
    assert_eq!(
        sandbox
            .api(Method::DELETE, "/users/reporting", None)
            .await
            .0,
        204
    );
    let (status, refused) = sandbox.api(Method::DELETE, "/users/reporting", None).await;
    assert_eq!(
        (status, &refused["resource"]),
        (404, &json!("database_user"))
    );
}

#[tokio::test]
async fn the_schedule_is_set_and_shown_and_periodic_backups_appear_at_its_hour() {
    let clock = Clock::manual(start());
    let sandbox = Harness::new(SandboxConfig {
        clock: clock.clone(),
        backup_scheduled_for: Duration::from_secs(1),
        backup_running_for: Duration::from_secs(2),
        database_token_lifetime: Duration::from_secs(30 * 86_400),
        ..SandboxConfig::default()
    });
    let (status, body) = sandbox
        .api(
            Method::PATCH,
            "",
            Some(json!({"database": {"periodic_backups_scheduled_at": 13}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"]["periodic_backups_enabled"], true);
    assert_eq!(
        body["database"]["periodic_backups_scheduled_at"],
        json!([13])
    );

    let (status, refused) = sandbox
        .api(
            Method::PATCH,
            "",
            Some(json!({"database": {"periodic_backups_scheduled_at": 24}})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["errors"]["periodic_backups_scheduled_at"][0]
            .as_str()
            .is_some_and(|message| message.contains("from 0 to 23")),
        "{refused}"
    );

    // 12:00:00.250 + 59 min 59.75 s is 13:00 exactly: the backup is there, created at the hour,
    // scheduled, and refuses a manual one until it is done.
    clock.advance(Duration::from_millis(3_599_750));
    let (_, listed) = sandbox.api(Method::GET, "/backups", None).await;
    let newest = &listed["database_backups"][0];
    assert_eq!(newest["method"], "periodic", "{listed}");
    assert_eq!(newest["created_at"], "2026-03-01T13:00:00Z");
    assert_eq!(newest["status"], "scheduled");
    let (status, _) = sandbox.api(Method::POST, "/backups", None).await;
    assert_eq!(status, 400, "a periodic backup is running");
    clock.advance(Duration::from_secs(3));
    let (status, _) = sandbox.api(Method::POST, "/backups", None).await;
    assert_eq!(status, 201);

    let (_, shown) = sandbox
        .api(
            Method::PATCH,
            "",
            Some(json!({"database": {"periodic_backups_enabled": false}})),
        )
        .await;
    assert_eq!(shown["database"]["periodic_backups_enabled"], false);
    assert_eq!(
        shown["database"]["periodic_backups_scheduled_at"],
        json!([13])
    );
    clock.advance(Duration::from_secs(3 * 86_400));
    let (_, listed) = sandbox.api(Method::GET, "/backups", None).await;
    assert_eq!(listed["database_backups"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn a_restore_answers_its_pending_operation_and_refuses_what_the_service_refuses() {
    let clock = Clock::manual(start());
    let sandbox = Harness::new(SandboxConfig {
        clock: clock.clone(),
        operation_pending_for: Duration::from_secs(1),
        operation_running_for: Duration::from_secs(5),
        ..SandboxConfig::default()
    });
    let (status, window) = sandbox
        .api(Method::GET, "/pitr/recovery_window", None)
        .await;
    assert_eq!(status, 200, "{window}");
    assert_eq!(
        window,
        json!({"recovery_window": {
            "earliest_recoverable_at": "2026-02-28T16:00:00.250Z",
            "latest_recoverable_at": "2026-03-01T12:00:00.250Z",
        }})
    );

    let restore = |time: &str| json!({ "restore_time": time });
    let (status, refused) = sandbox
        .api(
            Method::POST,
            "/pitr/restore",
            Some(restore("2026-02-28T16:00:00.249Z")),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused,
        json!({"errors": {"restore_time": [
            "is outside the recovery window (2026-02-28T16:00:00Z to 2026-03-01T12:00:00Z)"
        ]}})
    );

    let (status, created) = sandbox
        .api(
            Method::POST,
            "/pitr/restore",
            Some(restore("2026-03-01T10:00:00+02:00")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let operation = &created["operation"];
    assert_eq!(operation["type"], "pitr_restore");
    assert_eq!(operation["status"], "pending");
    assert_eq!(operation["created_at"], "2026-03-01T12:00:00.250Z");
    assert!(created.get("operation_id").is_none(), "{created}");
    let id = operation["id"].as_str().expect("an id").to_owned();
    assert!(
        id.len() == 24 && id.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{id}"
    );

    let (status, refused) = sandbox
        .api(
            Method::POST,
            "/pitr/restore",
            Some(restore("2026-03-01T11:00:00Z")),
        )
        .await;
    assert_eq!(
        (status, refused),
        (
            409,
            json!({"error": "another operation is running on this database"})
        )
    );
    let (_, shown) = sandbox.api(Method::GET, "", None).await;
    assert_eq!(shown["database"]["status"], "restoring");
    assert_eq!(shown["database"]["current_operation_id"], json!(id));
    assert_eq!(
        shown["database"]["first_pitr_backup"],
        "2026-02-28T16:00:00.250Z"
    );

    clock.advance(Duration::from_secs(6));
    let (status, finished) = sandbox
        .api(Method::GET, &format!("/operations/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(finished["operation"]["status"], "finished");
    assert_eq!(
        finished["operation"]["finished_at"],
        "2026-03-01T12:00:06.250Z"
    );
    let (_, shown) = sandbox.api(Method::GET, "", None).await;
    assert_eq!(shown["database"]["status"], "running");
    assert!(
        shown["database"]
            .get("current_operation_id")
            .is_none_or(Value::is_null)
    );

    let (status, missing) = sandbox
        .api(Method::GET, "/operations/0123456789abcdef01234567", None)
        .await;
    assert_eq!((status, &missing["resource"]), (404, &json!("operation")));
}
