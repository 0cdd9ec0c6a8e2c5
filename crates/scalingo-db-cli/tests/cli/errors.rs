//! Failures, each with the exit code `--help` documents (scripts branch on them) and a message
//! that names what was wrong: the field and its rule, the flag to use, the thing not found. Where
//! a failure promises that nothing was sent, the sandbox's state proves it.

use crate::support::{PASSWORD, Workdir};

/// 24 hex digits, like a backup id, that no sandbox has.
const UNKNOWN_BACKUP: &str = "0123456789abcdef01234567";

#[test]
fn an_invalid_user_name_is_refused_with_its_rule_and_nothing_is_created() {
    let work = Workdir::new();
    for name in [
        "mixed_and-hyphens",
        "short",
        "double--hyphen",
        "9_starts_with_a_digit",
    ] {
        work.run_with_stdin(
            ["users", "create", name, "--password-stdin"],
            format!("{PASSWORD}\n"),
        )
        .fails(2, &["name", "rule", "6 to 32", "nothing was sent"]);
    }
    assert_eq!(work.user_names().len(), 1, "only the protected user");
}

#[test]
fn a_short_password_on_stdin_is_refused_with_its_rule_and_nothing_is_created() {
    let work = Workdir::new();
    work.run_with_stdin(
        [
            "--json",
            "users",
            "create",
            "app-writer",
            "--password-stdin",
        ],
        "too-short\n",
    )
    .fails(2, &["password has 9 characters", "24 to 64"]);
    assert_eq!(work.user_names().len(), 1, "only the protected user");

    work.create_user("app-writer");
    work.run_with_stdin(
        ["users", "update-password", "app-writer", "--password-stdin"],
        "too-short\n",
    )
    .fails(2, &["password has 9 characters", "24 to 64"]);
}

#[test]
fn a_taken_user_name_is_refused_by_the_api() {
    let work = Workdir::new();
    work.create_user("app-writer");
    work.run_with_stdin(
        ["users", "create", "app-writer", "--password-stdin"],
        format!("{PASSWORD}\n"),
    )
    .fails(2, &["422", "name has already been taken"]);
}

#[test]
fn the_protected_user_cannot_have_its_password_changed_nor_be_deleted() {
    let work = Workdir::new();
    let protected = work.user_names().remove(0);
    let commands: [&[&str]; 3] = [
        &["users", "update-password", &protected, "--password-stdin"],
        &["users", "reset-password", &protected],
        &["users", "delete", &protected, "--yes"],
    ];
    for command in commands {
        work.run_with_stdin(command, format!("{PASSWORD}\n"))
            .fails(2, &[&protected, "is protected", "create another user"]);
    }
    assert_eq!(work.user_names(), [protected]);
}

#[test]
fn an_unknown_user_is_not_found() {
    let work = Workdir::new();
    let commands: [&[&str]; 3] = [
        &["users", "update-password", "ghost-user", "--password-stdin"],
        &["users", "reset-password", "ghost-user"],
        &["users", "delete", "ghost-user", "--yes"],
    ];
    for command in commands {
        work.run_with_stdin(command, format!("{PASSWORD}\n"))
            .fails(4, &["no user named ghost-user", "users list"]);
    }
}

#[test]
fn an_unknown_backup_id_is_not_found() {
    let work = Workdir::new();
    let commands: [&[&str]; 4] = [
        &["backups", "show", UNKNOWN_BACKUP],
        &["backups", "wait", UNKNOWN_BACKUP],
        &["backups", "archive-url", UNKNOWN_BACKUP],
        &["backups", "download", UNKNOWN_BACKUP],
    ];
    for command in commands {
        work.run(command).fails(4, &["backup was not found", "404"]);
    }
    let files: Vec<_> = std::fs::read_dir(work.path())
        .expect("the workdir")
        .flatten()
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().contains(".tar.gz"))
        .collect();
    assert!(files.is_empty(), "a failed download left {files:?}");
}

#[test]
fn an_unknown_addon_is_not_found() {
    let work = Workdir::new();
    work.run(["--addon", "ad-00000000-nowhere", "users", "list"])
        .fails(4, &["addon was not found"]);
}

#[test]
fn user_management_of_a_redis_database_is_reported_as_not_supported() {
    let work = Workdir::new();
    work.run(["--addon", "ad-5a4b0d7e-sandbox-redis", "users", "list"])
        .fails(1, &["not supported", "redis"]);
}

#[test]
fn usage_errors_exit_2_and_show_the_usage() {
    let work = Workdir::new();
    work.run(["users", "frob"]).fails(
        2,
        &["unrecognized subcommand 'frob'", "Usage: scalingo-db users"],
    );
    work.run(["--region", "mars", "users", "list"])
        .fails(2, &["--region", "known regions: osc-fr1"]);
    work.run(["backups", "wait", UNKNOWN_BACKUP, "--timeout", "0"])
        .fails(2, &["--timeout", "not a positive duration"]);
    work.run(["users", "list", "--quiet", "--verbose"]).fails(
        2,
        &[
            "'--quiet' cannot be used with '--verbose",
            "Usage: scalingo-db users list",
        ],
    );
}
