//! `scalingo-db-sandbox`: runs the sandbox as a standalone server, for trying the toolkit and for
//! clients in other languages. Prints its URLs and tokens, logs one line per request (method,
//! route template, status) on stderr, and stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use scalingo_db_sandbox::{
    Clock, DEFAULT_API_TOKEN, DatabaseSeed, PublicUrl, Sandbox, SandboxConfig, SandboxState,
};

/// An in-memory Scalingo Database API (users, backups, schedule, point-in-time recovery) that
/// follows openapi.yaml.
// No `Debug`: it would print the API tokens.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,

    /// A database to serve, as `id:app:type` (type: postgresql, mysql, mongodb, influxdb, redis,
    /// opensearch, elasticsearch). Repeat for several. Default: one PostgreSQL and one Redis
    /// database of the app `sandbox-app`.
    #[arg(long = "database", value_name = "ID:APP:TYPE")]
    databases: Vec<DatabaseSeed>,

    /// API tokens the token exchange accepts, comma-separated (from the environment, so they do
    /// not show in the process list). Default: the sandbox's well-known token.
    #[arg(
        long,
        env = "SCALINGO_SANDBOX_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_tokens: Vec<String>,

    /// How long a new backup stays `scheduled`, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    backup_scheduled_ms: u64,

    /// How long a backup then stays `running`, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    backup_running_ms: u64,

    /// How long a new operation (a point-in-time restore) stays `pending`, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    operation_pending_ms: u64,

    /// How long an operation then stays `running`, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    operation_running_ms: u64,

    /// The size of backup archives, in bytes; accepts the suffixes K, M and G (powers of 1024).
    #[arg(long, default_value = "8M", value_parser = parse_size)]
    archive_size: u64,

    /// Lifetime of user tokens, in seconds (1 to 315360000, ten years).
    #[arg(long, default_value_t = 3600, value_parser = lifetime())]
    user_token_lifetime: u64,

    /// Lifetime of database tokens, in seconds (1 to 315360000, ten years).
    #[arg(long, default_value_t = 3600, value_parser = lifetime())]
    database_token_lifetime: u64,

    /// Lifetime of archive links, in seconds (1 to 315360000, ten years).
    #[arg(long, default_value_t = 600, value_parser = lifetime())]
    archive_link_lifetime: u64,

    /// Start the sandbox's clock at this time (RFC 3339) and keep it still, but for
    /// `POST /_sandbox/clock` (with --enable-control): for tests whose times must not move, or
    /// must fall in a given recovery window. Default: the system's clock.
    #[arg(long, value_name = "TIME")]
    frozen_at: Option<chrono::DateTime<chrono::Utc>>,

    /// Serve the control routes under /_sandbox/ (faults, counters, tokens, clock).
    #[arg(long)]
    enable_control: bool,

    /// The base URL of the links the sandbox answers (archive downloads), when clients reach it
    /// through a proxy: http(s)://host[:port][/prefix]. Default: http://<the --listen address>.
    /// Links are never built from a request's Host header.
    #[arg(long, value_name = "URL")]
    public_url: Option<PublicUrl>,

    /// Keep databases, users and backups in this file: read at start if it exists, written
    /// (atomically) when the sandbox stops.
    #[arg(long, value_name = "PATH")]
    state_file: Option<std::path::PathBuf>,

    /// Emulate object storage's throughput on archive downloads: each download request (so each
    /// connection) is sent at no more than this many bytes per second, and several at once each
    /// get it; accepts the suffixes K, M and G (powers of 1024), e.g. 25M. Default: no cap.
    #[arg(long, value_name = "BYTES_PER_SECOND", value_parser = parse_rate)]
    link_rate: Option<NonZeroU64>,

    /// Emulate the distance to object storage on archive downloads: this many milliseconds each
    /// way (20 or 20ms; at most 60000), so an answer's first byte comes twice this after its
    /// request was sent. Default: 0.
    #[arg(long, value_name = "MS", value_parser = parse_latency)]
    link_latency: Option<Duration>,
}

/// The longest token or link lifetime the flags accept, in seconds: ten years, far beyond any
/// test, while `now + lifetime` stays a time every client can read from an `exp` claim.
const MAX_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// A lifetime flag's parser: a whole number of seconds, from 1 to [`MAX_LIFETIME_SECS`]; clap's
/// refusal names the flag and the range.
fn lifetime() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(1..=MAX_LIFETIME_SECS)
}

/// The longest `--link-latency`, in milliseconds: a minute each way, beyond any network, and
/// already past every client's time limit; a larger value is a mistake worth refusing.
const MAX_LATENCY_MS: u64 = 60_000;

/// `--link-rate`: a size per second, as `--archive-size` reads it, but never 0 (which would
/// never send a byte).
fn parse_rate(text: &str) -> Result<NonZeroU64, String> {
    NonZeroU64::new(parse_size(text)?).ok_or_else(|| {
        "a rate of 0 would send nothing; leave the flag out for no cap (e.g. 25M)".to_owned()
    })
}

