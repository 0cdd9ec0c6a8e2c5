//! Retries against the in-process sandbox: every kind of fault (JSON 500/502/503/504, an HTML 502
//! page, 429 with `Retry-After`, a dropped connection, a time-out, a truncated body, a 200 that is
//! not JSON) against every operation of the contract, in the class the contract gives it.
//!
//! - Operations the contract marks idempotent (reads, password updates, deletes) and the token
//!   flow recover from the retryable faults with exactly one request, and one sleep, more per
//!   fault, and fail at once, with the right typed error, on the others.
//! - The others, creating POSTs (user, backup, password reset, restore), are sent exactly once
//!   whenever the outcome is unknown, and never create anything twice. A 429 refuses a request
//!   before handling it, so after one they are sent again, after `Retry-After`, and create once.
//! - A connection that cannot be made is retried for every operation, within `max_elapsed`.
//! - `max_attempts`, `max_elapsed`, `Retry-After` (seconds or a date) and `RetryPolicy::none()`
//!   bound the retries; backoffs stay under their full-jitter caps.
//! - A request's time limit leaves room for retries: the default limits (scaled down) retry a
//!   timed-out read, and a retry is cut to what is left of `max_elapsed`.
//! - A DELETE whose answer was lost and whose retry then gets 404 succeeds; without a lost answer
//!   a 404 stays an error.
//!
//! The matrix is the contract's operation table (`OperationId::ALL`): an operation's class is
//! `is_idempotent()`, and [`facade_call`] says how the facade calls it, in a `match` without a
//! `_` arm, so an operation added to the contract does not compile until it has its row here.
//!
//! Every client sleeps on a [`SharedClock`] of a sandbox whose clock is manual: a backoff or a
//! `Retry-After` takes no time and is asserted exactly. Only the time-out faults take real time,
//! and each kind's cases run concurrently (each with its own sandbox) so that they wait together;
//! the tests of the time budget itself run on the real clock, with limits of a few hundred ms.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use scalingo_db::{Database, Error, NewUser, OperationId, RetryPolicy, Server};
use scalingo_db_sandbox::{
    Clock, DEFAULT_API_TOKEN, DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig,
};
use tokio::task::JoinSet;

use crate::contract::success_status;
use crate::support::{
    SharedClock, api_token_builder, database, nothing_listening, sandbox_builder,
};
use crate::telemetry::capture;

/// The time limit of a call when a time-out is the fault under test. Every attempt of the call
/// has it, the one that must succeed too, so it leaves room for a loaded machine's answers (the
/// setup of a case, which builds a client, is done before and with [`TIMEOUT`])...
const SHORT_TIMEOUT: Duration = Duration::from_millis(500);
/// ...and the server's delay that exceeds it. Any margin would do: the answer leaves the server
/// `LONG_DELAY` after the request arrived, so after the client's time limit, which started
/// before it was sent; and reqwest looks at its timer before the answer whenever both are
/// ready, however late a stalled thread comes back to them.
const LONG_DELAY: Duration = Duration::from_millis(800);
/// How long a late request may take to be handled once its delay is over.
const LATE_MARGIN: Duration = Duration::from_millis(200);
/// The time limit of every other call: never reached on loopback.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The retry policy of every client here, with backoffs of seconds: on the shared clock they
/// cost nothing, and a real sleep would show at once.
const RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    initial_backoff: Duration::from_secs(1),
    max_backoff: Duration::from_secs(8),
    max_elapsed: Duration::from_secs(60),
};

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
            Kind::TooManyRequests => too_many_requests("0"),
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

    /// Whether this fault says the request was refused before it was handled, so that a
    /// creating call is tried again too.
    fn refused_unhandled(self) -> bool {
        self == Kind::TooManyRequests
    }

    fn request_timeout(self) -> Duration {
        if self == Kind::TimeOut {
            SHORT_TIMEOUT
        } else {
            TIMEOUT
        }
    }

    /// The most the client may sleep before retry number `retry` (from 1) after this fault: what
    /// `Retry-After` asks after a 429, the full-jitter cap otherwise.
    fn longest_sleep(self, retry: u32) -> Duration {
        if self == Kind::TooManyRequests {
            Duration::ZERO
        } else {
            jitter_cap(RETRIES, retry)
        }
    }

    /// Whether `error` is what a call of `operation` must end in after this fault.
    fn is_its_error(self, operation: OperationId, error: &Error) -> bool {
        let server = |expected: u16, with_message: bool| {
            matches!(error, Error::Server { status, message, .. }
                if *status == expected
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
                Error::RateLimited { retry_after: Some(wait), .. } if wait.is_zero()
            ),
            Kind::DroppedConnection | Kind::TruncatedBody => {
                matches!(error, Error::Transport { .. })
            }
            Kind::TimeOut => matches!(error, Error::Timeout { .. }),
            // A 200 where the contract answers 201 or 204 is unexpected; where it answers 200,
            // its body is not the JSON the contract describes.
            Kind::NotJson200 if success_status(operation) == 200 => {
                matches!(error, Error::Decode { .. })
            }
            Kind::NotJson200 => matches!(error, Error::UnexpectedStatus { status: 200, .. }),
        }
    }
}

/// A plain-text 429 asking to wait `retry_after`.
fn too_many_requests(retry_after: &str) -> Fault {
    Fault::Status {
        status: 429,
        body: "Retry later".to_owned(),
        content_type: Some("text/plain".to_owned()),
        headers: vec![("retry-after".to_owned(), retry_after.to_owned())],
    }
}

/// The cap of the random delay before retry number `retry` (from 1): `initial_backoff`
/// doubled each retry, at most `max_backoff`.
fn jitter_cap(policy: RetryPolicy, retry: u32) -> Duration {
    policy
        .initial_backoff
        .saturating_mul(1 << (retry - 1).min(30))
        .min(policy.max_backoff)
}

type Outcome<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// How the facade calls an operation, on [`USER`], [`NEW_USER`], or what the case holds.
type Caller = for<'a> fn(&'a Database, &'a Existing) -> Outcome<'a>;

