//! The `scalingo-db-sandbox` binary: it prints its URLs and working tokens, serves them, and stops
//! cleanly on Ctrl-C (SIGINT).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child if a test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
        let response = reqwest::Client::new()
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

    stop(running);
}

#[test]
fn a_bad_flag_is_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_scalingo-db-sandbox"))
        .args(["--database", "ad-1:app:oracle"])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown database type `oracle`"),
        "{stderr}"
    );
}

/// Starts the binary on a free port with `args`; returns it and the lines of its banner.
fn start(args: &[&str]) -> (Running, Vec<String>) {
    let child = Command::new(env!("CARGO_BIN_EXE_scalingo-db-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().expect("piped stdout");
    let mut banner = Vec::new();
    for line in BufReader::new(stdout).lines().take(20) {
        let line = line.expect("a line of the banner");
        let done = line.starts_with("Press Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    (running, banner)
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

/// Sends SIGINT and waits (at most 10 s) for a successful exit.
fn stop(mut running: Running) {
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(exit) = running.0.try_wait().expect("wait") {
            assert!(exit.success(), "exit status: {exit}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s of SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_state_file_keeps_users_across_runs() {
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
        reqwest::Client::new()
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
    stop(running);
    assert!(file.exists(), "the state was written on stop");

    let (running, banner) = start(&args);
    let (base, token) = base_and_token(&banner);
    let body = runtime.block_on(async {
        reqwest::Client::new()
            .get(users_url(&base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("the sandbox answers")
            .text()
            .await
            .expect("a body")
    });
    stop(running);
    assert!(body.contains("\"kept-user\""), "{body}");
}
