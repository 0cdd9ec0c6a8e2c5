//! The backups operations of the facade against the in-process sandbox: listing order, the
//! scheduled → running → done lifecycle and the one-backup-at-a-time rule, archive links and
//! their tokens (bound to one backup, expiring), the flat path of `get_backup_by_id` (the token's
//! database only), and downloads: a valid `.tar.gz`, resumed with
//! `Range` at any offset, 416 past the end.
//!
//! The sandbox runs on a manual clock that the tests move: a backup's phases and a link's
//! lifetime pass when a test says, to the millisecond, with no sleep.

use std::io::Read as _;
use std::time::Duration;

use crate::support::{SharedClock, manual_clock, sandbox_builder};
use scalingo_db::{ArchiveUrl, Backup, BackupMethod, BackupStatus, Database, Error};
use scalingo_db_sandbox::{DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, Sandbox, SandboxConfig};

/// A small archive, so downloads stay fast.
const ARCHIVE_SIZE: u64 = 256 * 1024;

/// A sandbox started with `config` on a manual clock, and a client of [`DEFAULT_DATABASE`] that
/// reads the same clock.
async fn start(config: SandboxConfig) -> (Sandbox, Database) {
    let sandbox = Sandbox::start(SandboxConfig {
        clock: manual_clock(),
        ..config
    })
    .await
    .expect("sandbox starts");
    let db = sandbox_builder(&sandbox)
        .clock(SharedClock::of(&sandbox))
        .build()
        .expect("valid client settings")
        .database(DEFAULT_DATABASE);
    (sandbox, db)
}

fn small_archives() -> SandboxConfig {
    SandboxConfig {
        archive_size: ARCHIVE_SIZE,
        ..SandboxConfig::default()
    }
}

async fn download(db: &Database, link: &ArchiveUrl, from: u64) -> (Option<u64>, Vec<u8>) {
    let mut stream = db
        .backups()
        .open_archive_from(link, from)
        .await
        .expect("open the archive");
    let announced = stream.content_length();
    let mut bytes = Vec::new();
    // Bounded: the sandbox never sends more than the archive, in 64 KiB chunks.
    for _ in 0..1024 {
        match stream.chunk().await.expect("read a chunk") {
            Some(chunk) => bytes.extend_from_slice(&chunk),
            None => return (announced, bytes),
        }
    }
    panic!("the download did not end");
}

fn seeded(backups: &[Backup]) -> &Backup {
    backups
        .iter()
        .find(|backup| backup.method == Some(BackupMethod::Periodic))
        .expect("the seeded periodic backup")
}

#[tokio::test]
async fn list_is_newest_first_and_create_answers_scheduled_even_when_instant() {
    let (sandbox, db) = start(small_archives()).await;

    let backups = db.backups().list().await.expect("list");
    assert_eq!(backups.len(), 1);
    let periodic = backups[0].clone();
    assert_eq!(periodic.method, Some(BackupMethod::Periodic));
    assert_eq!(periodic.status, BackupStatus::Done);
    assert!(periodic.started_at.is_some());
    assert_eq!(
        periodic.created_at,
        sandbox.clock().now() - chrono::TimeDelta::hours(20),
        "the periodic backup was taken 20 h before the sandbox started"
    );
    let archive_len = periodic.size.expect("a done backup has a size");
    assert!(
        archive_len > 0 && archive_len as u64 <= ARCHIVE_SIZE,
        "{archive_len}"
    );

    let created = db.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);
    assert_eq!(created.started_at, None);
    assert_eq!(created.size, None);
    assert_eq!(created.method, Some(BackupMethod::Manual));
    assert_ne!(created.id, periodic.id);
    assert_eq!(created.created_at, sandbox.clock().now());
    assert!(created.created_at > periodic.created_at);
    let default_user = db
        .users()
        .list()
        .await
        .expect("users")
        .into_iter()
        .find(|user| user.protected)
        .expect("the protected user")
        .name;
    assert_eq!(
        created.name,
        format!("20260301120000_{default_user}"),
        "backups are named after their time and the default user"
    );

    let backups = db.backups().list().await.expect("list");
    let ids: Vec<&str> = backups.iter().map(|backup| backup.id.as_str()).collect();
    assert_eq!(ids, vec![created.id.as_str(), periodic.id.as_str()]);
    assert_eq!(backups[1], periodic, "the older backup is unchanged");

    // Not a moment has passed on the sandbox's clock: with no delays, the backup is done at once.
    let shown = db.backups().get(&created.id).await.expect("get");
    assert_eq!(shown.id, created.id);
    assert_eq!(shown.status, BackupStatus::Done);
    assert_eq!(shown.method, Some(BackupMethod::Manual));
    assert_eq!(
        shown.size,
        Some(archive_len),
        "same size setting, same length"
    );
    assert_eq!(shown.created_at, created.created_at);
    assert_eq!(
        shown.started_at,
        Some(created.created_at),
        "no scheduled delay"
    );
    assert_eq!(shown.database_id, periodic.database_id);
}

