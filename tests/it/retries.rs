//! Retries against the in-process sandbox: every kind of fault (JSON 500/502/503/504, an HTML 502
//! page, 429 with `Retry-After`, a dropped connection, a time-out, a truncated body, a 200 that is
//! not JSON) against every class of operation.
//!
//! - Reads, password updates, deletes and the token flow recover from the retryable faults with
//!   exactly one request more per fault, and fail at once, with the right typed error, on the
//!   others.
//! - Creating POSTs (user, backup, password reset) are sent exactly once whenever the outcome is
//!   unknown, and never create anything twice.
//! - A connection that cannot be made is retried for every operation, within `max_elapsed`.
//! - `max_attempts`, `max_elapsed`, `Retry-After` and `RetryPolicy::none()` bound the retries.
//! - A DELETE whose answer was lost and whose retry then gets 404 succeeds; without a lost answer
//!   a 404 stays an error.

use std::time::{Duration, Instant};

use crate::support::{FAST_RETRIES, api_token_builder, nothing_listening, sandbox_builder};
use scalingo_db::{Client, Error, NewUser, RetryPolicy};
use scalingo_db_sandbox::{
    DEFAULT_API_TOKEN, DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig,
};

use crate::telemetry::capture;

/// The time limit of a call when a time-out is the fault under test (every attempt of the call
/// has it, so it leaves room for a loaded machine's answers)...
const SHORT_TIMEOUT: Duration = Duration::from_millis(200);
/// ...and the server's delay that exceeds it ten times over, so that a stalled test thread cannot
/// see the late answer before its own time-out.
const LONG_DELAY: Duration = Duration::from_secs(2);
/// The time limit of every other call: never reached on loopback.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The user every case starts with (updated, reset, deleted).
const USER: &str = "retried-user";
/// The user the creating case creates.
const NEW_USER: &str = "created-user";
/// A valid password (24 to 64 characters).
const NEW_PASSWORD: &str = "a-new-password-of-32-characters";

/// How a request fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Json500,
    Json502,
    Json503,
    Json504,
    /// 429, plain text, `Retry-After: 0`.
    TooManyRequests,
    /// 502 with a gateway's HTML page.
    HtmlBadGateway,
    /// Closed without an answer, after the request was read (not applied).
    DroppedConnection,
    /// Answered after the call's time limit.
    TimeOut,
    /// Handled (applied), then the answer is cut after 10 bytes of its body.
    TruncatedBody,
    /// 200 with an HTML body.
    NotJson200,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::Json500,
        Kind::Json502,
        Kind::Json503,
        Kind::Json504,
        Kind::TooManyRequests,
        Kind::HtmlBadGateway,
        Kind::DroppedConnection,
        Kind::TimeOut,
        Kind::TruncatedBody,
        Kind::NotJson200,
    ];

    fn fault(self) -> Fault {
        match self {
            Kind::Json500 => Fault::json_error(500, "injected"),
            Kind::Json502 => Fault::json_error(502, "injected"),
            Kind::Json503 => Fault::json_error(503, "injected"),
            Kind::Json504 => Fault::json_error(504, "injected"),
            Kind::TooManyRequests => Fault::Status {
                status: 429,
                body: "Retry later".to_owned(),
                content_type: Some("text/plain".to_owned()),
                headers: vec![("retry-after".to_owned(), "0".to_owned())],
            },
            Kind::HtmlBadGateway => Fault::Status {
                status: 502,
                body: "<html><body><h1>502 Bad Gateway</h1></body></html>".to_owned(),
                content_type: Some("text/html".to_owned()),
                headers: Vec::new(),
            },
            Kind::DroppedConnection => Fault::DropConnection,
            Kind::TimeOut => Fault::delay(LONG_DELAY),
            Kind::TruncatedBody => Fault::TruncateBody { after_bytes: 10 },
            Kind::NotJson200 => Fault::Status {
                status: 200,
                body: "<html>oops</html>".to_owned(),
                content_type: Some("text/html".to_owned()),
                headers: Vec::new(),
            },
        }
    }

    /// Whether a call that may be repeated is tried again after this fault.
    fn retryable(self) -> bool {
        !matches!(self, Kind::Json500 | Kind::NotJson200)
    }

    fn request_timeout(self) -> Duration {
        if self == Kind::TimeOut {
            SHORT_TIMEOUT
        } else {
            TIMEOUT
        }
    }

    /// Whether `error` is what a call of `op` must end in after this fault.
    fn is_its_error(self, op: Op, error: &Error) -> bool {
        let server = |expected: u16, with_message: bool| {
            matches!(error, Error::Server { status, message }
                if status.as_u16() == expected
                    && message.as_deref() == with_message.then_some("injected"))
        };
        match self {
            Kind::Json500 => server(500, true),
            Kind::Json502 => server(502, true),
            Kind::Json503 => server(503, true),
            Kind::Json504 => server(504, true),
            Kind::HtmlBadGateway => server(502, false),
            Kind::TooManyRequests => matches!(
                error,
                Error::RateLimited { retry_after: Some(wait) } if wait.is_zero()
            ),
            Kind::DroppedConnection | Kind::TruncatedBody => {
                matches!(error, Error::Transport { .. })
            }
            Kind::TimeOut => matches!(error, Error::Timeout { .. }),
            // A 200 where 201 or 204 is the answer is unexpected; where 200 is, its body is not
            // the JSON the contract describes.
            Kind::NotJson200 if op.succeeds_with_200() => matches!(error, Error::Decode { .. }),
            Kind::NotJson200 => matches!(
                error,
                Error::UnexpectedStatus { status, .. } if status.as_u16() == 200
            ),
        }
    }
}

