//! Shared fixtures: a database of a client pointed at a mock server or at the sandbox, the
//! headers every API call carries, an address where nothing listens, the check that an error
//! shows no token, [`SharedClock`], which lets a test move time instead of sleeping, and the
//! service's side of a download against httpmock ([`mock_backup`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use httpmock::{MockServer, When};
use scalingo_db::{
    Backup, BackupMethod, BackupStatus, Client, ClientBuilder, Database, Error, RetryPolicy,
};
use scalingo_db_sandbox::{DEFAULT_APP, DEFAULT_DATABASE, Sandbox};
use serde_json::json;

/// The database every wire test manages.
pub const DB: &str = "ad-0c8fe5a2-2b4e";
/// A recognisable token, so a test can look for it where it must not appear.
pub const TOKEN: &str = "tok-SENTINEL-5b1d9";
/// A valid password (24 characters).
pub const PASSWORD: &str = "correct-horse-battery-st";

/// [`DB`] with [`TOKEN`], calling `server`.
pub fn client(server: &MockServer) -> Database {
    database(builder(server), DB)
}

/// The builder behind [`client`], to change one setting. It does not retry: the wire tests look
/// at one exchange at a time (`retries.rs` covers retries).
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .database_api_url(server.base_url())
        .database_token(DB, TOKEN)
        .retry(RetryPolicy::none())
}

/// The database `database` of the client `builder` builds.
pub fn database(builder: ClientBuilder, database: &str) -> Database {
    builder
        .build()
        .expect("valid client settings")
        .database(database)
}

/// Retries that do not wait long, for tests of what retries do.
pub const FAST_RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    initial_backoff: Duration::from_millis(5),
    max_backoff: Duration::from_millis(20),
    max_elapsed: Duration::from_secs(10),
};

/// A client of the sandbox that exchanges `api_token` for its tokens, as on the real platform,
/// with the default app (settings can still be changed before `build`). [`database`] with
/// [`DEFAULT_DATABASE`] gives its usual database.
pub fn api_token_builder(sandbox: &Sandbox, api_token: &str) -> ClientBuilder {
    Client::builder()
        .all_servers_at(sandbox.base_url())
        .api_token(api_token)
        .app(DEFAULT_APP)
}

/// A client of the sandbox's default database with a database token the sandbox issued, as the
/// addon token endpoint would (settings can still be changed before `build`, the token too).
pub fn sandbox_builder(sandbox: &Sandbox) -> ClientBuilder {
    sandbox_builder_of(sandbox, DEFAULT_DATABASE)
}

/// [`sandbox_builder`] for another of the sandbox's databases.
pub fn sandbox_builder_of(sandbox: &Sandbox, database: &str) -> ClientBuilder {
    Client::builder()
        .all_servers_at(sandbox.base_url())
        .database_token(database, sandbox.database_token(database))
}

/// The sandbox's default database, with a database token it issued.
pub fn sandbox_database(sandbox: &Sandbox) -> Database {
    database(sandbox_builder(sandbox), DEFAULT_DATABASE)
}

/// `http://127.0.0.1:1`, where no server listens: nothing listens on port 1 (tcpmux), and the
/// kernel never hands it out as an ephemeral port, so no test (nor its sandbox) can take it, and a
/// connection is refused at once.
pub fn nothing_listening() -> String {
    "http://127.0.0.1:1".to_owned()
}

/// Fails if `error` shows a token in its `Display` or `Debug`: the client's database token, a
/// link's `token=` parameter, or any token of the sandbox (they are JWTs, so they all begin with
/// `eyJ`).
pub fn assert_no_token(error: &Error, database_token: &str) {
    let shown = format!("{error} | {error:?}");
    assert!(
        !shown.contains(database_token),
        "the database token is shown: {shown}"
    );
    assert!(!shown.contains("token="), "a link token is shown: {shown}");
    assert!(!shown.contains("eyJ"), "a sandbox token is shown: {shown}");
}

