//! An in-memory, stateful Scalingo Database API server that follows `openapi.yaml`.
//!
//! It serves every operation of the contract (routes come from the generated operation table,
//! bodies are the generated types), enforces the same rules as the contract (the generated rule
//! tables), issues and checks tokens like the real platform, moves backups from `scheduled` to
//! `done`, and streams generated `.tar.gz` archives of any size with `Range` support. Tests can
//! inject faults and count requests.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use scalingo_db_sandbox::{Sandbox, SandboxConfig, DEFAULT_DATABASE};
//!
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! let token = sandbox.database_token(DEFAULT_DATABASE);
//! println!("GET {}/databases/{DEFAULT_DATABASE}/users with Bearer {token}", sandbox.database_api_url());
//! # Ok(()) }
//! ```

pub mod archive;
mod config;
mod error;
pub mod faults;
mod handlers;
mod http;
mod router;
mod server;
mod state;
mod store;
mod tokens;

pub use config::{
    DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, DatabaseSeed,
    DatabaseType, SandboxConfig,
};
pub use faults::{Counters, Fault, FaultRule, Faults};
pub use server::Sandbox;
pub use state::SandboxState;
