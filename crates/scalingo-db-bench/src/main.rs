//! `cargo xtask bench`: measures the facade against the sandbox binary and prints each figure
//! with its goal. A benchmark, never a test: numbers depend on the machine.
//!
//! - download throughput of a 1 GiB archive through `Backups::download`, against `curl` on the
//!   same link (goal: at least 0.9x);
//! - peak resident memory of that download, for 1 GiB and 4 GiB (goal: at most 32 MiB, flat);
//! - a download of hundreds of MiB cut several times and resumed, whose sha256 must equal an
//!   uninterrupted download's (the benchmark fails otherwise), with its time and memory;
//! - a download of a 4 GiB archive over an emulated object-storage link (25 MiB/s per
//!   connection, 20 ms each way), against `curl` of the same link (goals: at least 4x, at most
//!   64 MiB of memory; the two files' sha256 must be equal); `--link-size`, `--link-rate` and
//!   `--link-latency` change the archive and the link, for quick runs;
//! - HTTP requests per Database API call with API-token authentication (goal: at most 1.02);
//! - throughput of rounds of [`CALLS`] `users().list()` calls, [`IN_FLIGHT`] in flight, against
//!   plain reqwest doing the same requests (goal: at least 0.95x), and the client's instructions
//!   per call under callgrind;
//! - the one-shot wall time of `scalingo-db users list` (the CLI), against `curl` of the same
//!   endpoint (goal: at most 1.5x), and the instructions of one run under callgrind.
//!
//! The sections are `download` (the first four figures), `link` (the fourth alone), `auth`,
//! `calls` and `cli`: all by default, or those named on the command line.
//!
//! The sandbox runs as its own process (the release binary), so the figures do not mix its work
//! with the client's. Downloads run in a child process of this binary, so their peak memory is
//! theirs alone. No credential is ever a process argument: children get tokens through their
//! environment, `curl` through its configuration on stdin or a header file.

#![allow(
    clippy::print_stdout,
    reason = "printing the figures is what a benchmark is for"
)]

mod args;
mod callgrind;
mod cli;
mod link;
mod resume;
mod sandbox;
mod sha256;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use scalingo_db::{Client, Database};

use callgrind::Callgrind;
use sandbox::SandboxProcess;

const GIB: u64 = 1024 * 1024 * 1024;
const CALLS: usize = 40_000;
const ROUNDS: usize = 9;
const DOWNLOAD_ROUNDS: usize = 3;
const IN_FLIGHT: usize = 64;
const AUTH_CALLS: usize = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let [_, mode, base, database, backup, path] = args.as_slice()
        && mode == "download-child"
    {
        // The child: one download, then its own peak resident memory and how many times the
        // transfer was resumed. Its token comes through the environment, never as an argument.
        let token = std::env::var("SCALINGO_DB_TOKEN")
            .map_err(|_| "the download child needs SCALINGO_DB_TOKEN")?;
        let db = Client::builder()
            .database_api_url(base.as_str())
            .database_token(database.as_str(), token)
            .build()?
            .database(database.as_str());
        // The resumed case measures one stream's resumes; every other case the default.
        let connections = std::env::var(CONNECTIONS_VARIABLE)
            .ok()
            .and_then(|connections| connections.parse().ok())
            .unwrap_or(0);
        let started = Instant::now();
        let done = runtime.block_on(
            db.backups()
                .download(backup, path)
                .connections(connections)
                .send(),
        )?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{} {seconds} {} {}",
            done.bytes,
            peak_rss_kib()?,
            done.resumes
        );
        return Ok(());
    }
    if let [_, mode, side, calls] = args.as_slice()
        && mode == "profile-calls"
    {
        // For profilers (callgrind): one side's calls alone, sequentially.
        let single = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return single.block_on(async {
            let sandbox = SandboxProcess::start(&sandbox_binary(), 1024 * 1024)?;
            let calls: usize = calls.parse()?;
            if side == "facade" {
                facade_calls(&sandbox.client()?, calls).await?;
            } else {
                let base = sandbox.database_api_url();
                reqwest_calls(&plain_client()?, &base, &sandbox.database_token(), calls).await?;
            }
            Ok(())
        });
    }
    if let [_, mode, core] = args.as_slice()
        && mode == "calls-child"
    {
        return calls(Some(core.parse()?));
    }
    // Which figures to measure: all by default, or the sections named; any other name is a
    // mistake, not a request for nothing.
    let args = match args::parse(args.get(1..).unwrap_or_default()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let wanted = |section: &str| args.wants(section);
    if wanted("download") || wanted("link") || wanted("auth") {
        let link = (wanted("download") || wanted("link")).then_some(&args.link);
        runtime.block_on(run(wanted("download"), link, wanted("auth")))?;
    }
    if wanted("cli") {
        let sandbox = SandboxProcess::start(&sandbox_binary(), 1024 * 1024)?;
        cli::one_shot(&runtime, &sandbox)?;
    }
    if wanted("calls") {
        instructions_per_call()?;
        match sandbox::pinned_core() {
            // On a small machine the server and the client fight for the same cores and the
            // figure swings from run to run: the sandbox gets the last core alone, and the client
            // (this binary again, in a child process) the others.
            Some(core) => {
                let status = Command::new("taskset")
                    .arg("-c")
                    .arg(format!("0-{}", core - 1))
                    .arg(std::env::current_exe()?)
                    .arg("calls-child")
                    .arg(core.to_string())
                    .status()?;
                if !status.success() {
                    return Err("the throughput child failed".into());
                }
            }
            None => calls(None)?,
        }
    }
    Ok(())
}

