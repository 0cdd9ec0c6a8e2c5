//! What a hostile server, a careless script or a busy machine does to the CLI, and how it holds:
//! text from the server never commands the terminal, stdin is read within bounds and to the
//! letter, a creation whose answer was lost says how to find out what happened, and a command
//! that waits for another says so.

use std::fs::File;
use std::io::Read as _;
use std::process::Stdio;

use scalingo_db::OperationId;
use scalingo_db_sandbox::{DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE, Fault, FaultRule};

use crate::support::{PASSWORD, Remote, Runs as _, TIMEOUT, Workdir, stderr_lines, wait_within};

/// What a server may slip into a text: a window title (OSC … BEL), a screen clear (CSI 2 J) and a
/// carriage return that would print over the line.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}gone\u{1b}[2J\rFAKE";
/// The same, as the CLI must print it.
const ESCAPED: &str = "\\u{1b}]0;pwned\\u{7}gone\\u{1b}[2J\\rFAKE";

#[test]
fn text_from_the_server_never_commands_the_terminal() {
    let work = Workdir::new();
    let remote = Remote::start();

    // In an error message.
    remote.sandbox.faults().inject(FaultRule::new(
        OperationId::ListUsers,
        1,
        Fault::json_error(404, HOSTILE),
    ));
    let run = remote.with_api_token(&work, DEFAULT_API_TOKEN, &["users", "list"]);
    let run = run.fails(4, &[ESCAPED]);
    assert!(
        !run.stderr.contains(['\u{1b}', '\u{7}', '\r']),
        "{:?}",
        run.stderr
    );

    // In a table, where a name and an open set's value come from the server.
    let backups = serde_json::json!({"database_backups": [{
        "id": "5b8b36104ffb090be1ac3ce1",
        "name": HOSTILE,
        "status": HOSTILE,
        "created_at": "2026-11-30T00:00:00Z",
    }]});
    remote.sandbox.faults().inject(FaultRule::new(
        OperationId::ListBackups,
        1,
        Fault::Status {
            status: 200,
            body: backups.to_string(),
            content_type: Some("application/json".to_owned()),
            headers: Vec::new(),
        },
    ));
    let run = remote
        .with_api_token(&work, DEFAULT_API_TOKEN, &["backups", "list"])
        .expect(0);
    assert!(run.stdout.contains(ESCAPED), "{}", run.stdout);
    assert!(
        !run.stdout.contains(['\u{1b}', '\u{7}', '\r']),
        "{:?}",
        run.stdout
    );
}

#[test]
fn a_created_user_whose_answer_was_lost_says_how_to_find_it_and_recover_it() {
    let work = Workdir::new();
    let remote = Remote::start();
    remote.sandbox.faults().inject(FaultRule::new(
        OperationId::CreateUser,
        1,
        Fault::TruncateBody { after_bytes: 10 },
    ));
    remote
        .cli(&work, &["--app", DEFAULT_APP, "--addon", DEFAULT_DATABASE])
        .args(["users", "create", "lost-answer", "--password-stdin"])
        .env("SCALINGO_API_TOKEN", DEFAULT_API_TOKEN)
        .write_stdin(format!("{PASSWORD}\n"))
        .run()
        .fails(
            1,
            &[
                "may exist",
                "scalingo-db users list",
                "scalingo-db users reset-password lost-answer",
            ],
        );
    // It does exist: the request was handled, only its answer was cut.
    let listed = remote
        .with_api_token(&work, DEFAULT_API_TOKEN, &["--json", "users", "list"])
        .expect(0)
        .json();
    assert!(listed.to_string().contains("\"lost-answer\""), "{listed}");
}

#[test]
fn a_password_on_stdin_is_one_bounded_line() {
    let work = Workdir::new();
    let create = |name: &str, stdin: Vec<u8>| {
        work.run_with_stdin(["users", "create", name, "--password-stdin"], stdin)
    };
    // Endless input is refused, not read until the memory runs out.
    create("endless-input", vec![b'a'; 1 << 20]).fails(2, &["more than 4096 bytes"]);
    // A second line is refused, not dropped.
    create(
        "two-lines",
        format!("{PASSWORD}\nsomething else\n").into_bytes(),
    )
    .fails(2, &["more than one line"]);
    assert_eq!(work.user_names().len(), 1, "only the protected user");
    create("one-line", format!("{PASSWORD}\n").into_bytes()).expect(0);
}

#[test]
fn an_empty_password_never_turns_an_update_into_a_reset() {
    let work = Workdir::new();
    work.create_user("app-writer");
    let run = work
        .run_with_stdin(
            ["users", "update-password", "app-writer", "--password-stdin"],
            "",
        )
        .fails(2, &["no password given", "users reset-password"]);
    assert!(!run.stderr.contains("Generated password"), "{}", run.stderr);
}

#[test]
fn a_command_waiting_for_another_says_so_then_runs() {
    let work = Workdir::new();
    let lock_path = work.path().join("state.json.lock");
    let held = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .expect("the lock file");
    held.lock().expect("the lock");

    let mut child = work
        .std_command()
        .args(["--sandbox", "users", "list"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scalingo-db starts");
    let (received, _reader) = stderr_lines(&mut child);
    let said = received
        .recv_timeout(TIMEOUT)
        .expect("a line on stderr while it waits");
    assert!(
        said.contains("Waiting for another scalingo-db command"),
        "{said}"
    );

    held.unlock().expect("unlocked");
    let status = wait_within(&mut child, TIMEOUT);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    assert!(status.success(), "{status:?}");
    assert!(stdout.contains("sandbox_app_"), "{stdout}");
}