/// Checks what the sandbox shows of `backup` in each status.
fn assert_consistent(backup: &Backup) {
    match backup.status {
        BackupStatus::Scheduled => {
            assert_eq!(backup.started_at, None);
            assert_eq!(backup.size, None);
        }
        BackupStatus::Running => {
            assert!(backup.started_at.is_some());
            assert_eq!(backup.size, None);
        }
        BackupStatus::Done => {
            assert!(backup.started_at.is_some());
            assert!(backup.size.is_some_and(|size| size > 0));
        }
        ref other => panic!("unexpected status {other}"),
    }
}

/// Asks for another backup while one is under way: refused with the service's words.
async fn assert_busy(db: &Database, when: &str) {
    match db.backups().create().await {
        Err(Error::Refused {
            status, message, ..
        }) => {
            assert_eq!(status, 400, "{when}");
            assert_eq!(message.as_deref(), Some("A backup is running"), "{when}");
        }
        other => panic!("{when}: expected `A backup is running`, got {other:?}"),
    }
}

#[tokio::test]
async fn a_backup_goes_scheduled_running_done_and_only_one_runs_at_a_time() {
    const SCHEDULED: Duration = Duration::from_secs(2);
    const RUNNING: Duration = Duration::from_secs(3);
    const TICK: Duration = Duration::from_millis(1);
    let (sandbox, db) = start(SandboxConfig {
        backup_scheduled_for: SCHEDULED,
        backup_running_for: RUNNING,
        ..small_archives()
    })
    .await;
    let clock = sandbox.clock();

    let created = db.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);

    match db.backups().archive_url(&created.id).await {
        Err(Error::Refused {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            let message = message.unwrap_or_default();
            assert!(message.contains("only a done backup"), "{message}");
        }
        other => panic!("expected a 400 for a backup not done, got {other:?}"),
    }

    // Each phase seen at its first and last millisecond; no other backup may start meanwhile.
    let mut seen: Vec<BackupStatus> = Vec::new();
    let mut refused_while_busy = 0;
    let steps = [
        (Duration::ZERO, BackupStatus::Scheduled),
        (SCHEDULED - TICK, BackupStatus::Scheduled),
        (TICK, BackupStatus::Running),
        (RUNNING - TICK, BackupStatus::Running),
        (TICK, BackupStatus::Done),
    ];
    for (advance, expected) in steps {
        clock.advance(advance);
        let elapsed = clock.now() - created.created_at;
        let backup = db.backups().get(&created.id).await.expect("get");
        assert_eq!(backup.status, expected, "{elapsed} after the request");
        assert_consistent(&backup);
        if backup.status != BackupStatus::Scheduled {
            assert_eq!(
                backup.started_at,
                Some(created.created_at + SCHEDULED),
                "it started when its scheduled phase ended"
            );
        }
        if seen.last() != Some(&backup.status) {
            seen.push(backup.status.clone());
        }
        if backup.status != BackupStatus::Done {
            assert_busy(&db, &format!("{elapsed} after the request")).await;
            refused_while_busy += 1;
        }
    }
    assert_eq!(
        seen,
        vec![
            BackupStatus::Scheduled,
            BackupStatus::Running,
            BackupStatus::Done
        ]
    );
    assert_eq!(refused_while_busy, 4);

    let next = db
        .backups()
        .create()
        .await
        .expect("a backup may start once the previous one is done");
    assert_eq!(next.status, BackupStatus::Scheduled);
    let backups = db.backups().list().await.expect("list");
    assert_eq!(backups.len(), 3, "the refused requests created nothing");
    assert_eq!(backups[0].id, next.id);
    assert_eq!(backups[1].id, created.id);
    assert_eq!(backups[1].status, BackupStatus::Done);
}