/// The client's instructions per call, facade against plain reqwest, counted by callgrind: a
/// figure that does not move with the machine's load, unlike the throughput below. Each side
/// runs twice (500 and 3,500 calls) and the difference cancels the start-up work. Skipped when
/// valgrind is missing.
fn instructions_per_call() -> Result<(), Box<dyn std::error::Error>> {
    const FEW: usize = 500;
    const MANY: usize = 3_500;
    let Some(callgrind) = Callgrind::new("calls") else {
        println!("client instructions per call: skipped (no valgrind)\n");
        return Ok(());
    };
    let count = |side: &str, calls: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let mut command = callgrind.command();
        command
            .arg(std::env::current_exe()?)
            .args(["profile-calls", side, &calls.to_string()])
            .env("SANDBOX_BIN", sandbox_binary());
        Ok(callgrind.count(&mut command)? as f64)
    };
    let per_call = |side: &str| -> Result<f64, Box<dyn std::error::Error>> {
        Ok((count(side, MANY)? - count(side, FEW)?) / (MANY - FEW) as f64)
    };
    let ours = per_call("facade")?;
    let plain = per_call("plain")?;
    println!("client instructions per `users().list()` call (callgrind, {MANY} - {FEW} calls):");
    println!("  scalingo-db   {ours:>9.0}");
    println!("  plain reqwest {plain:>9.0}");
    println!(
        "  ratio         {:>9.3}x  (plain / scalingo-db: the throughput a client-bound caller keeps)\n",
        plain / ours
    );
    Ok(())
}

/// The throughput comparison, on one client thread, with the sandbox on `sandbox_core` if given.
fn calls(sandbox_core: Option<usize>) -> Result<(), Box<dyn std::error::Error>> {
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    single.block_on(async {
        let sandbox = SandboxProcess::start_on(&sandbox_binary(), 1024 * 1024, sandbox_core)?;
        throughput(&sandbox).await
    })
}

fn sandbox_binary() -> PathBuf {
    release_binary("SANDBOX_BIN", "scalingo-db-sandbox")
}

