//! Ctrl-C during a long wait: the CLI must stop at once with the code shells report for SIGINT
//! (130) and say what it left behind, instead of dying silently or ignoring the signal; the
//! embedded sandbox must still save what the run changed and release its lock.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{Workdir, stderr_lines, wait_within};

/// How long the CLI may take to report a first status, and then to stop once interrupted.
const BOUND: Duration = Duration::from_secs(20);

/// How many backups `backups wait` is given to catch one in progress.
const ATTEMPTS: usize = 3;

/// How an interrupted run ended.
struct Interrupted {
    code: Option<i32>,
    /// The first stderr line, after which SIGINT was sent.
    first_line: String,
    /// The stderr lines after it.
    rest: Vec<String>,
}

/// Whether a status line shows a backup still in progress, so that the CLI is still waiting.
fn in_progress(line: &str) -> bool {
    line.starts_with("backup ")
        && (line.ends_with(" is scheduled") || line.ends_with(" is running"))
}

/// Runs `scalingo-db --sandbox <args>` and sends it SIGINT once its first status line shows it is
/// waiting for a backup in progress (by then the Ctrl-C handler is installed: it is set when the
/// wait's first poll starts; and the next poll is at least 1 s away).
///
/// A first line that shows no backup in progress (the backup was done before the run's first
/// poll) means there was nothing left to interrupt: no signal is sent, the run ends by itself,
/// and everything it wrote on stderr is the error.
fn interrupt_when_waiting(work: &Workdir, args: &[&str]) -> Result<Interrupted, Vec<String>> {
    let mut child = work
        .std_command()
        // A real wait, to be interrupted.
        .env("SCALINGO_DB_SANDBOX_TIME", "real")
        .arg("--sandbox")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scalingo-db starts");
    let (received, reader) = stderr_lines(&mut child);

    let Ok(first_line) = received.recv_timeout(BOUND) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{args:?} printed no status within {BOUND:?}");
    };
    if !in_progress(&first_line) {
        wait_within(&mut child, BOUND);
        reader.join().expect("the reader ends with the child");
        return Err(std::iter::once(first_line)
            .chain(received.try_iter())
            .collect());
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT failed");

    let status = wait_within(&mut child, BOUND);
    reader.join().expect("the reader ends with the child");
    Ok(Interrupted {
        code: status.code(),
        first_line,
        rest: received.try_iter().collect(),
    })
}

#[test]
fn ctrl_c_while_waiting_for_a_backup_exits_130_and_says_interrupted() {
    let work = Workdir::new();
    // The backup is done 3 s after its creation: a run that starts or polls late finds it done
    // and has nothing to interrupt. Then the next attempt starts a new one (the last one being
    // done, the sandbox accepts it).
    let mut late = Vec::new();
    let (id, run) = loop {
        // Created first: two runs on one state file queue behind its lock.
        let id = work.start_backup();
        match interrupt_when_waiting(&work, &["backups", "wait", &id]) {
            Ok(run) => break (id, run),
            Err(stderr) if stderr[0] == format!("backup {id} is done") => late.push(stderr),
            Err(stderr) => panic!("`backups wait` did not report a status first: {stderr:#?}"),
        }
        assert!(
            late.len() < ATTEMPTS,
            "in {ATTEMPTS} attempts, `backups wait` never saw its backup in progress at its first \
             poll (each is done 3 s after its creation): the machine is too slow for this test.\n\
             stderr of each attempt: {late:#?}"
        );
    };
    assert!(
        [
            format!("backup {id} is scheduled"),
            format!("backup {id} is running")
        ]
        .contains(&run.first_line),
        "{}",
        run.first_line
    );
    assert_eq!(
        run.code,
        Some(130),
        "exit after SIGINT (Some(0): the backup was done before the signal was handled, over \
         1 s after the status line {:?}); stderr after that line: {:?}",
        run.first_line,
        run.rest
    );
    assert_eq!(
        run.rest.last().map(String::as_str),
        Some("error: interrupted"),
        "{:?}",
        run.rest
    );

    // The lock was released, and the backup is still there.
    assert!(
        work.backups()
            .iter()
            .any(|backup| backup["id"] == id.as_str())
    );
}

#[test]
fn ctrl_c_while_creating_with_wait_says_how_to_follow_the_started_backup() {
    let work = Workdir::new();
    // The run polls the backup it has just created, which stays scheduled 1 s: always in progress.
    let run = interrupt_when_waiting(&work, &["backups", "create", "--wait"])
        .unwrap_or_else(|stderr| panic!("the new backup was not in progress: {stderr:#?}"));
    assert_eq!(
        run.code,
        Some(130),
        "exit after SIGINT; stderr after the first line {:?}: {:?}",
        run.first_line,
        run.rest
    );

    // The backup this run started was saved with the sandbox's state despite the interruption.
    let newest = work.backups().remove(0);
    let id = newest["id"].as_str().unwrap_or_default();
    assert_eq!(newest["method"], "manual", "{newest}");
    assert_eq!(run.first_line, format!("backup {id} is scheduled"));
    let message = run.rest.join("\n");
    for part in [
        "interrupted",
        &format!("backup {id} was started"),
        &format!("scalingo-db backups wait {id}"),
    ] {
        assert!(message.contains(part), "{message}");
    }
}
