//! How a command fails, and the exit code each failure gives. The codes are part of the CLI's
//! interface (scripts test them); `--help` and the README list them, and this is the one place
//! that decides them.

use std::fmt;

use scalingo_db::Error;
use scalingo_db::verify::Verdict;

/// Success.
pub const SUCCESS: u8 = 0;
/// The API, the server, the network or a local file failed, the API refused, a backup or an
/// operation failed or outlasted the wait, or a confirmation was declined.
pub const FAILURE: u8 = 1;
/// Bad arguments or configuration, input the API's rules refuse (before sending, or with a
/// 422), or a restore time outside the recovery window. clap uses 2 for its own usage errors too.
pub const USAGE: u8 = 2;
/// No credentials, or the API refused them.
pub const AUTH: u8 = 3;
/// The database, user, backup or operation does not exist.
pub const NOT_FOUND: u8 = 4;
/// `backups verify`: the archive is not a whole gzip and tar stream.
pub const ARCHIVE_DAMAGED: u8 = 10;
/// `backups verify`: the archive holds no dump of the expected kind, or its tool cannot read it.
pub const DUMP_UNREADABLE: u8 = 11;
/// `backups verify --restore-into`: the restore failed or did not bring back the dump's rows.
pub const RESTORE_FAILED: u8 = 12;
/// Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum CliError {
    /// What the client library reported.
    Api(Error),
    /// Bad arguments, configuration or input, found before anything was sent.
    Usage(String),
    /// No usable credentials.
    Auth(String),
    /// Something named on the command line does not exist.
    NotFound(String),
    /// Anything else that went wrong on this side: a declined confirmation, a local file.
    Failed(String),
    /// Ctrl-C; the text says what was left behind, if anything.
    Interrupted(Option<String>),
    /// A failure after which the API may have done what was asked (see [`unsure`]), with how
    /// to find out.
    Unsure {
        /// The failure.
        error: Box<CliError>,
        /// How to find out what happened.
        hint: String,
    },
    /// A backup's verification found something wrong (the report says what).
    Unverified {
        /// Which check failed first.
        verdict: Verdict,
        /// What it found.
        problem: String,
    },
    /// stdout was closed by its reader (`… | head`): stop quietly, as a filter should.
    BrokenPipe,
}

impl CliError {
    /// The process's exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Api(error) => match error {
                // 422 is the service's own validation: the input, not the service, is wrong.
                Error::Validation(_)
                | Error::InvalidInput { .. }
                | Error::Unprocessable { .. }
                | Error::OutsideRecoveryWindow { .. } => USAGE,
                Error::Unauthorized { .. } | Error::Forbidden { .. } => AUTH,
                Error::NotFound { .. } => NOT_FOUND,
                _ => FAILURE,
            },
            CliError::Usage(_) => USAGE,
            CliError::Auth(_) => AUTH,
            CliError::NotFound(_) => NOT_FOUND,
            CliError::Failed(_) => FAILURE,
            CliError::Interrupted(_) => INTERRUPTED,
            CliError::Unverified { verdict, .. } => match verdict {
                Verdict::ArchiveDamaged => ARCHIVE_DAMAGED,
                Verdict::DumpUnreadable => DUMP_UNREADABLE,
                Verdict::RestoreFailed => RESTORE_FAILED,
                Verdict::Verified => SUCCESS,
            },
            CliError::Unsure { error, .. } => error.exit_code(),
            CliError::BrokenPipe => SUCCESS,
        }
    }

    /// A local I/O failure on `what`.
    pub fn io(what: impl fmt::Display, error: std::io::Error) -> CliError {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Failed(format!("{what}: {error}"))
        }
    }
}

/// `error`, with `hint` when it leaves unknown whether the API did what was asked: Ctrl-C, or an
/// answer lost, cut, late, unreadable or a server's failure, after the request may have reached
/// it. A change that may have been made must not be taken for one that was not (nor tried again
/// blindly: the CLI never sends a creating request twice).
pub fn unsure(error: CliError, hint: impl FnOnce() -> String) -> CliError {
    match error {
        CliError::Interrupted(None) => CliError::Interrupted(Some(hint())),
        CliError::Api(
            Error::Timeout { .. }
            | Error::Transport { .. }
            | Error::Decode { .. }
            | Error::Server { .. },
        ) => CliError::Unsure {
            error: Box::new(error),
            hint: hint(),
        },
        error => error,
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        match error {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
                CliError::BrokenPipe
            }
            error => CliError::Api(error),
        }
    }
}

impl From<scalingo_db::ValidationError> for CliError {
    fn from(error: scalingo_db::ValidationError) -> Self {
        CliError::Api(error.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Api(error @ Error::Unauthorized { .. }) => write!(
                f,
                "{error}\nhint: credentials come from SCALINGO_API_TOKEN (with --app) or SCALINGO_DB_TOKEN"
            ),
            CliError::Api(error) => error.fmt(f),
            CliError::Usage(message)
            | CliError::Auth(message)
            | CliError::NotFound(message)
            | CliError::Failed(message) => f.write_str(message),
            CliError::Interrupted(None) => f.write_str("interrupted"),
            CliError::Interrupted(Some(left)) => write!(f, "interrupted; {left}"),
            CliError::Unsure { error, hint } => write!(f, "{error}\nhint: {hint}"),
            CliError::Unverified { verdict, problem } => {
                let what = match verdict {
                    Verdict::ArchiveDamaged => "the archive is damaged",
                    Verdict::DumpUnreadable => "the dump cannot be read",
                    Verdict::RestoreFailed => "the restore failed",
                    Verdict::Verified => "verified",
                };
                write!(f, "{what}: {problem}")
            }
            CliError::BrokenPipe => f.write_str("stdout was closed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_map_to_documented_codes() {
        let not_found = Error::NotFound {
            resource: Some("backup".into()),
            message: None,
            request_id: None,
        };
        assert_eq!(CliError::from(not_found).exit_code(), NOT_FOUND);
        let unauthorized = Error::Unauthorized {
            message: None,
            request_id: None,
        };
        assert_eq!(CliError::from(unauthorized).exit_code(), AUTH);
        let invalid = Error::InvalidInput {
            message: "x".into(),
        };
        assert_eq!(CliError::from(invalid).exit_code(), USAGE);
        let broken = Error::Io {
            path: None,
            source: std::io::ErrorKind::BrokenPipe.into(),
        };
        assert_eq!(CliError::from(broken).exit_code(), SUCCESS);
    }
}