/// `--link-latency`: whole milliseconds, `20` or `20ms`, up to [`MAX_LATENCY_MS`].
fn parse_latency(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let digits = trimmed.strip_suffix("ms").unwrap_or(trimmed).trim_end();
    digits
        .parse::<u64>()
        .ok()
        .filter(|millis| *millis <= MAX_LATENCY_MS)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            format!("`{text}` is not 0 to {MAX_LATENCY_MS} milliseconds (e.g. 20 or 20ms)")
        })
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 1048576, 512K, 8M, 4G)"))?;
    let multiplier: u64 = match unit
        .trim_end_matches(['i', 'B'])
        .to_ascii_uppercase()
        .as_str()
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use K, M or G)")),
    };
    value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes would garble the log that scripts keep (scripts/sandbox-lib.sh).
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let matches = Args::command().get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    // Where the operator's API tokens came from, for the banner (which never shows them).
    let tokens_from = match matches.value_source("api_tokens") {
        Some(ValueSource::EnvVariable) => "SCALINGO_SANDBOX_API_TOKENS",
        _ => "--api-tokens",
    };

    let mut config = SandboxConfig {
        backup_scheduled_for: Duration::from_millis(args.backup_scheduled_ms),
        backup_running_for: Duration::from_millis(args.backup_running_ms),
        operation_pending_for: Duration::from_millis(args.operation_pending_ms),
        operation_running_for: Duration::from_millis(args.operation_running_ms),
        archive_size: args.archive_size,
        user_token_lifetime: Duration::from_secs(args.user_token_lifetime),
        database_token_lifetime: Duration::from_secs(args.database_token_lifetime),
        archive_link_lifetime: Duration::from_secs(args.archive_link_lifetime),
        control_routes: args.enable_control,
        public_url: args.public_url,
        link_rate: args.link_rate,
        link_latency: args.link_latency.unwrap_or_default(),
        ..SandboxConfig::default()
    };
    if let Some(start) = args.frozen_at {
        config.clock = Clock::manual(start);
    }
    if !args.databases.is_empty() {
        config.databases = args.databases;
    }
    if !args.api_tokens.is_empty() {
        config.api_tokens = args.api_tokens;
    }
    if let Some(path) = &args.state_file {
        match SandboxState::load(path) {
            Ok(state) => config.state = state,
            Err(err) => {
                eprintln!("error: cannot read the state file: {err}");
                return ExitCode::FAILURE;
            }
        }
    }

    let sandbox = match Sandbox::bind(config, args.listen).await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    // Listening starts before the banner: a script may signal as soon as it has read it.
    let stop = stop_signal();
    print_banner(&sandbox, tokens_from);
    match stop {
        Ok(signal) => {
            signal.await;
            eprintln!("stopping");
        }
        Err(err) => eprintln!("error: cannot listen for stop signals ({err}); stopping"),
    }
    let state = sandbox.state();
    sandbox.shutdown().await;
    if let Some(path) = &args.state_file
        && let Err(err) = state.save(path)
    {
        eprintln!(
            "error: cannot write the state file {}: {err}",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Starts listening for Ctrl-C (SIGINT) and SIGTERM, which `kill`, `docker stop` and scripts
/// send; the future ends at the first of them. Both stop the sandbox cleanly, writing the state
/// file.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered now, not when first polled, so that no signal finds the default action (which
    // ends the process without writing the state file).
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Waits for Ctrl-C (there is no SIGTERM).
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Prints the URLs and the tokens to try them with. Of the API tokens it shows only the
/// well-known default one: those the operator gave are secrets, counted and never shown (this
/// output ends up in logs).
#[allow(clippy::print_stdout, reason = "the banner is the binary's output")]
fn print_banner(sandbox: &Sandbox, tokens_from: &str) {
    let config = sandbox.config();
    println!(
        "Scalingo DB API sandbox listening on {}",
        sandbox.base_url()
    );
    println!("  Database API:   {}", sandbox.database_api_url());
    if config.public_url.is_some() {
        println!("  links on:       {}", sandbox.public_url());
    }
    if config.link_rate.is_some() || !config.link_latency.is_zero() {
        let rate = config.link_rate.map_or_else(
            || "no cap".to_owned(),
            |rate| format!("{rate} bytes/s per download"),
        );
        println!(
            "  emulated link:  {rate}, {} ms each way (archive downloads)",
            config.link_latency.as_millis()
        );
    }
    println!(
        "  token exchange: {}/v1/tokens/exchange",
        sandbox.base_url()
    );
    println!(
        "  addon tokens:   {}/v1/apps/{{app}}/addons/{{addon_id}}/token",
        sandbox.base_url()
    );
    // Scripts and the bench read this line: keep its format.
    if config
        .api_tokens
        .iter()
        .any(|token| token == DEFAULT_API_TOKEN)
    {
        println!("  API token:      {DEFAULT_API_TOKEN}");
    }
    let given = config
        .api_tokens
        .iter()
        .filter(|token| *token != DEFAULT_API_TOKEN)
        .count();
    if given > 0 {
        println!("  API tokens:     {given} from {tokens_from} (not shown)");
    }
    for database in &config.databases {
        println!(
            "  database {} ({}, app {}):\n    token (valid {} s): {}",
            database.id,
            database.kind.name(),
            database.app,
            config.database_token_lifetime.as_secs(),
            sandbox.database_token(&database.id)
        );
    }
    if config.control_routes {
        println!("  control routes: {}/_sandbox/", sandbox.base_url());
    }
    println!("Press Ctrl-C to stop.");
}