/// One operation of the facade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    ListUsers,
    ListBackups,
    GetBackup,
    ArchiveLink,
    UpdatePassword,
    DeleteUser,
    CreateUser,
    CreateBackup,
    ResetPassword,
}

/// The operations that may be repeated whatever the failure.
const REPEATABLE: [Op; 6] = [
    Op::ListUsers,
    Op::ListBackups,
    Op::GetBackup,
    Op::ArchiveLink,
    Op::UpdatePassword,
    Op::DeleteUser,
];

/// The operations that create something.
const CREATING: [Op; 3] = [Op::CreateUser, Op::CreateBackup, Op::ResetPassword];

impl Op {
    const ALL: [Op; 9] = [
        Op::ListUsers,
        Op::ListBackups,
        Op::GetBackup,
        Op::ArchiveLink,
        Op::UpdatePassword,
        Op::DeleteUser,
        Op::CreateUser,
        Op::CreateBackup,
        Op::ResetPassword,
    ];

    /// Its `operationId`, under which the sandbox counts it.
    fn id(self) -> &'static str {
        match self {
            Op::ListUsers => "list_users",
            Op::ListBackups => "list_backups",
            Op::GetBackup => "get_backup",
            Op::ArchiveLink => "get_backup_archive_url",
            Op::UpdatePassword => "update_user_password",
            Op::DeleteUser => "delete_user",
            Op::CreateUser => "create_user",
            Op::CreateBackup => "create_backup",
            Op::ResetPassword => "reset_user_password",
        }
    }

    /// Whether its success is a 200 with a JSON body (the others answer 201 or 204).
    fn succeeds_with_200(self) -> bool {
        !matches!(self, Op::DeleteUser | Op::CreateUser | Op::CreateBackup)
    }

    /// Calls it on [`USER`], [`NEW_USER`] or `backup_id`.
    async fn call(self, client: &Client, backup_id: &str) -> Result<(), Error> {
        match self {
            Op::ListUsers => client.users().list().await.map(drop),
            Op::ListBackups => client.backups().list().await.map(drop),
            Op::GetBackup => client.backups().get(backup_id).await.map(drop),
            Op::ArchiveLink => client.backups().archive_link(backup_id).await.map(drop),
            Op::UpdatePassword => client
                .users()
                .update_password(USER, NEW_PASSWORD)
                .await
                .map(drop),
            Op::DeleteUser => client.users().delete(USER).await,
            Op::CreateUser => client
                .users()
                .create(NewUser::new(NEW_USER))
                .await
                .map(drop),
            Op::CreateBackup => client.backups().create().await.map(drop),
            Op::ResetPassword => client.users().reset_password(USER).await.map(drop),
        }
    }
}

