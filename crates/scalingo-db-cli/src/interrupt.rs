//! Ctrl-C: the work in flight stops, the command says what it left behind, and the process exits
//! with code 130, after the embedded sandbox (if any) saved its state.
//!
//! Only the phases after the last prompt are interruptible this way. Once tokio catches SIGINT it
//! does so for the rest of the process, and a hidden password prompt would then ignore Ctrl-C;
//! before that point, the default action ends the process, with nothing in flight to care for.

use std::future::IntoFuture;

use crate::exit::CliError;

/// Runs `work` (a future, or a call of the client library) unless Ctrl-C comes first.
pub async fn interruptible<T, E: Into<CliError>>(
    work: impl IntoFuture<Output = Result<T, E>>,
) -> Result<T, CliError> {
    tokio::select! {
        result = work.into_future() => result.map_err(Into::into),
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted(None)),
    }
}

/// Adds what was left behind to an interruption's message.
pub fn leaving(error: CliError, left: impl FnOnce() -> String) -> CliError {
    match error {
        CliError::Interrupted(None) => CliError::Interrupted(Some(left())),
        error => error,
    }
}
