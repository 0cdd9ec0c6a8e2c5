//! What every test of the CLI shares: a private working directory per test, the one place that
//! isolates a run from the developer's environment, a run's outcome with failure messages that
//! show everything the CLI printed, and the snapshot filters for what changes from run to run.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scalingo_db_sandbox::{DEFAULT_APP, DEFAULT_DATABASE, Sandbox, SandboxConfig};
use serde_json::Value;
use tempfile::TempDir;

/// A valid password: the API's rule is 24 to 64 characters.
pub const PASSWORD: &str = "correct-horse-battery-st";

/// Longer than any run needs, even on a loaded two-core CI; only there so that a hung run fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Every variable the CLI reads besides its state file: a developer's own token or app must not
/// change what a test sees, nor be sent anywhere.
const CLI_VARIABLES: [&str; 16] = [
    "SCALINGO_API_TOKEN",
    "SCALINGO_DB_TOKEN",
    "SCALINGO_APP",
    "SCALINGO_ADDON",
    "SCALINGO_REGION",
    "SCALINGO_DB_API_URL",
    "SCALINGO_AUTH_URL",
    "SCALINGO_API_URL",
    "RUST_LOG",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "SCALINGO_DB_RESTORE_INTO",
    "SCALINGO_POSTGRESQL_URL",
    "DATABASE_URL",
    "PGPASSWORD",
];

/// A test's own directory: the sandbox's state file and every downloaded archive live there, so
/// tests running in parallel never share state.
pub struct Workdir {
    dir: TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_file(&self) -> PathBuf {
        self.path().join("state.json")
    }

    /// `scalingo-db` isolated in this directory. Everything that starts the CLI goes through here,
    /// the interrupt test's spawned process included. The embedded sandbox's time is virtual: a
    /// command's waits move it forward at once, so no test waits for a backup's lifecycle (the
    /// interrupt tests, which need a wait to interrupt, set `SCALINGO_DB_SANDBOX_TIME=real`).
    pub fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin!("scalingo-db"));
        for name in CLI_VARIABLES {
            command.env_remove(name);
        }
        command
            .env("TZ", "UTC")
            .env("SCALINGO_DB_SANDBOX_FILE", self.state_file())
            .env("SCALINGO_DB_SANDBOX_TIME", "virtual")
            .current_dir(self.path());
        command
    }

    /// `scalingo-db <args>`, bounded in time.
    pub fn cli<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = assert_cmd::Command::from_std(self.std_command());
        command.args(args).timeout(TIMEOUT);
        command
    }

    /// `scalingo-db --sandbox <args>`: the embedded sandbox, kept in this directory.
    pub fn sandbox<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.cli(["--sandbox"]);
        command.args(args);
        command
    }

    /// `scalingo-db --sandbox <args>`, run with nothing on stdin.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_stdin(args, "")
    }

    /// `scalingo-db --sandbox <args>`, run with `stdin` as its whole input (then end of file, so
    /// `--password-stdin` never waits).
    pub fn run_with_stdin<I, S>(&self, args: I, stdin: impl Into<Vec<u8>>) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.sandbox(args).write_stdin(stdin).run()
    }

    /// `scalingo-db --sandbox --json <args>`, which must succeed: its stdout, parsed.
    pub fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.sandbox(["--json"]);
        command.args(args).write_stdin("");
        command.run().expect(0).json()
    }

    /// The names in `users list`.
    pub fn user_names(&self) -> Vec<String> {
        self.json(["users", "list"])
            .as_array()
            .expect("users list --json prints an array")
            .iter()
            .map(|user| user["name"].as_str().expect("a user has a name").to_owned())
            .collect()
    }

    /// Creates `name` with [`PASSWORD`].
    pub fn create_user(&self, name: &str) {
        self.run_with_stdin(
            ["users", "create", name, "--password-stdin"],
            format!("{PASSWORD}\n"),
        )
        .expect(0);
    }

    /// The backups of `backups list --json`, newest first.
    pub fn backups(&self) -> Vec<Value> {
        match self.json(["backups", "list"]) {
            Value::Array(backups) => backups,
            other => panic!("backups list --json printed {other}"),
        }
    }

    /// The most recent done backup: a fresh sandbox starts with one, made the day before.
    pub fn done_backup(&self) -> Value {
        self.backups()
            .into_iter()
            .find(|backup| backup["status"] == "done")
            .expect("a fresh sandbox has a done backup")
    }

    /// Starts a backup (which the embedded sandbox keeps scheduled 1 s, then running 2 s); its id.
    pub fn start_backup(&self) -> String {
        id_of(&self.json(["backups", "create"]))
    }

    /// Snapshot filters for this test: ids, times, generated names and passwords, and this
    /// directory's path change from run to run; the rest of the text is the golden. A test binds
    /// them for its whole body: `let _snapshots = work.snapshot_settings().bind_to_scope();`.
    pub fn snapshot_settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        // Same widths as what they replace, so that tables stay aligned in the snapshots.
        settings.add_filter(r"\b[0-9a-f]{24}\b", "[BACKUP-ID.............]");
        settings.add_filter(
            r"\b\d{14}_sandbox_app_\d+",
            "YYYYMMDDhhmmss_sandbox_app_NNNN",
        );
        settings.add_filter(r"\bsandbox_app_\d+", "sandbox_app_NNNN");
        settings.add_filter(
            r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00",
            "YYYY-MM-DD hh:mm:ss +00:00",
        );
        settings.add_filter(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z",
            "YYYY-MM-DDThh:mm:ssZ",
        );
        settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "YYYY-MM-DD hh:mm");
        settings.add_filter(r"(?m)^    [A-Za-z0-9]{24,64}$", "    [GENERATED PASSWORD]");
        for path in [
            self.path().to_path_buf(),
            self.path().canonicalize().unwrap_or_default(),
        ] {
            let path = path.display().to_string();
            if !path.is_empty() {
                settings.add_filter(&regex::escape(&path), "[WORKDIR]");
            }
        }
        settings
    }
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout_bytes: Vec<u8>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs an [`assert_cmd::Command`] into a [`Run`].
pub trait Runs {
    fn run(&mut self) -> Run;
}

