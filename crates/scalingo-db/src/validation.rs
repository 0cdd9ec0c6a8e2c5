//! Client-side checks of request bodies against the rules of the contract.
//!
//! The rules are not written here: they are the tables `cargo xtask codegen` extracted from
//! openapi.yaml, applied by the generated crate's checker. This module only turns the violations
//! into [`ValidationError`] and lets a caller switch the check off.

use std::fmt;

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
