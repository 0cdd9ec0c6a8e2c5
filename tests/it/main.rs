//! Integration tests of the `scalingo-db` facade. One binary, one module per subject.
//!
//! Every test talks to a real HTTP server on loopback: httpmock, with the helpers generated from
//! openapi.yaml where they fit, for exact wire formats.

mod support;

mod backups_wire;
mod client_setup;
mod errors;
mod sandbox_auth;
mod sandbox_backups;
mod sandbox_faults;
mod sandbox_users;
mod users_wire;
mod validation_table;
