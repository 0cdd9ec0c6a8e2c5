//! Telemetry: every HTTP attempt of an API call is one `scalingo_db.request` span carrying the
//! operation, the method, the contract's path template (never the real path), the attempt number,
//! then the status and the duration; a retried call shows each attempt with its own status;
//! `with_meta()` reports the answer's status, the sandbox's `X-Request-ID` and the number of
//! attempts, and an error from an answer carries that answer's request id; and nothing the client
//! logs ever carries a secret (API token, user and database tokens, chosen or generated
//! passwords, an archive link's token), whatever the call and however it ends.
//!
//! The log is captured with a `tracing_subscriber::fmt` subscriber set as the default of the test
//! thread only, on a current-thread runtime so that the client and the in-process sandbox run on
//! that thread. [`capture`] and [`Captured`] are shared with `retries.rs`, which counts attempts.
//! Tests run in parallel, so a global default that leaves every callsite undecided
//! ([`Undecided`]) keeps `tracing` from caching "never" for a callsite another test reached first.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};

use crate::support::{FAST_RETRIES, api_token_builder, database, sandbox_builder};
use scalingo_db::{Database, Error, NewUser, OperationId};
use scalingo_db_sandbox::{
    DEFAULT_API_TOKEN, DEFAULT_DATABASE, Fault, FaultRule, Sandbox, SandboxConfig,
};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything the fmt layer wrote, shared between the subscriber and the test.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

/// Appends to a [`Captured`] buffer.
pub(crate) struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = CapturedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(Arc::clone(&self.0))
    }
}

/// A failed assertion elsewhere must not hide the log behind a poisoned lock.
fn lock(buffer: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One closed `scalingo_db.request` span: its fields, in the order the fmt layer printed them
/// (`name`, then the value as printed: strings quoted, numbers bare).
#[derive(Clone, Debug)]
pub(crate) struct RequestSpan {
    pub(crate) fields: Vec<(String, String)>,
    /// The whole log line, for messages.
    pub(crate) line: String,
}

impl RequestSpan {
    /// The printed value of `name`, if the span has the field.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn operation(&self) -> Option<&str> {
        self.field("operation").map(|value| value.trim_matches('"'))
    }

    pub(crate) fn attempt(&self) -> Option<u32> {
        self.field("attempt")?.parse().ok()
    }

    pub(crate) fn status(&self) -> Option<u16> {
        self.field("status")?.parse().ok()
    }
}

impl Captured {
    /// All the text written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }

    /// The request spans closed so far, in the order they closed.
    pub(crate) fn closed_requests(&self) -> Vec<RequestSpan> {
        const SPAN: &str = "scalingo_db.request{";
        self.text()
            .lines()
            .filter(|line| line.contains(": close time.busy="))
            .filter_map(|line| {
                let start = line.rfind(SPAN)? + SPAN.len();
                let end = start + line[start..].find("}: ")?;
                let fields = line[start..end]
                    .split(' ')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect();
                Some(RequestSpan {
                    fields,
                    line: line.to_owned(),
                })
            })
            .collect()
    }

    /// The closed request spans of one operation.
    pub(crate) fn requests_of(&self, operation: OperationId) -> Vec<RequestSpan> {
        self.closed_requests()
            .into_iter()
            .filter(|span| span.operation() == Some(operation.name()))
            .collect()
    }

    /// The attempt numbers of one operation's closed request spans, in order.
    pub(crate) fn attempts(&self, operation: OperationId) -> Vec<Option<u32>> {
        self.requests_of(operation)
            .iter()
            .map(RequestSpan::attempt)
            .collect()
    }
}

/// The global default subscriber of this test binary: it records nothing, but answers
/// "sometimes" for every callsite and hints that any level may be enabled.
///
/// `tracing` caches each callsite's interest for the whole process, computed when the callsite is
/// first reached. With only thread-local subscribers, a callsite first reached on a thread that
/// captures nothing, while at most one subscriber is alive, is cached as "never" (`tracing-core`
/// then asks only the current thread's default, none: tokio-rs/tracing#3611), and a test that
/// captures on its own thread silently misses it. With this subscriber registered for the whole
/// process, the combined interest of a callsite is never "never": every event and span asks the
/// current thread's subscriber, and the maximum level stays TRACE.
struct Undecided;

impl tracing::Subscriber for Undecided {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }

    // Never called: nothing is enabled.
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Captures everything at DEBUG and above logged on this thread, spans' closing included, until
/// the guard is dropped.
pub(crate) fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    capture_at(Level::DEBUG)
}

