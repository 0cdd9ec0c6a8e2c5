//! `--sandbox`: a sandbox server inside the process, on a loopback port, whose databases, users and
//! backups live in a state file between runs, so `users create` then `users list` shows the user.
//!
//! Runs hold an exclusive lock on `<state file>.lock` from loading to saving: two commands run at
//! once in two terminals queue instead of losing each other's changes. The file itself is written
//! atomically by [`SandboxState::save`].

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use scalingo_db_sandbox::{Sandbox, SandboxConfig, SandboxState};

use crate::exit::CliError;

/// How long a new sandbox backup stays `scheduled`, then `running`: long enough to watch
/// `backups create --wait` move, short enough for a demo.
const BACKUP_SCHEDULED_FOR: Duration = Duration::from_secs(1);
const BACKUP_RUNNING_FOR: Duration = Duration::from_secs(2);

/// A running embedded sandbox and the state file it came from.
pub struct Embedded {
    sandbox: Sandbox,
    state_file: PathBuf,
    /// Held for the whole run; the OS releases it when the process ends, however it ends.
    _lock: File,
}

impl Embedded {
    /// Locks and loads the state file (if there is one yet) and starts the sandbox.
    pub async fn start() -> Result<Embedded, CliError> {
        let state_file = state_file()?;
        let lock = lock(&state_file)?;
        let state = SandboxState::load(&state_file)
            .map_err(|error| sandbox_file_error(&state_file, error))?;
        let config = SandboxConfig {
            backup_scheduled_for: BACKUP_SCHEDULED_FOR,
            backup_running_for: BACKUP_RUNNING_FOR,
            state,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config)
            .await
            .map_err(|error| CliError::Failed(format!("cannot start the sandbox: {error}")))?;
        Ok(Embedded {
            sandbox,
            state_file,
            _lock: lock,
        })
    }

    /// The running sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Writes the sandbox's state back to its file.
    pub fn save(&self) -> Result<(), CliError> {
        self.sandbox
            .state()
            .save(&self.state_file)
            .map_err(|error| sandbox_file_error(&self.state_file, error))
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