/// What a case holds for the operations on one thing: a done backup, a finished operation.
struct Existing {
    backup_id: String,
    operation_id: String,
}

/// A time within the recovery window of a [`Case`]'s database: after its seeded backup (20 hours
/// before [`epoch`]) and before now.
fn restore_time() -> DateTime<Utc> {
    epoch() - chrono::TimeDelta::hours(1)
}

/// How the facade calls `operation`, or `None` for the operations this matrix cannot call that
/// way (each arm says where they are covered). No `_` arm: an operation added to the contract
/// does not compile until it has its row.
fn facade_call(operation: OperationId) -> Option<Caller> {
    let call: Caller = match operation {
        OperationId::GetDatabase => |db, _| Box::pin(async move { db.show().await.map(drop) }),
        OperationId::UpdateDatabase => {
            |db, _| Box::pin(async move { db.backups().schedule_at(3).await.map(drop) })
        }
        OperationId::GetRecoveryWindow => {
            |db, _| Box::pin(async move { db.pitr().window().await.map(drop) })
        }
        // The window is read first (the GetRecoveryWindow row's request), then the restore sent.
        OperationId::RestoreDatabase => {
            |db, _| Box::pin(async move { db.pitr().restore(restore_time()).await.map(drop) })
        }
        OperationId::GetOperation => |db, existing| {
            Box::pin(async move {
                let operation = &existing.operation_id;
                db.operations().get(operation).await.map(drop)
            })
        },
        OperationId::ListUsers => {
            |db, _| Box::pin(async move { db.users().list().await.map(drop) })
        }
        OperationId::CreateUser => |db, _| {
            Box::pin(async move { db.users().create(NewUser::new(NEW_USER)).await.map(drop) })
        },
        OperationId::DeleteUser => |db, _| Box::pin(db.users().delete(USER).send()),
        OperationId::UpdateUserPassword => |db, _| {
            Box::pin(async move {
                db.users()
                    .update_password(USER, NEW_PASSWORD)
                    .await
                    .map(drop)
            })
        },
        OperationId::ResetUserPassword => {
            |db, _| Box::pin(async move { db.users().reset_password(USER).await.map(drop) })
        }
        OperationId::ListBackups => {
            |db, _| Box::pin(async move { db.backups().list().await.map(drop) })
        }
        OperationId::CreateBackup => {
            |db, _| Box::pin(async move { db.backups().create().await.map(drop) })
        }
        OperationId::GetBackupById => |db, existing| {
            Box::pin(async move { db.backups().get(&existing.backup_id).await.map(drop) })
        },
        // The JavaScript client's nested path: the facade shows a backup through
        // `get_backup_by_id`, above.
        OperationId::GetBackup => return None,
        OperationId::GetBackupArchiveUrl => |db, existing| {
            Box::pin(async move {
                let backup = &existing.backup_id;
                db.backups().archive_url(backup).await.map(drop)
            })
        },
        // Not retried as a call: a download has its own resume loop (a `Range` request from the
        // bytes received, within the policy's bounds), whose faults downloads.rs covers.
        OperationId::DownloadBackupArchive => return None,
        // Not called on a database: the token flow runs before the first call of an API-token
        // client. The token-flow cases below take them from the table (`token_flow`).
        OperationId::ExchangeApiToken | OperationId::GetAddonToken => return None,
    };
    Some(call)
}

/// Every operation of the contract the matrix calls, with how.
fn matrix() -> Vec<(OperationId, Caller)> {
    OperationId::ALL
        .into_iter()
        .filter_map(|operation| Some((operation, facade_call(operation)?)))
        .collect()
}

/// The operations of the matrix that the contract says may be sent again after a lost answer
/// (`x-idempotent`), or those it says may not.
fn of_class(idempotent: bool) -> Vec<(OperationId, Caller)> {
    matrix()
        .into_iter()
        .filter(|(operation, _)| operation.is_idempotent() == idempotent)
        .collect()
}

/// The operations of the token flow, from the table: those of the `auth` tag.
fn token_flow() -> Vec<OperationId> {
    OperationId::ALL
        .into_iter()
        .filter(|operation| operation.tag() == "auth")
        .collect()
}

#[test]
fn the_matrix_holds_every_class_of_operation_and_the_token_flow() {
    // So that no check below passes for want of operations to check.
    let repeatable: Vec<OperationId> = of_class(true).iter().map(|(op, _)| *op).collect();
    let creating: Vec<OperationId> = of_class(false).iter().map(|(op, _)| *op).collect();
    assert!(
        repeatable.contains(&OperationId::ListUsers),
        "{repeatable:?}"
    );
    assert!(
        repeatable.contains(&OperationId::DeleteUser),
        "{repeatable:?}"
    );
    assert!(
        creating.contains(&OperationId::CreateBackup),
        "{creating:?}"
    );
    assert!(
        creating.contains(&OperationId::ResetUserPassword),
        "{creating:?}"
    );
    let tokens = token_flow();
    assert!(
        tokens.contains(&OperationId::ExchangeApiToken),
        "{tokens:?}"
    );
    assert!(tokens.contains(&OperationId::GetAddonToken), "{tokens:?}");
    assert!(
        tokens.iter().all(|operation| operation.is_idempotent()),
        "the token flow is retried like a read: {tokens:?}"
    );
}

/// The time the sandboxes of these tests stand at until a client sleeps.
/// How long an operation of a [`Case`]'s sandbox takes: it stays under way unless the test
/// moves the clock.
const OPERATION_TAKES: Duration = Duration::from_secs(2);

fn epoch() -> DateTime<Utc> {
    "2026-03-01T12:00:00Z".parse().expect("a date")
}

/// A sandbox on a manual clock standing at [`epoch`].
async fn manual_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        clock: Clock::manual(epoch()),
        operation_pending_for: OPERATION_TAKES / 2,
        operation_running_for: OPERATION_TAKES / 2,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// A fresh sandbox holding [`USER`] and its one (periodic) backup, a client of it sleeping on