#[tokio::test]
async fn a_done_backup_downloads_as_a_valid_tar_gz_from_the_sandbox_itself() {
    let (sandbox, db) = start(small_archives()).await;
    let backups = db.backups().list().await.expect("list");
    let backup = seeded(&backups);
    let size = backup.size.expect("size") as u64;

    let link = db
        .backups()
        .archive_url(&backup.id)
        .await
        .expect("archive link");
    let url = link.expose();
    assert!(
        url.starts_with(&format!("{}/", sandbox.base_url())),
        "the link points at the sandbox: {url}"
    );
    assert!(url.contains(&backup.id) && url.contains("token="), "{url}");
    let token = url.split("token=").nth(1).expect("a token");
    assert!(!token.is_empty());
    assert!(
        !format!("{link:?}").contains(token),
        "Debug hides the token"
    );

    let (announced, bytes) = download(&db, &link, 0).await;
    assert_eq!(announced, Some(size));
    assert_eq!(bytes.len() as u64, size);

    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let mut entries: Vec<(String, u64, usize)> = Vec::new();
    for entry in archive.entries().expect("a tar stream") {
        let mut entry = entry.expect("a tar entry");
        let path = entry.path().expect("a path").display().to_string();
        let declared = entry.header().size().expect("a size");
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .expect("the entry reads whole");
        entries.push((path, declared, content.len()));
    }
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (path, declared, read) = &entries[0];
    assert_eq!(path, "backup.dump");
    assert_eq!(*declared as usize, *read);
    assert!(*read > 0);

    // The same link can be used again, and gives the same bytes.
    let (_, again) = download(&db, &link, 0).await;
    assert_eq!(again, bytes);
}

