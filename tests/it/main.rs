//! Integration tests of the `scalingo-db` facade. One binary, one module per subject.
//!
//! Every test talks to a real HTTP server on loopback: httpmock, with the helpers generated from
//! openapi.yaml where they fit, for exact wire formats; the in-process sandbox for behaviour.

mod contract;
mod ranged_store;
mod support;

mod api_token_auth;
mod backups_wire;
mod client_setup;
mod download_integrity;
mod downloads;
mod downloads_ranged;
mod errors;
mod path_parameters;
mod retries;
mod sandbox_auth;
mod sandbox_backups;
mod sandbox_databases;
mod sandbox_faults;
mod sandbox_pitr;
mod sandbox_schedule;
mod sandbox_state;
mod sandbox_users;
mod telemetry;
mod transport_safety;
mod users_wire;
mod validation_table;
mod verify_archives;
mod verify_downloads;
mod verify_postgres;
mod wait;
mod wire_matrix;