/// the sandbox's clock, and counters at zero. Its own calls (setup and checks) have [`TIMEOUT`],
/// whatever the client's time limit.
struct Case {
    sandbox: Sandbox,
    db: Database,
    clock: SharedClock,
    existing: Existing,
}

impl Case {
    async fn start(request_timeout: Duration, policy: RetryPolicy) -> Case {
        let sandbox = manual_sandbox().await;
        let clock = SharedClock::of(&sandbox);
        let builder = sandbox_builder(&sandbox)
            .request_timeout(request_timeout)
            .retry(policy)
            .clock(clock.clone());
        let db = database(builder, DEFAULT_DATABASE);
        db.users()
            .create(NewUser::new(USER))
            .timeout(TIMEOUT)
            .await
            .expect("create the user");
        let backups = db.backups().list().timeout(TIMEOUT).await;
        let backup_id = backups.expect("list backups")[0].id.clone();
        let restore = db.pitr().restore(restore_time()).timeout(TIMEOUT).await;
        let operation_id = restore.expect("a restore").id;
        // Finished, so that the restore under test is not refused for it (409).
        sandbox.clock().advance(OPERATION_TAKES);
        sandbox.counters().reset();
        Case {
            sandbox,
            db,
            clock,
            existing: Existing {
                backup_id,
                operation_id,
            },
        }
    }

    fn requests(&self, operation: OperationId) -> u64 {
        self.sandbox.counters().get(operation)
    }

    async fn user_names(&self) -> Vec<String> {
        self.db
            .users()
            .list()
            .timeout(TIMEOUT)
            .await
            .expect("list users")
            .into_iter()
            .map(|user| user.name)
            .collect()
    }

    /// How many operations the sandbox's databases hold, from its state.
    fn operation_count(&self) -> usize {
        let state = serde_json::to_value(self.sandbox.state()).expect("the state as JSON");
        state["databases"]
            .as_array()
            .expect("databases")
            .iter()
            .map(|database| database["operations"].as_array().map_or(0, Vec::len))
            .sum()
    }

    async fn backup_count(&self) -> usize {
        let backups = self.db.backups().list().timeout(TIMEOUT).await;
        backups.expect("list backups").len()
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

/// `Ok` if the client slept exactly `retries` times, each at most `longest(retry)`.
fn check_sleeps(
    label: &str,
    sleeps: &[Duration],
    retries: usize,
    longest: impl Fn(u32) -> Duration,
) -> Result<(), String> {
    ensure!(
        sleeps.len() == retries,
        "{label}: slept {sleeps:?}, expected {retries} sleeps"
    );
    for (retry, sleep) in (1..).zip(sleeps) {
        let cap = longest(retry);
        ensure!(
            *sleep <= cap,
            "{label}: slept {sleep:?} before retry {retry}, more than {cap:?}"
        );
    }
    Ok(())
}

/// Starts `count` cases at once, answered in order.
async fn start_cases(count: usize, request_timeout: Duration, policy: RetryPolicy) -> Vec<Case> {
    let mut set = JoinSet::new();
    for index in 0..count {
        set.spawn(async move { (index, Case::start(request_timeout, policy).await) });
    }
    let mut cases = Vec::with_capacity(count);
    while let Some(joined) = set.join_next().await {
        cases.push(joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())));
    }
    cases.sort_by_key(|(index, _)| *index);
    cases.into_iter().map(|(_, case)| case).collect()
}

/// Runs the cases of `set` to the end (they run concurrently, each with its own sandbox) and
/// answers their failures; a case that panicked panics here.
async fn failures_of(mut set: JoinSet<Result<(), String>>) -> Vec<String> {
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => failures.push(failure),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    failures
}

/// `times` faults of `kind` on a repeatable `operation`: recovered with exactly `times + 1`
/// requests and `times` sleeps when the fault is retryable, otherwise an immediate typed error
/// after one request.
async fn repeatable_case(
    case: Case,
    kind: Kind,
    operation: OperationId,
    call: Caller,
    times: u32,
) -> Result<(), String> {
    case.sandbox
        .faults()
        .inject(FaultRule::new(operation, times, kind.fault()));

    let outcome = call(&case.db, &case.existing).await;
    let requests = case.requests(operation);
    let label = format!("{operation} after {times} × {kind:?}");

    if kind.retryable() {
        ensure!(
            outcome.is_ok(),
            "{label}: expected a success after retries, got {outcome:?}"
        );
        // A delete whose first answer was lost is done: the retry's 404 (even with its body
        // cut) ends the call with success, however many faults remain.
        let expected = if operation == OperationId::DeleteUser && kind == Kind::TruncatedBody {
            2
        } else {
            u64::from(times) + 1
        };
        ensure!(
            requests == expected,
            "{label}: {requests} requests, expected {expected}"
        );
        let retries = usize::try_from(expected - 1).expect("a few");
        check_sleeps(&label, &case.clock.sleeps(), retries, |retry| {
            kind.longest_sleep(retry)
        })?;
        if operation == OperationId::DeleteUser {
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
            kind.is_its_error(operation, &error),
            "{label}: unexpected error {error:?}"
        );
        ensure!(
            requests == 1,
            "{label}: {requests} requests, expected one (no retry)"
        );
        check_sleeps(&label, &case.clock.sleeps(), 0, |_| Duration::ZERO)?;
    }
    Ok(())
}

/// One fault of `kind` on a creating `operation`, first half: sent once, no sleep, and the typed
/// error. The case is returned for [`creating_outcome`], once the server is done with any late
/// request.
async fn creating_call(
    case: Case,
    kind: Kind,
    operation: OperationId,
    call: Caller,
) -> Result<(OperationId, Case), String> {
    case.sandbox
        .faults()
        .inject(FaultRule::new(operation, 1, kind.fault()));
    let label = format!("{operation} after 1 × {kind:?}");

    let outcome = call(&case.db, &case.existing).await;
    let Err(error) = outcome else {
        return Err(format!(
            "{label}: expected an error, got a success after {} requests",
            case.requests(operation)
        ));
    };
    ensure!(
        kind.is_its_error(operation, &error),
        "{label}: unexpected error {error:?}"
    );
    ensure!(
        case.requests(operation) == 1,
        "{label}: {} requests, expected exactly one",
        case.requests(operation)
    );
    check_sleeps(&label, &case.clock.sleeps(), 0, |_| Duration::ZERO)?;
    Ok((operation, case))
}

