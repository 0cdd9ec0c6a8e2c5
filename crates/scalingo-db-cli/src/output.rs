//! Everything `scalingo-db` prints goes through [`Output`], so the rules hold everywhere: with
//! `--json` stdout carries the API's objects and nothing else; with `-o -` it carries the archive
//! and everything else moves to stderr; `-q` keeps only errors and the data asked for; colours
//! follow `--color`, NO_COLOR and whether each stream is a terminal; a closed pipe ends the
//! command quietly; what the server wrote never reaches a terminal as control characters
//! (`escape.rs`).

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use console::style;
use scalingo_db::Password;
use serde::Serialize;

use crate::args::{ColorChoice, GlobalArgs};
use crate::escape::for_terminal;
use crate::exit::CliError;

/// Where and how to print.
pub struct Output {
    json: bool,
    quiet: bool,
    /// stdout carries an archive: text goes to stderr. Atomic so that progress callbacks, which
    /// the client library may run on any thread, can hold an `&Output`.
    stdout_taken: AtomicBool,
    stderr_is_terminal: bool,
}

impl Output {
    /// Output as the global options ask; sets up colours for the whole process.
    pub fn new(global: &GlobalArgs) -> Output {
        let stderr_is_terminal = std::io::stderr().is_terminal();
        // `auto` is console's own choice per stream: a colour terminal, unless NO_COLOR or
        // CLICOLOR=0 says otherwise, or CLICOLOR_FORCE asks for colours anyway.
        let forced = match global.color {
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
            ColorChoice::Auto => None,
        };
        if let Some(colors) = forced {
            console::set_colors_enabled(colors);
            console::set_colors_enabled_stderr(colors);
        }
        Output {
            json: global.json,
            quiet: global.quiet,
            stdout_taken: AtomicBool::new(false),
            stderr_is_terminal,
        }
    }

    /// `--json`: print objects, not text.
    pub fn json(&self) -> bool {
        self.json
    }

    /// From now on stdout carries binary data (`-o -`).
    pub fn take_stdout(&self) {
        self.stdout_taken.store(true, Ordering::Relaxed);
    }

    /// Whether progress may be drawn: on a terminal, unless quiet or `--silent`.
    pub fn shows_progress(&self, silent: bool) -> bool {
        self.stderr_is_terminal && !silent && !self.quiet
    }

    /// Whether progress is reported as plain lines instead (stderr is not a terminal).
    pub fn logs_progress(&self, silent: bool) -> bool {
        !self.stderr_is_terminal && !silent && !self.quiet
    }

    /// An API object (or list of them) as JSON on stdout.
    pub fn object<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let mut text = serde_json::to_string_pretty(value)
            .map_err(|error| CliError::Failed(format!("cannot print JSON: {error}")))?;
        text.push('\n');
        self.write_data(&text)
    }

    /// The data asked for (a table, a link): printed even with `-q`.
    pub fn data(&self, text: &str) -> Result<(), CliError> {
        self.write_data(&with_newline(text))
    }

    /// The outcome of a change, for people (`Created user …`): not with `-q` or `--json`.
    pub fn outcome(&self, text: &str) -> Result<(), CliError> {
        if self.quiet || self.json {
            return Ok(());
        }
        self.data(text)
    }

    /// A password the server generated: the only time anyone sees it. With `-q`, the bare
    /// password, for capture; otherwise marked so it is not mistaken for anything else.
    pub fn generated_password(&self, password: &Password) -> Result<(), CliError> {
        if self.quiet {
            return self.data(password.expose());
        }
        let stdout = !self.stdout_taken.load(Ordering::Relaxed);
        let heading = style("Generated password, shown only this once (store it now):")
            .yellow()
            .bold();
        let heading = if stdout {
            heading
        } else {
            heading.for_stderr()
        };
        self.data(&format!("{heading}\n\n    {}\n", password.expose()))
    }

    /// A side remark for people, on stderr: not with `-q`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            write_stderr(&with_newline(text));
        }
    }

    /// The error that ends the command, on stderr.
    pub fn error(&self, error: &CliError) {
        if matches!(error, CliError::BrokenPipe) {
            return;
        }
        let label = style("error:").red().bold().for_stderr();
        write_stderr(&format!("{label} {error}\n"));
    }

    /// Whether text for people is written to stdout (else stderr), for styling it.
    pub fn text_on_stdout(&self) -> bool {
        !self.stdout_taken.load(Ordering::Relaxed)
    }

    fn write_data(&self, text: &str) -> Result<(), CliError> {
        if self.stdout_taken.load(Ordering::Relaxed) {
            write_stderr(text);
            return Ok(());
        }
        let text = for_terminal(text);
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|error| CliError::io("stdout", error))
    }
}

/// stderr is where failures are reported: a failure to write there cannot be reported anywhere.
fn write_stderr(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(for_terminal(text).as_bytes());
}

fn with_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}
