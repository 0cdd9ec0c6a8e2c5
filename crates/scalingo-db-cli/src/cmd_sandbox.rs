//! `scalingo-db sandbox …`: the embedded sandbox's state file.

use crate::embedded;
use crate::exit::CliError;
use crate::output::Output;

/// `sandbox reset`: the next `--sandbox` run starts with a fresh sandbox.
pub fn reset(output: &Output) -> Result<(), CliError> {
    let (file, existed) = embedded::reset(output)?;
    if existed {
        output.outcome(&format!("Cleared the sandbox: removed {}.", file.display()))
    } else {
        output.outcome(&format!(
            "The sandbox was already fresh: there is no {}.",
            file.display()
        ))
    }
}