/// A fresh sandbox holding [`USER`] and its one (periodic) backup, a client of it, and counters
/// at zero.
struct Case {
    sandbox: Sandbox,
    client: Client,
    backup_id: String,
}

impl Case {
    async fn start(request_timeout: Duration, policy: RetryPolicy) -> Case {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        let client = sandbox_builder(&sandbox)
            .request_timeout(request_timeout)
            .retry(policy)
            .build()
            .expect("valid client settings");
        client
            .users()
            .create(NewUser::new(USER))
            .await
            .expect("create the user");
        let backup_id = client.backups().list().await.expect("list backups")[0]
            .id
            .clone();
        sandbox.counters().reset();
        Case {
            sandbox,
            client,
            backup_id,
        }
    }

    fn requests(&self, op: Op) -> u64 {
        self.sandbox.counters().get(op.id())
    }

    async fn user_names(&self) -> Vec<String> {
        self.client
            .users()
            .list()
            .await
            .expect("list users")
            .into_iter()
            .map(|user| user.name)
            .collect()
    }

    async fn backup_count(&self) -> usize {
        self.client
            .backups()
            .list()
            .await
            .expect("list backups")
            .len()
    }
}

/// Returns `Err(message)` from the enclosing case when `condition` is false.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

/// `times` faults of `kind` on a repeatable `op`: recovered with exactly `times + 1` requests when
/// the fault is retryable, otherwise an immediate typed error after one request.
async fn repeatable_case(kind: Kind, op: Op, times: u32) -> Result<(), String> {
    let case = Case::start(kind.request_timeout(), FAST_RETRIES).await;
    case.sandbox
        .faults()
        .inject(FaultRule::new(op.id(), times, kind.fault()));

    let outcome = op.call(&case.client, &case.backup_id).await;
    let requests = case.requests(op);
    let label = format!("{op:?} after {times} × {kind:?}");

    if kind.retryable() {
        ensure!(
            outcome.is_ok(),
            "{label}: expected a success after retries, got {outcome:?}"
        );
        // A delete whose first answer was lost is done: the retry's 404 (even with its body
        // cut) ends the call with success, however many faults remain.
        let expected = if op == Op::DeleteUser && kind == Kind::TruncatedBody {
            2
        } else {
            u64::from(times) + 1
        };
        ensure!(
            requests == expected,
            "{label}: {requests} requests, expected {expected}"
        );
        if op == Op::DeleteUser {
            let names = case.user_names().await;
            ensure!(
                !names.iter().any(|name| name == USER),
                "{label}: the user is still there: {names:?}"
            );
        }
    } else {
        let Err(error) = outcome else {
            return Err(format!("{label}: expected an error, got a success"));
        };
        ensure!(
            kind.is_its_error(op, &error),
            "{label}: unexpected error {error:?}"
        );
        ensure!(
            requests == 1,
            "{label}: {requests} requests, expected one (no retry)"
        );
    }
    Ok(())
}

/// One fault of `kind` on a creating `op`, first half: sent once, and the typed error. The case
/// is returned for [`creating_outcome`], once the server is done with any late request.
async fn creating_call(kind: Kind, op: Op) -> Result<Case, String> {
    let case = Case::start(kind.request_timeout(), FAST_RETRIES).await;
    case.sandbox
        .faults()
        .inject(FaultRule::new(op.id(), 1, kind.fault()));
    let label = format!("{op:?} after 1 × {kind:?}");

    let outcome = op.call(&case.client, &case.backup_id).await;
    let Err(error) = outcome else {
        return Err(format!(
            "{label}: expected an error, got a success after {} requests",
            case.requests(op)
        ));
    };
    ensure!(
        kind.is_its_error(op, &error),
        "{label}: unexpected error {error:?}"
    );
    ensure!(
        case.requests(op) == 1,
        "{label}: {} requests, expected exactly one",
        case.requests(op)
    );
    Ok(case)
}

