//! The backups operations on the wire, and the pre-signed archive download.

use httpmock::MockServer;
use scalingo_db::{BackupMethod, BackupStatus};
use scalingo_db_generated_httpmock::MockServerExt as _;
use serde_json::{Value, json};

use crate::support::{DB, api_headers, client};

const BACKUP_ID: &str = "5b8b36104ffb090be1ac3ce1";

fn backup_json(status: &str) -> Value {
    json!({
        "id": BACKUP_ID,
        "created_at": "2018-09-02T03:00:00.178+02:00",
        "started_at": null,
        "name": "20180902010000_my_app_4553",
        "size": null,
        "status": status,
        "database_id": "597601234ffb097af4f3099b",
        "method": "manual",
        "added_later": "ignored",
    })
}

fn shapes(backup: Value) -> [(&'static str, Value); 2] {
    [
        ("wrapped", json!({"database_backup": backup.clone()})),
        ("bare", backup),
    ]
}

#[tokio::test]
async fn list_keeps_the_order_and_accepts_unknown_statuses_and_methods() {
    let server = MockServer::start_async().await;
    let mock =
        server.list_backups(|when, then| {
            api_headers(when.database_id(DB).into_inner());
            then.into_inner().status(200).json_body(json!({"database_backups": [
            {"id": "c", "created_at": "2018-10-07T03:00:00.178+02:00",
             "started_at": "2018-10-07T03:00:05.000+02:00", "name": "20181007010000_db",
             "size": 1048576, "status": "done", "database_id": "x", "method": "periodic"},
            {"id": "b", "created_at": "2018-10-06T03:00:00+02:00", "name": "20181006010000_db",
             "status": "being-replicated", "method": "automated"},
            {"id": "a", "created_at": "2018-10-05T01:00:00Z", "name": "20181005010000_db",
             "size": 0, "status": "pending", "type": "postgresql"}
        ]}));
        });

    let backups = client(&server)
        .backups()
        .list()
        .await
        .expect("list backups");

    mock.assert_async().await;
    let ids: Vec<_> = backups.iter().map(|backup| backup.id.as_str()).collect();
    assert_eq!(
        ids,
        ["c", "b", "a"],
        "the service's order, newest first, is kept"
    );
    assert_eq!(backups[0].status, BackupStatus::Done);
    assert_eq!(backups[0].size, Some(1_048_576));
    assert_eq!(backups[0].method, Some(BackupMethod::Periodic));
    assert_eq!(
        backups[1].status,
        BackupStatus::Other("being-replicated".to_owned())
    );
    assert_eq!(
        backups[1].method,
        Some(BackupMethod::Other("automated".to_owned()))
    );
    assert_eq!(backups[2].status, BackupStatus::Pending);
    assert_eq!(backups[2].type_.as_deref(), Some("postgresql"));
    assert_eq!(
        backups[0].created_at.to_rfc3339(),
        "2018-10-07T01:00:00.178+00:00"
    );
}

#[tokio::test]
async fn create_posts_no_body_and_reads_both_shapes() {
    for (shape, answer) in shapes(backup_json("scheduled")) {
        let server = MockServer::start_async().await;
        let mock = server.create_backup(|when, then| {
            api_headers(
                when.into_inner()
                    .method("POST")
                    .path(format!("/databases/{DB}/backups")),
            )
            .body("");
            then.into_inner().status(201).json_body(answer.clone());
        });

        let backup = client(&server)
            .backups()
            .create()
            .await
            .unwrap_or_else(|err| panic!("{shape}: {err}"));

        mock.assert_async().await;
        assert_eq!(backup.id, BACKUP_ID, "{shape}");
        assert_eq!(backup.status, BackupStatus::Scheduled, "{shape}");
        assert_eq!(backup.started_at, None, "{shape}");
    }
}

#[tokio::test]
async fn create_reads_the_documentation_example() {
    let server = MockServer::start_async().await;
    server.create_backup(|when, then| {
        when.database_id(DB);
        then.into_inner().status(201).json_body(json!({
            "id": "5b8b36104ffb090be1ac3ce1",
            "created_at": "2019-07-18T03:00:00.178+02:00",
            "name": "20180902010000_kibana-3938",
            "size": 0,
            "status": "pending",
            "database_id": "597601234ffb097af4f3099b",
            "type": "postgresql"
        }));
    });

    let backup = client(&server).backups().create().await.expect("create");

    assert_eq!(backup.status, BackupStatus::Pending);
    assert_eq!(backup.method, None);
    assert_eq!(backup.size, Some(0));
}

#[tokio::test]
async fn get_shows_one_backup_in_both_shapes() {
    for (shape, answer) in shapes(backup_json("running")) {
        let server = MockServer::start_async().await;
        let mock = server.get_backup_by_id(|when, then| {
            api_headers(
                when.into_inner()
                    .method("GET")
                    .path(format!("/backups/{BACKUP_ID}")),
            );
            then.into_inner().status(200).json_body(answer.clone());
        });

        let backup = client(&server)
            .backups()
            .get(BACKUP_ID)
            .await
            .unwrap_or_else(|err| panic!("{shape}: {err}"));

        mock.assert_async().await;
        assert_eq!(backup.status, BackupStatus::Running, "{shape}");
    }
}

#[tokio::test]
async fn the_archive_url_is_fetched_and_downloaded_without_the_database_token() {
    let server = MockServer::start_async().await;
    let link_token = "presigned-SECRET-91";
    let download_url = server.url(format!(
        "/databases/{DB}/backups/{BACKUP_ID}/download?token={link_token}"
    ));
    let archive_url = server.get_backup_archive_url(|when, then| {
        api_headers(
            when.into_inner()
                .method("GET")
                .path(format!("/databases/{DB}/backups/{BACKUP_ID}/archive")),
        );
        then.into_inner()
            .status(200)
            .json_body(json!({"download_url": download_url}));
    });
    let archive: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let download = server.download_backup_archive(|when, then| {
        // The link's token is the `archiveLink` security scheme: a query parameter, which the
        // helper leaves to httpmock's own matcher.
        when.database_id(DB)
            .backup_id(BACKUP_ID)
            .into_inner()
            .query_param("token", link_token)
            .header_missing("authorization")
            .header_missing("range");
        then.into_inner()
            .status(200)
            .header("content-type", "application/octet-stream")
            .body(archive.clone());
    });

    let client = client(&server);
    let link = client.backups().archive_url(BACKUP_ID).await.expect("link");
    assert_eq!(link.expose(), download_url);
    let shown = format!("{link:?}");
    assert!(
        !shown.contains(link_token),
        "Debug shows the link's token: {shown}"
    );

    let mut stream = client.backups().open_archive(&link).await.expect("open");
    assert_eq!(stream.content_length(), Some(archive.len() as u64));
    let mut received = Vec::new();
    while let Some(chunk) = stream.chunk().await.expect("chunk") {
        received.extend_from_slice(&chunk);
    }

    archive_url.assert_async().await;
    download.assert_async().await;
    assert!(
        received == archive,
        "the downloaded bytes differ from the archive"
    );
}

#[tokio::test]
async fn archive_download_resumes_with_a_range_request() {
    let server = MockServer::start_async().await;
    let download = server.mock(|when, then| {
        when.method("GET")
            .path(format!("/databases/{DB}/backups/{BACKUP_ID}/download"))
            .query_param("token", "t")
            .header("range", "bytes=6-")
            .header_missing("authorization");
        then.status(206)
            .header("content-range", "bytes 6-9/10")
            .body("6789");
    });
    let link_server = MockServer::start_async().await;
    link_server.mock(|when, then| {
        when.path_suffix("/archive");
        then.status(200)
            .json_body(json!({"download_url": server.url(format!(
                "/databases/{DB}/backups/{BACKUP_ID}/download?token=t"
            ))}));
    });

    // The link may point at another host than the API (object storage): it is used as given.
    let client = client(&link_server);
    let link = client.backups().archive_url(BACKUP_ID).await.expect("link");
    let mut stream = client
        .backups()
        .open_archive_from(&link, 6)
        .await
        .expect("open from 6");
    let mut received = Vec::new();
    while let Some(chunk) = stream.chunk().await.expect("chunk") {
        received.extend_from_slice(&chunk);
    }

    download.assert_async().await;
    assert_eq!(received, b"6789");
}