/// Captures everything at `level` and above logged on this thread, spans' closing included, until
/// the guard is dropped.
pub(crate) fn capture_at(level: Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    static GLOBAL_DEFAULT: Once = Once::new();
    GLOBAL_DEFAULT.call_once(|| {
        tracing::subscriber::set_global_default(Undecided)
            .expect("nothing else sets the global default of the test binary");
    });
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // A callsite cached as "never" before the global default existed is asked again.
    tracing::callsite::rebuild_interest_cache();
    (captured, guard)
}

async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// [`DEFAULT_DATABASE`] with `token`, a database token the sandbox issued.
fn token_client(sandbox: &Sandbox, token: &str) -> Database {
    let builder = sandbox_builder(sandbox)
        .database_token(DEFAULT_DATABASE, token)
        .retry(FAST_RETRIES);
    database(builder, DEFAULT_DATABASE)
}

/// [`DEFAULT_DATABASE`] of a client that exchanges [`DEFAULT_API_TOKEN`] for its tokens.
fn api_token_client(sandbox: &Sandbox) -> Database {
    let builder = api_token_builder(sandbox, DEFAULT_API_TOKEN).retry(FAST_RETRIES);
    database(builder, DEFAULT_DATABASE)
}

fn duration_ms(span: &RequestSpan) -> u64 {
    span.field("duration_ms")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no numeric duration_ms: {}", span.line))
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_is_one_span_with_operation_method_path_template_attempt_status_and_duration() {
    let sandbox = start(SandboxConfig::default()).await;
    let client = token_client(&sandbox, &sandbox.database_token(DEFAULT_DATABASE));
    let (captured, _guard) = capture();

    client.users().list().await.expect("list users");
    let backup_id = client.backups().list().await.expect("list backups")[0]
        .id
        .clone();
    client.backups().get(&backup_id).await.expect("get backup");

    let spans = captured.closed_requests();
    assert_eq!(
        spans.len(),
        3,
        "one span per request, closed once: {spans:#?}"
    );
    assert_eq!(
        spans.len() as u64,
        sandbox.counters().total(),
        "as many spans as requests the server received"
    );

    let list = &spans[0];
    let names: Vec<&str> = list.fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "operation",
            "method",
            "path",
            "attempt",
            "status",
            "duration_ms"
        ],
        "{}",
        list.line
    );
    assert_eq!(
        list.field("operation"),
        Some("\"list_users\""),
        "{}",
        list.line
    );
    assert_eq!(list.field("method"), Some("\"GET\""), "{}", list.line);
    assert_eq!(
        list.field("path"),
        Some("\"/databases/{database_id}/users\""),
        "the contract's template, not the real path: {}",
        list.line
    );
    assert_eq!(list.attempt(), Some(1), "{}", list.line);
    assert_eq!(list.status(), Some(200), "{}", list.line);
    assert!(duration_ms(list) < 5_000, "{}", list.line);

    assert_eq!(spans[1].operation(), Some(OperationId::ListBackups.name()));
    let get = &spans[2];
    assert_eq!(
        get.operation(),
        Some(OperationId::GetBackupById.name()),
        "{}",
        get.line
    );
    assert_eq!(
        get.field("path"),
        Some("\"/backups/{backup_id}\""),
        "{}",
        get.line
    );
    assert_eq!(get.status(), Some(200), "{}", get.line);
    duration_ms(get);
    for span in &spans {
        let fields = format!("{:?}", span.fields);
        assert!(
            !fields.contains(DEFAULT_DATABASE) && !fields.contains(&backup_id),
            "a span field carries a real id instead of the template: {}",
            span.line
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_call_shows_every_attempt_with_its_own_status() {
    let sandbox = start(SandboxConfig::default()).await;
    let client = token_client(&sandbox, &sandbox.database_token(DEFAULT_DATABASE));
    let (captured, _guard) = capture();

    sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::json_error(503, "try again"),
    ));
    client.users().list().await.expect("recovers after the 503");

    let spans = captured.requests_of(OperationId::ListUsers);
    let seen: Vec<(Option<u32>, Option<u16>)> = spans
        .iter()
        .map(|span| (span.attempt(), span.status()))
        .collect();
    assert_eq!(
        seen,
        [(Some(1), Some(503)), (Some(2), Some(200))],
        "{spans:#?}"
    );
    for span in &spans {
        duration_ms(span);
    }
    let text = captured.text();
    assert!(
        text.lines().any(|line| line.contains("retrying")
            && line.contains("operation=\"list_users\"")
            && line.contains("attempt=1")),
        "the wait before the retry is logged: {text}"
    );

    // An attempt that got no answer has no status, but still a duration.
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        1,
        Fault::DropConnection,
    ));
    client
        .backups()
        .list()
        .await
        .expect("recovers after the dropped connection");
    let spans = captured.requests_of(OperationId::ListBackups);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(spans[0].attempt(), Some(1));
    assert_eq!(
        spans[0].field("status"),
        None,
        "no answer, no status: {}",
        spans[0].line
    );
    duration_ms(&spans[0]);
    assert_eq!(
        (spans[1].attempt(), spans[1].status()),
        (Some(2), Some(200))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_ever_reaches_the_log() {
    const CHOSEN_PASSWORD: &str = "chosen-PASSWORD-4f1e9c2a7b";
    const UPDATED_PASSWORD: &str = "updated-PASSWORD-8d3b6a0e5c";
    const REFUSED_PASSWORD: &str = "refused-PASSWORD-2c7e1f9a4d";
    const PASSWORD_IN_A_BAD_ANSWER: &str = "answered-PASSWORD-6b0d3e8f1a";

    let sandbox = start(SandboxConfig {
        archive_size: 64 * 1024,
        ..SandboxConfig::default()
    })
    .await;
    let client = api_token_client(&sandbox);
    let downloads = tempfile::tempdir().expect("temporary directory");
    // Everything, TRACE included: no level may carry a secret.
    let (captured, _guard) = capture_at(Level::TRACE);

    // Tokens exchanged and used, then refreshed after a 401.
    client.users().list().await.expect("list users");
    sandbox.expire_tokens();
    client
        .users()
        .list()
        .await
        .expect("list users with new tokens");
    // And a database token given as it is.
    let database_token = sandbox.database_token(DEFAULT_DATABASE);
    let direct = token_client(&sandbox, &database_token);

    // Passwords: generated at creation, chosen at creation, set, reset.
    let generated = client
        .users()
        .create(NewUser::new("telemetry-user"))
        .await
        .expect("create user")
        .password
        .expect("a generated password")
        .expose()
        .to_owned();
    direct
        .users()
        .create(NewUser::new("chosen-user").password(CHOSEN_PASSWORD))
        .await
        .expect("create user with a password");
    client
        .users()
        .update_password("telemetry-user", UPDATED_PASSWORD)
        .await
        .expect("update password");
    let reset = client
        .users()
        .reset_password("telemetry-user")
        .await
        .expect("reset password")
        .password
        .expect("a new generated password")
        .expose()
        .to_owned();

    // An archive link, opened and downloaded (once interrupted, so the download resumes).
    let backup_id = client.backups().list().await.expect("list backups")[0]
        .id
        .clone();
    let link = client
        .backups()
        .archive_url(&backup_id)
        .await
        .expect("archive link");
    let link_token = link
        .expose()
        .split_once("token=")
        .map(|(_, token)| token.to_owned())
        .expect("the link carries its token in the query");
    let mut archive = client.backups().open_archive(&link).await.expect("open");
    while archive.chunk().await.expect("a chunk").is_some() {}
    sandbox.faults().inject(FaultRule::new(
        OperationId::DownloadBackupArchive,
        1,
        Fault::TruncateBody { after_bytes: 1000 },
    ));
    let downloaded = client
        .backups()
        .download(&backup_id, downloads.path().join("backup.tar.gz"))
        .await
        .expect("download");
    assert_eq!(
        downloaded.resumes, 1,
        "the interrupted transfer was resumed"
    );

    // Failing calls: a password for a user that does not exist, and an answer that is not what
    // the contract says but carries a password.
    match client
        .users()
        .update_password("nobody-here", REFUSED_PASSWORD)
        .await
    {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected a 404, got {other:?}"),
    }
    sandbox.faults().inject(FaultRule::new(
        OperationId::ResetUserPassword,
        1,
        Fault::Status {
            status: 200,
            body: format!(
                r#"{{"database_user":{{"name":"telemetry-user","password":"{PASSWORD_IN_A_BAD_ANSWER}","read_only":"#
            ),
            content_type: Some("application/json".to_owned()),
            headers: Vec::new(),
        },
    ));
    match client.users().reset_password("telemetry-user").await {
        Err(Error::Decode { .. }) => {}
        other => panic!("expected a decoding error, got {other:?}"),
    }

    let text = captured.text();
    // The log did capture these calls, so the searches below look at something.
    for operation in [
        OperationId::ExchangeApiToken,
        OperationId::GetAddonToken,
        OperationId::ListUsers,
        OperationId::CreateUser,
        OperationId::UpdateUserPassword,
        OperationId::ResetUserPassword,
        OperationId::GetBackupArchiveUrl,
    ] {
        assert!(
            !captured.requests_of(operation).is_empty(),
            "no span of {operation}: {text}"
        );
    }
    assert!(
        text.contains("resuming the download"),
        "the download's resume is logged: {text}"
    );
    assert!(
        text.lines()
            .filter(|line| line.contains(" failed "))
            .count()
            >= 3,
        "the 401, the 404 and the bad answer are logged: {text}"
    );

    let token_header = database_token
        .split('.')
        .next()
        .expect("a JWT header")
        .to_owned();
    let secrets = [
        ("the API token", DEFAULT_API_TOKEN.to_owned()),
        ("the database token", database_token.clone()),
        ("a token the sandbox issued", token_header),
        ("the generated password", generated),
        ("the chosen password", CHOSEN_PASSWORD.to_owned()),
        ("the updated password", UPDATED_PASSWORD.to_owned()),
        ("the reset password", reset),
        ("the refused password", REFUSED_PASSWORD.to_owned()),
        (
            "the password of the bad answer",
            PASSWORD_IN_A_BAD_ANSWER.to_owned(),
        ),
        ("the archive link's token", link_token),
        ("a link's token parameter", "?token=".to_owned()),
        ("a token parameter", "token=".to_owned()),
        ("a bearer Authorization header", "Bearer ".to_owned()),
        ("a basic Authorization header", "Basic ".to_owned()),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 6, "{what} is too short to search for");
        assert!(
            !text.contains(&secret),
            "{what} appears in the log:\n{text}"
        );
    }
}

