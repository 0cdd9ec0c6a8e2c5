//! The backups operations of the facade against the in-process sandbox: listing order, the
//! scheduled → running → done lifecycle and the one-backup-at-a-time rule, archive links and
//! their tokens (bound to one backup, expiring), and downloads: a valid `.tar.gz`, resumed with
//! `Range` at any offset, 416 past the end.

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::support::sandbox_builder;
use scalingo_db::{ArchiveLink, Backup, BackupMethod, BackupStatus, Client, Error};
use scalingo_db_sandbox::{DEFAULT_DATABASE, Sandbox, SandboxConfig};

/// A small archive, so downloads stay fast.
const ARCHIVE_SIZE: u64 = 256 * 1024;

/// A sandbox started with `config` and a client of [`DEFAULT_DATABASE`].
async fn start(config: SandboxConfig) -> (Sandbox, Client) {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let client = sandbox_builder(&sandbox)
        .build()
        .expect("valid client settings");
    (sandbox, client)
}

fn small_archives() -> SandboxConfig {
    SandboxConfig {
        archive_size: ARCHIVE_SIZE,
        ..SandboxConfig::default()
    }
}

async fn download(client: &Client, link: &ArchiveLink, from: u64) -> (Option<u64>, Vec<u8>) {
    let mut stream = client
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
    let (_sandbox, client) = start(small_archives()).await;

    let backups = client.backups().list().await.expect("list");
    assert_eq!(backups.len(), 1);
    let periodic = backups[0].clone();
    assert_eq!(periodic.method, Some(BackupMethod::Periodic));
    assert_eq!(periodic.status, BackupStatus::Done);
    assert!(periodic.started_at.is_some());
    let archive_len = periodic.size.expect("a done backup has a size");
    assert!(
        archive_len > 0 && archive_len as u64 <= ARCHIVE_SIZE,
        "{archive_len}"
    );

    let created = client.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);
    assert_eq!(created.started_at, None);
    assert_eq!(created.size, None);
    assert_eq!(created.method, Some(BackupMethod::Manual));
    assert_ne!(created.id, periodic.id);
    assert!(created.created_at > periodic.created_at);
    let default_user = client
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
        format!(
            "{}_{default_user}",
            created.created_at.format("%Y%m%d%H%M%S")
        ),
        "backups are named after their time and the default user"
    );

    let backups = client.backups().list().await.expect("list");
    let ids: Vec<&str> = backups.iter().map(|backup| backup.id.as_str()).collect();
    assert_eq!(ids, vec![created.id.as_str(), periodic.id.as_str()]);
    assert_eq!(backups[1], periodic, "the older backup is unchanged");

    let shown = client.backups().get(&created.id).await.expect("get");
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