/// How many of what `operation` creates the case holds, or `None` when it creates nothing one
/// can list.
async fn created(case: &Case, operation: OperationId) -> Option<usize> {
    match operation {
        OperationId::CreateBackup => Some(case.backup_count().await - 1),
        OperationId::CreateUser => Some(
            case.user_names()
                .await
                .iter()
                .filter(|name| *name == NEW_USER)
                .count(),
        ),
        OperationId::RestoreDatabase => Some(case.operation_count() - 1),
        // A new password cannot be listed; its request count is the check.
        OperationId::ResetUserPassword => None,
        // They create nothing (and are not in the creating class).
        OperationId::GetDatabase
        | OperationId::UpdateDatabase
        | OperationId::GetRecoveryWindow
        | OperationId::GetOperation
        | OperationId::ListUsers
        | OperationId::DeleteUser
        | OperationId::UpdateUserPassword
        | OperationId::ListBackups
        | OperationId::GetBackup
        | OperationId::GetBackupById
        | OperationId::GetBackupArchiveUrl
        | OperationId::DownloadBackupArchive
        | OperationId::ExchangeApiToken
        | OperationId::GetAddonToken => None,
    }
}

/// The second half of [`creating_call`]: nothing created twice (created once when the server
/// did handle the request, i.e. the body was cut), and still one request.
async fn creating_outcome(case: &Case, kind: Kind, operation: OperationId) -> Result<(), String> {
    let label = format!("{operation} after 1 × {kind:?}");
    if let Some(created) = created(case, operation).await {
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
    }
    ensure!(
        case.requests(operation) == 1,
        "{label}: {} requests in the end",
        case.requests(operation)
    );
    Ok(())
}

/// One fault of `kind`, which refused the request unhandled, on a creating `operation`: sent
/// again after the wait the fault asked for, and what it creates is created once.
async fn creating_retried(
    case: Case,
    kind: Kind,
    operation: OperationId,
    call: Caller,
) -> Result<(), String> {
    case.sandbox
        .faults()
        .inject(FaultRule::new(operation, 1, kind.fault()));
    let label = format!("{operation} after 1 × {kind:?}");

    let outcome = call(&case.db, &case.existing).await;

    ensure!(
        outcome.is_ok(),
        "{label}: expected a success after a retry, got {outcome:?}"
    );
    ensure!(
        case.requests(operation) == 2,
        "{label}: {} requests, expected two",
        case.requests(operation)
    );
    check_sleeps(&label, &case.clock.sleeps(), 1, |retry| {
        kind.longest_sleep(retry)
    })?;
    if let Some(created) = created(&case, operation).await {
        ensure!(created == 1, "{label}: {created} created, expected one");
    }
    Ok(())
}

