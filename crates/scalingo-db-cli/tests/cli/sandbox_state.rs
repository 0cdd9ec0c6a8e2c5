//! `--sandbox` keeps its databases, users and backups in a state file between runs, which is what
//! makes it useful for trying commands one after another; `sandbox reset` forgets them, and a
//! damaged file is reported with that way out.

use insta::assert_snapshot;

use crate::support::{Runs as _, Workdir};

#[test]
fn changes_last_between_runs_until_the_sandbox_is_reset() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    work.create_user("app-writer");
    let backup = work.start_backup();
    assert!(
        work.state_file().is_file(),
        "the state file is where SCALINGO_DB_SANDBOX_FILE says"
    );

    assert!(work.user_names().iter().any(|name| name == "app-writer"));
    assert!(
        work.backups()
            .iter()
            .any(|listed| listed["id"] == backup.as_str())
    );

    let reset = work.cli(["sandbox", "reset"]).run().expect(0);
    assert_snapshot!("sandbox_reset", reset.stdout);
    assert!(!work.state_file().exists());
    let again = work.cli(["sandbox", "reset"]).run().expect(0);
    assert_snapshot!("sandbox_reset_again", again.stdout);

    assert_eq!(
        work.user_names().len(),
        1,
        "only the protected user is left"
    );
    assert!(
        !work
            .backups()
            .iter()
            .any(|listed| listed["id"] == backup.as_str())
    );
}

#[test]
fn a_damaged_state_file_is_reported_with_the_way_out() {
    let work = Workdir::new();
    std::fs::write(work.state_file(), "{ not json").expect("a state file");

    let state_file = work.state_file().display().to_string();
    work.run(["users", "list"])
        .fails(1, &[&state_file, "scalingo-db sandbox reset"]);

    work.cli(["sandbox", "reset"]).run().expect(0);
    assert_eq!(work.user_names().len(), 1);
}
