//! `cargo xtask bench cli`: the one-shot wall time of `scalingo-db users list` (the release
//! binary, in `CLI_BIN`) against `curl` of the same endpoint, each a fresh process spawned by this
//! one with its stdout piped here and read whole.
//!
//! The compared figure uses the CLI's database-token mode, so both sides make exactly one HTTP
//! request (checked with the sandbox's counters). The CLI with an API token (three requests) and
//! with `--sandbox` (its embedded sandbox and a state file) are measured too, for information.
//! Every run is checked: exit status 0 and the database's user in the output.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::sandbox::{self, SandboxProcess};

/// Runs of each side before the measured ones: page cache, the sandbox's connections.
const WARM_UPS: usize = 5;
/// Measured runs of each side.
const RUNS: usize = 200;
/// The goal: the CLI's median at most this many times curl's.
const GOAL: f64 = 1.5;

/// Variables that would change what the CLI does (credentials, target, logging), removed from
/// every side's environment before the side sets its own.
const CLI_VARIABLES: &[&str] = &[
    "SCALINGO_API_TOKEN",
    "SCALINGO_DB_TOKEN",
    "SCALINGO_APP",
    "SCALINGO_ADDON",
    "SCALINGO_REGION",
    "SCALINGO_AUTH_URL",
    "SCALINGO_API_URL",
    "SCALINGO_DB_API_URL",
    "SCALINGO_DB_SANDBOX_FILE",
    "RUST_LOG",
];

/// One program run over and over, and its wall times.
struct Side {
    label: &'static str,
    /// The requests one run makes to the sandbox process.
    requests: u64,
    command: Command,
    times: Vec<Duration>,
}

impl Side {
    fn new(label: &'static str, requests: u64, program: &Path) -> Side {
        let mut command = Command::new(program);
        for name in CLI_VARIABLES {
            command.env_remove(name);
        }
        Side {
            label,
            requests,
            command,
            times: Vec::new(),
        }
    }

    /// Runs the program once, its stdout and stderr piped and read whole: its wall time, after
    /// checking that it succeeded and printed `user`.
    fn run_once(&mut self, user: &str) -> Result<Duration, Box<dyn std::error::Error>> {
        let started = Instant::now();
        let output = self.command.output()?;
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !stdout.contains(user) {
            return Err(format!(
                "{} failed ({}): stdout {stdout:?}, stderr {:?}",
                self.label,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(elapsed)
    }

    /// Median, 90th percentile and minimum, in milliseconds.
    fn summary(&self) -> (f64, f64, f64) {
        let mut times = self.times.clone();
        times.sort();
        let millis = |index: usize| times[index].as_secs_f64() * 1000.0;
        let p90 = (times.len() * 9).div_ceil(10).saturating_sub(1);
        (millis(times.len() / 2), millis(p90), millis(0))
    }
}

/// Measures and prints the one-shot figures against `sandbox` (a process of its own).
pub fn one_shot(
    runtime: &tokio::runtime::Runtime,
    sandbox: &SandboxProcess,
) -> Result<(), Box<dyn std::error::Error>> {
    let cli = crate::release_binary("CLI_BIN", "scalingo-db");
    // The user every run must print: the database's default user, as the facade lists it.
    let users = runtime.block_on(sandbox.client()?.users().list())?;
    let user = users
        .first()
        .ok_or("the sandbox's database has no user")?
        .name
        .clone();
    let scratch =
        std::env::temp_dir().join(format!("scalingo-db-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    let addon = ["--addon", sandbox::DATABASE, "users", "list"];
    let mut database_token = Side::new("scalingo-db, database token", 1, &cli);
    database_token
        .command
        .args(addon)
        .env("SCALINGO_DB_API_URL", sandbox.database_api_url())
        .env("SCALINGO_DB_TOKEN", sandbox.database_token());

    let mut curl = Side::new("curl", 1, Path::new("curl"));
    curl.command
        .args(["-sS", "--fail", "-H"])
        .arg(format!(
            "Authorization: Bearer {}",
            sandbox.database_token()
        ))
        .args(["-H", "Accept: application/json"])
        .arg(format!(
            "{}/databases/{}/users",
            sandbox.database_api_url(),
            sandbox::DATABASE
        ));

    let mut api_token = Side::new("scalingo-db, API token", 3, &cli);
    api_token
        .command
        .args(["--app", sandbox::APP])
        .args(addon)
        .env("SCALINGO_DB_API_URL", sandbox.database_api_url())
        .env("SCALINGO_AUTH_URL", sandbox.base_url())
        .env("SCALINGO_API_URL", sandbox.base_url())
        .env("SCALINGO_API_TOKEN", sandbox.api_token());

    // Its own sandbox, in the process: the sandbox process receives nothing.
    let mut embedded = Side::new("scalingo-db --sandbox", 0, &cli);
    embedded
        .command
        .args(["--sandbox", "users", "list"])
        .env("SCALINGO_DB_SANDBOX_FILE", scratch.join("sandbox.json"));

    let mut sides = [database_token, curl, api_token, embedded];
    let result = measure(runtime, sandbox, &mut sides, &user);
    std::fs::remove_dir_all(&scratch).ok();
    result?;
    report(&sides);
    Ok(())
}

/// Checks each side's request count once, then runs the sides in turn, the first side of each
/// round rotating so that a slow spell of the machine weighs on all of them alike.
fn measure(
    runtime: &tokio::runtime::Runtime,
    sandbox: &SandboxProcess,
    sides: &mut [Side],
    user: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    for side in sides.iter_mut() {
        runtime.block_on(sandbox.reset_counters())?;
        side.run_once(user)?;
        let requests = runtime.block_on(sandbox.total_requests())?;
        if requests != side.requests {
            return Err(format!(
                "{} made {requests} requests to the sandbox, not {}",
                side.label, side.requests
            )
            .into());
        }
    }
    let count = sides.len();
    for round in 0..WARM_UPS + RUNS {
        for offset in 0..count {
            let side = &mut sides[(round + offset) % count];
            let elapsed = side.run_once(user)?;
            if round >= WARM_UPS {
                side.times.push(elapsed);
            }
        }
    }
    Ok(())
}

fn report(sides: &[Side; 4]) {
    let [ours, curl, api_token, embedded] = sides;
    println!(
        "`scalingo-db users list`, one shot, against `curl` ({RUNS} alternating runs of each \
         after {WARM_UPS} warm-ups; stdout piped; wall time from spawn to exit):"
    );
    for side in sides {
        let (median, p90, min) = side.summary();
        println!(
            "  {:<28} median {median:>6.2} ms  p90 {p90:>6.2} ms  min {min:>6.2} ms",
            side.label
        );
    }
    let (curl_median, curl_p90, _) = curl.summary();
    let (median, p90, _) = ours.summary();
    println!(
        "users list, one shot: scalingo-db {median:.1} ms (p90 {p90:.1}), curl {curl_median:.1} ms \
         (p90 {curl_p90:.1}): {:.2}x (goal <= {GOAL}x)",
        median / curl_median
    );
    let (api_median, _, _) = api_token.summary();
    let (embedded_median, _, _) = embedded.summary();
    println!(
        "  for information: with an API token (3 requests) {:.2}x curl; --sandbox {:.2}x curl\n",
        api_median / curl_median,
        embedded_median / curl_median
    );
}