impl Runs for assert_cmd::Command {
    fn run(&mut self) -> Run {
        let output = self.output().expect("scalingo-db starts");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stdout_bytes: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// The run ended with `code`; otherwise the failure shows all it printed.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit (None: killed by a signal or the {TIMEOUT:?} limit)\n\
             --- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout, parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }

    /// The run failed with `code`, printed nothing on stdout, and said why on stderr with every
    /// one of `parts` (the field and its rule, the flag to use, what was not found).
    #[track_caller]
    pub fn fails(self, code: i32, parts: &[&str]) -> Run {
        let run = self.expect(code);
        run.stderr_has(parts).stdout_empty();
        run
    }

    /// stderr contains every one of `parts` (a message names what went wrong and the rule).
    #[track_caller]
    pub fn stderr_has(&self, parts: &[&str]) -> &Run {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "stderr lacks {part:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Nothing on stdout (an error, or `--json` for a command with nothing to print).
    #[track_caller]
    pub fn stdout_empty(&self) -> &Run {
        assert!(
            self.stdout_bytes.is_empty(),
            "stdout is not empty:\n{}",
            self.stdout
        );
        self
    }
}

/// A backup object's `id`.
pub fn id_of(backup: &Value) -> String {
    backup["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {backup}"))
        .to_owned()
}

/// Whether `text` holds an ANSI escape sequence.
pub fn has_ansi(text: &str) -> bool {
    text.contains('\u{1b}')
}

/// Waits for a spawned CLI, killing it (and failing the test) when it takes longer than `bound`.
#[track_caller]
pub fn wait_within(child: &mut Child, bound: Duration) -> ExitStatus {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scalingo-db did not end within {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lines `child` writes on its (piped) stderr, as they come, read on a thread that ends with
/// the child's stderr (join it to know everything was read).
pub fn stderr_lines(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    (received, reader)
}

/// A sandbox served on its own runtime, which keeps answering while a test blocks on the CLI.
pub struct Remote {
    pub sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Remote {
    pub fn start() -> Remote {
        Remote::start_with(SandboxConfig::default())
    }

    /// A sandbox started with `config`.
    pub fn start_with(config: SandboxConfig) -> Remote {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let sandbox = runtime
            .block_on(Sandbox::start(config))
            .expect("the sandbox starts");
        Remote {
            sandbox,
            _runtime: runtime,
        }
    }

    /// `scalingo-db <args>` pointed at this sandbox, with no credentials yet.
    pub fn cli(&self, work: &Workdir, args: &[&str]) -> assert_cmd::Command {
        let mut command = work.cli(args);
        command
            .env("SCALINGO_DB_API_URL", self.sandbox.database_api_url())
            .env("SCALINGO_AUTH_URL", self.sandbox.base_url())
            .env("SCALINGO_API_URL", self.sandbox.base_url());
        command
    }

    /// `… --app sandbox-app --addon <database> <args>` with an API token.
    pub fn with_api_token(&self, work: &Workdir, token: &str, args: &[&str]) -> Run {
        self.cli(work, &["--app", DEFAULT_APP, "--addon", DEFAULT_DATABASE])
            .args(args)
            .env("SCALINGO_API_TOKEN", token)
            .run()
    }

    /// `… --addon <database> <args>` with a database token, and no app.
    pub fn with_database_token(&self, work: &Workdir, token: &str, args: &[&str]) -> Run {
        self.cli(work, &["--addon", DEFAULT_DATABASE])
            .args(args)
            .env("SCALINGO_DB_TOKEN", token)
            .run()
    }
}
