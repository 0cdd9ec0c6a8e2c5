//! A sandbox with `archive_from`, on loopback: a backup's archive is the named dump, packed as
//! the platform packs it, and its `size`, `Range`, `If-Range` and `ETag` behave as they do for
//! generated archives; types no source names keep generated archives, and a saved state's
//! backups serve what the current configuration names.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, RANGE};
use scalingo_db_sandbox::archive::Archive;
use scalingo_db_sandbox::{
    ArchiveSource, DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, DatabaseType, Sandbox, SandboxConfig,
};
use serde_json::Value;

/// How long one request may take before the test fails rather than hangs.
const BOUND: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(BOUND)
        .build()
        .expect("an HTTP client")
}

/// `len` bytes that gzip cannot shrink much, so the archive spans several 64 KiB chunks.
fn dump_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A sandbox whose PostgreSQL backups serve `dump`.
async fn sandbox_serving(dump: &Path) -> Sandbox {
    Sandbox::start(SandboxConfig {
        archive_from: vec![ArchiveSource::new(Some(DatabaseType::Postgresql), dump)],
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts")
}

/// The JSON answer of `GET /databases/{database}/backups{path}`, with a token of `database`.
async fn backups_api(sandbox: &Sandbox, database: &str, path: &str) -> Value {
    client()
        .get(format!(
            "{}/databases/{database}/backups{path}",
            sandbox.database_api_url()
        ))
        .bearer_auth(sandbox.database_token(database))
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("JSON")
}

/// The seeded (done) backup of `database`: its id and `size`.
async fn done_backup(sandbox: &Sandbox, database: &str) -> (String, u64) {
    let listed = backups_api(sandbox, database, "").await;
    let backup = &listed["database_backups"][0];
    assert_eq!(backup["status"], "done", "{listed}");
    (
        backup["id"].as_str().expect("an id").to_owned(),
        backup["size"].as_u64().expect("a size"),
    )
}

/// The `size` of `database`'s backup `id`, which must be done.
async fn size_of(sandbox: &Sandbox, database: &str, id: &str) -> u64 {
    let shown = backups_api(sandbox, database, &format!("/{id}")).await;
    assert_eq!(shown["database_backup"]["status"], "done", "{shown}");
    shown["database_backup"]["size"].as_u64().expect("a size")
}

/// The download link of `database`'s backup `id`.
async fn download_url(sandbox: &Sandbox, database: &str, id: &str) -> String {
    let answer = backups_api(sandbox, database, &format!("/{id}/archive")).await;
    answer["download_url"]
        .as_str()
        .unwrap_or_else(|| panic!("a link: {answer}"))
        .to_owned()
}

/// GET `url` with `headers`: the status, the `ETag`, the `Content-Range` and the body.
async fn get(url: &str, headers: &[(&str, &str)]) -> (StatusCode, String, String, Vec<u8>) {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the sandbox answers");
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("text").to_owned())
            .unwrap_or_default()
    };
    let (etag, range, length) = (header(ETAG), header(CONTENT_RANGE), header(CONTENT_LENGTH));
    let body = response.bytes().await.expect("the whole body").to_vec();
    assert_eq!(length, body.len().to_string(), "Content-Length");
    (status, etag, range, body)
}

