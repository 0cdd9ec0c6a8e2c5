//! `--sandbox`: a sandbox server inside the process, on a loopback port, whose databases, users and
//! backups live in a state file between runs, so `users create` then `users list` shows the user.
//!
//! Runs hold an exclusive lock on `<state file>.lock` from loading to saving: two commands run at
//! once in two terminals queue instead of losing each other's changes. The file itself is written
//! atomically by [`SandboxState::save`].
//!
//! The sandbox listens on a loopback port, which every local user can reach: it accepts only an
//! API token drawn at random for this run, never the sandbox's well-known one, so no other
//! process can change the state file through it while a command runs.
//!
//! With `SCALINGO_DB_SANDBOX_TIME=virtual` the sandbox's time stands still but for the command's
//! own waits, which move it forward at once: `backups create --wait` sees the backup go
//! scheduled, running and done without waiting, for scripts (and tests) that exercise their use
//! of the CLI. The time reached is kept in the state file, so the next run does not go back.

use std::fs::{File, TryLockError};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use scalingo_db_sandbox::{Clock, Sandbox, SandboxConfig, SandboxState};

use crate::exit::CliError;
use crate::output::Output;

/// How long a new sandbox backup stays `scheduled`, then `running`: long enough to watch
/// `backups create --wait` move, short enough for a demo.
const BACKUP_SCHEDULED_FOR: Duration = Duration::from_secs(1);
const BACKUP_RUNNING_FOR: Duration = Duration::from_secs(2);
/// How long a sandbox restore stays `pending`, then `running`, for `pitr restore --wait`.
const OPERATION_PENDING_FOR: Duration = Duration::from_secs(1);
const OPERATION_RUNNING_FOR: Duration = Duration::from_secs(4);

/// The variable that selects the embedded sandbox's time, and its values.
const TIME_VARIABLE: &str = "SCALINGO_DB_SANDBOX_TIME";

/// A running embedded sandbox and the state file it came from.
pub struct Embedded {
    sandbox: Sandbox,
    /// The one API token it accepts, drawn for this run.
    api_token: String,
    state_file: PathBuf,
    /// Whether its time moves only when the command waits.
    virtual_time: bool,
    /// Held for the whole run; the OS releases it when the process ends, however it ends.
    _lock: File,
}

impl Embedded {
    /// Locks and loads the state file (if there is one yet) and starts the sandbox.
    /// `output` says so when another command holds the state file.
    pub async fn start(output: &Output) -> Result<Embedded, CliError> {
        Embedded::start_at(state_file()?, virtual_time()?, output).await
    }

    /// [`Embedded::start`] with its state in `state_file`.
    async fn start_at(
        state_file: PathBuf,
        virtual_time: bool,
        output: &Output,
    ) -> Result<Embedded, CliError> {
        let lock = lock(&state_file, LockWait::COMMAND, output)?;
        let state = SandboxState::load(&state_file)
            .map_err(|error| unreadable_state(&state_file, error))?;
        let clock = if virtual_time {
            // Never before the time an earlier run reached, nor before the real time.
            let now = chrono::Utc::now();
            let kept = state.as_ref().and_then(SandboxState::time);
            Clock::manual(kept.map_or(now, |kept| kept.max(now)))
        } else {
            Clock::system()
        };
        let api_token = random_api_token();
        let config = SandboxConfig {
            api_tokens: vec![api_token.clone()],
            backup_scheduled_for: BACKUP_SCHEDULED_FOR,
            backup_running_for: BACKUP_RUNNING_FOR,
            operation_pending_for: OPERATION_PENDING_FOR,
            operation_running_for: OPERATION_RUNNING_FOR,
            state,
            clock,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config)
            .await
            .map_err(|error| CliError::Failed(format!("cannot start the sandbox: {error}")))?;
        Ok(Embedded {
            sandbox,
            api_token,
            state_file,
            virtual_time,
            _lock: lock,
        })
    }

    /// The clock the command's client must wait on: the sandbox's own when its time is virtual.
    pub fn client_clock(&self) -> Option<SandboxTime> {
        self.virtual_time
            .then(|| SandboxTime(self.sandbox.clock().clone()))
    }

