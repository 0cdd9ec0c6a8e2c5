//! The emulated object-storage link of archive downloads, on real loopback connections: a
//! download of N bytes at a rate R takes about N / R, each of several connections at once gets
//! the whole rate, the answer's first byte comes a round trip (twice the one-way latency) after
//! the request, and the Database API's own answers are not slowed. Archives are small and rates
//! chosen so that each test takes well under a second and a half; the bounds are wide, for a
//! loaded machine, but each fails when the link is not emulated (or emulated for all at once).

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use scalingo_db_sandbox::{DEFAULT_DATABASE, Sandbox, SandboxConfig};

/// The size asked of the archives: small, for short tests (the archive is a little smaller).
const ARCHIVE_SIZE: u64 = 256 * 1024;
/// The rate of the tests: the archive in about 0.4 s.
const RATE: u64 = 640 * 1024;

async fn sandbox(rate: Option<u64>, latency: Duration) -> Sandbox {
    Sandbox::start(SandboxConfig {
        archive_size: ARCHIVE_SIZE,
        link_rate: rate.and_then(NonZeroU64::new),
        link_latency: latency,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts")
}

/// An HTTP client whose requests fail rather than hang.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// The archive link of the default database's periodic backup, from the Database API.
async fn archive_link(sandbox: &Sandbox, client: &reqwest::Client) -> String {
    let token = sandbox.database_token(DEFAULT_DATABASE);
    let api = format!(
        "{}/databases/{DEFAULT_DATABASE}",
        sandbox.database_api_url()
    );
    let json = |request: reqwest::RequestBuilder| async {
        let response = request.bearer_auth(&token).send().await.expect("answers");
        assert!(response.status().is_success(), "{response:?}");
        response.json::<serde_json::Value>().await.expect("JSON")
    };
    let backups = json(client.get(format!("{api}/backups"))).await;
    let backup = backups["database_backups"][0]["id"]
        .as_str()
        .expect("a backup");
    let archive = json(client.get(format!("{api}/backups/{backup}/archive"))).await;
    archive["download_url"].as_str().expect("a link").to_owned()
}

/// Downloads `link` whole: its size and how long it took.
async fn download(client: &reqwest::Client, link: &str) -> (usize, Duration) {
    let started = Instant::now();
    let response = client.get(link).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("the whole archive");
    (bytes.len(), started.elapsed())
}

/// The time a download of `len` bytes takes at [`RATE`].
fn at_rate(len: usize) -> Duration {
    Duration::from_secs_f64(len as f64 / RATE as f64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_takes_its_size_over_the_rate() {
    let sandbox = sandbox(Some(RATE), Duration::ZERO).await;
    let client = client();
    let link = archive_link(&sandbox, &client).await;
    let (len, elapsed) = download(&client, &link).await;
    let expected = at_rate(len);
    // Less the 20 ms burst a full bucket lets through; more for a loaded machine. Uncapped, the
    // download takes a few milliseconds.
    assert!(
        elapsed >= expected.mul_f64(0.8) && elapsed <= expected.mul_f64(2.5),
        "{len} bytes in {elapsed:?}, {expected:?} expected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_gets_the_whole_rate() {
    const CONNECTIONS: usize = 4;
    let sandbox = sandbox(Some(RATE), Duration::ZERO).await;
    let client = client();
    let link = archive_link(&sandbox, &client).await;
    let started = Instant::now();
    // HTTP/1.1 serves one request at a time on a connection: four at once are four connections.
    let downloads = (0..CONNECTIONS).map(|_| download(&client, &link));
    let done = futures_util::future::join_all(downloads).await;
    let elapsed = started.elapsed();
    let expected = at_rate(done[0].0);
    for (len, took) in &done {
        assert!(
            *took >= expected.mul_f64(0.8),
            "{len} bytes in {took:?}: over the rate"
        );
    }
    // One rate shared by all would take four times as long.
    assert!(
        elapsed <= expected.mul_f64(2.5),
        "{CONNECTIONS} downloads at once took {elapsed:?}, one alone {expected:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_answer_comes_a_round_trip_late_and_api_answers_do_not() {
    const LATENCY: Duration = Duration::from_millis(150);
    let sandbox = sandbox(None, LATENCY).await;
    let client = client();

    let started = Instant::now();
    let link = archive_link(&sandbox, &client).await;
    let api_calls = started.elapsed();
    assert!(
        api_calls < LATENCY,
        "two Database API calls took {api_calls:?}"
    );

    let started = Instant::now();
    let response = client.get(&link).send().await.expect("answers");
    let head = started.elapsed();
    assert_eq!(response.status(), 200);
    let round_trip = 2 * LATENCY;
    assert!(
        head >= round_trip && head < round_trip + Duration::from_millis(600),
        "the head came after {head:?}, a round trip is {round_trip:?}"
    );
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .expect("an ETag through the link")
        .clone();
    let whole = response.bytes().await.expect("the archive");

    // A resume through the link: the range of the same archive, a round trip late too.
    let started = Instant::now();
    let resumed = client
        .get(&link)
        .header(reqwest::header::RANGE, "bytes=1000-")
        .header(reqwest::header::IF_RANGE, etag)
        .send()
        .await
        .expect("answers");
    assert!(started.elapsed() >= round_trip, "{:?}", started.elapsed());
    assert_eq!(resumed.status(), 206);
    let rest = resumed.bytes().await.expect("the range");
    assert_eq!(rest, whole.slice(1000..));
}
