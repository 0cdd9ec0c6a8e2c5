//! The workspace's integration tests live in `it/` (one test binary, `cargo test -p
//! scalingo-db-tests`). This library holds what test binaries of several crates share: the
//! PostgreSQL server of the backup verification tests and the archives they verify (the CLI's
//! tests use both).

pub mod archives;
pub mod postgres;