    /// The running sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The API token it accepts.
    pub fn api_token(&self) -> &str {
        &self.api_token
    }

    /// Writes the sandbox's state back to its file.
    pub fn save(&self) -> Result<(), CliError> {
        self.sandbox
            .state()
            .at(self.sandbox.clock().now())
            .save(&self.state_file)
            .map_err(|error| {
                CliError::Failed(format!(
                    "this command's changes to the sandbox could not be saved in {}: {error}; the \
                     file still holds the sandbox as it was before the command",
                    self.state_file.display()
                ))
            })
    }
}

/// The embedded sandbox's clock as the client's: a wait moves the sandbox's time forward at once.
pub struct SandboxTime(Clock);

impl scalingo_db::Clock for SandboxTime {
    fn now(&self) -> SystemTime {
        self.0.now().into()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.0.advance(duration);
        Box::pin(tokio::task::yield_now())
    }
}

/// An API token of the sandbox's shape (`tk-us-…`), 40 random letters and digits: guessing it is
/// out of reach of a process that can only try it over HTTP while a command runs.
fn random_api_token() -> String {
    use rand::Rng as _;
    let random: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("tk-us-{random}")
}

/// Whether `SCALINGO_DB_SANDBOX_TIME` asks for virtual time (`real`, the default, or `virtual`).
fn virtual_time() -> Result<bool, CliError> {
    match std::env::var(TIME_VARIABLE).ok().as_deref() {
        None | Some("" | "real") => Ok(false),
        Some("virtual") => Ok(true),
        Some(other) => Err(CliError::Usage(format!(
            "{TIME_VARIABLE} is `{other}`: it takes `real` (the default) or `virtual`"
        ))),
    }
}

/// `sandbox reset`: removes the state file; answers where it was and whether it existed.
pub fn reset(output: &Output) -> Result<(PathBuf, bool), CliError> {
    let state_file = state_file()?;
    let _lock = lock(&state_file, LockWait::COMMAND, output)?;
    match std::fs::remove_file(&state_file) {
        Ok(()) => Ok((state_file, true)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok((state_file, false)),
        Err(error) => Err(sandbox_file_error(&state_file, error)),
    }
}

/// `$SCALINGO_DB_SANDBOX_FILE`, else `$XDG_DATA_HOME/scalingo-db/sandbox.json`, else
/// `$HOME/.local/share/scalingo-db/sandbox.json` (the XDG default). The directory is created.
fn state_file() -> Result<PathBuf, CliError> {
    let non_empty = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    let file = if let Some(file) = non_empty("SCALINGO_DB_SANDBOX_FILE") {
        PathBuf::from(file)
    } else {
        let data_home = non_empty("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".local/share")))
            .ok_or_else(|| {
                CliError::Usage(
                    "cannot place the sandbox's state file: set SCALINGO_DB_SANDBOX_FILE (or HOME)"
                        .to_owned(),
                )
            })?;
        data_home.join("scalingo-db").join("sandbox.json")
    };
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| sandbox_file_error(dir, error))?;
    }
    Ok(file)
}

/// How long to wait for another command's lock on the state file.
#[derive(Clone, Copy, Debug)]
struct LockWait {
    /// Say that the command waits, after this long.
    notice_after: Duration,
    /// Give up after this long.
    at_most: Duration,
    /// Try again this often.
    every: Duration,
}

impl LockWait {
    /// A command of a person or a script: told after a second, given up after a minute (the
    /// longest command, a `--wait`, holds the lock for as long as it waits).
    const COMMAND: LockWait = LockWait {
        notice_after: Duration::from_secs(1),
        at_most: Duration::from_secs(60),
        every: Duration::from_millis(50),
    };
}

