//! Client-side checks of requests against the rules of the contract: the bodies, and the path
//! parameters a URL can carry.
//!
//! The rules are not written here: they are the tables `cargo xtask codegen` extracted from
//! openapi.yaml, applied by the generated crate's checker. This module only turns the violations
//! into [`ValidationError`] and lets a caller switch the check off.

use std::fmt;

use std::borrow::Cow;

use scalingo_db_generated::OperationId;
use scalingo_db_generated::rules::{self, FieldRule};
pub use scalingo_db_generated::rules::{Problem, Violation};

/// Whether the client checks request bodies against the contract's rules before sending them.
///
/// The rules are those of the public API documentation. The service is the final judge, and the
/// user guides on doc.scalingo.com describe a different name rule (letters, digits and
/// underscores, starting with a letter), so [`Validation::Skip`] exists to send a body the
/// documented rules refuse and let the service decide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Validation {
    /// Check every body and refuse to send one that breaks a rule (the default).
    #[default]
    Enforce,
    /// Send bodies as they are; the service answers 422 for what it refuses.
    Skip,
}

/// A request body breaks one or more rules of the contract; nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    violations: Vec<Violation>,
}

impl ValidationError {
    /// Every broken rule, in the order of the body's fields.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The first field that breaks a rule, e.g. `name`.
    pub fn field(&self) -> &str {
        self.violations[0].field
    }

    /// The rule the first field breaks, in words, e.g. `24 to 64 characters`.
    pub fn rule(&self) -> &str {
        &self.violations[0].rule
    }
}

impl ValidationError {
    /// Drops what is said of a field that must be the same as another (`x-same-as`), when that
    /// other field breaks a rule itself: where the copy was filled in for the caller (a password
    /// confirmation), naming it twice only confuses.
    pub(crate) fn without_copies(mut self, table: &[FieldRule]) -> Self {
        let broken: Vec<&str> = self.violations.iter().map(|v| v.field).collect();
        let copies: Vec<&str> = table
            .iter()
            .filter(|rule| rule.same_as.is_some_and(|other| broken.contains(&other)))
            .map(FieldRule::field)
            .collect();
        self.violations
            .retain(|violation| !copies.contains(&violation.field));
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid request, nothing was sent: ")?;
        for (index, violation) in self.violations.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// Checks `body` against `table` unless validation is skipped.
pub(crate) fn check<T: serde::Serialize>(
    mode: Validation,
    body: &T,
    table: &[FieldRule],
) -> Result<(), ValidationError> {
    if mode == Validation::Skip {
        return Ok(());
    }
    // Serializing our own generated types into a Value cannot fail (string keys, no maps of
    // non-string keys); should it ever, an empty object makes the required fields report missing.
    let value = serde_json::to_value(body).unwrap_or_default();
    let violations = rules::check(&value, table);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { violations })
    }
}

/// The rule every path parameter follows, in words.
const PATH_PARAMETER_RULE: &str = "a value a URL path can carry: not empty, `.` or `..`";

/// Checks `values`, the path parameters of `operation` in its path's order, whatever the
/// validation mode: an empty value, `.` or `..` would not reach the service as given (URL
/// normalisation removes or climbs such segments: `backups/..` becomes the database's own path),
/// so the request would act on something else than what was named.
pub(crate) fn path_parameters<'v>(
    operation: OperationId,
    values: impl IntoIterator<Item = &'v str>,
) -> Result<(), ValidationError> {
    let names = operation
        .path()
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'));
    let violations: Vec<Violation> = names
        .zip(values)
        .filter(|(_, value)| matches!(*value, "" | "." | ".."))
        .map(|(field, _)| Violation {
            field,
            rule: Cow::Borrowed(PATH_PARAMETER_RULE),
            problem: Problem::NotInAPath,
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { violations })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_a_url_would_change_are_refused_by_name() {
        let ok = path_parameters(OperationId::GetBackup, ["ad-1", "5b8b3610"]);
        assert_eq!(ok, Ok(()));
        for bad in ["", ".", ".."] {
            let error = path_parameters(OperationId::GetBackup, ["ad-1", bad]).expect_err(bad);
            assert_eq!(error.field(), "backup_id", "{bad:?}");
            assert!(
                error
                    .to_string()
                    .contains("backup_id is empty, `.` or `..`"),
                "{error}"
            );
        }
        let error = path_parameters(OperationId::ListUsers, [".."]).expect_err("the database");
        assert_eq!(error.field(), "database_id");
    }
}
