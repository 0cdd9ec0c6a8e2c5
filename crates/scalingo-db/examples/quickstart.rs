//! The quickstart: every operation of the toolkit, one after the other, printing what happens.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no configuration it starts the sandbox (an in-memory Scalingo Database API) inside the
//! process, so no account is needed. With `SCALINGO_ADDON` (the database's addon id) and
//! `SCALINGO_DB_TOKEN` (a database token) in the environment, and optionally `SCALINGO_REGION`
//! (default `osc-fr1`), it runs the same steps against the real API: it creates and deletes a
//! user named `quickstart-<digits>` and asks for one manual backup.

#![allow(
    clippy::print_stdout,
    reason = "printing is what the quickstart is for"
)]

use std::time::Duration;

use rand::Rng as _;
use rand::distr::Alphanumeric;
use scalingo_db::{BackupStatus, Client, Error, NewUser, Region};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Sandbox, SandboxConfig};

/// How long to wait for the backup before giving up.
const BACKUP_DEADLINE: Duration = Duration::from_secs(15 * 60);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Held until the end: dropping it stops the in-process sandbox.
    let (client, _sandbox) = connect().await?;
    let users = client.users();
    let backups = client.backups();

    step("List the database's users");
    for user in users.list().await? {
        println!(
            "  {:<32} read-only: {:<5} protected: {}",
            user.name, user.read_only, user.protected
        );
    }

    let name = format!("quickstart-{}", rand::rng().random_range(1000..10000));
    step(&format!(
        "Create the user {name}, letting the API generate its password"
    ));
    let created = users.create(NewUser::new(&name)).await?;
    let generated = created.password.as_ref().map_or(0, |p| p.expose().len());
    println!(
        "  created {} (the API generated a {generated}-character password)",
        created.name
    );

    step("Refuse an invalid user before sending anything");
    match users
        .create(NewUser::new("Bad_Name").password("short"))
        .await
    {
        Err(Error::Validation(error)) => println!("  {error}"),
        other => println!("  unexpected: {other:?}"),
    }

    step(&format!("Set a password of our choosing for {name}"));
    let chosen: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    users.update_password(&name, chosen.as_str()).await?;
    println!("  password updated");

    step(&format!("Reset the password of {name}"));
    let reset = users.reset_password(&name).await?;
    let length = reset.password.as_ref().map_or(0, |p| p.expose().len());
    println!("  the API answered a new {length}-character password");

    step(&format!("Delete {name}"));
    users.delete(&name).await?;
    println!("  deleted");

    step("Create a backup and wait until it is done");
    let backup = backups.create().await?;
    println!("  {} is {}", backup.id, backup.status);
    let done = wait_until_done(&client, &backup.id).await?;
    println!("  {} is done: {} bytes", done.name, done.size.unwrap_or(0));

    step("Get the archive's download link and download it");
    let link = backups.archive_link(&done.id).await?;
    let mut archive = backups.open_archive(&link).await?;
    let mut size = 0u64;
    let mut first = Vec::new();
    while let Some(chunk) = archive.chunk().await? {
        if first.len() < 2 {
            first.extend_from_slice(&chunk[..chunk.len().min(2)]);
        }
        size += chunk.len() as u64;
    }
    let gzip = first.starts_with(&[0x1f, 0x8b]);
    println!(
        "  downloaded {size} bytes ({})",
        if gzip {
            "a gzip archive"
        } else {
            "NOT a gzip archive"
        }
    );

    step("Done");
    Ok(())
}

/// The real API when configured through the environment, the in-process sandbox otherwise.
async fn connect() -> Result<(Client, Option<Sandbox>), Box<dyn std::error::Error>> {
    let addon = std::env::var("SCALINGO_ADDON").ok();
    let token = std::env::var("SCALINGO_DB_TOKEN").ok();
    if let (Some(addon), Some(token)) = (addon, token) {
        let region: Region = std::env::var("SCALINGO_REGION")
            .unwrap_or_else(|_| "osc-fr1".to_owned())
            .parse()?;
        println!("Using the real Scalingo Database API of {region} for {addon}");
        return Ok((Client::new(region, addon, token)?, None));
    }
    // Short delays, so the backup visibly moves from scheduled to running to done.
    let config = SandboxConfig {
        backup_scheduled_for: Duration::from_millis(500),
        backup_running_for: Duration::from_millis(1500),
        archive_size: 8 * 1024 * 1024,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await?;
    println!(
        "Using the sandbox at {} (set SCALINGO_ADDON and SCALINGO_DB_TOKEN to use the real API)",
        sandbox.database_api_url()
    );
    let client = Client::builder()
        .base_url(sandbox.database_api_url())
        .database_id(DEFAULT_DATABASE)
        .token(sandbox.database_token(DEFAULT_DATABASE))
        .build()?;
    Ok((client, Some(sandbox)))
}

/// Polls the backup every second, printing each status change, until it is done.
async fn wait_until_done(
    client: &Client,
    id: &str,
) -> Result<scalingo_db::Backup, Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let mut last = BackupStatus::Scheduled;
    while started.elapsed() < BACKUP_DEADLINE {
        let backup = client.backups().get(id).await?;
        if backup.status != last {
            println!("  {} is {}", backup.id, backup.status);
            last = backup.status.clone();
        }
        match backup.status {
            BackupStatus::Done => return Ok(backup),
            BackupStatus::Error | BackupStatus::Cancelled => {
                return Err(format!("the backup ended {}", backup.status).into());
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    Err("the backup was not done after 15 minutes".into())
}

#[allow(
    clippy::print_stdout,
    reason = "printing is what the quickstart is for"
)]
fn step(title: &str) {
    println!("\n==> {title}");
}
