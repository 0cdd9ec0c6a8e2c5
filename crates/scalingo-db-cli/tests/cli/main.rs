//! Integration tests of the `scalingo-db` binary: one test binary, one module per subject.
//!
//! Each test runs the real binary, as people and scripts do, in its own directory with its own
//! `--sandbox` state file and a cleared environment (`support.rs`), against loopback servers only:
//! the CLI's embedded sandbox, or a sandbox served by the test process for credentials.

mod support;

mod backups;
mod completions;
mod credentials;
mod database;
mod download;
mod errors;
mod help;
mod hostile;
mod interrupt;
mod output_modes;
mod restore;
mod sandbox_state;
mod schedule;
mod schema;
mod users;
mod verify;
