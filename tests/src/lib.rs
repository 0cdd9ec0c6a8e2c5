//! The workspace's integration tests live in `it/` (one test binary, `cargo test -p
//! scalingo-db-tests`); this library is empty on purpose, so the package has a root to build.