/// Takes the exclusive lock beside the state file, waiting as `wait` says for another run to
/// finish.
fn lock(state_file: &std::path::Path, wait: LockWait, output: &Output) -> Result<File, CliError> {
    let mut name = state_file.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let path = state_file.with_file_name(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| sandbox_file_error(&path, error))?;
    let started = Instant::now();
    let mut told = false;
    // Bounded: `at_most` ends it.
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::Error(error)) => return Err(sandbox_file_error(&path, error)),
            Err(TryLockError::WouldBlock) => {}
        }
        let waited = started.elapsed();
        if waited >= wait.at_most {
            return Err(CliError::Failed(format!(
                "another scalingo-db command has used the sandbox ({}) for {} s; run this one \
                 again once it ends",
                state_file.display(),
                wait.at_most.as_secs()
            )));
        }
        if !told && waited >= wait.notice_after {
            output.note("Waiting for another scalingo-db command that uses the sandbox to end...");
            told = true;
        }
        std::thread::sleep(wait.every);
    }
}

/// A file or directory of the sandbox's state that cannot be used.
fn sandbox_file_error(path: &std::path::Path, error: std::io::Error) -> CliError {
    CliError::Failed(format!("the sandbox's state: {}: {error}", path.display()))
}

/// A state file that cannot be read as one: what can be done about it, the destructive way
/// last and said to be so.
fn unreadable_state(path: &std::path::Path, error: std::io::Error) -> CliError {
    CliError::Failed(format!(
        "the sandbox's state file {} cannot be read: {error}; move it away to keep it and start \
         afresh (`scalingo-db sandbox reset` deletes it)",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use scalingo_db::{Client, Error};
    use scalingo_db_sandbox::{DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE};

    use super::*;

    /// An `Output` that prints nothing but errors.
    fn quiet_output() -> Output {
        use clap::Parser as _;
        let cli = crate::args::Cli::parse_from(["scalingo-db", "--quiet", "sandbox", "reset"]);
        Output::new(&cli.global)
    }

    #[test]
    fn a_state_file_held_too_long_is_given_up_with_a_message() {
        let dir = tempfile::tempdir().expect("a directory");
        let state = dir.path().join("state.json");
        let output = quiet_output();
        let held = lock(&state, LockWait::COMMAND, &output).expect("free");
        let short = LockWait {
            notice_after: Duration::from_millis(10),
            at_most: Duration::from_millis(60),
            every: Duration::from_millis(10),
        };
        let refused = lock(&state, short, &output)
            .expect_err("held by another")
            .to_string();
        assert!(
            refused.contains("another scalingo-db command has used the sandbox"),
            "{refused}"
        );
        drop(held);
        lock(&state, short, &output).expect("free again");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_this_runs_token_opens_the_sandbox() {
        let dir = tempfile::tempdir().expect("a directory");
        let output = quiet_output();
        let embedded = Embedded::start_at(dir.path().join("state.json"), true, &output)
            .await
            .expect("the sandbox starts");
        let users = |token: &str| {
            let client = Client::builder()
                .all_servers_at(embedded.sandbox().base_url())
                .api_token(token)
                .build()
                .expect("a client");
            async move {
                let db = client.database_of(DEFAULT_APP, DEFAULT_DATABASE);
                db.users().list().await
            }
        };
        assert!(
            matches!(
                users(DEFAULT_API_TOKEN).await,
                Err(Error::Unauthorized { .. })
            ),
            "the well-known token is refused"
        );
        assert_ne!(embedded.api_token(), DEFAULT_API_TOKEN);
        assert!(users(embedded.api_token()).await.is_ok());
        let again = Embedded::start_at(dir.path().join("other.json"), true, &output)
            .await
            .expect("another sandbox");
        assert_ne!(again.api_token(), embedded.api_token(), "drawn per run");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_state_that_cannot_be_saved_says_what_was_lost_and_suggests_no_reset() {
        let dir = tempfile::tempdir().expect("a directory");
        let output = quiet_output();
        let mut embedded = Embedded::start_at(dir.path().join("state.json"), true, &output)
            .await
            .expect("the sandbox starts");
        embedded.state_file = dir.path().join("gone").join("state.json");
        let error = embedded.save().expect_err("no such directory").to_string();
        assert!(
            error.contains("this command's changes to the sandbox could not be saved")
                && error.contains("still holds the sandbox as it was"),
            "{error}"
        );
        assert!(!error.contains("reset"), "{error}");
    }
}
