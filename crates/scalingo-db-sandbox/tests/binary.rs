//! The `scalingo-db-sandbox` binary: it prints its URLs and working tokens (never an API token the
//! operator gave), serves them, logs each request without any token, and stops cleanly, saving
//! its state, on Ctrl-C (SIGINT) or SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the binary may take to print its banner, to exit, or to answer one request: far more
/// than it needs, even on a loaded machine; only there so that a hung binary fails the test.
const BOUND: Duration = Duration::from_secs(10);

/// Kills the child if a test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Waits for the binary to exit; fails the test (and kills it) after [`BOUND`].
    #[track_caller]
    fn exit_within_bound(&mut self, after: &str) -> ExitStatus {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(exit) = self.0.try_wait().expect("wait") {
                return exit;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within {BOUND:?} {after}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the binary wrote on stderr, once it has exited (the pipe is then at its end).
    fn log(&mut self) -> String {
        let mut log = String::new();
        if let Some(mut stderr) = self.0.stderr.take() {
            stderr.read_to_string(&mut log).expect("the binary's log");
        }
        log
    }
}

/// The JSON answer of `request`.
async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    let response = request.send().await.expect("the sandbox answers");
    response.json().await.expect("JSON")
}

/// An HTTP client whose requests fail rather than hang when the binary stops answering.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(BOUND)
        .build()
        .expect("an HTTP client")
}

#[test]
fn prints_its_urls_and_tokens_serves_them_and_stops_on_ctrl_c() {
    let (running, banner) = start(&["--database", "ad-bin-1:bin-app:mysql"]);
    let text = banner.join("\n");
    let base = banner[0]
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no base URL in the banner:\n{text}"));
    assert!(
        text.contains(&format!("Database API:   {base}/api")),
        "{text}"
    );
    assert!(
        text.contains("database ad-bin-1 (mysql, app bin-app)"),
        "{text}"
    );
    let token = banner
        .iter()
        .find_map(|line| line.trim().strip_prefix("token (valid 3600 s): "))
        .unwrap_or_else(|| panic!("no database token in the banner:\n{text}"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (status, body) = runtime.block_on(async {
        let response = client()
            .get(format!("{base}/api/databases/ad-bin-1/users"))
            .bearer_auth(token)
            .send()
            .await
            .expect("the sandbox answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    });
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"bin_app_"), "{body}");

    stop(running, "INT");
}

#[test]
fn a_bad_flag_is_refused_with_a_message() {
    // Were the flag accepted, the binary would serve: on a port of its own (not the default
    // 127.0.0.1:8700, which anything may hold), until the bound below kills it.
    let mut running = spawn(sandbox(&["--database", "ad-1:app:oracle"]).stdout(Stdio::null()));
    let exit = running.exit_within_bound("of starting with a bad --database");
    let stderr = running.log();
    assert_eq!(exit.code(), Some(2), "a usage error: {stderr}");
    assert!(
        stderr.contains("--database") && stderr.contains("unknown database type `oracle`"),
        "{stderr}"
    );
}

/// The binary with `args`, on a free port, with no stdin and no API tokens from the environment.
fn sandbox(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scalingo-db-sandbox"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("SCALINGO_SANDBOX_API_TOKENS")
        .stdin(Stdio::null());
    command
}

/// Starts `command` with its stderr kept for [`Running::log`].
fn spawn(command: &mut Command) -> Running {
    Running(
        command
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    )
}

/// Starts the binary on a free port with `args`; returns it and the lines of its banner.
fn start(args: &[&str]) -> (Running, Vec<String>) {
    start_with_env(args, &[])
}

/// [`start`] with environment variables too. Its log (stderr) is kept for [`stop`]; a test sends
/// few requests, so the pipe does not fill up. Fails the test (and kills the binary) unless the
/// whole banner comes within [`BOUND`].
fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> (Running, Vec<String>) {
    let mut running = spawn(
        sandbox(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped()),
    );
    // Read on a thread, so that a binary that stalls cannot block the test; the thread reads
    // until the binary ends, so a late line on stdout never meets a closed pipe.
    let stdout = running.0.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + BOUND;
    let mut banner = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => {
                let done = line.starts_with("Press Ctrl-C");
                banner.push(line);
                if done {
                    return (running, banner);
                }
            }
            Err(why) => {
                let _ = running.0.kill();
                let _ = running.0.wait();
                let ended = match why {
                    mpsc::RecvTimeoutError::Timeout => format!("not within {BOUND:?}"),
                    mpsc::RecvTimeoutError::Disconnected => "the binary ended".to_owned(),
                };
                panic!(
                    "no whole banner ({ended}):\n{}\n--- stderr\n{}",
                    banner.join("\n"),
                    running.log()
                );
            }
        }
    }
}

/// The base URL and the first database token a banner shows.
fn base_and_token(banner: &[String]) -> (String, String) {
    let base = banner
        .iter()
        .find_map(|line| line.strip_prefix("Scalingo DB API sandbox listening on "))
        .expect("a base URL in the banner");
    let token = banner
        .iter()
        .find_map(|line| line.trim().strip_prefix("token (valid 3600 s): "))
        .expect("a token in the banner");
    (base.to_owned(), token.to_owned())
}

/// Sends `signal` (`INT` or `TERM`), waits (at most [`BOUND`]) for a successful exit, and returns
/// what the binary wrote on stderr.
fn stop(mut running: Running, signal: &str) -> String {
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .expect("kill")
            .success()
    );
    let exit = running.exit_within_bound(&format!("of SIG{signal}"));
    let log = running.log();
    assert!(
        exit.success(),
        "exit status after SIG{signal}: {exit}\n--- stderr\n{log}"
    );
    log
}

