//! The sandbox's answer to each operation of the contract: the generated traits
//! (`generated_api.rs`) implemented on [`Service`](crate::service::Service), one file per tag.
//! Each method holds its whole operation (what the service checks and answers), on data and
//! lookups of the [`Store`](crate::store::Store); reading the request and writing the answer
//! are the generated routes' job. Plus the `/_sandbox/` control routes, which are not part of
//! the contract.

mod auth;
mod backups;
pub mod control;
mod databases;
mod operations;
mod pitr;
mod security;
mod users;

#[cfg(test)]
mod hardening_tests;
#[cfg(test)]
mod tests;
