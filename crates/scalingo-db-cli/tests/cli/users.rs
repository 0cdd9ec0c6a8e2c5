//! `scalingo-db users …` against the embedded sandbox, in the ways people and scripts use it: what a
//! person reads (snapshots), what a script captures (`--json`, `-q`), and that a generated
//! password is shown exactly once while a given one never is.

use insta::assert_snapshot;
use regex::Regex;

use crate::support::{PASSWORD, Workdir};

/// Another valid password, to tell an update from the creation.
const NEW_PASSWORD: &str = "another-horse-battery-staple";

/// The password under the "shown only this once" heading.
fn generated_password(stdout: &str) -> String {
    let line = Regex::new(r"(?m)^    ([A-Za-z0-9]{24,64})$").expect("a valid pattern");
    line.captures(stdout)
        .unwrap_or_else(|| panic!("no generated password in:\n{stdout}"))[1]
        .to_owned()
}

#[test]
fn listing_users_shows_the_protected_default_user() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work.run(["users", "list"]).expect(0);
    assert_snapshot!("users_list_fresh", run.stdout);

    let users = work.json(["users", "list"]);
    let users = users.as_array().expect("an array of users");
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["protected"], true);
    assert!(
        users[0]["name"]
            .as_str()
            .is_some_and(|name| name.starts_with("sandbox_app_")),
        "{users:?}"
    );
}

#[test]
fn a_user_created_with_a_password_on_stdin_is_listed_and_its_password_never_printed() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work
        .run_with_stdin(
            ["users", "create", "app-writer", "--password-stdin"],
            format!("{PASSWORD}\n"),
        )
        .expect(0);
    assert_snapshot!("users_create_given_password", run.stdout);
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));

    let list = work.run(["users", "list"]).expect(0);
    assert_snapshot!("users_list_after_create", list.stdout);
}

#[test]
fn creating_a_user_with_empty_stdin_prints_the_generated_password_once_under_a_warning() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work
        .run_with_stdin(["users", "create", "app-writer", "--password-stdin"], "")
        .expect(0);
    assert_snapshot!("users_create_generated_password", run.stdout);
    let password = generated_password(&run.stdout);
    assert_eq!(run.stdout.matches(&password).count(), 1, "{}", run.stdout);
    assert!(!run.stderr.contains(&password), "{}", run.stderr);
}

#[test]
fn quiet_creation_prints_only_the_bare_generated_password() {
    let work = Workdir::new();
    let run = work
        .run_with_stdin(
            ["-q", "users", "create", "app-writer", "--password-stdin"],
            "\n",
        )
        .expect(0);
    let bare = Regex::new(r"\A[A-Za-z0-9]{24,64}\n\z").expect("a valid pattern");
    assert!(bare.is_match(&run.stdout), "{:?}", run.stdout);
    assert_eq!(run.stderr, "");
}

#[test]
fn json_creation_carries_the_password_only_when_the_server_generated_it() {
    let work = Workdir::new();
    let given = work
        .run_with_stdin(
            [
                "--json",
                "users",
                "create",
                "given-pass",
                "--password-stdin",
            ],
            format!("{PASSWORD}\n"),
        )
        .expect(0)
        .json();
    assert_eq!(given["name"], "given-pass");
    assert!(given.get("password").is_none(), "{given}");

    let generated = work
        .run_with_stdin(
            ["--json", "users", "create", "generated", "--password-stdin"],
            "",
        )
        .expect(0)
        .json();
    assert_eq!(generated["name"], "generated");
    let password = generated["password"].as_str().unwrap_or_default();
    assert!((24..=64).contains(&password.len()), "{generated}");
}

#[test]
fn read_only_users_are_created_and_listed_read_only() {
    let work = Workdir::new();
    let run = work
        .run_with_stdin(
            [
                "users",
                "create",
                "app-reader",
                "--read-only",
                "--password-stdin",
            ],
            format!("{PASSWORD}\n"),
        )
        .expect(0);
    assert_eq!(run.stdout, "Created user app-reader (read-only).\n");

    let users = work.json(["users", "list"]);
    let reader = users
        .as_array()
        .and_then(|users| users.iter().find(|user| user["name"] == "app-reader"))
        .unwrap_or_else(|| panic!("app-reader is not listed: {users}"));
    assert_eq!(reader["read_only"], true);
    assert_eq!(reader["protected"], false);
}

#[test]
fn updating_a_password_from_stdin_prints_no_password() {
    let work = Workdir::new();
    work.create_user("app-writer");

    let run = work
        .run_with_stdin(
            ["users", "update-password", "app-writer", "--password-stdin"],
            format!("{NEW_PASSWORD}\n"),
        )
        .expect(0);
    assert_eq!(run.stdout, "Updated the password of user app-writer.\n");
    assert!(!run.stderr.contains(NEW_PASSWORD), "{}", run.stderr);

    let json = work
        .run_with_stdin(
            [
                "--json",
                "users",
                "update-password",
                "app-writer",
                "--password-stdin",
            ],
            format!("{PASSWORD}\n"),
        )
        .expect(0)
        .json();
    assert_eq!(json["name"], "app-writer");
    assert!(json.get("password").is_none(), "{json}");
}

#[test]
fn resetting_a_password_shows_the_new_one_once() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    work.create_user("app-writer");

    let run = work
        .run(["users", "reset-password", "app-writer"])
        .expect(0);
    assert_snapshot!("users_reset_password", run.stdout);
    let password = generated_password(&run.stdout);
    assert_eq!(run.stdout.matches(&password).count(), 1);

    let json = work.json(["users", "reset-password", "app-writer"]);
    let again = json["password"].as_str().unwrap_or_default();
    assert!((24..=64).contains(&again.len()), "{json}");
    assert_ne!(again, password, "a reset generates a new password");
}

#[test]
fn deleting_with_yes_removes_the_user() {
    let work = Workdir::new();
    work.create_user("app-writer");
    work.create_user("app-keeper");

    let run = work
        .run(["users", "delete", "app-writer", "--yes"])
        .expect(0);
    assert_eq!(run.stdout, "Deleted user app-writer.\n");

    let names = work.user_names();
    assert!(!names.iter().any(|name| name == "app-writer"), "{names:?}");
    assert!(names.iter().any(|name| name == "app-keeper"), "{names:?}");
}

#[test]
fn deleting_without_yes_is_refused_when_stdin_is_not_a_terminal() {
    let work = Workdir::new();
    work.create_user("app-writer");

    work.run(["users", "delete", "app-writer"])
        .fails(2, &["--yes", "not a terminal"]);
    assert!(work.user_names().iter().any(|name| name == "app-writer"));
}

#[test]
fn creating_without_password_stdin_is_refused_when_stdin_is_not_a_terminal() {
    let work = Workdir::new();
    work.run_with_stdin(["users", "create", "app-writer"], format!("{PASSWORD}\n"))
        .fails(2, &["--password-stdin", "not a terminal"]);
    assert_eq!(work.user_names().len(), 1, "only the protected user");
}

#[test]
fn updating_without_password_stdin_is_refused_when_stdin_is_not_a_terminal() {
    let work = Workdir::new();
    work.create_user("app-writer");
    work.run_with_stdin(
        ["users", "update-password", "app-writer"],
        format!("{NEW_PASSWORD}\n"),
    )
    .fails(2, &["--password-stdin", "not a terminal"]);
}
