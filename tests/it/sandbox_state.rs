//! The sandbox's state kept between runs: a later sandbox started from it finds the same users
//! and backups, and the file never holds a password in clear.

use scalingo_db::NewUser;
use scalingo_db_sandbox::{Sandbox, SandboxConfig, SandboxState};

use crate::support::{PASSWORD, sandbox_database};

#[tokio::test]
async fn a_sandbox_started_from_a_saved_state_finds_its_users_and_backups() {
    let first = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let before = sandbox_database(&first);
    before
        .users()
        .create(NewUser::new("kept-user").password(PASSWORD).read_only(true))
        .await
        .expect("create user");
    let backup = before.backups().create().await.expect("create backup");
    let users_before = before.users().list().await.expect("users");
    let backups_before = before.backups().list().await.expect("backups");

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sandbox.json");
    first.state().save(&path).expect("save");
    drop(first);
    let text = std::fs::read_to_string(&path).expect("the file");
    assert!(
        !text.contains(PASSWORD),
        "the state file holds a password in clear"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["sandbox.json"], "no temporary file is left");

    let state = SandboxState::load(&path).expect("load").expect("a state");
    let second = Sandbox::start(SandboxConfig {
        state: Some(state),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox from state");
    let after = sandbox_database(&second);

    assert_eq!(after.users().list().await.expect("users"), users_before);
    assert_eq!(
        after.backups().list().await.expect("backups"),
        backups_before
    );
    assert_eq!(
        after.backups().get(&backup.id).await.expect("backup").id,
        backup.id
    );
    // The kept user is still a user: its password can be reset, and it can be deleted.
    after
        .users()
        .reset_password("kept-user")
        .await
        .expect("reset");
    after.users().delete("kept-user").await.expect("delete");
}

#[test]
fn a_missing_state_file_is_no_state_and_a_bad_one_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("none.json");
    assert_eq!(SandboxState::load(&missing).expect("no error"), None);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": 1, \"databases\": 3}").expect("write");
    let error = SandboxState::load(&bad).expect_err("not a state");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("is not a sandbox state file"),
        "{error}"
    );

    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, "{\"format\": 99, \"databases\": []}").expect("write");
    let error = SandboxState::load(&newer).expect_err("unknown format");
    assert!(error.to_string().contains("state format 99"), "{error}");
}