/// The second half of [`creating_call`]: nothing created twice (created once when the server
/// did handle the request, i.e. the body was cut), and still one request.
async fn creating_outcome(case: &Case, kind: Kind, op: Op) -> Result<(), String> {
    let label = format!("{op:?} after 1 × {kind:?}");
    let created = match op {
        Op::CreateBackup => case.backup_count().await - 1,
        Op::CreateUser => case
            .user_names()
            .await
            .iter()
            .filter(|name| *name == NEW_USER)
            .count(),
        // A reset creates nothing one can list; its request count is the check.
        _ => return Ok(()),
    };
    match kind {
        Kind::TruncatedBody => ensure!(
            created == 1,
            "{label}: the handled request created {created}, expected exactly one"
        ),
        Kind::TimeOut => ensure!(
            created <= 1,
            "{label}: {created} created, expected at most one"
        ),
        _ => ensure!(
            created == 0,
            "{label}: the refused request created {created}"
        ),
    }
    ensure!(
        case.requests(op) == 1,
        "{label}: {} requests in the end",
        case.requests(op)
    );
    Ok(())
}

/// Every repeatable operation with 1 and 2 faults (1 for a fault that is not retried), and every
/// creating one with 1; all failures are reported together.
async fn check_kind(kind: Kind) {
    let mut failures = Vec::new();
    let times: &[u32] = if kind.retryable() { &[1, 2] } else { &[1] };
    for op in REPEATABLE {
        for &times in times {
            if let Err(failure) = repeatable_case(kind, op, times).await {
                failures.push(failure);
            }
        }
    }
    let mut called = Vec::new();
    for op in CREATING {
        match creating_call(kind, op).await {
            Ok(case) => called.push((op, case)),
            Err(failure) => failures.push(failure),
        }
    }
    if kind == Kind::TimeOut {
        // Whatever the servers do with the late requests, they have done it by now (one wait
        // for all the cases).
        tokio::time::sleep(LONG_DELAY + Duration::from_millis(500)).await;
    }
    for (op, case) in &called {
        if let Err(failure) = creating_outcome(case, kind, *op).await {
            failures.push(failure);
        }
    }
    assert!(failures.is_empty(), "{kind:?}:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn a_json_500_is_never_retried() {
    check_kind(Kind::Json500).await;
}

#[tokio::test]
async fn a_json_502_is_retried_except_for_creating_posts() {
    check_kind(Kind::Json502).await;
}

#[tokio::test]
async fn a_json_503_is_retried_except_for_creating_posts() {
    check_kind(Kind::Json503).await;
}

#[tokio::test]
async fn a_json_504_is_retried_except_for_creating_posts() {
    check_kind(Kind::Json504).await;
}

#[tokio::test]
async fn a_429_is_retried_except_for_creating_posts() {
    check_kind(Kind::TooManyRequests).await;
}

#[tokio::test]
async fn an_html_502_page_is_retried_except_for_creating_posts() {
    check_kind(Kind::HtmlBadGateway).await;
}

#[tokio::test]
async fn a_dropped_connection_is_retried_except_for_creating_posts() {
    check_kind(Kind::DroppedConnection).await;
}

#[tokio::test]
async fn a_time_out_is_retried_except_for_creating_posts() {
    check_kind(Kind::TimeOut).await;
}

#[tokio::test]
async fn a_truncated_body_is_retried_except_for_creating_posts_which_create_once() {
    check_kind(Kind::TruncatedBody).await;
}

#[tokio::test]
async fn a_200_that_is_not_json_is_never_retried() {
    check_kind(Kind::NotJson200).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_that_cannot_be_made_is_retried_for_every_operation() {
    let nowhere = nothing_listening();
    let (captured, _guard) = capture();

    let client = Client::builder()
        .base_url(format!("{nowhere}/api"))
        .database_id(DEFAULT_DATABASE)
        .token("tok-never-sent-3e9a")
        .retry(FAST_RETRIES)
        .build()
        .expect("valid client settings");
    for op in Op::ALL {
        let started = Instant::now();
        let outcome = op.call(&client, "5a4b0d7e-backup").await;
        let elapsed = started.elapsed();
        assert!(
            matches!(outcome, Err(Error::Connect { .. })),
            "{op:?}: {outcome:?}"
        );
        assert!(
            elapsed <= FAST_RETRIES.max_elapsed,
            "{op:?} took {elapsed:?}"
        );
        assert_eq!(
            captured.attempts(op.id()),
            [Some(1), Some(2), Some(3), Some(4)],
            "{op:?}: every attempt failed to connect"
        );
    }

    // Without retries, one attempt.
    let once = Client::builder()
        .base_url(format!("{nowhere}/api"))
        .database_id(DEFAULT_DATABASE)
        .token("tok-never-sent-3e9a")
        .retry(RetryPolicy::none())
        .build()
        .expect("valid client settings");
    let before = captured.attempts("list_backups").len();
    assert!(matches!(
        once.backups().list().await,
        Err(Error::Connect { .. })
    ));
    assert_eq!(captured.attempts("list_backups").len(), before + 1);

    // The token flow: the authentication service, then the main API, cannot be reached.
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let mut token_attempts = Vec::new();
    for (auth_url, main_api_url, unreachable) in [
        (nowhere.clone(), nowhere.clone(), "exchange_api_token"),
        (sandbox.base_url(), nowhere.clone(), "get_addon_token"),
    ] {
        let client = api_token_builder(&sandbox, DEFAULT_API_TOKEN)
            .auth_url(auth_url)
            .main_api_url(main_api_url)
            .retry(FAST_RETRIES)
            .build()
            .expect("valid client settings");
        let started = Instant::now();
        let outcome = client.users().list().await;
        let elapsed = started.elapsed();
        assert!(
            matches!(outcome, Err(Error::Connect { .. })),
            "{unreachable}: {outcome:?}"
        );
        assert!(
            elapsed <= FAST_RETRIES.max_elapsed,
            "{unreachable} took {elapsed:?}"
        );
        token_attempts.push((unreachable, captured.attempts(unreachable)));
    }
    assert_eq!(
        sandbox.counters().get("list_users"),
        0,
        "no token, no Database API call"
    );
    assert_eq!(sandbox.counters().get("exchange_api_token"), 1);
    let every_attempt = vec![Some(1), Some(2), Some(3), Some(4)];
    assert_eq!(
        token_attempts,
        [
            ("exchange_api_token", every_attempt.clone()),
            ("get_addon_token", every_attempt)
        ],
        "max_attempts attempts of the token request in all"
    );
}

#[tokio::test]
async fn max_elapsed_stops_retrying_in_time() {
    let policy = RetryPolicy {
        max_attempts: 1000,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_millis(300),
    };
    let case = Case::start(TIMEOUT, policy).await;
    case.sandbox.faults().inject(FaultRule::new(
        "list_users",
        1000,
        Fault::json_error(503, "injected"),
    ));

    let started = Instant::now();
    let outcome = case.client.users().list().await;
    let elapsed = started.elapsed();

    assert!(Kind::Json503.is_its_error(Op::ListUsers, outcome.as_ref().unwrap_err()));
    let requests = case.requests(Op::ListUsers);
    assert!(
        (5..1000).contains(&requests),
        "{requests} requests: retried until the time ran out"
    );
    // No retry starts past max_elapsed; each wait is at most 20 ms, so the last starts after 280.
    assert!(
        elapsed >= Duration::from_millis(250),
        "gave up early: {elapsed:?}"
    );
    assert!(
        elapsed < policy.max_elapsed + Duration::from_millis(500),
        "went on too long: {elapsed:?}"
    );
}

#[tokio::test]
async fn max_attempts_bounds_the_requests() {
    // Every repeatable operation, with the default bound of the fast policy.
    for op in REPEATABLE {
        let case = Case::start(TIMEOUT, FAST_RETRIES).await;
        case.sandbox.faults().inject(FaultRule::new(
            op.id(),
            10,
            Fault::json_error(503, "injected"),
        ));
        let outcome = op.call(&case.client, &case.backup_id).await;
        let error = outcome.expect_err("still failing after the last attempt");
        assert!(Kind::Json503.is_its_error(op, &error), "{op:?}: {error:?}");
        assert_eq!(
            case.requests(op),
            u64::from(FAST_RETRIES.max_attempts),
            "{op:?}"
        );
    }
    // Other bounds.
    for max_attempts in [1, 2, 6] {
        let policy = RetryPolicy {
            max_attempts,
            ..FAST_RETRIES
        };
        let case = Case::start(TIMEOUT, policy).await;
        case.sandbox.faults().inject(FaultRule::new(
            "list_backups",
            10,
            Fault::json_error(503, "injected"),
        ));
        let error = case
            .client
            .backups()
            .list()
            .await
            .expect_err("still failing");
        assert!(
            Kind::Json503.is_its_error(Op::ListBackups, &error),
            "{error:?}"
        );
        assert_eq!(
            case.requests(Op::ListBackups),
            u64::from(max_attempts),
            "max_attempts {max_attempts}"
        );
    }
}

#[tokio::test]
async fn retry_policy_none_sends_every_call_once() {
    for kind in [Kind::Json503, Kind::DroppedConnection] {
        for op in Op::ALL {
            let case = Case::start(TIMEOUT, RetryPolicy::none()).await;
            case.sandbox
                .faults()
                .inject(FaultRule::new(op.id(), 1, kind.fault()));
            let outcome = op.call(&case.client, &case.backup_id).await;
            let error = outcome.expect_err("not retried");
            assert!(kind.is_its_error(op, &error), "{op:?}, {kind:?}: {error:?}");
            assert_eq!(case.requests(op), 1, "{op:?}, {kind:?}");
        }
    }
}

/// A 429 on `list_users` asking to wait `retry_after`.
fn too_many_requests(retry_after: &str) -> FaultRule {
    FaultRule::new(
        "list_users",
        1,
        Fault::Status {
            status: 429,
            body: "Retry later".to_owned(),
            content_type: Some("text/plain".to_owned()),
            headers: vec![("retry-after".to_owned(), retry_after.to_owned())],
        },
    )
}

#[tokio::test]
async fn a_429_waits_what_retry_after_asks_then_succeeds() {
    let case = Case::start(TIMEOUT, FAST_RETRIES).await;
    case.sandbox.faults().inject(too_many_requests("1"));

    let started = Instant::now();
    let users = case.client.users().list().await.expect("recovers");
    let elapsed = started.elapsed();

    assert_eq!(users.len(), 2, "the default user and {USER}");
    assert_eq!(case.requests(Op::ListUsers), 2);
    assert!(
        elapsed >= Duration::from_millis(900),
        "retried after {elapsed:?}, before Retry-After's second"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "waited {elapsed:?}, not what Retry-After asked"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_max_elapsed_is_not_waited_for() {
    let case = Case::start(TIMEOUT, FAST_RETRIES).await;
    case.sandbox.faults().inject(too_many_requests("10"));

    let started = Instant::now();
    let outcome = case.client.users().list().await;
    let elapsed = started.elapsed();

    match outcome {
        Err(Error::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(10)));
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    assert_eq!(case.requests(Op::ListUsers), 1);
    assert!(elapsed < Duration::from_secs(1), "waited {elapsed:?}");
}

#[tokio::test]
async fn a_delete_whose_answer_was_cut_succeeds_when_the_retry_finds_the_user_gone() {
    let case = Case::start(TIMEOUT, FAST_RETRIES).await;
    // The user is deleted, then the answer is cut: the client cannot tell whether it worked.
    case.sandbox.faults().inject(FaultRule::new(
        "delete_user",
        1,
        Fault::TruncateBody { after_bytes: 0 },
    ));

    let outcome = case.client.users().delete(USER).await;

    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(!case.user_names().await.iter().any(|name| name == USER));
    assert_eq!(
        case.requests(Op::DeleteUser),
        2,
        "the first answer was lost, so the delete is sent again and its 404 means done"
    );
}

#[tokio::test]
async fn a_delete_retried_after_a_lost_answer_takes_404_as_done() {
    // Whether the lost attempt deleted the user or someone else did meanwhile, the client sees
    // the same thing: no answer (or a gateway's 504), then 404 on the retry. The user is deleted
    // beforehand so that the retry's 404 does not depend on the fault applying the request. (A
    // truncated body is no lost answer here: the 404's status arrives before the cut.)
    for kind in [Kind::DroppedConnection, Kind::TimeOut, Kind::Json504] {
        let case = Case::start(kind.request_timeout(), FAST_RETRIES).await;
        case.client
            .users()
            .delete(USER)
            .await
            .expect("delete beforehand");
        case.sandbox.counters().reset();
        case.sandbox
            .faults()
            .inject(FaultRule::new("delete_user", 1, kind.fault()));

        let outcome = case.client.users().delete(USER).await;

        assert!(outcome.is_ok(), "{kind:?}: {outcome:?}");
        assert_eq!(case.requests(Op::DeleteUser), 2, "{kind:?}");
    }
}

#[tokio::test]
async fn deleting_a_user_that_never_existed_is_not_found() {
    let case = Case::start(TIMEOUT, FAST_RETRIES).await;
    let error = case
        .client
        .users()
        .delete("never-existed")
        .await
        .expect_err("nothing to delete");
    match &error {
        Error::NotFound { resource, .. } => {
            assert_eq!(resource.as_deref(), Some("database_user"));
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    assert_eq!(case.requests(Op::DeleteUser), 1);

    // A 429 is an answer: the request was not applied, so a 404 after it is still an error.
    case.sandbox.faults().inject(FaultRule::new(
        "delete_user",
        1,
        Kind::TooManyRequests.fault(),
    ));
    let outcome = case.client.users().delete("never-existed").await;
    assert!(
        matches!(outcome, Err(Error::NotFound { .. })),
        "{outcome:?}"
    );
    assert_eq!(case.requests(Op::DeleteUser), 3);
}

/// A client of [`DEFAULT_DATABASE`] that gets its tokens from the sandbox with [`DEFAULT_API_TOKEN`].
fn api_token_client(sandbox: &Sandbox, request_timeout: Duration) -> Client {
    api_token_builder(sandbox, DEFAULT_API_TOKEN)
        .request_timeout(request_timeout)
        .retry(FAST_RETRIES)
        .build()
        .expect("valid client settings")
}

#[tokio::test]
async fn the_token_flow_is_retried_like_a_read() {
    for unreachable in ["exchange_api_token", "get_addon_token"] {
        for kind in Kind::ALL {
            let sandbox = Sandbox::start(SandboxConfig::default())
                .await
                .expect("sandbox starts");
            let client = api_token_client(&sandbox, kind.request_timeout());
            sandbox
                .faults()
                .inject(FaultRule::new(unreachable, 1, kind.fault()));

            let outcome = client.users().list().await;

            let counters = sandbox.counters();
            let label = format!("{kind:?} on {unreachable}");
            if kind.retryable() {
                assert_eq!(outcome.map(|users| users.len()).ok(), Some(1), "{label}");
                assert_eq!(counters.get(unreachable), 2, "{label}");
                assert_eq!(
                    counters.get("exchange_api_token") + counters.get("get_addon_token"),
                    3,
                    "{label}: the other token request once"
                );
                assert_eq!(counters.get("list_users"), 1, "{label}");
            } else {
                let error = outcome.expect_err("not retried");
                // Both token answers are 200 JSON on success, like a read.
                assert!(
                    kind.is_its_error(Op::ListUsers, &error),
                    "{label}: {error:?}"
                );
                assert_eq!(counters.get(unreachable), 1, "{label}");
                assert_eq!(counters.get("list_users"), 0, "{label}");
            }
        }
    }
}

#[tokio::test]
async fn max_attempts_bounds_the_token_requests_too() {
    let mut requests = Vec::new();
    for unreachable in ["exchange_api_token", "get_addon_token"] {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .expect("sandbox starts");
        let client = api_token_client(&sandbox, TIMEOUT);
        sandbox.faults().inject(FaultRule::new(
            unreachable,
            100,
            Fault::json_error(503, "injected"),
        ));

        let error = client.users().list().await.expect_err("no token, no call");

        assert!(
            Kind::Json503.is_its_error(Op::ListUsers, &error),
            "{unreachable}: {error:?}"
        );
        assert_eq!(sandbox.counters().get("list_users"), 0, "{unreachable}");
        requests.push((unreachable, sandbox.counters().get(unreachable)));
    }
    let max = u64::from(FAST_RETRIES.max_attempts);
    assert_eq!(
        requests,
        [("exchange_api_token", max), ("get_addon_token", max)],
        "max_attempts is the number of attempts in all"
    );
}