#[tokio::test]
async fn a_download_resumes_at_any_offset_and_refuses_past_the_end() {
    let (_sandbox, db) = start(small_archives()).await;
    let backups = db.backups().list().await.expect("list");
    let backup = seeded(&backups);
    let link = db
        .backups()
        .archive_url(&backup.id)
        .await
        .expect("archive link");
    let (_, full) = download(&db, &link, 0).await;
    let len = full.len() as u64;

    for offset in [1, 10, 511, 65_540, 100_000, len - 8, len - 1] {
        let (announced, suffix) = download(&db, &link, offset).await;
        assert_eq!(announced, Some(len - offset), "offset {offset}");
        assert!(
            suffix == full[offset as usize..],
            "offset {offset}: {} bytes differ from the suffix",
            suffix.len()
        );
    }

    for offset in [len, len + 1, u64::MAX / 2] {
        match db.backups().open_archive_from(&link, offset).await {
            Err(Error::Refused {
                status, message, ..
            }) => {
                assert_eq!(status, 416, "offset {offset}");
                assert_eq!(
                    message,
                    Some(format!("the archive has {len} bytes")),
                    "offset {offset}"
                );
            }
            other => panic!("offset {offset}: expected a 416, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_link_token_opens_only_its_own_backup() {
    let (sandbox, db) = start(small_archives()).await;
    let created = db.backups().create().await.expect("create");
    let backups = db.backups().list().await.expect("list");
    let periodic = seeded(&backups);

    let link = db
        .backups()
        .archive_url(&periodic.id)
        .await
        .expect("archive link");
    let original = link.expose().to_owned();
    let altered = original.replace(&periodic.id, &created.id);
    assert_ne!(altered, original);

    let http = reqwest::Client::new();
    let response = http.get(&altered).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.expect("a JSON error");
    assert_eq!(
        body["error"], "this token is not valid for this resource",
        "{body}"
    );

    let without_token = original.split('?').next().unwrap_or_default().to_owned();
    let response = http.get(&without_token).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 401);

    // Neither a database token nor a made-up one opens an archive.
    for token in [
        sandbox.database_token(DEFAULT_DATABASE),
        "not-a-link-token".to_owned(),
    ] {
        let response = http
            .get(format!("{without_token}?token={token}"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 401);
    }

    let response = http.get(&original).send().await.expect("an answer");
    assert_eq!(response.status().as_u16(), 200, "the unaltered link works");
}

#[tokio::test]
async fn a_link_expires_at_the_end_of_its_lifetime_and_a_fresh_one_works() {
    const LIFETIME: Duration = Duration::from_secs(60);
    let (sandbox, db) = start(SandboxConfig {
        archive_link_lifetime: LIFETIME,
        ..small_archives()
    })
    .await;
    let backups = db.backups().list().await.expect("list");
    let backup = seeded(&backups);
    let old = db
        .backups()
        .archive_url(&backup.id)
        .await
        .expect("archive link");
    let (_, bytes) = download(&db, &old, 0).await;

    // Still valid a millisecond before its lifetime ends...
    sandbox.clock().advance(LIFETIME - Duration::from_millis(1));
    let (_, before_the_end) = download(&db, &old, 0).await;
    assert_eq!(before_the_end, bytes);

    // ...and refused from then on.
    sandbox.clock().advance(Duration::from_millis(1));
    match db.backups().open_archive(&old).await {
        Err(Error::Unauthorized { message, .. }) => {
            assert_eq!(message.as_deref(), Some("token expired"));
        }
        other => panic!("expected a 401 for an expired link, got {other:?}"),
    }
    let fresh = db
        .backups()
        .archive_url(&backup.id)
        .await
        .expect("a fresh link");
    assert_ne!(fresh, old);
    let (_, again) = download(&db, &fresh, 0).await;
    assert_eq!(again, bytes);
}

#[tokio::test]
async fn an_unknown_backup_is_not_found() {
    let (_sandbox, db) = start(small_archives()).await;
    let unknown = "000000000000000000000000";

    let outcomes = [
        ("get", db.backups().get(unknown).await.err()),
        ("archive_url", db.backups().archive_url(unknown).await.err()),
    ];
    for (action, error) in outcomes {
        match error {
            Some(Error::NotFound { resource, .. }) => {
                assert_eq!(resource.as_deref(), Some("database_backup"), "{action}");
            }
            other => panic!("{action}: expected a 404, got {other:?}"),
        }
    }
}

/// `GET <path>` on the sandbox's Database API with `token`: the status and the body.
async fn raw_get(sandbox: &Sandbox, path: &str, token: &str) -> (u16, serde_json::Value) {
    let answer = reqwest::Client::new()
        .get(format!("{}{path}", sandbox.database_api_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("the sandbox answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn a_backup_is_shown_on_the_flat_path_for_its_own_databases_token_only() {
    let (sandbox, db) = start(SandboxConfig::default()).await;
    let backup = db.backups().list().await.expect("list").remove(0);
    let own = sandbox.database_token(DEFAULT_DATABASE);

    // The flat path Scalingo's CLI uses, and the nested one of the JavaScript client: the same
    // backup in the same envelope.
    let (status, flat) = raw_get(&sandbox, &format!("/backups/{}", backup.id), &own).await;
    assert_eq!(status, 200, "{flat}");
    assert_eq!(flat["database_backup"]["id"], backup.id.as_str());
    let nested = format!("/databases/{DEFAULT_DATABASE}/backups/{}", backup.id);
    assert_eq!(raw_get(&sandbox, &nested, &own).await, (200, flat));

    // Another database's token: not found, as if the backup did not exist.
    let (status, body) = raw_get(
        &sandbox,
        &format!("/backups/{}", backup.id),
        &sandbox.database_token(DEFAULT_REDIS_DATABASE),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["resource"], "database_backup");

    // No token, or one that is not a database's: refused.
    let (status, _) = raw_get(&sandbox, &format!("/backups/{}", backup.id), "nonsense").await;
    assert_eq!(status, 401);
}
