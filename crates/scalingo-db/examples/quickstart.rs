//! The quickstart: every operation of the toolkit, one after the other, printing what happens.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no configuration it starts the sandbox (an in-memory Scalingo Database API) inside the
//! process, so no account is needed, and authenticates with the sandbox's API token. With
//! `SCALINGO_ADDON` (the database's addon id) and either `SCALINGO_API_TOKEN` and `SCALINGO_APP`
//! or `SCALINGO_DB_TOKEN` (a database token) in the environment, and optionally
//! `SCALINGO_REGION` (default `osc-fr1`), it runs the same steps against the real API: it creates
//! and deletes a user named `quickstart-<digits>`, asks for one manual backup and downloads it to
//! the system's temporary directory (then removes the file), and reads the backup schedule and
//! the recovery window. It restores only the sandbox: a restore loses what was written since.

#![allow(
    clippy::print_stdout,
    reason = "printing is what the quickstart is for"
)]

use std::time::Duration;

use rand::Rng as _;
use rand::distr::Alphanumeric;
use scalingo_db::{Client, Database, Error, NewUser, Region, WaitOptions};
use scalingo_db_sandbox::{
    DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE, Sandbox, SandboxConfig,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Held until the end: dropping it stops the in-process sandbox.
    let (db, sandbox) = connect().await?;
    let users = db.users();
    let backups = db.backups();

    step("Show the database");
    let database = db.show().await?;
    let or_unknown = |value: Option<String>| value.unwrap_or_else(|| "?".to_owned());
    println!(
        "  {} {}, {}, plan {}",
        or_unknown(database.type_name.as_ref().map(ToString::to_string)),
        or_unknown(database.readable_version.clone()),
        or_unknown(database.status.as_ref().map(ToString::to_string)),
        or_unknown(database.plan.clone()),
    );
    let schedule = backups.schedule().await?;
    println!(
        "  daily backups: {}, at {:?} (hours, UTC)",
        if schedule.enabled { "on" } else { "off" },
        schedule.hours_utc
    );

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
        .create(NewUser::new("bad_name-mixed").password("short"))
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
    let options = WaitOptions {
        initial_interval: Duration::from_millis(250),
        ..WaitOptions::default()
    };
    let done = backups
        .wait(&backup.id)
        .options(options)
        .on_change(|backup| println!("  {} is {}", backup.id, backup.status))
        .await?;
    println!("  {}: {} bytes", done.name, done.size.unwrap_or(0));

    step("Download the archive (through its pre-signed link, resumable, checked)");
    let path = std::env::temp_dir().join(format!("{}.tar.gz", done.name));
    let mut shown = 0;
    let downloaded = backups
        .download(&done.id, &path)
        .on_progress(|progress| {
            // One line per quarter.
            let quarter = progress
                .total
                .map_or(0, |total| progress.bytes * 4 / total.max(1));
            if quarter > shown {
                shown = quarter;
                println!(
                    "  {} / {} bytes",
                    progress.bytes,
                    progress.total.unwrap_or(0)
                );
            }
        })
        .await?;
    println!(
        "  {} bytes in {}",
        downloaded.bytes,
        downloaded.path.display()
    );
    std::fs::remove_file(&downloaded.path)?;

    step("Read the point-in-time recovery window (PostgreSQL)");
    match db.pitr().window().await {
        Ok(window) => println!(
            "  from {} to {}",
            rfc3339(window.earliest_recoverable_at),
            rfc3339(window.latest_recoverable_at)
        ),
        Err(Error::Refused { message, .. }) => println!("  not for this database: {message:?}"),
        Err(error) => return Err(error.into()),
    }

    if sandbox.is_some() {
        step("Restore the sandbox's database to a minute ago and follow the operation");
        let at = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
        let operation = db.pitr().restore(at).await?;
        let finished = db
            .operations()
            .wait(&operation.id)
            .options(options)
            .on_change(|operation| println!("  {} is {}", operation.id, operation.status))
            .await?;
        println!("  restored to {} ({})", rfc3339(Some(at)), finished.status);
    }

    step("Done");
    Ok(())
}

/// The real API when configured through the environment, the in-process sandbox otherwise.
async fn connect() -> Result<(Database, Option<Sandbox>), Box<dyn std::error::Error>> {
    let env = |name| {
        std::env::var(name)
            .ok()
            .filter(|value: &String| !value.is_empty())
    };
    if let Some(addon) = env("SCALINGO_ADDON") {
        let region: Region = env("SCALINGO_REGION")
            .unwrap_or_else(|| "osc-fr1".to_owned())
            .parse()?;
        println!("Using the real Scalingo Database API of {region} for {addon}");
        let db = match (
            env("SCALINGO_API_TOKEN"),
            env("SCALINGO_APP"),
            env("SCALINGO_DB_TOKEN"),
        ) {
            (Some(api_token), Some(app), _) => {
                Database::from_api_token(region, app, addon, api_token)?
            }
            (_, _, Some(token)) => Database::new(region, addon, token)?,
            _ => {
                return Err("set SCALINGO_API_TOKEN and SCALINGO_APP, or SCALINGO_DB_TOKEN".into());
            }
        };
        return Ok((db, None));
    }
    // Short delays, so the backup visibly moves from scheduled to running to done.
    let config = SandboxConfig {
        backup_scheduled_for: Duration::from_millis(500),
        backup_running_for: Duration::from_millis(1500),
        operation_pending_for: Duration::from_millis(500),
        operation_running_for: Duration::from_millis(1500),
        archive_size: 8 * 1024 * 1024,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await?;
    println!(
        "Using the sandbox at {} (set SCALINGO_ADDON and SCALINGO_API_TOKEN + SCALINGO_APP to use the real API)",
        sandbox.database_api_url()
    );
    // The same authentication as with the real API: the API token is exchanged for a user
    // token, then for the database's token.
    let client = Client::builder()
        .all_servers_at(sandbox.base_url())
        .api_token(DEFAULT_API_TOKEN)
        .build()?;
    Ok((
        client.database_of(DEFAULT_APP, DEFAULT_DATABASE),
        Some(sandbox),
    ))
}

/// A time as RFC 3339 to the second, or `none yet`.
fn rfc3339(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "none yet".to_owned(),
        |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn step(title: &str) {
    println!("\n==> {title}");
}
