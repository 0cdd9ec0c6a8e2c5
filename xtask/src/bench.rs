//! `cargo xtask bench`: builds the sandbox, the CLI and the benchmark binary in release mode and
//! runs the last.
//! The measuring itself lives in `crates/scalingo-db-bench`, which depends on the facade; the
//! xtask only drives cargo, so code generation does not have to compile the whole client.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::files::project_root;

/// Builds and runs the benchmarks: all, or the sections named in `sections` (`download`, `link`,
/// `auth`, `calls`, `cli`, and the link's flags; the benchmark binary rejects anything else),
/// streaming their output.
pub fn run(sections: &[&str]) -> anyhow::Result<()> {
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
    let release = target_dir(&root, std::env::var_os("CARGO_TARGET_DIR")).join("release");
    let status = Command::new(release.join("scalingo-db-bench"))
        .args(sections)
        .current_dir(&root)
        .env("SANDBOX_BIN", release.join("scalingo-db-sandbox"))
        .env("CLI_BIN", release.join("scalingo-db"))
        .status()
        .context("running the benchmarks")?;
    anyhow::ensure!(status.success(), "the benchmarks failed");
    Ok(())
}

/// Where the build above puts its output: `CARGO_TARGET_DIR` (relative to `root`, where cargo
/// runs, when it is relative), else `root/target`.
fn target_dir(root: &Path, cargo_target_dir: Option<std::ffi::OsString>) -> PathBuf {
    match cargo_target_dir.filter(|dir| !dir.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::target_dir;

    #[test]
    fn target_dir_honours_cargo_target_dir() {
        let root = Path::new("/repo");
        assert_eq!(target_dir(root, None), Path::new("/repo/target"));
        assert_eq!(target_dir(root, Some("".into())), Path::new("/repo/target"));
        assert_eq!(target_dir(root, Some("out".into())), Path::new("/repo/out"));
        assert_eq!(target_dir(root, Some("/tmp/t".into())), Path::new("/tmp/t"));
    }
}
