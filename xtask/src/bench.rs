//! `cargo xtask bench`: builds the sandbox, the CLI and the benchmark binary in release mode and
//! runs the last.
//! The measuring itself lives in `crates/scalingo-db-bench`, which depends on the facade; the
//! xtask only drives cargo, so code generation does not have to compile the whole client.

use std::process::Command;

use anyhow::Context as _;

use crate::files::project_root;

/// Builds and runs the benchmarks (all, or those named after `bench`: `download`, `auth`,
/// `calls`, `cli`), streaming their output.
pub fn run() -> anyhow::Result<()> {
    let root = project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "--locked"])
        .args(["-p", "scalingo-db-sandbox", "-p", "scalingo-db-cli"])
        .args(["-p", "scalingo-db-bench"])
        .status()
        .context("running cargo build")?;
    anyhow::ensure!(status.success(), "the release build failed");
    let release = root.join("target").join("release");
    let mut command = Command::new(release.join("scalingo-db-bench"));
    let status = command
        .args(std::env::args().skip(2))
        .current_dir(&root)
        .env("SANDBOX_BIN", release.join("scalingo-db-sandbox"))
        .env("CLI_BIN", release.join("scalingo-db"))
        .status()
        .context("running the benchmarks")?;
    anyhow::ensure!(status.success(), "the benchmarks failed");
    Ok(())
}