/// Every repeatable operation with 1 and 2 faults (1 for a fault that is not retried), and every
/// creating one with 1 (sent once, or twice after a fault that refused it unhandled), all at
/// once once their cases are set up; all failures are reported together.
async fn check_kind(kind: Kind) {
    let times: &[u32] = if kind.retryable() { &[1, 2] } else { &[1] };
    let repeatable_rows: Vec<(OperationId, Caller, u32)> = of_class(true)
        .into_iter()
        .flat_map(|(operation, call)| times.iter().map(move |&times| (operation, call, times)))
        .collect();
    let creating_rows = of_class(false);
    let mut cases = start_cases(
        repeatable_rows.len() + creating_rows.len(),
        kind.request_timeout(),
        RETRIES,
    )
    .await
    .into_iter();

    let mut repeatable = JoinSet::new();
    for ((operation, call, times), case) in repeatable_rows.into_iter().zip(cases.by_ref()) {
        repeatable.spawn(repeatable_case(case, kind, operation, call, times));
    }
    let mut creating = JoinSet::new();
    let mut retried = JoinSet::new();
    for ((operation, call), case) in creating_rows.into_iter().zip(cases) {
        if kind.refused_unhandled() {
            retried.spawn(creating_retried(case, kind, operation, call));
        } else {
            creating.spawn(creating_call(case, kind, operation, call));
        }
    }

    let mut failures = Vec::new();
    let mut called = Vec::new();
    while let Some(joined) = creating.join_next().await {
        match joined {
            Ok(Ok(case)) => called.push(case),
            Ok(Err(failure)) => failures.push(failure),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    if kind == Kind::TimeOut {
        // Whatever the servers do with the late requests, they have done it by now: each came in
        // at least SHORT_TIMEOUT ago (the client's time-out) and is held LONG_DELAY, so it is
        // handled within the rest of it, plus a margin (one wait for all the cases).
        tokio::time::sleep(LONG_DELAY - SHORT_TIMEOUT + LATE_MARGIN).await;
    }
    for (operation, case) in &called {
        if let Err(failure) = creating_outcome(case, kind, *operation).await {
            failures.push(failure);
        }
    }
    failures.extend(failures_of(repeatable).await);
    failures.extend(failures_of(retried).await);
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
async fn a_429_is_retried_for_every_operation() {
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
    // Its clock, for the client's; its server, for the token flow's other end.
    let sandbox = manual_sandbox().await;
    let clock = SharedClock::of(&sandbox);
    let unreachable = |policy: RetryPolicy| {
        let builder = scalingo_db::Client::builder()
            .database_api_url(format!("{nowhere}/api"))
            .database_token(DEFAULT_DATABASE, "tok-never-sent-3e9a")
            .retry(policy)
            .clock(clock.clone());
        database(builder, DEFAULT_DATABASE)
    };
    let attempts = |count: u32| (1..=count).map(Some).collect::<Vec<_>>();

    let db = unreachable(RETRIES);
    let existing = Existing {
        backup_id: "5a4b0d7e-backup".to_owned(),
        operation_id: "5a4b0d7e-operation".to_owned(),
    };
    for (operation, call) in matrix() {
        let before = clock.sleeps().len();
        // A restore reads the window first: that is the request that cannot connect.
        let first = match operation {
            OperationId::RestoreDatabase => OperationId::GetRecoveryWindow,
            operation => operation,
        };
        let earlier = captured.attempts(first).len();
        let outcome = call(&db, &existing).await;
        assert!(
            matches!(outcome, Err(Error::Connect { .. })),
            "{operation}: {outcome:?}"
        );
        assert_eq!(
            captured.attempts(first)[earlier..],
            attempts(RETRIES.max_attempts),
            "{operation}: every attempt failed to connect"
        );
        let sleeps = &clock.sleeps()[before..];
        let retries = usize::try_from(RETRIES.max_attempts - 1).expect("a few");
        check_sleeps(operation.name(), sleeps, retries, |retry| {
            jitter_cap(RETRIES, retry)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
        let waited: Duration = sleeps.iter().sum();
        assert!(waited <= RETRIES.max_elapsed, "{operation}: {waited:?}");
    }

    // Without retries, one attempt, and no sleep.
    let once = unreachable(RetryPolicy::none());
    let before = (
        captured.attempts(OperationId::ListBackups).len(),
        clock.sleeps().len(),
    );
    assert!(matches!(
        once.backups().list().await,
        Err(Error::Connect { .. })
    ));
    assert_eq!(
        (
            captured.attempts(OperationId::ListBackups).len(),
            clock.sleeps().len()
        ),
        (before.0 + 1, before.1)
    );

    // The token flow: each of its servers in turn cannot be reached, the others are the sandbox.
    for operation in token_flow() {
        let builder = api_token_builder(&sandbox, DEFAULT_API_TOKEN)
            .retry(RETRIES)
            .clock(clock.clone());
        let builder = match operation.server() {
            Server::Auth => builder.auth_url(nowhere.clone()),
            Server::MainApi => builder.main_api_url(nowhere.clone()),
            Server::DatabaseApi => builder.database_api_url(format!("{nowhere}/api")),
        };
        let db = database(builder, DEFAULT_DATABASE);
        sandbox.counters().reset();
        let before = clock.sleeps().len();

        let outcome = db.users().list().await;

        assert!(
            matches!(outcome, Err(Error::Connect { .. })),
            "{operation}: {outcome:?}"
        );
        assert_eq!(
            captured.attempts(operation),
            attempts(RETRIES.max_attempts),
            "{operation}: max_attempts attempts of the token request in all"
        );
        let retries = usize::try_from(RETRIES.max_attempts - 1).expect("a few");
        check_sleeps(
            operation.name(),
            &clock.sleeps()[before..],
            retries,
            |retry| jitter_cap(RETRIES, retry),
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
        // No token, no Database API call; a token request before it was sent once.
        let reached = sandbox.counters().snapshot();
        assert!(
            reached
                .iter()
                .all(|(other, count)| *other != operation && other.tag() == "auth" && *count == 1),
            "{operation}: {reached:?}"
        );
        if operation == OperationId::GetAddonToken {
            assert_eq!(reached.get(&OperationId::ExchangeApiToken), Some(&1));
        }
    }
}

#[tokio::test]
async fn max_elapsed_stops_retrying_once_the_next_backoff_would_end_past_it() {
    let policy = RetryPolicy {
        max_attempts: 1000,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_millis(300),
    };
    let case = Case::start(TIMEOUT, policy).await;
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1000,
        Fault::json_error(503, "injected"),
    ));

    let outcome = case.db.users().list().await;

    let error = outcome.expect_err("still failing when the time ran out");
    assert!(
        Kind::Json503.is_its_error(OperationId::ListUsers, &error),
        "{error:?}"
    );
    let sleeps = case.clock.sleeps();
    let requests = case.requests(OperationId::ListUsers);
    assert_eq!(
        requests,
        sleeps.len() as u64 + 1,
        "one sleep between requests"
    );
    check_sleeps("list_users", &sleeps, sleeps.len(), |_| policy.max_backoff)
        .unwrap_or_else(|failure| panic!("{failure}"));
    // No retry starts past max_elapsed, and the one refused would have: the time slept is within
    // one backoff of the budget, so the delays allowed at least 15 retries.
    let waited: Duration = sleeps.iter().sum();
    assert!(waited <= policy.max_elapsed, "went on too long: {waited:?}");
    assert!(
        waited > policy.max_elapsed - policy.max_backoff,
        "gave up early: {waited:?}"
    );
    assert!(
        (16..1000).contains(&requests),
        "{requests} requests: retried until the time ran out"
    );
}

#[tokio::test]
async fn max_elapsed_allows_exactly_the_retries_whose_retry_after_fits() {
    let policy = RetryPolicy {
        max_attempts: 1000,
        max_elapsed: Duration::from_secs(10),
        ..RETRIES
    };
    let case = Case::start(TIMEOUT, policy).await;
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1000,
        too_many_requests("1"),
    ));

    let outcome = case.db.users().list().await;

    assert!(
        matches!(
            outcome,
            Err(Error::RateLimited { retry_after: Some(wait), .. }) if wait == Duration::from_secs(1)
        ),
        "{outcome:?}"
    );
    assert_eq!(
        case.clock.sleeps(),
        vec![Duration::from_secs(1); 9],
        "nine waits of a second leave time for a retry in ten seconds, the tenth would end with \
         them"
    );
    assert_eq!(case.requests(OperationId::ListUsers), 10);
}

#[tokio::test]
async fn max_attempts_bounds_the_requests() {
    // Every repeatable operation, with the bound of the tests' policy.
    let retries = usize::try_from(RETRIES.max_attempts - 1).expect("a few");
    for (operation, call) in of_class(true) {
        let case = Case::start(TIMEOUT, RETRIES).await;
        case.sandbox.faults().inject(FaultRule::new(
            operation,
            10,
            Fault::json_error(503, "injected"),
        ));
        let outcome = call(&case.db, &case.existing).await;
        let error = outcome.expect_err("still failing after the last attempt");
        assert!(
            Kind::Json503.is_its_error(operation, &error),
            "{operation}: {error:?}"
        );
        assert_eq!(
            case.requests(operation),
            u64::from(RETRIES.max_attempts),
            "{operation}"
        );
        check_sleeps(operation.name(), &case.clock.sleeps(), retries, |retry| {
            jitter_cap(RETRIES, retry)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
    }
    // Other bounds, up to caps that reach max_backoff.
    for max_attempts in [1, 2, 6] {
        let policy = RetryPolicy {
            max_attempts,
            ..RETRIES
        };
        let case = Case::start(TIMEOUT, policy).await;
        case.sandbox.faults().inject(FaultRule::new(
            OperationId::ListBackups,
            10,
            Fault::json_error(503, "injected"),
        ));
        let error = case.db.backups().list().await.expect_err("still failing");
        assert!(
            Kind::Json503.is_its_error(OperationId::ListBackups, &error),
            "{error:?}"
        );
        assert_eq!(
            case.requests(OperationId::ListBackups),
            u64::from(max_attempts),
            "max_attempts {max_attempts}"
        );
        let retries = usize::try_from(max_attempts - 1).expect("a few");
        check_sleeps("list_backups", &case.clock.sleeps(), retries, |retry| {
            jitter_cap(policy, retry)
        })
        .unwrap_or_else(|failure| panic!("max_attempts {max_attempts}: {failure}"));
    }
}

#[tokio::test]
async fn retry_policy_none_sends_every_call_once() {
    let rows: Vec<(Kind, OperationId, Caller)> = [Kind::Json503, Kind::DroppedConnection]
        .into_iter()
        .flat_map(|kind| matrix().into_iter().map(move |(op, call)| (kind, op, call)))
        .collect();
    let started = start_cases(rows.len(), TIMEOUT, RetryPolicy::none()).await;
    let mut cases = JoinSet::new();
    for ((kind, operation, call), case) in rows.into_iter().zip(started) {
        cases.spawn(async move {
            case.sandbox
                .faults()
                .inject(FaultRule::new(operation, 1, kind.fault()));
            let label = format!("{operation}, {kind:?}");
            let outcome = call(&case.db, &case.existing).await;
            let Err(error) = outcome else {
                return Err(format!("{label}: not retried, so an error"));
            };
            ensure!(kind.is_its_error(operation, &error), "{label}: {error:?}");
            ensure!(
                case.requests(operation) == 1,
                "{label}: {} requests",
                case.requests(operation)
            );
            check_sleeps(&label, &case.clock.sleeps(), 0, |_| Duration::ZERO)
        });
    }
    let failures = failures_of(cases).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_429_waits_what_retry_after_asks_then_succeeds() {
    let case = Case::start(TIMEOUT, RETRIES).await;
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        too_many_requests("1"),
    ));

    let users = case.db.users().list().await.expect("recovers");

    assert_eq!(users.len(), 2, "the default user and {USER}");
    assert_eq!(case.requests(OperationId::ListUsers), 2);
    assert_eq!(
        case.clock.sleeps(),
        [Duration::from_secs(1)],
        "one wait, of what Retry-After asked"
    );
}

#[tokio::test]
async fn a_retry_after_date_is_read_on_the_clients_clock() {
    let case = Case::start(TIMEOUT, RETRIES).await;
    let date = case.sandbox.clock().now() + chrono::TimeDelta::seconds(5);
    let http_date = date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        too_many_requests(&http_date),
    ));

    case.db.users().list().await.expect("recovers");

    assert_eq!(
        case.clock.sleeps(),
        [Duration::from_secs(5)],
        "until {http_date}, on the clock the client and the sandbox share"
    );
    assert_eq!(case.requests(OperationId::ListUsers), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_max_elapsed_is_not_waited_for() {
    let beyond = RETRIES.max_elapsed + Duration::from_secs(1);
    let case = Case::start(TIMEOUT, RETRIES).await;
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        too_many_requests(&beyond.as_secs().to_string()),
    ));

    let outcome = case.db.users().list().await;

    match outcome {
        Err(Error::RateLimited { retry_after, .. }) => assert_eq!(retry_after, Some(beyond)),
        other => panic!("expected a 429, got {other:?}"),
    }
    assert_eq!(case.requests(OperationId::ListUsers), 1);
    assert_eq!(case.clock.sleeps(), [], "not waited for");

    // A wait that ends just at max_elapsed leaves the retry no time: it is not waited for.
    let case = Case::start(TIMEOUT, RETRIES).await;
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        too_many_requests(&RETRIES.max_elapsed.as_secs().to_string()),
    ));
    let outcome = case.db.users().list().await;
    assert!(
        matches!(outcome, Err(Error::RateLimited { .. })),
        "{outcome:?}"
    );
    assert_eq!(case.clock.sleeps(), []);

    // One that leaves a second is.
    let shorter = RETRIES.max_elapsed - Duration::from_secs(1);
    let case = Case::start(TIMEOUT, RETRIES).await;
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        too_many_requests(&shorter.as_secs().to_string()),
    ));
    case.db.users().list().await.expect("recovers");
    assert_eq!(case.clock.sleeps(), [shorter]);
    assert_eq!(case.requests(OperationId::ListUsers), 2);
}

