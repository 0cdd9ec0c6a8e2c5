//! Asking people things: a new password (hidden, typed twice, checked against the API's rules
//! before it is accepted) and a yes/no confirmation. Both need a terminal on stdin; a script gets
//! an error saying which flag to use instead, never a prompt that hangs.
//!
//! Passwords are never taken as arguments: other users of the machine can read a process's
//! arguments.

use std::io::{IsTerminal as _, Read as _};

use console::Term;
use dialoguer::{Confirm, Password as PasswordPrompt};
use scalingo_db::{Password, ValidationError};

use crate::cmd_users::PasswordSource;
use crate::exit::CliError;

/// The most `--password-stdin` reads: far more than any password the API's rules allow (those
/// rules judge the length, by name), and little enough that endless input (`</dev/zero`) is
/// refused instead of filling the memory.
const MOST_READ: u64 = 4096;

/// Whether an empty password may be given, for the server to generate one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfEmpty {
    /// Yes (`users create`).
    Generate,
    /// No (`users update-password`: `reset-password` is the command that generates one).
    Refuse,
}

/// Reads a new password from stdin (`--password-stdin`) or a hidden prompt, checked with `check`
/// (the API's rules); `None` when none was given (empty), which only [`IfEmpty::Generate`]
/// offers at the prompt.
pub fn new_password(
    source: &PasswordSource,
    if_empty: IfEmpty,
    check: impl Fn(&Password) -> Result<(), ValidationError>,
) -> Result<Option<Password>, CliError> {
    if source.password_stdin {
        let password = password_from_stdin()?;
        if password.is_empty() {
            return Ok(None);
        }
        let password = Password::new(password);
        check(&password)?;
        return Ok(Some(password));
    }
    if !is_interactive() {
        let generate = match if_empty {
            IfEmpty::Generate => " (an empty line lets the server generate one)",
            IfEmpty::Refuse => "",
        };
        return Err(CliError::Usage(format!(
            "cannot ask for the password: stdin is not a terminal; pass --password-stdin and \
             write it on stdin{generate}"
        )));
    }
    let prompt = match if_empty {
        IfEmpty::Generate => "Password (leave empty to let the server generate one)",
        IfEmpty::Refuse => "Password",
    };
    let typed = PasswordPrompt::new()
        .with_prompt(prompt)
        .with_confirmation("Password again", "the two passwords differ; try again")
        .allow_empty_password(if_empty == IfEmpty::Generate)
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
    Ok((!typed.is_empty()).then(|| Password::new(typed)))
}

/// The password `--password-stdin` reads: the only line of stdin, read to its end (at most
/// [`MOST_READ`] bytes). More, or a second line, is refused rather than cut silently: a script
/// that sends something else than it means should hear of it.
fn password_from_stdin() -> Result<String, CliError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MOST_READ + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| CliError::io("stdin", error))?;
    one_line(bytes)
}

/// The one line of `bytes` (a final line break is allowed), or why it is not one.
fn one_line(bytes: Vec<u8>) -> Result<String, CliError> {
    if bytes.len() as u64 > MOST_READ {
        return Err(CliError::Usage(format!(
            "stdin holds more than {MOST_READ} bytes: --password-stdin reads one line, the password"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Usage("the password on stdin is not UTF-8 text".to_owned()))?;
    let (line, rest) = text.split_once('\n').unwrap_or((&text, ""));
    if !rest.trim().is_empty() {
        return Err(CliError::Usage(
            "stdin holds more than one line: --password-stdin reads one line, the password"
                .to_owned(),
        ));
    }
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_gives_one_line_and_nothing_else() {
        let line =
            |text: &str| one_line(text.as_bytes().to_vec()).map_err(|error| error.to_string());
        assert_eq!(line("secret\n"), Ok("secret".to_owned()));
        assert_eq!(line("secret\r\n"), Ok("secret".to_owned()));
        assert_eq!(line("secret"), Ok("secret".to_owned()));
        assert_eq!(line(""), Ok(String::new()));
        assert_eq!(line("secret\n\n"), Ok("secret".to_owned()));
        let second = line("secret\nanother\n").expect_err("two lines");
        assert!(second.contains("more than one line"), "{second}");
        let endless = one_line(vec![0; 4097]).expect_err("too much").to_string();
        assert!(endless.contains("more than 4096 bytes"), "{endless}");
        let binary = one_line(vec![0xff, 0xfe])
            .expect_err("not text")
            .to_string();
        assert!(binary.contains("not UTF-8"), "{binary}");
    }
}