/// The headers of every authenticated API call.
pub fn api_headers(when: When) -> When {
    when.header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", "application/json")
        .header("user-agent", scalingo_db::default_user_agent())
        .header_missing("api-version")
}

/// The headers of a call that sends a JSON body.
pub fn json_body_headers(when: When) -> When {
    api_headers(when).header("content-type", "application/json")
}

/// The sandbox's clock, given to a client as its own: both read the same time, and a sleep of
/// the client (a retry's backoff, a wait's poll interval, a download's resume) moves that time
/// forward at once and is recorded, so a test of hours of waiting takes none. Build the sandbox
/// with `Clock::manual(..)` so that time moves only when the test or the client says.
#[derive(Clone)]
pub struct SharedClock {
    clock: scalingo_db_sandbox::Clock,
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl SharedClock {
    /// The clock of `sandbox`.
    pub fn of(sandbox: &Sandbox) -> SharedClock {
        SharedClock {
            clock: sandbox.clock().clone(),
            slept: Arc::default(),
        }
    }

    /// Every sleep of the client so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl scalingo_db::Clock for SharedClock {
    fn now(&self) -> SystemTime {
        self.clock.now().into()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        self.clock.advance(duration);
        // Yield once, as a real sleep would: other tasks (a sandbox in the same runtime) run.
        Box::pin(tokio::task::yield_now())
    }
}

/// A sandbox clock standing at a fixed instant (2026-03-01 12:00:00 UTC), which moves only when a
/// test advances it or a client given [`SharedClock::of`] the sandbox sleeps.
pub fn manual_clock() -> scalingo_db_sandbox::Clock {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("a valid date")
        .to_utc();
    scalingo_db_sandbox::Clock::manual(start)
}

/// `Basic <base64(":" + password)>`: the `Authorization` header of HTTP Basic authentication with
/// an empty user name, as the token exchange takes an API token.
pub fn basic_authorization(password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!(":{password}"));
    format!("Basic {encoded}")
}

/// The periodic backup every sandbox database starts with (done).
pub async fn seeded_backup(db: &Database) -> Backup {
    let backup = db
        .backups()
        .list()
        .await
        .expect("list")
        .into_iter()
        .find(|backup| backup.method == Some(BackupMethod::Periodic))
        .expect("the seeded periodic backup");
    assert_eq!(backup.status, BackupStatus::Done);
    backup
}

/// `content` gzip-compressed, as a backup archive is.
pub fn gzip(content: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(content).expect("in memory");
    encoder.finish().expect("in memory")
}

/// Bytes that do not compress much, different for each `seed`.
pub fn noise(seed: u8, len: usize) -> Vec<u8> {
    let mut state = u64::from(seed) + 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The backup of the download tests against httpmock (and [`crate::ranged_store`]).
pub const BACKUP_ID: &str = "5b8b36104ffb090be1ac3ce1";

/// Mocks the service's side of a download of [`BACKUP_ID`] (done, `size` bytes, its link on
/// `server`); the caller mocks the download itself.
pub fn mock_backup(server: &MockServer, size: usize) {
    server.mock(|when, then| {
        when.method("GET").path(format!("/backups/{BACKUP_ID}"));
        then.status(200).json_body(json!({
            "id": BACKUP_ID,
            "created_at": "2018-09-02T03:00:00.178+02:00",
            "name": "20180902010000_my_app_4553",
            "size": size,
            "status": "done",
        }));
    });
    server.mock(|when, then| {
        when.method("GET")
            .path(format!("/databases/{DB}/backups/{BACKUP_ID}/archive"));
        then.status(200).json_body(json!({
            "download_url": server.url(format!("/download/{BACKUP_ID}?token=t"))
        }));
    });
}

/// A writer whose every write fails with this error: a full disk (`StorageFull`, "No space left
/// on device", like `/dev/full`), standard output into a closed pipe (`BrokenPipe`).
pub struct FailingWriter(pub std::io::ErrorKind, pub &'static str);

impl tokio::io::AsyncWrite for FailingWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::Error::new(self.0, self.1)))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
