//! Running PostgreSQL's own programs beside a verification: where they are found, how they get
//! the password (their environment, never their arguments, which any local user can read), and
//! how their output is drained on threads of their own so that a child never blocks on a full
//! pipe while it is being fed.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// How much of a program's standard error is kept for its error message: its last lines, where
/// `pg_restore` says what stopped it.
const STDERR_TAIL: usize = 16 * 1024;

/// Where the PostgreSQL client programs are: a folder, or the `PATH`.
#[derive(Clone, Debug, Default)]
pub(super) struct Programs {
    pub(super) folder: Option<PathBuf>,
}

impl Programs {
    /// A command for `name`, from the folder or the `PATH`, with a clean standard input.
    pub(super) fn command(&self, name: &str) -> Command {
        let program = match &self.folder {
            Some(folder) => folder.join(name),
            None => PathBuf::from(name),
        };
        Command::new(program)
    }

    /// Starts `command` (named `name` in errors), its input a pipe the caller feeds, its output
    /// read by `read_output` on a thread.
    pub(super) fn spawn<T: Send + 'static>(
        &self,
        name: &str,
        mut command: Command,
        read_output: impl FnOnce(ChildStdout) -> io::Result<T> + Send + 'static,
    ) -> Result<Running<T>> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| self.not_started(name, &error))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped above");
        let mut stderr = child.stderr.take().expect("piped above");
        let output = std::thread::spawn(move || read_output(stdout));
        let errors = std::thread::spawn(move || tail(&mut stderr));
        Ok(Running {
            name: name.to_owned(),
            child,
            stdin,
            output,
            errors,
        })
    }

    fn not_started(&self, name: &str, error: &io::Error) -> Error {
        let message = if error.kind() == io::ErrorKind::NotFound {
            match &self.folder {
                Some(folder) => format!("it is not in {}", folder.display()),
                None => "it is not on the PATH: install PostgreSQL's client programs (Debian: \
                         postgresql-client) or name their folder"
                    .to_owned(),
            }
        } else {
            error.to_string()
        };
        Error::Tool {
            program: name.to_owned(),
            message,
        }
    }
}

/// A program being fed.
pub(super) struct Running<T> {
    name: String,
    child: Child,
    /// `None` once the program stopped reading.
    stdin: Option<ChildStdin>,
    output: JoinHandle<io::Result<T>>,
    errors: JoinHandle<String>,
}

impl<T> Running<T> {
    /// Hands the program its next input. A program that stopped reading (it had what it needed,
    /// or failed) is fed no more; its exit status tells which.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        if let Some(stdin) = &mut self.stdin
            && stdin.write_all(bytes).is_err()
        {
            self.stdin = None;
        }
    }

    /// Closes its input and waits for it: what it printed, or what it said on failure.
    pub(super) fn finish(mut self) -> std::result::Result<T, String> {
        drop(self.stdin.take());
        let status = self.child.wait();
        let output = self.output.join();
        let errors = self.errors.join().unwrap_or_default();
        match (status, output) {
            (Ok(status), Ok(Ok(output))) if status.success() => Ok(output),
            (Ok(status), Ok(Err(error))) if status.success() => {
                Err(format!("{}: its output: {error}", self.name))
            }
            (Ok(status), _) => Err(failure(&self.name, status, &errors)),
            (Err(error), _) => Err(format!("{}: {error}", self.name)),
        }
    }
}

/// "pg_restore failed (exit status 1): pg_restore: error: ..." with the lines that say why.
fn failure(name: &str, status: ExitStatus, errors: &str) -> String {
    let said: Vec<&str> = errors
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| line.contains("error") || line.contains("FATAL") || line.contains("fatal"))
        .collect();
    let said = if said.is_empty() {
        errors
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("")
            .to_owned()
    } else {
        said.iter().take(3).copied().collect::<Vec<_>>().join("; ")
    };
    let how = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed".to_owned(),
    };
    if said.is_empty() {
        format!("{name} failed ({how})")
    } else {
        format!("{name} failed ({how}): {said}")
    }
}

/// The last [`STDERR_TAIL`] bytes of a program's standard error, read to its end.
fn tail(stderr: &mut impl Read) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0; 8192];
    while let Ok(read) = stderr.read(&mut buffer) {
        if read == 0 {
            break;
        }
        kept.extend_from_slice(&buffer[..read]);
        if kept.len() > 2 * STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    let start = kept.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&kept[start..]).into_owned()
}

/// Reads everything a program prints, up to `limit` bytes (a table of contents of millions of
/// entries is refused rather than held).
pub(super) fn read_bounded(mut output: impl Read, limit: u64) -> io::Result<String> {
    let mut text = String::new();
    (&mut output).take(limit).read_to_string(&mut text)?;
    if io::copy(&mut output, &mut io::sink())? > 0 {
        return Err(io::Error::other(format!(
            "it printed more than {limit} bytes"
        )));
    }
    Ok(text)
}

/// The `PG*` variables that make a program connect to `dbname` with `password`, the password
/// out of its arguments.
pub(super) fn connect(command: &mut Command, dbname: &str, password: Option<&str>) {
    command.arg(format!("--dbname={dbname}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    // A scratch database that does not answer must not hang the verification.
    command.env("PGCONNECT_TIMEOUT", "10");
}
