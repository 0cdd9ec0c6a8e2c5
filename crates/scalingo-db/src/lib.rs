//! A typed, validated client for the [Scalingo Database API]: the users and backups of a hosted
//! database.
//!
//! ```no_run
//! # async fn run() -> Result<(), scalingo_db::Error> {
//! use scalingo_db::{Client, NewUser, Region};
//!
//! let client = Client::new(Region::OscFr1, "ad-0c8fe5a2-…", std::env::var("DB_TOKEN").unwrap())?;
//!
//! let user = client.users().create(NewUser::new("reporting").read_only(true)).await?;
//! println!("created {} (password shown once)", user.name);
//!
//! let backup = client.backups().create().await?;
//! println!("backup {} is {}", backup.id, backup.status);
//! # Ok(()) }
//! ```
//!
//! - Every call answers `Result<_, `[`Error`]`>`; the error says which field broke which rule, or
//!   what the API answered (401, 404 with the resource, 422 with field messages, 429 with
//!   `Retry-After`, ...). No answer, however malformed, makes it panic.
//! - Request bodies are checked against the rules of `openapi.yaml` before anything is sent; see
//!   [`Validation`] to skip that.
//! - Tokens and passwords are held in types whose `Debug` never shows them ([`Password`],
//!   [`secrecy::SecretString`]); errors never quote them.
//! - The wire types come from `scalingo-db-generated`, generated from the contract; the common ones
//!   are re-exported here.
//!
//! [Scalingo Database API]: https://developers.scalingo.com/databases/

mod auth;
mod backups;
mod client;
mod download;
mod error;
mod redact;
mod retry;
mod transport;
mod users;
mod validation;
mod wait;

pub use backups::{ArchiveLink, ArchiveStream, Backups};
pub use client::{
    AUTH_URL, Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, Region,
    default_user_agent,
};
pub use download::{Downloaded, Progress, Streamed};
pub use error::{Error, Result};
pub use retry::RetryPolicy;
pub use users::{NewUser, Users, check_password};
pub use validation::{Problem, Validation, ValidationError, Violation};
pub use wait::WaitOptions;

/// The wire types generated from `openapi.yaml`, for building request bodies by hand.
pub use scalingo_db_generated::types;
pub use scalingo_db_generated::types::{Backup, DatabaseUser, DbmsAttributes};
pub use scalingo_db_generated::{BackupMethod, BackupStatus, Password, PasswordEncryption};
pub use secrecy;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
