//! `cargo xtask bench cli`: the one-shot wall time of `scalingo-db users list` (the release
//! binary, in `CLI_BIN`) against `curl` of the same endpoint, each a fresh process spawned by this
//! one with its stdout piped here and read whole; then the instructions of one run of each, under
//! callgrind.
//!
//! The compared figure uses the CLI's database-token mode, so both sides make exactly one HTTP
//! request (checked with the sandbox's counters). The CLI with an API token (three requests), with
//! `--sandbox` (its embedded sandbox and a state file), with one root certificate instead of the
//! system's (`SSL_CERT_FILE`), and `scalingo-db --help` are measured too, for information.
//! Every run is checked: exit status 0 and the expected text in the output.
//!
//! Each side runs with an empty environment plus `PATH` and what the side sets, so nothing of the
//! caller's (credentials, colours, logging, certificate paths) changes what it does, and no list
//! of variables to remove can fall behind the CLI. No token is an argument: the CLI reads it from
//! its environment, `curl` its `Authorization` header from a file (`-H @file`).

use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::callgrind::Callgrind;
use crate::sandbox::{self, SandboxProcess};

/// Runs of each side before the measured ones: page cache, the sandbox's connections.
const WARM_UPS: usize = 5;
/// Measured runs of each side.
const RUNS: usize = 200;
/// The goal: the CLI's median at most this many times curl's.
const GOAL: f64 = 1.5;

const DATABASE_TOKEN: &str = "scalingo-db, database token";
const CURL: &str = "curl";
const API_TOKEN: &str = "scalingo-db, API token";
const EMBEDDED: &str = "scalingo-db --sandbox";
const ONE_CERTIFICATE: &str = "scalingo-db, one root cert";
const HELP: &str = "scalingo-db --help";

/// The function that loads the system's root certificates (for rustls-platform-verifier, when
/// reqwest builds its client), whose share of a run's instructions is printed.
const LOAD_CERTIFICATES: &str = "rustls_native_certs::load_native_certs";
/// Bundles of root certificates; the first one found lends its first certificate to the runs
/// with one root certificate.
const CERTIFICATE_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// One program run over and over, and its wall times.
struct Side {
    label: &'static str,
    /// The requests one run makes to the sandbox process.
    requests: u64,
    /// Text every run must print on stdout.
    expected: String,
    command: Command,
    times: Vec<Duration>,
}

impl Side {
    /// `program` with an empty environment but `PATH`; the side adds its arguments and variables.
    fn new(label: &'static str, requests: u64, expected: &str, program: &Path) -> Side {
        let mut command = Command::new(program);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        Side {
            label,
            requests,
            expected: expected.to_owned(),
            command,
            times: Vec::new(),
        }
    }

