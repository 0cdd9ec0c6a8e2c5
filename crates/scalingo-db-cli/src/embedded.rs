//! `--sandbox`: a sandbox server inside the process, on a loopback port, whose databases, users and
//! backups live in a state file between runs, so `users create` then `users list` shows the user.
//!
//! Runs hold an exclusive lock on `<state file>.lock` from loading to saving: two commands run at
//! once in two terminals queue instead of losing each other's changes. The file itself is written
//! atomically by [`SandboxState::save`].
//!
//! With `SCALINGO_DB_SANDBOX_TIME=virtual` the sandbox's time stands still but for the command's
//! own waits, which move it forward at once: `backups create --wait` sees the backup go
//! scheduled, running and done without waiting, for scripts (and tests) that exercise their use
//! of the CLI. The time reached is kept in the state file, so the next run does not go back.

use std::fs::File;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use scalingo_db_sandbox::{Clock, Sandbox, SandboxConfig, SandboxState};

use crate::exit::CliError;

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
    state_file: PathBuf,
    /// Whether its time moves only when the command waits.
    virtual_time: bool,
    /// Held for the whole run; the OS releases it when the process ends, however it ends.
    _lock: File,
}

impl Embedded {
    /// Locks and loads the state file (if there is one yet) and starts the sandbox.
    pub async fn start() -> Result<Embedded, CliError> {
        let virtual_time = virtual_time()?;
        let state_file = state_file()?;
        let lock = lock(&state_file)?;
        let state = SandboxState::load(&state_file)
            .map_err(|error| sandbox_file_error(&state_file, error))?;
        let clock = if virtual_time {
            // Never before the time an earlier run reached, nor before the real time.
            let now = chrono::Utc::now();
            let kept = state.as_ref().and_then(SandboxState::time);
            Clock::manual(kept.map_or(now, |kept| kept.max(now)))
        } else {
            Clock::system()
        };
        let config = SandboxConfig {
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

    /// Writes the sandbox's state back to its file.
    pub fn save(&self) -> Result<(), CliError> {
        self.sandbox
            .state()
            .at(self.sandbox.clock().now())
            .save(&self.state_file)
            .map_err(|error| sandbox_file_error(&self.state_file, error))
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
pub fn reset() -> Result<(PathBuf, bool), CliError> {
    let state_file = state_file()?;
    let _lock = lock(&state_file)?;
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

/// Takes the exclusive lock beside the state file, waiting for another run to finish.
fn lock(state_file: &std::path::Path) -> Result<File, CliError> {
    let mut name = state_file.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let path = state_file.with_file_name(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| sandbox_file_error(&path, error))?;
    file.lock()
        .map_err(|error| sandbox_file_error(&path, error))?;
    Ok(file)
}

fn sandbox_file_error(path: &std::path::Path, error: std::io::Error) -> CliError {
    CliError::Failed(format!(
        "sandbox state file {}: {error} (`scalingo-db sandbox reset` starts afresh)",
        path.display()
    ))
}