/// Whether `id` looks like the sandbox's request ids: 32 lower-case hex digits.
fn is_sandbox_request_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[tokio::test]
async fn with_meta_reports_the_request_id_and_the_attempts_and_errors_carry_their_request_id() {
    let sandbox = start(SandboxConfig::default()).await;
    let client = token_client(&sandbox, &sandbox.database_token(DEFAULT_DATABASE));
    let mut seen = Vec::new();

    // One request: its status, the sandbox's X-Request-ID, one attempt.
    let (users, meta) = client.users().list().with_meta().await.expect("list");
    assert_eq!(users.len(), 1);
    assert_eq!((meta.status, meta.attempts), (200, 1), "{meta:?}");
    let id = meta.request_id.expect("the sandbox names every answer");
    assert!(is_sandbox_request_id(&id), "{id}");
    seen.push(id);

    // A retried call: two 503s, then the answer; the id is the answer's.
    sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        2,
        Fault::json_error(503, "try again"),
    ));
    let (backups, meta) = client.backups().list().with_meta().await.expect("list");
    assert_eq!(backups.len(), 1);
    assert_eq!((meta.status, meta.attempts), (200, 3), "{meta:?}");
    assert_eq!(sandbox.counters().get(OperationId::ListBackups), 3);
    let id = meta.request_id.expect("the answer's request id");
    assert!(is_sandbox_request_id(&id), "{id}");
    seen.push(id);

    // Another status of success.
    let (_, meta) = client.backups().create().with_meta().await.expect("create");
    assert_eq!((meta.status, meta.attempts), (201, 1), "{meta:?}");
    seen.push(meta.request_id.expect("the answer's request id"));

    // Errors from an answer carry its id: a refusal of the sandbox, and an injected status.
    let error = client
        .users()
        .update_password("nobody-here", "a-password-of-24-characters")
        .await
        .expect_err("no such user");
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    let id = error.request_id().expect("the 404's request id").to_owned();
    assert!(is_sandbox_request_id(&id), "{id}");
    seen.push(id);
    sandbox.faults().inject(FaultRule::new(
        OperationId::GetBackupById,
        1,
        Fault::json_error(500, "broken"),
    ));
    let error = client
        .backups()
        .get(&backups[0].id)
        .await
        .expect_err("a 500 is not retried");
    assert!(
        matches!(error, Error::Server { status: 500, .. }),
        "{error:?}"
    );
    let id = error.request_id().expect("the 500's request id").to_owned();
    assert!(is_sandbox_request_id(&id), "{id}");
    seen.push(id);

    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), seen.len(), "one id per answer: {seen:?}");

    // No answer, no request id (a creating POST whose connection dropped is not retried).
    sandbox.faults().inject(FaultRule::new(
        OperationId::CreateBackup,
        1,
        Fault::DropConnection,
    ));
    let error = client.backups().create().await.expect_err("dropped");
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(error.request_id(), None, "{error:?}");

    // The token flow's requests are not attempts of the call.
    let api = api_token_client(&sandbox);
    sandbox.counters().reset();
    let (_, meta) = api.users().list().with_meta().await.expect("list");
    assert_eq!((meta.status, meta.attempts), (200, 1), "{meta:?}");
    assert_eq!(
        sandbox.counters().total(),
        3,
        "the exchange, the addon token and the call"
    );
}
