//! Asking people things: a new password (hidden, typed twice, checked against the API's rules
//! before it is accepted) and a yes/no confirmation. Both need a terminal on stdin; a script gets
//! an error saying which flag to use instead, never a prompt that hangs.
//!
//! Passwords are never taken as arguments: other users of the machine can read a process's
//! arguments.

use std::io::{BufRead as _, IsTerminal as _};

use console::Term;
use dialoguer::{Confirm, Password as PasswordPrompt};
use scalingo_db::{Password, ValidationError};

use crate::cmd_users::PasswordSource;
use crate::exit::CliError;

/// The password to set, or none: the server generates one.
pub enum NewPassword {
    /// This password.
    Given(Password),
    /// Let the server generate one.
    Generated,
}

/// Reads a new password from stdin (`--password-stdin`) or a hidden prompt, checked with `check`
/// (the API's rules); empty means the server generates one.
pub fn new_password(
    source: &PasswordSource,
    check: impl Fn(&Password) -> Result<(), ValidationError>,
) -> Result<NewPassword, CliError> {
    if source.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| CliError::io("stdin", error))?;
        let password = line.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            return Ok(NewPassword::Generated);
        }
        let password = Password::new(password);
        check(&password)?;
        return Ok(NewPassword::Given(password));
    }
    if !is_interactive() {
        return Err(CliError::Usage(
            "cannot ask for the password: stdin is not a terminal; pass --password-stdin and \
             write it on stdin (an empty line lets the server generate one)"
                .to_owned(),
        ));
    }
    let typed = PasswordPrompt::new()
        .with_prompt("Password (leave empty to let the server generate one)")
        .with_confirmation("Password again", "the two passwords differ; try again")
        .allow_empty_password(true)
        .validate_with(|typed: &String| {
            if typed.is_empty() {
                return Ok(());
            }
            // Only the broken rules: "nothing was sent" is obvious at a prompt.
            check(&Password::new(typed.as_str())).map_err(|error| {
                let rules: Vec<String> =
                    error.violations().iter().map(ToString::to_string).collect();
                rules.join("; ")
            })
        })
        .interact_on(&Term::stderr())
        .map_err(prompt_failed)?;
    Ok(if typed.is_empty() {
        NewPassword::Generated
    } else {
        NewPassword::Given(Password::new(typed))
    })
}

/// Asks `question` (default: no). Without a terminal, refuses and names `flag`, which answers
/// yes in advance.
pub fn confirm(question: &str, flag: &str) -> Result<bool, CliError> {
    if !is_interactive() {
        return Err(CliError::Usage(format!(
            "cannot ask for confirmation: stdin is not a terminal; pass {flag} to confirm in advance"
        )));
    }
    Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on(&Term::stderr())
        .map_err(prompt_failed)
}

/// Prompts read the terminal on stdin and draw on stderr.
fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn prompt_failed(error: dialoguer::Error) -> CliError {
    match error {
        dialoguer::Error::IO(error) => CliError::io("the prompt", error),
    }
}