#[test]
fn a_state_file_keeps_users_across_runs_stopped_by_sigint() {
    keeps_users_across_runs("INT");
}

#[test]
fn a_state_file_keeps_users_across_runs_stopped_by_sigterm() {
    // What `kill`, `docker stop` and scripts/sandbox-lib.sh send.
    keeps_users_across_runs("TERM");
}

/// Creates a user, stops the binary with `signal`, restarts it on the same state file and finds
/// the user again.
fn keeps_users_across_runs(signal: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("state.json");
    let file_arg = file.to_str().expect("a UTF-8 path");
    let args = [
        "--database",
        "ad-kept:kept-app:postgresql",
        "--state-file",
        file_arg,
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let users_url = |base: &str| format!("{base}/api/databases/ad-kept/users");

    let (running, banner) = start(&args);
    let (base, token) = base_and_token(&banner);
    let status = runtime.block_on(async {
        client()
            .post(users_url(&base))
            .bearer_auth(&token)
            .json(&serde_json::json!({"database_user": {"name": "kept-user"}}))
            .send()
            .await
            .expect("the sandbox answers")
            .status()
            .as_u16()
    });
    assert_eq!(status, 201);
    assert!(!file.exists(), "no state file before the stop");
    stop(running, signal);
    assert!(file.exists(), "the state was written on SIG{signal}");

    let (running, banner) = start(&args);
    let (base, token) = base_and_token(&banner);
    let body = runtime.block_on(async {
        client()
            .get(users_url(&base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("the sandbox answers")
            .text()
            .await
            .expect("a body")
    });
    stop(running, "INT");
    assert!(body.contains("\"kept-user\""), "{body}");
}

#[test]
fn the_banner_counts_the_operators_api_tokens_without_showing_them() {
    let secret = "tk-us-operator-secret-1";
    let (running, banner) = start_with_env(
        &[],
        &[(
            "SCALINGO_SANDBOX_API_TOKENS",
            &format!("{secret},tk-us-operator-secret-2"),
        )],
    );
    stop(running, "INT");
    let text = banner.join("\n");
    assert!(
        text.contains("API tokens:     2 from SCALINGO_SANDBOX_API_TOKENS (not shown)"),
        "{text}"
    );
    assert!(!text.contains("tk-us-operator"), "{text}");
    assert!(
        !text.contains("API token: "),
        "the default token is not accepted, so not shown: {text}"
    );

    // The well-known default token is shown when accepted, in the line scripts read.
    let (running, banner) = start(&[]);
    stop(running, "INT");
    assert!(
        banner.contains(&format!(
            "  API token:      {}",
            scalingo_db_sandbox::DEFAULT_API_TOKEN
        )),
        "{banner:#?}"
    );
}

#[test]
fn each_request_is_logged_with_its_route_template_and_no_token() {
    let (running, banner) = start(&["--archive-size", "1K"]);
    let (base, token) = base_and_token(&banner);
    let database = scalingo_db_sandbox::DEFAULT_DATABASE;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let link = runtime.block_on(async {
        let client = client();
        let status_of = |request: reqwest::RequestBuilder| async move {
            request
                .send()
                .await
                .expect("the sandbox answers")
                .status()
                .as_u16()
        };
        let get_json = |url: String| {
            let request = client.get(url).bearer_auth(&token);
            async move {
                let response = request.send().await.expect("the sandbox answers");
                response.json::<serde_json::Value>().await.expect("JSON")
            }
        };
        let db_api = format!("{base}/api/databases/{database}");
        let backups = get_json(format!("{db_api}/backups")).await;
        let backup = backups["database_backups"][0]["id"]
            .as_str()
            .expect("a backup id");
        let archive = get_json(format!("{db_api}/backups/{backup}/archive")).await;
        let link = archive["download_url"].as_str().expect("a link").to_owned();
        assert_eq!(status_of(client.get(&link)).await, 200);
        let unknown = client.get(format!("{base}/no/such/route?token={token}"));
        assert_eq!(status_of(unknown).await, 404);
        let method = reqwest::Method::from_bytes(b"TK-AS-METHOD").expect("a method");
        let odd = client.request(method, format!("{base}/v1/tokens/exchange"));
        assert_eq!(status_of(odd).await, 405);
        link
    });
    let log = stop(running, "INT");

    let lines: Vec<&str> = log.lines().filter(|line| line.contains(" INFO ")).collect();
    let logged = |path: &str, status: u16| {
        lines.iter().any(|line| {
            line.contains("sandbox answered method=\"GET\"")
                && line.contains(&format!("path=\"{path}\""))
                && line.contains(&format!("status={status} "))
                && line.contains("elapsed_ms=")
        })
    };
    assert!(logged("/api/databases/{database_id}/backups", 200), "{log}");
    assert!(
        logged(
            "/api/databases/{database_id}/backups/{backup_id}/download",
            200
        ),
        "{log}"
    );
    assert!(logged("(no route)", 404), "{log}");
    assert!(
        log.lines().any(|line| line
            .contains("method=\"(extension method)\" path=\"/v1/tokens/exchange\" status=405")),
        "{log}"
    );
    let link_token = link.rsplit_once("token=").expect("a link token").1;
    for (what, secret) in [
        ("the database token", token.as_str()),
        ("the link token", link_token),
        ("the real path", database),
        ("a query", "token="),
        ("a method as sent", "TK-AS-METHOD"),
    ] {
        assert!(!log.contains(secret), "{what} is in the log: {log}");
    }
}

#[test]
fn the_operation_phases_are_set_in_milliseconds() {
    let database = scalingo_db_sandbox::DEFAULT_DATABASE;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Pending for no time and running ten minutes: running at once; running for no time: done.
    for (running_ms, expected) in [("600000", "running"), ("0", "finished")] {
        let (running, banner) = start(&[
            "--operation-pending-ms",
            "0",
            "--operation-running-ms",
            running_ms,
        ]);
        let (base, token) = base_and_token(&banner);
        let status = runtime.block_on(async {
            let client = client();
            let db_api = format!("{base}/api/databases/{database}");
            let window = json_of(
                client
                    .get(format!("{db_api}/pitr/recovery_window"))
                    .bearer_auth(&token),
            )
            .await;
            let earliest = window["recovery_window"]["earliest_recoverable_at"].clone();
            assert!(earliest.is_string(), "{window}");
            let created = json_of(
                client
                    .post(format!("{db_api}/pitr/restore"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "restore_time": earliest })),
            )
            .await;
            let id = created["operation"]["id"].as_str().expect("an id");
            let shown = json_of(
                client
                    .get(format!("{db_api}/operations/{id}"))
                    .bearer_auth(&token),
            )
            .await;
            shown["operation"]["status"].clone()
        });
        assert_eq!(status, expected, "--operation-running-ms {running_ms}");
        stop(running, "TERM");
    }
}

#[test]
fn a_frozen_clock_stands_at_the_time_given() {
    let database = scalingo_db_sandbox::DEFAULT_DATABASE;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (running, banner) = start(&["--frozen-at", "2026-08-06T00:00:00Z"]);
    let (base, token) = base_and_token(&banner);
    let windows = runtime.block_on(async {
        let client = client();
        let url = format!("{base}/api/databases/{database}/pitr/recovery_window");
        let mut windows = Vec::new();
        for _ in 0..2 {
            let window = json_of(client.get(&url).bearer_auth(&token)).await;
            windows.push(window["recovery_window"].clone());
        }
        windows
    });
    // Now is the frozen time, however long the requests took; the seeded backup, 20 hours
    // before it, opens the window.
    let expected = serde_json::json!({
        "earliest_recoverable_at": "2026-08-05T04:00:00Z",
        "latest_recoverable_at": "2026-08-06T00:00:00Z",
    });
    assert_eq!(windows, [expected.clone(), expected]);
    stop(running, "TERM");
}

/// Runs the binary with `args`, which must be refused: answers its stderr once it has exited with
/// a usage error (2). Were they accepted, it would serve on a port of its own until [`BOUND`].
#[track_caller]
fn refused(args: &[&str]) -> String {
    let mut running = spawn(sandbox(args).stdout(Stdio::null()));
    let exit = running.exit_within_bound(&format!("of starting with {args:?}"));
    let stderr = running.log();
    assert_eq!(exit.code(), Some(2), "a usage error for {args:?}: {stderr}");
    stderr
}

#[test]
fn a_lifetime_out_of_range_is_a_usage_error_naming_the_flag_and_its_range() {
    for flag in [
        "--user-token-lifetime",
        "--database-token-lifetime",
        "--archive-link-lifetime",
    ] {
        for value in ["18446744073709551615", "315360001", "0"] {
            let stderr = refused(&[flag, value]);
            assert!(
                stderr.contains(flag) && stderr.contains("1..=315360000"),
                "{flag} {value}: {stderr}"
            );
        }
    }
    // The longest lifetime is accepted, and shown in the banner.
    let (running, banner) = start(&["--database-token-lifetime", "315360000"]);
    stop(running, "INT");
    assert!(
        banner
            .iter()
            .any(|line| line.contains("token (valid 315360000 s): ")),
        "{banner:#?}"
    );
}

#[test]
fn the_emulated_link_is_in_the_banner_and_a_bad_figure_is_a_usage_error_naming_its_flag() {
    for (flag, bad, why) in [
        ("--link-rate", "0", "a rate of 0 would send nothing"),
        ("--link-rate", "fast", "is not a size"),
        ("--link-rate", "25T", "unknown size unit"),
        ("--link-latency", "20s", "is not 0 to 60000 milliseconds"),
        ("--link-latency", "-1", "is not 0 to 60000 milliseconds"),
        ("--link-latency", "60001", "is not 0 to 60000 milliseconds"),
    ] {
        // `--flag=value`: clap would read a lone `-1` as a flag.
        let stderr = refused(&[&format!("{flag}={bad}")]);
        assert!(
            stderr.contains(flag) && stderr.contains(why),
            "{flag} {bad}: {stderr}"
        );
    }

    let (running, banner) = start(&["--link-rate", "25M", "--link-latency", "20ms"]);
    stop(running, "INT");
    let line =
        "  emulated link:  26214400 bytes/s per download, 20 ms each way (archive downloads)";
    assert!(banner.contains(&line.to_owned()), "{banner:#?}");
    // Without the flags, no link is emulated, and the banner says nothing of one.
    let (running, banner) = start(&["--link-latency", "0"]);
    stop(running, "INT");
    assert!(
        !banner.iter().any(|line| line.contains("emulated link")),
        "{banner:#?}"
    );
}

#[test]
fn links_are_on_the_public_url_given_and_a_bad_one_is_a_usage_error() {
    for bad in [
        "evil.example#",
        "http://evil.example#/",
        "ftp://sandbox.example",
    ] {
        let stderr = refused(&["--public-url", bad]);
        assert!(
            stderr.contains("--public-url") && stderr.contains("is not a public base URL"),
            "{bad}: {stderr}"
        );
    }

    let (running, banner) = start(&["--public-url", "https://proxy.example/sandbox/"]);
    let (base, token) = base_and_token(&banner);
    assert!(
        banner.contains(&"  links on:       https://proxy.example/sandbox".to_owned()),
        "{banner:#?}"
    );
    let database = scalingo_db_sandbox::DEFAULT_DATABASE;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let link = runtime.block_on(async {
        let client = client();
        let db_api = format!("{base}/api/databases/{database}");
        let backups = json_of(client.get(format!("{db_api}/backups")).bearer_auth(&token)).await;
        let backup = backups["database_backups"][0]["id"]
            .as_str()
            .expect("a backup id")
            .to_owned();
        let archive = client
            .get(format!("{db_api}/backups/{backup}/archive"))
            .bearer_auth(&token)
            // Whatever the client says it reached, the link is on the public URL.
            .header(reqwest::header::HOST, "evil.example")
            .send()
            .await
            .expect("the sandbox answers")
            .json::<serde_json::Value>()
            .await
            .expect("JSON");
        archive["download_url"].as_str().expect("a link").to_owned()
    });
    stop(running, "INT");
    assert!(
        link.starts_with(&format!(
            "https://proxy.example/sandbox/api/databases/{database}/backups/"
        )),
        "{link}"
    );
}

#[test]
fn a_save_killed_midway_leaves_a_temporary_file_the_next_start_removes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("state.json");
    let file_arg = file.to_str().expect("a UTF-8 path");

    // A run killed with SIGKILL: what it was writing is left, named after its process.
    let (mut killed, _) = start(&["--state-file", file_arg]);
    let pid = killed.0.id();
    killed.0.kill().expect("SIGKILL");
    killed.0.wait().expect("ended");
    let stale = dir.path().join(format!("state.json.{pid}.tmp"));
    std::fs::write(&stale, "{\"format\": 1, \"databases\": [").expect("a partial save");

    // Nothing else is touched: other names, and a save under way in a running process (this one).
    let kept = [
        format!("state.json.{}.tmp", std::process::id()),
        "state.json.tmp".to_owned(),
        format!("state.json.{pid}x.tmp"),
        format!("state.json.{pid}.tmp.orig"),
        format!("other.json.{pid}.tmp"),
        format!("state.json{pid}.tmp"),
    ];
    for name in &kept {
        std::fs::write(dir.path().join(name), "keep").expect("a file");
    }

    let (running, _) = start(&["--state-file", file_arg]);
    let log = stop(running, "INT");
    assert!(
        !stale.exists(),
        "the stale temporary file is removed: {log}"
    );
    assert!(
        log.contains("sandbox removed a temporary state file an interrupted save left")
            && log.contains(&format!("state.json.{pid}.tmp")),
        "{log}"
    );
    for name in &kept {
        assert!(dir.path().join(name).exists(), "{name} is kept");
    }
    assert!(file.exists(), "the state was saved on the stop");
}

#[test]
fn archive_from_serves_a_dump_file_for_its_type_and_a_folder_for_the_others() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pgdump = dir.path().join("shop.pgdump");
    std::fs::write(&pgdump, b"PGDMP\x01\x0e\x00 a custom-format dump").expect("write");
    let mongodump = dir.path().join("dump");
    std::fs::create_dir_all(mongodump.join("shop")).expect("mkdir");
    std::fs::write(mongodump.join("shop/orders.bson"), b"\x05\x00\x00\x00\x00").expect("write");
    let typed = format!("postgresql={}", pgdump.display());
    let bare = mongodump.display().to_string();

    let (running, banner) = start(&["--archive-from", &typed, "--archive-from", &bare]);
    let text = banner.join("\n");
    assert!(text.contains(&format!("archives from:  {typed}")), "{text}");
    let (base, _) = base_and_token(&banner);
    // The default databases, in the banner's order: PostgreSQL, then Redis.
    let tokens: Vec<&str> = banner
        .iter()
        .filter_map(|line| line.trim().strip_prefix("token (valid 3600 s): "))
        .collect();
    let databases = [
        (scalingo_db_sandbox::DEFAULT_DATABASE, tokens[0]),
        (scalingo_db_sandbox::DEFAULT_REDIS_DATABASE, tokens[1]),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let archives = runtime.block_on(async {
        let mut archives = Vec::new();
        for (database, token) in databases {
            let backups = format!("{base}/api/databases/{database}/backups");
            let listed = json_of(client().get(&backups).bearer_auth(token)).await;
            let backup = &listed["database_backups"][0];
            let id = backup["id"].as_str().expect("an id");
            let link = json_of(
                client()
                    .get(format!("{backups}/{id}/archive"))
                    .bearer_auth(token),
            )
            .await;
            let url = link["download_url"].as_str().expect("a link");
            let bytes = client()
                .get(url)
                .send()
                .await
                .expect("the sandbox answers")
                .bytes()
                .await
                .expect("the archive");
            assert_eq!(
                backup["size"].as_u64(),
                Some(bytes.len() as u64),
                "{listed}"
            );
            archives.push(bytes);
        }
        archives
    });
    stop(running, "INT");

    let members = |archive: &[u8]| -> Vec<(String, Vec<u8>)> {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        tar.entries()
            .expect("a tar")
            .map(|entry| {
                let mut entry = entry.expect("a member");
                let path = entry.path().expect("a path").display().to_string();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).expect("its content");
                (path, content)
            })
            .collect()
    };
    assert_eq!(
        members(&archives[0]),
        [(
            "shop.pgdump".to_owned(),
            b"PGDMP\x01\x0e\x00 a custom-format dump".to_vec()
        )]
    );
    assert_eq!(
        members(&archives[1]),
        [
            ("dump".to_owned(), Vec::new()),
            ("dump/shop".to_owned(), Vec::new()),
            (
                "dump/shop/orders.bson".to_owned(),
                b"\x05\x00\x00\x00\x00".to_vec()
            ),
        ]
    );
}

#[test]
fn archive_from_refuses_a_missing_path_an_unknown_type_and_a_type_given_twice() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let dump = dir.path().join("shop.sql");
    std::fs::write(&dump, "SELECT 1;\n").expect("write");
    let missing = dir.path().join("missing.sql").display().to_string();
    let typed = format!("mysql={}", dump.display());
    let oracle = format!("oracle={}", dump.display());
    for (args, rule) in [
        (vec!["--archive-from", &missing], "does not exist"),
        (
            vec!["--archive-from", &oracle],
            "unknown database type `oracle`",
        ),
        (
            vec!["--archive-from", &typed, "--archive-from", &typed],
            "the type mysql is given twice",
        ),
    ] {
        let stderr = refused(&args);
        assert!(
            stderr.contains("--archive-from") && stderr.contains(rule),
            "{args:?}: {stderr}"
        );
    }
}