#[tokio::test]
async fn a_backup_goes_scheduled_running_done_and_only_one_runs_at_a_time() {
    // Each phase lasts many times what one round of the loop below takes, even on a loaded
    // machine, so that every phase is seen.
    const PHASE: Duration = Duration::from_secs(1);
    let (_sandbox, client) = start(SandboxConfig {
        backup_scheduled_for: PHASE,
        backup_running_for: PHASE,
        ..small_archives()
    })
    .await;

    let asked = Instant::now();
    let created = client.backups().create().await.expect("create");
    assert_eq!(created.status, BackupStatus::Scheduled);
    // The backup is busy for two phases from when the sandbox received the request, so at least
    // until `asked + 2 * PHASE`. Another is asked for until half a phase before that, so that the
    // refusal does not race the backup's end (a request takes far less than half a phase).
    let surely_busy_until = asked + 2 * PHASE - PHASE / 2;

    match client.backups().archive_link(&created.id).await {
        Err(Error::Refused { status, message }) => {
            assert_eq!(status.as_u16(), 400);
            let message = message.unwrap_or_default();
            assert!(message.contains("only a done backup"), "{message}");
        }
        other => panic!("expected a 400 for a backup not done, got {other:?}"),
    }

    let mut seen: Vec<BackupStatus> = Vec::new();
    let mut refused_while_busy = 0;
    let deadline = Instant::now() + 10 * PHASE;
    loop {
        let backup = client.backups().get(&created.id).await.expect("get");
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
                assert!(backup.size.is_some());
            }
            ref other => panic!("unexpected status {other}"),
        }
        let status = backup.status.clone();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == BackupStatus::Done {
            break;
        }
        // While one is scheduled or running, no other may start.
        if Instant::now() < surely_busy_until {
            match client.backups().create().await {
                Err(Error::Refused { status, message }) => {
                    assert_eq!(status.as_u16(), 400);
                    assert_eq!(message.as_deref(), Some("A backup is running"));
                    refused_while_busy += 1;
                }
                other => panic!("expected `A backup is running`, got {other:?}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "the backup is not done after {:?}: {seen:?}",
            10 * PHASE
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(
        seen,
        vec![
            BackupStatus::Scheduled,
            BackupStatus::Running,
            BackupStatus::Done
        ]
    );
    assert!(refused_while_busy >= 2, "{refused_while_busy}");

    let next = client
        .backups()
        .create()
        .await
        .expect("a backup may start once the previous one is done");
    assert_eq!(next.status, BackupStatus::Scheduled);
    let backups = client.backups().list().await.expect("list");
    assert_eq!(backups.len(), 3, "the refused requests created nothing");
    assert_eq!(backups[0].id, next.id);
    assert_eq!(backups[1].id, created.id);
}

#[tokio::test]
async fn a_done_backup_downloads_as_a_valid_tar_gz_from_the_sandbox_itself() {
    let (sandbox, client) = start(small_archives()).await;
    let backups = client.backups().list().await.expect("list");
    let backup = seeded(&backups);
    let size = backup.size.expect("size") as u64;

    let link = client
        .backups()
        .archive_link(&backup.id)
        .await
        .expect("archive link");
    let url = link.expose_url();
    assert!(
        url.starts_with(&format!("{}/", sandbox.base_url())),
        "the link points at the sandbox: {url}"
    );
    assert!(url.contains(&backup.id) && url.contains("token="), "{url}");
    assert!(
        !format!("{link:?}").contains(url.split("token=").nth(1).unwrap_or("-")),
        "Debug hides the token"
    );

    let (announced, bytes) = download(&client, &link, 0).await;
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
    let (_, again) = download(&client, &link, 0).await;
    assert_eq!(again, bytes);
}

#[tokio::test]
async fn a_download_resumes_at_any_offset_and_refuses_past_the_end() {
    let (_sandbox, client) = start(small_archives()).await;
    let backups = client.backups().list().await.expect("list");
    let backup = seeded(&backups);
    let link = client
        .backups()
        .archive_link(&backup.id)
        .await
        .expect("archive link");
    let (_, full) = download(&client, &link, 0).await;
    let len = full.len() as u64;

    for offset in [1, 10, 511, 65_540, 100_000, len - 8, len - 1] {
        let (announced, suffix) = download(&client, &link, offset).await;
        assert_eq!(announced, Some(len - offset), "offset {offset}");
        assert!(
            suffix == full[offset as usize..],
            "offset {offset}: {} bytes differ from the suffix",
            suffix.len()
        );
    }

    for offset in [len, len + 1, u64::MAX / 2] {
        match client.backups().open_archive_from(&link, offset).await {
            Err(Error::Refused { status, message }) => {
                assert_eq!(status.as_u16(), 416, "offset {offset}");
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
    let (sandbox, client) = start(small_archives()).await;
    let created = client.backups().create().await.expect("create");
    let backups = client.backups().list().await.expect("list");
    let periodic = seeded(&backups);

    let link = client
        .backups()
        .archive_link(&periodic.id)
        .await
        .expect("archive link");
    let original = link.expose_url().to_owned();
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
async fn a_link_expires_and_a_fresh_one_works() {
    let (_sandbox, client) = start(SandboxConfig {
        archive_link_lifetime: Duration::from_secs(1),
        ..small_archives()
    })
    .await;
    let backups = client.backups().list().await.expect("list");
    let backup = seeded(&backups);
    let old = client
        .backups()
        .archive_link(&backup.id)
        .await
        .expect("archive link");
    let (_, bytes) = download(&client, &old, 0).await;

    tokio::time::sleep(Duration::from_millis(1200)).await;

    match client.backups().open_archive(&old).await {
        Err(Error::Unauthorized { message }) => {
            assert_eq!(message.as_deref(), Some("token expired"));
        }
        other => panic!("expected a 401 for an expired link, got {other:?}"),
    }
    let fresh = client
        .backups()
        .archive_link(&backup.id)
        .await
        .expect("a fresh link");
    assert_ne!(fresh, old);
    let (_, again) = download(&client, &fresh, 0).await;
    assert_eq!(again, bytes);
}

#[tokio::test]
async fn an_unknown_backup_is_not_found() {
    let (_sandbox, client) = start(small_archives()).await;
    let unknown = "000000000000000000000000";

    let outcomes = [
        ("get", client.backups().get(unknown).await.err()),
        (
            "archive_link",
            client.backups().archive_link(unknown).await.err(),
        ),
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
