//! Instruction counts with callgrind (`valgrind --tool=callgrind`), for the `calls` and `cli`
//! sections: unlike wall time, they do not move with the machine's load.

use std::path::PathBuf;
use std::process::Command;

/// Runs programs under callgrind, one at a time, into one output file of its own (removed when
/// dropped).
pub struct Callgrind {
    out: PathBuf,
}

impl Callgrind {
    /// `None` when valgrind is not installed. `name` tells this benchmark's output file apart.
    pub fn new(name: &str) -> Option<Self> {
        let installed = Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success());
        installed.then(|| Callgrind {
            out: std::env::temp_dir().join(format!(
                "scalingo-db-bench-{}-{name}.callgrind",
                std::process::id()
            )),
        })
    }

    /// `valgrind --tool=callgrind --callgrind-out-file=…`, with this process's environment; the
    /// program to count and its arguments come next.
    pub fn command(&self) -> Command {
        let mut command = Command::new("valgrind");
        command
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", self.out.display()));
        command
    }

    /// Runs `command` (made by [`Callgrind::command`]): the instructions the program executed.
    pub fn count(&self, command: &mut Command) -> Result<u64, Box<dyn std::error::Error>> {
        let output = command.output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("under callgrind, the program failed: {stderr}").into());
        }
        stderr
            .lines()
            .find_map(|line| line.split("Collected :").nth(1))
            .and_then(|count| count.trim().parse().ok())
            .ok_or_else(|| format!("no instruction count from callgrind: {stderr}").into())
    }

    /// The instructions the last run spent in `function` and in what it called
    /// (`callgrind_annotate --inclusive=yes`); `None` when callgrind_annotate is missing or the
    /// function never ran.
    pub fn inclusive(&self, function: &str) -> Option<u64> {
        let output = Command::new("callgrind_annotate")
            .arg("--inclusive=yes")
            .arg(&self.out)
            .output()
            .ok()
            .filter(|output| output.status.success())?;
        // Lines read `18,354,444 (89.10%)  ???:crate::module::function [/path/to/binary]`.
        let needle = format!(":{function} [");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find(|line| line.contains(&needle))
            .and_then(|line| line.split_whitespace().next())
            .and_then(|count| count.replace(',', "").parse().ok())
    }
}

impl Drop for Callgrind {
    fn drop(&mut self) {
        std::fs::remove_file(&self.out).ok();
    }
}