    /// Runs the program once, its stdout and stderr piped and read whole: its wall time, after
    /// checking that it succeeded and printed what it should.
    fn run_once(&mut self) -> Result<Duration, Box<dyn std::error::Error>> {
        let started = Instant::now();
        let output = self.command.output()?;
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !stdout.contains(&self.expected) {
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

    /// Runs the same command once under callgrind, with the same environment: the instructions
    /// it executed, and those spent loading the root certificates when it loaded them.
    fn instructions(
        &self,
        callgrind: &Callgrind,
    ) -> Result<(u64, Option<u64>), Box<dyn std::error::Error>> {
        let mut command = callgrind.command();
        command.env_clear();
        for (name, value) in self.command.get_envs() {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        command
            .arg(self.command.get_program())
            .args(self.command.get_args());
        let total = callgrind.count(&mut command)?;
        Ok((total, callgrind.inclusive(LOAD_CERTIFICATES)))
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
    let users = runtime.block_on(sandbox.client()?.users().list().send())?;
    let user = users
        .first()
        .ok_or("the sandbox's database has no user")?
        .name
        .clone();
    // Only this user may read it: it holds curl's header, token included.
    let scratch =
        std::env::temp_dir().join(format!("scalingo-db-bench-cli-{}", std::process::id()));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&scratch)?;
    let result = sides(sandbox, &cli, &user, &scratch).and_then(|mut sides| {
        measure(runtime, sandbox, &mut sides)?;
        report(&sides);
        instructions(&sides)
    });
    std::fs::remove_dir_all(&scratch).ok();
    result
}

/// The programs compared, each ready to run with its whole environment.
fn sides(
    sandbox: &SandboxProcess,
    cli: &Path,
    user: &str,
    scratch: &Path,
) -> Result<Vec<Side>, Box<dyn std::error::Error>> {
    let addon = ["--addon", sandbox::DATABASE, "users", "list"];
    let with_database_token = |label| {
        let mut side = Side::new(label, 1, user, cli);
        side.command
            .args(addon)
            .env("SCALINGO_DB_API_URL", sandbox.database_api_url())
            .env("SCALINGO_DB_TOKEN", sandbox.database_token());
        side
    };
    let database_token = with_database_token(DATABASE_TOKEN);

    // curl reads its `Authorization` header from a file at each run (a few hundred bytes), where
    // the CLI reads its token from its environment: neither has it in its arguments.
    let header = scratch.join("authorization-header");
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&header)?
        .write_all(format!("Authorization: Bearer {}\n", sandbox.database_token()).as_bytes())?;
    let mut header_argument = OsString::from("@");
    header_argument.push(&header);
    let mut curl = Side::new(CURL, 1, user, Path::new("curl"));
    curl.command
        .args(["-sS", "--fail", "-H"])
        .arg(header_argument)
        .args(["-H", "Accept: application/json"])
        .arg(format!(
            "{}/databases/{}/users",
            sandbox.database_api_url(),
            sandbox::DATABASE
        ));

    let mut api_token = Side::new(API_TOKEN, 3, user, cli);
    api_token
        .command
        .args(["--app", sandbox::APP])
        .args(addon)
        .env("SCALINGO_DB_API_URL", sandbox.database_api_url())
        .env("SCALINGO_AUTH_URL", sandbox.base_url())
        .env("SCALINGO_API_URL", sandbox.base_url())
        .env("SCALINGO_API_TOKEN", sandbox.api_token());

    // Its own sandbox, in the process: the sandbox process receives nothing.
    let mut embedded = Side::new(EMBEDDED, 0, user, cli);
    embedded
        .command
        .args(["--sandbox", "users", "list"])
        .env("SCALINGO_DB_SANDBOX_FILE", scratch.join("sandbox.json"));

    let mut sides = vec![database_token, curl, api_token, embedded];

    // The database-token run again, with one root certificate instead of the system's: what
    // loading them costs.
    match one_root_certificate(scratch)? {
        Some(certificate) => {
            let mut one = with_database_token(ONE_CERTIFICATE);
            one.command.env("SSL_CERT_FILE", certificate);
            sides.push(one);
        }
        None => println!("{ONE_CERTIFICATE}: skipped (no bundle of root certificates found)"),
    }

    // Process start-up and argument parsing alone.
    let mut help = Side::new(HELP, 0, "Usage:", cli);
    help.command.arg("--help");
    sides.push(help);
    Ok(sides)
}

/// The first certificate of the system's bundle, alone in a file of `scratch`; `None` when there
/// is no bundle.
fn one_root_certificate(scratch: &Path) -> Result<Option<PathBuf>, Box<dyn std::error::Error>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let Some(bundle) = CERTIFICATE_BUNDLES
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
    else {
        return Ok(None);
    };
    let Some(first) = bundle
        .find(BEGIN)
        .and_then(|start| Some(&bundle[start..start + bundle[start..].find(END)? + END.len()]))
    else {
        return Ok(None);
    };
    let path = scratch.join("one-root-certificate.pem");
    std::fs::write(&path, format!("{first}\n"))?;
    Ok(Some(path))
}

/// Checks each side's request count once, then runs the sides in turn, the first side of each
/// round rotating so that a slow spell of the machine weighs on all of them alike.
fn measure(
    runtime: &tokio::runtime::Runtime,
    sandbox: &SandboxProcess,
    sides: &mut [Side],
) -> Result<(), Box<dyn std::error::Error>> {
    for side in sides.iter_mut() {
        runtime.block_on(sandbox.reset_counters())?;
        side.run_once()?;
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
            let elapsed = side.run_once()?;
            if round >= WARM_UPS {
                side.times.push(elapsed);
            }
        }
    }
    Ok(())
}

/// The side labelled `label`, if it was measured.
fn side<'a>(sides: &'a [Side], label: &str) -> Option<&'a Side> {
    sides.iter().find(|side| side.label == label)
}

fn report(sides: &[Side]) {
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
    let (Some(ours), Some(curl)) = (side(sides, DATABASE_TOKEN), side(sides, CURL)) else {
        return;
    };
    let (curl_median, curl_p90, _) = curl.summary();
    let (median, p90, _) = ours.summary();
    println!(
        "users list, one shot: scalingo-db {median:.1} ms (p90 {p90:.1}), curl {curl_median:.1} ms \
         (p90 {curl_p90:.1}): {:.2}x (goal <= {GOAL}x)",
        median / curl_median
    );
    let against_curl = |label: &str| {
        side(sides, label).map_or_else(
            || "skipped".to_owned(),
            |side| format!("{:.2}x curl", side.summary().0 / curl_median),
        )
    };
    println!(
        "  for information: with an API token (3 requests) {}; --sandbox {}; with one root \
         certificate {}\n",
        against_curl(API_TOKEN),
        against_curl(EMBEDDED),
        against_curl(ONE_CERTIFICATE)
    );
}

/// One run of each side under callgrind: its instructions, and the share spent loading root
/// certificates.
fn instructions(sides: &[Side]) -> Result<(), Box<dyn std::error::Error>> {
    let Some(callgrind) = Callgrind::new("cli") else {
        println!("instructions of one run: skipped (no valgrind)\n");
        return Ok(());
    };
    println!(
        "instructions of one run (callgrind; in brackets, those spent in {LOAD_CERTIFICATES} \
         and its callees, by callgrind_annotate --inclusive=yes):"
    );
    let millions = |count: u64| count as f64 / 1e6;
    for side in sides {
        let (total, certificates) = side.instructions(&callgrind)?;
        let share = certificates.map_or_else(String::new, |certificates| {
            format!(
                "  ({:.1} million, {:.0}%)",
                millions(certificates),
                certificates as f64 * 100.0 / total as f64
            )
        });
        println!(
            "  {:<28} {:>6.1} million{share}",
            side.label,
            millions(total)
        );
    }
    println!();
    Ok(())
}
