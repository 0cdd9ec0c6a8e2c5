//! The sandbox binary as a child process, and what the benchmarks need from it: its URLs, its
//! tokens, and its request counters (over the control routes).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use scalingo_db::{Client, Database, Server};

/// The database of the sandbox's default configuration.
pub const DATABASE: &str = "ad-5a4b0d7e-sandbox-postgresql";
/// The app [`DATABASE`] belongs to.
pub const APP: &str = "sandbox-app";
/// The operation that serves archives, as the sandbox's fault rules and counters name it.
pub const DOWNLOAD_OPERATION: &str = "download_backup_archive";

/// A running sandbox process, killed when dropped.
pub struct SandboxProcess {
    child: Child,
    base_url: String,
    api_token: String,
    database_token: String,
}

impl SandboxProcess {
    /// Starts `binary` on a free loopback port with archives of `archive_size` bytes and instant
    /// backups, and reads its banner.
    pub fn start(binary: &Path, archive_size: u64) -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_on(binary, archive_size, None)
    }

    /// Like [`SandboxProcess::start`]; with a `core`, on that core alone (with `taskset`), with
    /// one worker thread.
    pub fn start_on(
        binary: &Path,
        archive_size: u64,
        core: Option<usize>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        Self::spawn(binary, archive_size, core, &[])
    }

    /// Like [`SandboxProcess::start`], with more flags for the sandbox (`--link-rate 25M`).
    pub fn start_with(
        binary: &Path,
        archive_size: u64,
        flags: &[&str],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        Self::spawn(binary, archive_size, None, flags)
    }

    fn spawn(
        binary: &Path,
        archive_size: u64,
        core: Option<usize>,
        flags: &[&str],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut command = match core {
            Some(core) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(core.to_string()).arg(binary);
                command.env("TOKIO_WORKER_THREADS", "1");
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--enable-control"])
            .args(["--backup-scheduled-ms", "0", "--backup-running-ms", "0"])
            .arg("--archive-size")
            .arg(archive_size.to_string())
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| format!("cannot start {} ({err}); build it with `cargo build --release -p scalingo-db-sandbox`", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (mut base_url, mut api_token, mut database_token) = (None, None, None);
        let mut next_token_is_ours = false;
        for line in BufReader::new(stdout).lines().take(40) {
            let line = line?;
            let line = line.trim();
            if let Some(url) = line.strip_prefix("Scalingo DB API sandbox listening on ") {
                base_url = Some(url.to_owned());
            } else if let Some(token) = line.strip_prefix("API token:") {
                api_token = Some(token.trim().to_owned());
            } else if line.starts_with(&format!("database {DATABASE} ")) {
                next_token_is_ours = true;
            } else if next_token_is_ours && line.starts_with("token (valid") {
                database_token = line.rsplit(' ').next().map(str::to_owned);
                next_token_is_ours = false;
            } else if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        let mut process = SandboxProcess {
            child,
            base_url: String::new(),
            api_token: String::new(),
            database_token: String::new(),
        };
        match (base_url, api_token, database_token) {
            (Some(base_url), Some(api_token), Some(database_token)) => {
                process.base_url = base_url;
                process.api_token = api_token;
                process.database_token = database_token;
                Ok(process)
            }
            // Its stderr is not read (it logs every request): say how to see why it stopped.
            _ => Err(format!(
                "the sandbox's banner lacks its URL or tokens; did it refuse its flags? try \
                 `{} --archive-size {archive_size} {}`",
                binary.display(),
                flags.join(" ")
            )
            .into()),
        }
    }

    /// `http://127.0.0.1:<port>`: the token exchange and addon-token routes.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:<port>/api`.
    pub fn database_api_url(&self) -> String {
        format!("{}{}", self.base_url, Server::DatabaseApi.path_prefix())
    }

    /// The sandbox's API token (for [`APP`]).
    pub fn api_token(&self) -> &str {
        &self.api_token
    }

    /// A database token for [`DATABASE`].
    pub fn database_token(&self) -> String {
        self.database_token.clone()
    }

    /// [`DATABASE`], with its database token.
    pub fn client(&self) -> Result<Database, scalingo_db::Error> {
        let client = Client::builder()
            .all_servers_at(self.base_url.as_str())
            .database_token(DATABASE, self.database_token())
            .build()?;
        Ok(client.database(DATABASE))
    }

    /// [`DATABASE`], with the sandbox's API token (tokens exchanged and cached).
    pub fn api_token_client(&self) -> Result<Database, scalingo_db::Error> {
        let client = Client::builder()
            .all_servers_at(self.base_url.as_str())
            .api_token(self.api_token.as_str())
            .build()?;
        Ok(client.database_of(APP, DATABASE))
    }

    /// The latest done backup of [`DATABASE`] (the sandbox makes them at once, at start): its id,
    /// and its archive's size, which a download is checked against.
    pub async fn latest_archive(&self) -> Result<(String, u64), Box<dyn std::error::Error>> {
        let backup = self
            .client()?
            .backups()
            .latest_done()
            .await?
            .ok_or("no done backup")?;
        let size = backup
            .size
            .and_then(|size| u64::try_from(size).ok())
            .ok_or("the backup records no size")?;
        Ok((backup.id, size))
    }

    /// Starts counting requests from zero.
    pub async fn reset_counters(&self) -> Result<(), reqwest::Error> {
        reqwest::Client::new()
            .delete(format!("{}/_sandbox/counters", self.base_url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Adds a fault rule (`FaultRule`'s JSON: `{"operation": .., "times": .., "fault": {..}}`).
    pub async fn inject_fault(
        &self,
        rule: &serde_json::Value,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let response = reqwest::Client::new()
            .post(format!("{}/_sandbox/faults", self.base_url))
            .json(rule)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(
                format!("the sandbox refused the fault rule {rule} ({status}): {body}").into(),
            );
        }
        Ok(())
    }

    /// Requests received by `operation` (as the contract names it) since the last reset.
    pub async fn operation_requests(
        &self,
        operation: &str,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        let counters = self.counters().await?;
        Ok(counters["operations"][operation].as_u64().unwrap_or(0))
    }

    async fn counters(&self) -> Result<serde_json::Value, reqwest::Error> {
        reqwest::Client::new()
            .get(format!("{}/_sandbox/counters", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    /// Requests received by the contract's operations since the last reset.
    pub async fn total_requests(&self) -> Result<u64, Box<dyn std::error::Error>> {
        let counters = self.counters().await?;
        counters["total"]
            .as_u64()
            .ok_or_else(|| "no total in the counters".into())
    }
}

/// The core to pin the sandbox to (the last one), when there are two or more and `taskset`
/// exists.
pub fn pinned_core() -> Option<usize> {
    let cores = std::thread::available_parallelism().ok()?.get();
    let taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    (cores >= 2 && taskset).then_some(cores - 1)
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
