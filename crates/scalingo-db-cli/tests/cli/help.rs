//! The help texts are the CLI's documentation: the long `--help` is a golden of the whole command
//! tree, the exit codes scripts rely on and the environment variables; a change to any of them
//! shows up here for review.

use insta::assert_snapshot;

use crate::support::{Runs as _, Workdir};

#[test]
fn long_help_documents_the_commands_the_environment_and_the_exit_codes() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    let run = work.cli(["--help"]).run().expect(0);
    for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "130 "] {
        assert!(
            run.stdout.contains(&format!("\n  {code}")),
            "exit code {code}is not documented"
        );
    }
    assert_snapshot!("help_long", run.stdout);
}

#[test]
fn short_help_points_to_the_long_help_for_exit_codes() {
    let work = Workdir::new();
    let run = work.cli(["-h"]).run().expect(0);
    assert!(
        run.stdout
            .contains("Exit codes and environment variables: see --help."),
        "{}",
        run.stdout
    );
}

#[test]
fn download_help_explains_where_the_archive_goes() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    let run = work.cli(["backups", "download", "--help"]).run().expect(0);
    assert_snapshot!("help_backups_download", run.stdout);
}
