//! A typed, validated client for the [Scalingo Database API]: the users, backups (and their daily
//! schedule) and point-in-time restores of hosted databases.
//!
//! ```no_run
//! # async fn run() -> Result<(), scalingo_db::Error> {
//! use scalingo_db::{Client, NewUser, Region};
//!
//! // One client per credential; it reaches every database of the account.
//! let client = Client::builder()
//!     .region(Region::OscFr1)
//!     .api_token(std::env::var("SCALINGO_API_TOKEN").unwrap())
//!     .build()?;
//! let db = client.database_of("my-app", "ad-0c8fe5a2-…");
//!
//! let user = db.users().create(NewUser::new("reporting").read_only(true)).await?;
//! println!("created {} (password shown once)", user.name);
//!
//! let backup = db.backups().create().await?;
//! println!("backup {} is {}", backup.id, backup.status);
//!
//! // PostgreSQL: back to an hour ago, checked against the recovery window before it is sent.
//! let at = chrono::Utc::now() - chrono::TimeDelta::hours(1);
//! let restore = db.pitr().restore(at).await?;
//! db.operations().wait(&restore.id).await?;
//! # Ok(()) }
//! ```
//!
//! - Every call answers `Result<_, `[`Error`]`>`; the error says which field broke which rule, or
//!   what the API answered (401, 404 with the resource, 422 with field messages, 429 with
//!   `Retry-After`, ...) and the request id. No answer, however malformed, makes it panic.
//! - A call is a [`Call`]: `.await` it, or give it a time limit or ask for the answer's
//!   [`ResponseMeta`] first.
//! - Request bodies are checked against the rules of `openapi.yaml` before anything is sent; see
//!   [`Validation`] to skip that.
//! - Tokens, passwords and archive links are held in types whose `Debug` never shows them
//!   ([`Token`], [`Password`], [`ArchiveUrl`]; `expose()` reveals one); errors never quote them.
//! - Time comes from a [`Clock`], which tests replace to move time instead of sleeping.
//! - The wire types come from `scalingo-db-generated`, generated from the contract; those a
//!   caller meets are re-exported here, request bodies under [`requests`].
//!
//! [Scalingo Database API]: https://developers.scalingo.com/databases/

mod auth;
mod backups;
mod call;
mod client;
mod clock;
mod database;
mod download;
mod error;
#[cfg(test)]
mod fuzz;
mod operations;
mod pitr;
mod redact;
mod redirect;
mod retry;
mod schedule;
mod transport;
mod users;
mod validation;
pub mod verify;
mod wait;

pub use backups::{ArchiveStream, Backups};
pub use call::{Call, CallFuture, ResponseMeta};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, default_user_agent,
};
pub use clock::{Clock, SystemClock};
pub use database::Database;
pub use download::{Download, DownloadTo, Downloaded, Progress, Streamed};
pub use error::{ArchiveProblem, Error, Result, TransportError};
pub use operations::{OperationWait, Operations};
pub use pitr::{Pitr, check_restore_time};
pub use redirect::same_origin_redirects;
pub use retry::RetryPolicy;
pub use schedule::Schedule;
pub use users::{NewUser, Users, check_password};
pub use validation::{Problem, Validation, ValidationError, Violation};
pub use wait::{Wait, WaitOptions};

/// A database as the Database API describes it (the contract's `Database`; [`Database`] is this
/// crate's handle to one).
pub use scalingo_db_generated::types::Database as DatabaseInfo;
pub use scalingo_db_generated::types::{
    Backup, DatabaseFeature, DatabaseInstance, DatabaseUser, DbmsAttributes, MaintenanceWindow,
    Operation, RecoveryWindow,
};
pub use scalingo_db_generated::{
    ArchiveUrl, BackupMethod, BackupStatus, DatabaseStatus, DatabaseTypeName, FeatureStatus,
    InstanceStatus, InstanceType, OperationId, OperationStatus, OperationType, Password,
    PasswordEncryption, Region, Server, Token, UnknownRegion,
};

/// The request bodies of the contract, for building one by hand (see
/// [`Users::create_from_request`]).
pub mod requests {
    pub use scalingo_db_generated::types::{
        CreateUserRequest, DatabaseUpdate, RestoreRequest, UpdateDatabaseRequest,
        UpdateUserPasswordRequest, UserCreation, UserPasswordUpdate,
    };
}

/// The HTTP client this crate sends with, for [`ClientBuilder::http_client`].
pub use reqwest;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