/// The binary the xtask names in `variable`, else `<name>` next to this binary (cargo builds
/// them into the same directory, wherever its target directory is).
fn release_binary(variable: &str, name: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.join(name))
        })
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The loopback download figures when `downloads`, the emulated link's case on `link` when given,
/// and the requests per call when `auth`, with files in a scratch directory that is removed
/// afterwards, even when a figure failed: its archives are GiB.
async fn run(
    downloads: bool,
    link: Option<&link::LinkSettings>,
    auth: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let scratch = std::env::temp_dir().join(format!("scalingo-db-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let measured = run_in(&scratch, downloads, link, auth).await;
    std::fs::remove_dir_all(&scratch).ok();
    measured
}

/// [`run`], with files in `scratch`.
async fn run_in(
    scratch: &std::path::Path,
    downloads: bool,
    link: Option<&link::LinkSettings>,
    auth: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let sandbox_bin = sandbox_binary();
    println!(
        "scalingo-db benchmarks ({} cores)\n",
        std::thread::available_parallelism()?
    );

    let mut memory = Vec::new();
    let sizes: &[u64] = if downloads { &[GIB, 4 * GIB] } else { &[] };
    for &size in sizes {
        let sandbox = SandboxProcess::start(&sandbox_bin, size)?;
        let client = sandbox.client()?;
        let (backup, _) = sandbox.latest_archive().await?;
        let path = scratch.join("archive.tar.gz");

        let first = download_in_child(&sandbox, &backup, &path)?;
        let (bytes, mut ours) = (first.bytes, first.seconds);
        std::fs::remove_file(&path).ok();
        memory.push((size, first.peak_rss_kib));
        if size == GIB {
            // Alternating rounds, best of each: the disk's write-back of the previous round
            // weighs on whoever comes next.
            let (mut curl, mut curl_synced) = (f64::INFINITY, f64::INFINITY);
            for round in 0..DOWNLOAD_ROUNDS {
                let link = client.backups().archive_url(&backup).await?;
                let target = scratch.join("curl.tar.gz");
                let (seconds, synced) = curl_download(link.expose(), &target)?;
                curl = curl.min(seconds);
                curl_synced = curl_synced.min(synced);
                if round + 1 < DOWNLOAD_ROUNDS {
                    let again = download_in_child(&sandbox, &backup, &path)?;
                    std::fs::remove_file(&path).ok();
                    ours = ours.min(again.seconds);
                }
            }
            let rate = |seconds: f64| bytes as f64 / (1024.0 * 1024.0) / seconds;
            println!(
                "download of a 1 GiB archive to a file (best of {DOWNLOAD_ROUNDS} alternating rounds):"
            );
            println!(
                "  scalingo-db     {:>7.1} MiB/s  ({ours:.2} s, synced to disk)",
                rate(ours)
            );
            println!(
                "  curl then sync  {:>7.1} MiB/s  ({curl_synced:.2} s)",
                rate(curl_synced)
            );
            println!(
                "  curl alone      {:>7.1} MiB/s  ({curl:.2} s, not yet on disk)",
                rate(curl)
            );
            println!(
                "  ratio           {:>7.2}x against curl then sync (goal: >= 0.90x)",
                curl_synced / ours
            );
            println!(
                "                  {:>7.2}x against curl alone\n",
                curl / ours
            );
        }
        std::fs::remove_file(&path).ok();
    }
    if downloads {
        println!("peak resident memory of a download (the whole child process):");
        for (size, rss_kib) in &memory {
            let mib = *rss_kib as f64 / 1024.0;
            println!("  {} GiB archive  {mib:>6.1} MiB", size / GIB);
        }
        println!("  goal: <= 32 MiB, flat\n");
        resume::resumed_download(&sandbox_bin, scratch).await?;
    }
    if let Some(link) = link {
        link::emulated_link_download(&sandbox_bin, scratch, link).await?;
    }
    if auth {
        let sandbox = SandboxProcess::start(&sandbox_bin, 1024 * 1024)?;
        requests_per_call(&sandbox).await?;
    }
    Ok(())
}

/// What a download in a child process reports.
struct ChildDownload {
    /// The archive's size.
    bytes: u64,
    /// The download's wall time, from the first call to the renamed file.
    seconds: f64,
    /// The child's peak resident memory (VmHWM).
    peak_rss_kib: u64,
    /// How many times the transfer was resumed.
    resumes: u32,
}

/// Runs one download in a child process.
fn download_in_child(
    sandbox: &SandboxProcess,
    backup: &str,
    path: &std::path::Path,
) -> Result<ChildDownload, Box<dyn std::error::Error>> {
    download_in_child_over(sandbox, backup, path, 0)
}

/// The variable that gives the download child its connections (0: the library's choice).
const CONNECTIONS_VARIABLE: &str = "SCALINGO_DB_BENCH_CONNECTIONS";

/// [`download_in_child`] over `connections` (0: the library's choice, 1: one stream).
fn download_in_child_over(
    sandbox: &SandboxProcess,
    backup: &str,
    path: &std::path::Path,
    connections: usize,
) -> Result<ChildDownload, Box<dyn std::error::Error>> {
    let output = Command::new(std::env::current_exe()?)
        .args([
            "download-child",
            &sandbox.database_api_url(),
            sandbox::DATABASE,
        ])
        .arg(backup)
        .arg(path)
        .env("SCALINGO_DB_TOKEN", sandbox.database_token())
        .env(CONNECTIONS_VARIABLE, connections.to_string())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "the download child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8(output.stdout)?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.as_slice() {
        [bytes, seconds, rss, resumes] => Ok(ChildDownload {
            bytes: bytes.parse()?,
            seconds: seconds.parse()?,
            peak_rss_kib: rss.parse()?,
            resumes: resumes.parse()?,
        }),
        _ => Err(format!("unexpected child output: {text}").into()),
    }
}

/// `curl -o path link`, then `sync path` (the facade syncs the archive before it renames it):
/// the seconds curl took, and the seconds until the file was on disk. The file is removed.
fn curl_download(
    link: &str,
    path: &std::path::Path,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let timed = curl_download_kept(link, path);
    std::fs::remove_file(path).ok();
    timed
}

/// [`curl_download`], keeping the file (to be compared). The link carries its token in its query
/// string, so curl reads it from its configuration on stdin (`-K -`), not from its arguments.
fn curl_download_kept(
    link: &str,
    path: &std::path::Path,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let config = format!("url = {}\n", curl_quoted(link));
    let started = Instant::now();
    let mut curl = Command::new("curl")
        .args(["-sS", "--fail", "-K", "-", "-o"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()?;
    // Written whole, then closed (dropped) so that curl sees the end of its configuration.
    curl.stdin
        .take()
        .ok_or("no stdin for curl")?
        .write_all(config.as_bytes())?;
    let status = curl.wait()?;
    let downloaded = started.elapsed().as_secs_f64();
    let synced = Command::new("sync").arg(path).status()?;
    let durable = started.elapsed().as_secs_f64();
    if !status.success() || !synced.success() {
        return Err("curl or sync failed".into());
    }
    Ok((downloaded, durable))
}

/// `value` as a double-quoted string of curl's configuration syntax.
fn curl_quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// HTTP requests per Database API call with API-token authentication, from the sandbox's counters.
async fn requests_per_call(sandbox: &SandboxProcess) -> Result<(), Box<dyn std::error::Error>> {
    let client = sandbox.api_token_client()?;
    sandbox.reset_counters().await?;
    let started = Instant::now();
    for index in 0..AUTH_CALLS {
        if index % 2 == 0 {
            client.users().list().await?;
        } else {
            client.backups().list().await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests = sandbox.total_requests().await?;
    println!(
        "HTTP requests per Database API call, with an API token ({AUTH_CALLS} calls, one at a \
         time, users list and backups list in turn):"
    );
    println!(
        "  {requests} requests: {:.3} per call  (goal: <= 1.02), {seconds:.2} s in all",
        requests as f64 / AUTH_CALLS as f64
    );
    println!(
        "  the same calls with Scalingo's Go client: scripts/go-scalingo/run.sh (it needs the \
         module's source, which the module proxy here refuses)\n"
    );
    Ok(())
}

/// Rounds of [`CALLS`] list-users calls, [`IN_FLIGHT`] in flight: the facade against plain
/// reqwest.
async fn throughput(sandbox: &SandboxProcess) -> Result<(), Box<dyn std::error::Error>> {
    let client = sandbox.client()?;
    // The same request as the facade's: same headers (User-Agent included), same time limit,
    // same decoding.
    let http = plain_client()?;
    let url = sandbox.database_api_url();
    let token = sandbox.database_token();

    // Warm both connection pools and the sandbox.
    facade_calls(&client, 1_000).await?;
    reqwest_calls(&http, &url, &token, 1_000).await?;

    // Rounds alternate the two clients, and the figure is the median of the rounds' ratios, so
    // that load from elsewhere on the machine weighs on both sides alike.
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        // Who goes first alternates too, so that a slow spell hits both sides alike.
        let (ours, plain) = if round % 2 == 0 {
            let ours = facade_calls(&client, CALLS).await?;
            (ours, reqwest_calls(&http, &url, &token, CALLS).await?)
        } else {
            let plain = reqwest_calls(&http, &url, &token, CALLS).await?;
            (facade_calls(&client, CALLS).await?, plain)
        };
        rounds.push((ours, plain));
    }
    let rate = |elapsed: Duration| CALLS as f64 / elapsed.as_secs_f64();
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        for (ours, plain) in &rounds {
            println!(
                "  round: ours {:.0}/s plain {:.0}/s",
                rate(*ours),
                rate(*plain)
            );
        }
    }
    let mut ratios: Vec<f64> = rounds
        .iter()
        .map(|(ours, plain)| rate(*ours) / rate(*plain))
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let mut ours: Vec<f64> = rounds.iter().map(|(ours, _)| rate(*ours)).collect();
    let mut plain: Vec<f64> = rounds.iter().map(|(_, plain)| rate(*plain)).collect();
    ours.sort_by(f64::total_cmp);
    plain.sort_by(f64::total_cmp);
    println!(
        "{CALLS} `users().list()` calls, {IN_FLIGHT} in flight ({ROUNDS} alternating rounds, medians):"
    );
    println!("  scalingo-db   {:>9.0} calls/s", ours[ours.len() / 2]);
    println!("  plain reqwest {:>9.0} calls/s", plain[plain.len() / 2]);
    println!(
        "  ratio         {median:>9.2}x  (goal: >= 0.95x; rounds: {})",
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

async fn facade_calls(
    client: &Database,
    calls: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut results = futures_util::stream::iter(0..calls)
        .map(|_| async move { client.users().list().await })
        .buffer_unordered(IN_FLIGHT);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(started.elapsed())
}

/// `calls` list-users requests with plain reqwest: the URL built from the database id on each
/// call, as any client must, then the same request and decoding as the facade's.
async fn reqwest_calls(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    calls: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut results = futures_util::stream::iter(0..calls)
        .map(|_| async move {
            let url = format!("{base}/databases/{}/users", sandbox::DATABASE);
            let response = http
                .get(url)
                .bearer_auth(token)
                .header("accept", "application/json")
                .send()
                .await?
                .error_for_status()?;
            // Decode into the same type as the facade, so both sides do the same work.
            response
                .json::<scalingo_db_generated::types::DatabaseUserList>()
                .await
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(started.elapsed())
}

/// A reqwest client making the facade's request: its User-Agent and `Accept` header, and its
/// time limit (a timer per request, which any production client carries).
fn plain_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(scalingo_db::default_user_agent())
        .timeout(scalingo_db::DEFAULT_REQUEST_TIMEOUT)
        .build()
}

/// This process's peak resident memory (VmHWM), in KiB.
fn peak_rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .ok_or("no VmHWM in /proc/self/status")?
        .parse()
        .map_err(Into::into)
}
