//! `scalingo-db-sandbox`: runs the sandbox as a standalone server, for trying the toolkit and for
//! clients in other languages. Prints its URLs and tokens, and stops cleanly on Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use scalingo_db_sandbox::{DatabaseSeed, Sandbox, SandboxConfig, SandboxState};

/// An in-memory Scalingo Database API (users and backups) that follows openapi.yaml.
#[derive(Debug, Parser)]
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

    /// The size of backup archives, in bytes; accepts the suffixes K, M and G (powers of 1024).
    #[arg(long, default_value = "8M", value_parser = parse_size)]
    archive_size: u64,

    /// Lifetime of user tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    user_token_lifetime: u64,

    /// Lifetime of database tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    database_token_lifetime: u64,

    /// Lifetime of archive links, in seconds.
    #[arg(long, default_value_t = 600)]
    archive_link_lifetime: u64,

    /// Serve the fault-injection and counter routes under /_sandbox/.
    #[arg(long)]
    enable_control: bool,

    /// Keep databases, users and backups in this file: read at start if it exists, written
    /// (atomically) when the sandbox stops.
    #[arg(long, value_name = "PATH")]
    state_file: Option<std::path::PathBuf>,
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
        .init();
    let args = Args::parse();

    let mut config = SandboxConfig {
        backup_scheduled_for: Duration::from_millis(args.backup_scheduled_ms),
        backup_running_for: Duration::from_millis(args.backup_running_ms),
        archive_size: args.archive_size,
        user_token_lifetime: Duration::from_secs(args.user_token_lifetime),
        database_token_lifetime: Duration::from_secs(args.database_token_lifetime),
        archive_link_lifetime: Duration::from_secs(args.archive_link_lifetime),
        control_routes: args.enable_control,
        ..SandboxConfig::default()
    };
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

    let sandbox = match Sandbox::bind(config.clone(), args.listen).await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    print_banner(&sandbox, &config);

    match tokio::signal::ctrl_c().await {
        Ok(()) => eprintln!("stopping"),
        Err(err) => eprintln!("error: cannot wait for Ctrl-C ({err}); stopping"),
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

#[allow(clippy::print_stdout, reason = "the banner is the binary's output")]
fn print_banner(sandbox: &Sandbox, config: &SandboxConfig) {
    println!(
        "Scalingo DB API sandbox listening on {}",
        sandbox.base_url()
    );
    println!("  Database API:   {}", sandbox.database_api_url());
    println!(
        "  token exchange: {}/v1/tokens/exchange",
        sandbox.base_url()
    );
    println!(
        "  addon tokens:   {}/v1/apps/{{app}}/addons/{{addon_id}}/token",
        sandbox.base_url()
    );
    for token in &config.api_tokens {
        println!("  API token:      {token}");
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