/// The case: a plain-text 429 with `Retry-After: 1` to a creating call, which the client
/// used to give up on at once ("retry in 1 s").
#[tokio::test]
async fn a_429_to_a_creating_post_is_sent_again_after_retry_after_and_creates_once() {
    let mut failures = Vec::new();
    for (operation, call) in of_class(false) {
        let case = Case::start(TIMEOUT, RETRIES).await;
        case.sandbox
            .faults()
            .inject(FaultRule::new(operation, 1, too_many_requests("1")));

        let outcome = call(&case.db, &case.existing).await;

        let label = operation.name();
        if let Err(error) = &outcome {
            failures.push(format!("{label}: {error:?}"));
            continue;
        }
        if case.clock.sleeps() != [Duration::from_secs(1)] {
            failures.push(format!("{label}: slept {:?}", case.clock.sleeps()));
        }
        if case.requests(operation) != 2 {
            failures.push(format!("{label}: {} requests", case.requests(operation)));
        }
        if let Some(created) = created(&case, operation).await
            && created != 1
        {
            failures.push(format!("{label}: created {created}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// After a 429, a creating call is sent again; if that attempt's outcome is unknown (a 502), it is
/// not sent a third time.
#[tokio::test]
async fn a_creating_post_retried_after_a_429_is_not_sent_again_after_a_502() {
    let case = Case::start(TIMEOUT, RETRIES).await;
    let faults = case.sandbox.faults();
    faults.inject(FaultRule::new(
        OperationId::CreateBackup,
        1,
        too_many_requests("1"),
    ));
    faults.inject(FaultRule::new(
        OperationId::CreateBackup,
        1,
        Fault::json_error(502, "injected"),
    ));

    let outcome = case.db.backups().create().await;

    let error = outcome.expect_err("the 502 is not retried");
    assert!(
        Kind::Json502.is_its_error(OperationId::CreateBackup, &error),
        "{error:?}"
    );
    assert_eq!(case.requests(OperationId::CreateBackup), 2);
    assert_eq!(case.clock.sleeps(), [Duration::from_secs(1)]);
}

/// A client of a fresh sandbox's [`DEFAULT_DATABASE`] on the real clock: the time budget counts
/// the time requests take, which a manual clock would not see.
async fn real_time_client(request_timeout: Duration, policy: RetryPolicy) -> (Sandbox, Database) {
    let sandbox = manual_sandbox().await;
    let builder = sandbox_builder(&sandbox)
        .request_timeout(request_timeout)
        .retry(policy);
    let db = database(builder, DEFAULT_DATABASE);
    (sandbox, db)
}

/// The default request limit and retry policy, 20 times shorter: 500 ms per attempt in a budget
/// of 1.5 s.
fn defaults_scaled_down() -> (Duration, RetryPolicy) {
    const SCALE: u32 = 20;
    let policy = RetryPolicy::default();
    let scaled = RetryPolicy {
        max_attempts: policy.max_attempts,
        initial_backoff: policy.initial_backoff / SCALE,
        max_backoff: policy.max_backoff / SCALE,
        max_elapsed: policy.max_elapsed / SCALE,
    };
    (scalingo_db::DEFAULT_REQUEST_TIMEOUT / SCALE, scaled)
}

/// The case, scaled down: an answer later than the request limit used to use up the
/// whole budget (the limit was as long as it), so the read was never tried again.
#[tokio::test]
async fn with_the_default_limits_a_timed_out_read_is_retried() {
    let (request_timeout, policy) = defaults_scaled_down();
    let (sandbox, db) = real_time_client(request_timeout, policy).await;
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::delay(request_timeout + Duration::from_millis(300)),
    ));
    let started = std::time::Instant::now();

    let (users, meta) = db
        .users()
        .list()
        .with_meta()
        .await
        .unwrap_or_else(|error| panic!("after {:?}: {error}", started.elapsed()));

    assert_eq!(users.len(), 1, "the default user");
    assert_eq!(meta.attempts, 2);
    assert_eq!(sandbox.counters().get(OperationId::ListUsers), 2);
    assert!(
        started.elapsed() < policy.max_elapsed,
        "{:?}",
        started.elapsed()
    );
}

/// A retry has no more time than is left of the budget, so the call ends with it rather than a
/// whole request limit later.
#[tokio::test]
async fn a_retry_is_limited_to_what_is_left_of_the_budget() {
    let request_timeout = Duration::from_millis(500);
    let policy = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        max_elapsed: Duration::from_millis(700),
    };
    let (sandbox, db) = real_time_client(request_timeout, policy).await;
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        2,
        Fault::delay(Duration::from_secs(2)),
    ));
    let started = std::time::Instant::now();

    let outcome = db.users().list().await;

    let took = started.elapsed();
    assert!(matches!(outcome, Err(Error::Timeout { .. })), "{outcome:?}");
    assert_eq!(
        sandbox.counters().get(OperationId::ListUsers),
        2,
        "the first attempt timed out within the budget, the retry with it"
    );
    // The retry had the ~200 ms left, not its own 500 ms (which would end at 1 s), nor nothing.
    assert!(
        took >= policy.max_elapsed - Duration::from_millis(50),
        "{took:?}"
    );
    assert!(took < Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn a_delete_whose_answer_was_cut_succeeds_when_the_retry_finds_the_user_gone() {
    let case = Case::start(TIMEOUT, RETRIES).await;
    // The user is deleted, then the answer is cut: the client cannot tell whether it worked.
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::DeleteUser,
        1,
        Fault::TruncateBody { after_bytes: 0 },
    ));

    let outcome = case.db.users().delete(USER).await;

    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(!case.user_names().await.iter().any(|name| name == USER));
    assert_eq!(
        case.requests(OperationId::DeleteUser),
        2,
        "the first answer was lost, so the delete is sent again and its 404 means done"
    );
    check_sleeps("delete_user", &case.clock.sleeps(), 1, |retry| {
        jitter_cap(RETRIES, retry)
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
}

#[tokio::test]
async fn a_delete_retried_after_a_lost_answer_takes_404_as_done() {
    // Whether the lost attempt deleted the user or someone else did meanwhile, the client sees
    // the same thing: no answer (or a gateway's 504), then 404 on the retry. The user is deleted
    // beforehand so that the retry's 404 does not depend on the fault applying the request. (A
    // truncated body is no lost answer here: the 404's status arrives before the cut.)
    let mut cases = JoinSet::new();
    for kind in [Kind::DroppedConnection, Kind::TimeOut, Kind::Json504] {
        let case = Case::start(kind.request_timeout(), RETRIES).await;
        cases.spawn(async move {
            case.db
                .users()
                .delete(USER)
                .timeout(TIMEOUT)
                .await
                .expect("delete beforehand");
            case.sandbox.counters().reset();
            case.sandbox
                .faults()
                .inject(FaultRule::new(OperationId::DeleteUser, 1, kind.fault()));

            let outcome = case.db.users().delete(USER).await;

            let label = format!("{kind:?}");
            ensure!(outcome.is_ok(), "{label}: {outcome:?}");
            ensure!(
                case.requests(OperationId::DeleteUser) == 2,
                "{label}: {} requests",
                case.requests(OperationId::DeleteUser)
            );
            check_sleeps(&label, &case.clock.sleeps(), 1, |retry| {
                jitter_cap(RETRIES, retry)
            })
        });
    }
    let failures = failures_of(cases).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn deleting_a_user_that_never_existed_is_not_found() {
    let case = Case::start(TIMEOUT, RETRIES).await;
    let error = case
        .db
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
    assert_eq!(case.requests(OperationId::DeleteUser), 1);
    assert_eq!(case.clock.sleeps(), []);

    // A 429 is an answer: the request was not applied, so a 404 after it is still an error.
    case.sandbox.faults().inject(FaultRule::new(
        OperationId::DeleteUser,
        1,
        Kind::TooManyRequests.fault(),
    ));
    let outcome = case.db.users().delete("never-existed").await;
    assert!(
        matches!(outcome, Err(Error::NotFound { .. })),
        "{outcome:?}"
    );
    assert_eq!(case.requests(OperationId::DeleteUser), 3);
    assert_eq!(case.clock.sleeps(), [Duration::ZERO], "Retry-After: 0");
}

/// [`DEFAULT_DATABASE`] of a client that gets its tokens from `sandbox` with
/// [`DEFAULT_API_TOKEN`], and sleeps on the sandbox's clock.
fn api_token_client(sandbox: &Sandbox, request_timeout: Duration) -> (Database, SharedClock) {
    let clock = SharedClock::of(sandbox);
    let builder = api_token_builder(sandbox, DEFAULT_API_TOKEN)
        .request_timeout(request_timeout)
        .retry(RETRIES)
        .clock(clock.clone());
    (database(builder, DEFAULT_DATABASE), clock)
}

#[tokio::test]
async fn the_token_flow_is_retried_like_a_read() {
    let mut failures = Vec::new();
    // A kind at a time (its cases at once), so that the short time limit of the time-out's cases
    // is not shared with a crowd.
    for kind in Kind::ALL {
        let mut clients = Vec::new();
        for unreachable in token_flow() {
            let sandbox = manual_sandbox().await;
            let (db, clock) = api_token_client(&sandbox, kind.request_timeout());
            clients.push((unreachable, sandbox, db, clock));
        }
        let mut cases = JoinSet::new();
        for (unreachable, sandbox, db, clock) in clients {
            cases.spawn(async move {
                sandbox
                    .faults()
                    .inject(FaultRule::new(unreachable, 1, kind.fault()));

                let outcome = db.users().list().await;

                let counters = sandbox.counters();
                let label = format!("{kind:?} on {unreachable}");
                if kind.retryable() {
                    let users = outcome.map(|users| users.len());
                    ensure!(users.as_ref().ok() == Some(&1), "{label}: {users:?}");
                    ensure!(
                        counters.get(unreachable) == 2,
                        "{label}: {} requests",
                        counters.get(unreachable)
                    );
                    let token_requests: u64 =
                        token_flow().into_iter().map(|op| counters.get(op)).sum();
                    ensure!(
                        token_requests == token_flow().len() as u64 + 1,
                        "{label}: {token_requests} token requests, the others once"
                    );
                    ensure!(
                        counters.get(OperationId::ListUsers) == 1,
                        "{label}: {} calls",
                        counters.get(OperationId::ListUsers)
                    );
                    check_sleeps(&label, &clock.sleeps(), 1, |retry| {
                        kind.longest_sleep(retry)
                    })
                } else {
                    let Err(error) = outcome else {
                        return Err(format!("{label}: not retried, so an error"));
                    };
                    ensure!(kind.is_its_error(unreachable, &error), "{label}: {error:?}");
                    ensure!(
                        counters.get(unreachable) == 1,
                        "{label}: {} requests",
                        counters.get(unreachable)
                    );
                    ensure!(
                        counters.get(OperationId::ListUsers) == 0,
                        "{label}: no token, no call"
                    );
                    check_sleeps(&label, &clock.sleeps(), 0, |_| Duration::ZERO)
                }
            });
        }
        failures.extend(failures_of(cases).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn max_attempts_bounds_the_token_requests_too() {
    let mut requests = Vec::new();
    for unreachable in token_flow() {
        let sandbox = manual_sandbox().await;
        let (db, clock) = api_token_client(&sandbox, TIMEOUT);
        sandbox.faults().inject(FaultRule::new(
            unreachable,
            100,
            Fault::json_error(503, "injected"),
        ));

        let error = db.users().list().await.expect_err("no token, no call");

        assert!(
            Kind::Json503.is_its_error(unreachable, &error),
            "{unreachable}: {error:?}"
        );
        assert_eq!(
            sandbox.counters().get(OperationId::ListUsers),
            0,
            "{unreachable}"
        );
        let retries = usize::try_from(RETRIES.max_attempts - 1).expect("a few");
        check_sleeps(unreachable.name(), &clock.sleeps(), retries, |retry| {
            jitter_cap(RETRIES, retry)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
        requests.push((unreachable, sandbox.counters().get(unreachable)));
    }
    let max = u64::from(RETRIES.max_attempts);
    assert!(!requests.is_empty());
    for (unreachable, sent) in requests {
        assert_eq!(
            sent, max,
            "{unreachable}: max_attempts is the number of attempts in all"
        );
    }
}