/// The one member of a `.tar.gz`: its path and content.
fn only_member(archive: &[u8]) -> (String, Vec<u8>) {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut entries = tar.entries().expect("a tar");
    let mut entry = entries.next().expect("a member").expect("a valid member");
    let path = entry.path().expect("a path").display().to_string();
    let mut content = Vec::new();
    entry.read_to_end(&mut content).expect("its content");
    drop(entry);
    assert!(entries.next().is_none(), "one member only");
    (path, content)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_serves_the_packed_dump_with_its_size_ranges_and_if_range() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let dump = dir.path().join("shop.pgdump");
    let content = dump_bytes(200_000);
    std::fs::write(&dump, &content).expect("write the dump");
    let sandbox = sandbox_serving(&dump).await;

    let (id, size) = done_backup(&sandbox, DEFAULT_DATABASE).await;
    let url = download_url(&sandbox, DEFAULT_DATABASE, &id).await;
    let (status, etag, _, whole) = get(&url, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        whole.len() as u64,
        size,
        "the backup's size is the served length"
    );
    assert!(size > 3 * 64 * 1024, "several chunks: {size}");
    assert_eq!(only_member(&whole), ("shop.pgdump".to_owned(), content));
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );

    // A range in the middle, across chunk boundaries.
    let (status, ranged_etag, range, part) =
        get(&url, &[(RANGE.as_str(), "bytes=65000-140000")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range, format!("bytes 65000-140000/{size}"));
    assert_eq!(part, &whole[65_000..140_001]);
    assert_eq!(ranged_etag, etag);

    // A resume that names this archive gets its range; one that names another gets it whole.
    let (status, _, _, part) = get(
        &url,
        &[
            (RANGE.as_str(), "bytes=100000-"),
            (IF_RANGE.as_str(), &etag),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, &whole[100_000..]);
    let other = "\"00000000000000000000000000000000\"";
    let (status, _, range, all) = get(
        &url,
        &[
            (RANGE.as_str(), "bytes=100000-"),
            (IF_RANGE.as_str(), other),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(range.is_empty(), "{range}");
    assert_eq!(all, whole);

    let past = format!("bytes={size}-");
    let (status, _, range, _) = get(&url, &[(RANGE.as_str(), &past)]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(range, format!("bytes */{size}"));

    // A type no source names keeps its generated archive.
    let (redis_id, redis_size) = done_backup(&sandbox, DEFAULT_REDIS_DATABASE).await;
    assert_eq!(
        redis_size,
        Archive::len_for(SandboxConfig::default().archive_size)
    );
    let redis_url = download_url(&sandbox, DEFAULT_REDIS_DATABASE, &redis_id).await;
    let (_, redis_etag, _, redis_archive) = get(&redis_url, &[]).await;
    assert_eq!(redis_archive.len() as u64, redis_size);
    assert_eq!(only_member(&redis_archive).0, "backup.dump");
    assert_ne!(redis_etag, etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sandbox_serves_the_same_bytes_and_a_saved_backup_follows_the_configuration() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let dump = dir.path().join("shop.pgdump");
    std::fs::write(&dump, dump_bytes(10_000)).expect("write the dump");
    let first = sandbox_serving(&dump).await;
    let (id, size) = done_backup(&first, DEFAULT_DATABASE).await;
    let (_, etag, _, bytes) = get(&download_url(&first, DEFAULT_DATABASE, &id).await, &[]).await;
    let saved = first.state();
    first.shutdown().await;

    // The same dump, packed again by another sandbox: the same archive, so a resume across a
    // restart still holds.
    let second = Sandbox::start(SandboxConfig {
        archive_from: vec![ArchiveSource::new(Some(DatabaseType::Postgresql), &dump)],
        state: Some(saved.clone()),
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts");
    assert_eq!(size_of(&second, DEFAULT_DATABASE, &id).await, size);
    let url = download_url(&second, DEFAULT_DATABASE, &id).await;
    let (status, again_etag, _, again) = get(
        &url,
        &[(RANGE.as_str(), "bytes=0-"), (IF_RANGE.as_str(), &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!((again_etag, again), (etag.clone(), bytes));
    second.shutdown().await;

    // The same saved backup, without the source: a generated archive, under another tag, so a
    // resume of the packed one gets the whole new archive.
    let third = Sandbox::start(SandboxConfig {
        state: Some(saved),
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts");
    let generated_size = size_of(&third, DEFAULT_DATABASE, &id).await;
    assert_eq!(
        generated_size,
        Archive::len_for(SandboxConfig::default().archive_size)
    );
    let url = download_url(&third, DEFAULT_DATABASE, &id).await;
    let (status, generated_etag, _, generated) = get(
        &url,
        &[(RANGE.as_str(), "bytes=10-"), (IF_RANGE.as_str(), &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(generated_etag, etag);
    assert_eq!(generated.len() as u64, generated_size);
}

#[tokio::test]
async fn sources_that_break_a_rule_are_refused_before_listening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let dump = dir.path().join("shop.sql");
    std::fs::write(&dump, "SELECT 1;\n").expect("write the dump");
    let twice = ArchiveSource::new(Some(DatabaseType::Mysql), &dump);
    for (archive_from, rule) in [
        (
            vec![ArchiveSource::new(None, dir.path().join("missing.sql"))],
            "does not exist",
        ),
        (vec![twice.clone(), twice], "the type mysql is given twice"),
    ] {
        let error = Sandbox::start(SandboxConfig {
            archive_from,
            ..SandboxConfig::default()
        })
        .await
        .expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains(rule), "{error}");
    }
}
