//! What a client that stops half-way gets from the in-process sandbox, on raw sockets: a
//! connection that sends no request head, or only part of one, or sends nothing after an answer,
//! is closed once the header-read limit passes; a body that stops arriving is answered 408 and
//! the connection closed; an answer nobody reads ends the connection once the idle limit passes.
//! The limits are set short here, so that each test takes well under two seconds.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use scalingo_db_sandbox::{DEFAULT_DATABASE, Sandbox, SandboxConfig};

/// The header-read limit of these tests.
const HEADER_READ: Duration = Duration::from_millis(200);
/// The idle limit of these tests.
const IDLE: Duration = Duration::from_millis(300);
/// How long a test waits for the sandbox to close a connection before it fails: far longer than
/// the limits, even on a loaded machine, and well under two seconds.
const BOUND: Duration = Duration::from_millis(1500);

async fn sandbox(archive_size: u64) -> Sandbox {
    Sandbox::start(SandboxConfig {
        header_read_timeout: HEADER_READ,
        idle_timeout: IDLE,
        archive_size,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts")
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(BOUND))
        .expect("a read time-out");
    stream
}

/// Reads until the sandbox closes the connection; answers what came and when it closed. Fails
/// the test when it is still open after [`BOUND`].
#[track_caller]
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (received, Instant::now()),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            // Closed with data it had not read: as closed.
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                return (received, Instant::now());
            }
            Err(error) => panic!(
                "still open after {BOUND:?} ({error}); received {} bytes",
                received.len()
            ),
        }
    }
}

/// The elapsed time is at least `limit` (it was the limit that closed it, not something else).
#[track_caller]
fn closed_after(started: Instant, closed: Instant, limit: Duration) {
    let elapsed = closed - started;
    assert!(
        elapsed >= limit && elapsed < BOUND,
        "closed after {elapsed:?}, limit {limit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_request_head_is_closed_after_the_header_read_limit() {
    let sandbox = sandbox(1024).await;

    let mut silent = connect(sandbox.address());
    let started = Instant::now();
    let (received, closed) = read_until_closed(&mut silent);
    closed_after(started, closed, HEADER_READ);
    assert!(received.is_empty(), "closed without an answer");

    // Half a head is no better.
    let mut partial = connect(sandbox.address());
    let started = Instant::now();
    partial
        .write_all(b"GET /api/databases HTTP/1.1\r\nHost: sandbox\r\nX-Slow: ")
        .expect("sends");
    let (_, closed) = read_until_closed(&mut partial);
    closed_after(started, closed, HEADER_READ);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_header_read_limit() {
    let sandbox = sandbox(1024).await;
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let mut stream = connect(sandbox.address());
    // The limit counts from when the answer is written, which is after this.
    let sent = Instant::now();
    stream
        .write_all(
            format!(
                "GET /api/databases/{DEFAULT_DATABASE}/users HTTP/1.1\r\nHost: sandbox\r\n\
                 Authorization: Bearer {token}\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("sends");
    let answer = read_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let (more, closed) = read_until_closed(&mut stream);
    assert!(more.is_empty(), "nothing more was asked");
    closed_after(sent, closed, HEADER_READ);
}

/// Reads one whole answer (head, and a body of its `content-length`), leaving the connection
/// open.
#[track_caller]
fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|length| length.trim().parse::<usize>().ok())
                .unwrap_or_else(|| panic!("no content-length: {head}"));
            if body.len() >= length {
                return text;
            }
        }
        let n = stream.read(&mut buffer).expect("the answer comes");
        assert!(n > 0, "closed before the whole answer: {text}");
        received.extend_from_slice(&buffer[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_408_and_the_connection_closed() {
    let sandbox = sandbox(1024).await;
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let mut stream = connect(sandbox.address());
    let started = Instant::now();
    stream
        .write_all(
            format!(
                "POST /api/databases/{DEFAULT_DATABASE}/users HTTP/1.1\r\nHost: sandbox\r\n\
                 Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
                 Content-Length: 100\r\n\r\n{{\"database_user\":"
            )
            .as_bytes(),
        )
        .expect("sends");
    let (received, closed) = read_until_closed(&mut stream);
    closed_after(started, closed, IDLE);
    let answer = String::from_utf8_lossy(&received);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout"),
        "{answer}"
    );
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(
        answer.ends_with(
            r#"{"error":"the request body stopped arriving: no byte of it came for 300 ms"}"#
        ),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_nobody_reads_ends_the_connection_after_the_idle_limit() {
    const ARCHIVE: u64 = 32 * 1024 * 1024;
    let sandbox = sandbox(ARCHIVE).await;
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let http = reqwest::Client::new();
    let api = sandbox.database_api_url();
    let backups: serde_json::Value = http
        .get(format!("{api}/databases/{DEFAULT_DATABASE}/backups"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    let backup = backups["database_backups"][0]["id"]
        .as_str()
        .expect("a backup");
    let link: serde_json::Value = http
        .get(format!(
            "{api}/databases/{DEFAULT_DATABASE}/backups/{backup}/archive"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    let link = link["download_url"].as_str().expect("a link");
    let path = link
        .strip_prefix(&sandbox.base_url())
        .expect("on the sandbox");

    let mut stream = connect(sandbox.address());
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: sandbox\r\n\r\n").as_bytes())
        .expect("sends");
    // Read nothing while the sandbox fills the buffers and waits past its idle limit.
    std::thread::sleep(IDLE * 2);
    let (received, _) = read_until_closed(&mut stream);
    let head = String::from_utf8_lossy(&received[..received.len().min(17)]).into_owned();
    assert_eq!(head, "HTTP/1.1 200 OK\r\n");
    assert!(
        (received.len() as u64) < ARCHIVE,
        "the sandbox gave up on the reader: {} of {ARCHIVE} bytes came",
        received.len()
    );
}
