//! Credentials outside `--sandbox`: which variables the CLI needs, the exit codes when they are
//! missing (2, 3) or refused (3), and that no secret (token, password, archive link) is ever
//! printed where it was not asked for, even at `-vv`. The CLI talks to a sandbox served by this
//! test process, on loopback, through the URL variables a setup other than Scalingo's would set.

use scalingo_db_sandbox::{DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE};

use crate::support::{PASSWORD, Remote, Run, Runs as _, Workdir, id_of};

/// A token of the right shape that the sandbox does not know, easy to spot in any output.
const WRONG_API_TOKEN: &str = "tk-us-SENTINEL-wrong-0000000000000000000000";

/// Neither stream of `run` shows `token`.
#[track_caller]
fn assert_hidden(run: &Run, token: &str) {
    assert!(
        !run.stdout.contains(token) && !run.stderr.contains(token),
        "the token was printed:\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
}

/// Neither stream of `run` shows a token the CLI holds without having been given it (every token
/// the sandbox issues is a JWT, whose encoded header starts with `eyJ`), nor an `Authorization`
/// value.
#[track_caller]
fn assert_no_bearer_token(run: &Run) {
    for token in ["eyJ", "Bearer "] {
        assert_hidden(run, token);
    }
}

#[test]
fn an_api_token_with_app_and_addon_reaches_the_database() {
    let remote = Remote::start();
    let work = Workdir::new();
    let run = remote
        .with_api_token(&work, DEFAULT_API_TOKEN, &["users", "list"])
        .expect(0);
    assert!(run.stdout.contains("sandbox_app_"), "{}", run.stdout);
    assert_hidden(&run, DEFAULT_API_TOKEN);
    assert!(
        !work.state_file().exists(),
        "a remote run must not touch the sandbox's state file"
    );
}

#[test]
fn a_refused_api_token_exits_3_with_a_hint_and_is_not_echoed() {
    let remote = Remote::start();
    let work = Workdir::new();
    let run = remote
        .with_api_token(&work, WRONG_API_TOKEN, &["users", "list"])
        .fails(3, &["401", "SCALINGO_API_TOKEN"]);
    assert_hidden(&run, WRONG_API_TOKEN);
}

#[test]
fn a_database_token_works_without_an_app_and_a_refused_one_exits_3() {
    let remote = Remote::start();
    let work = Workdir::new();
    let token = remote.sandbox.database_token(DEFAULT_DATABASE);

    let run = remote
        .with_database_token(&work, &token, &["backups", "list"])
        .expect(0);
    assert!(run.stdout.contains("periodic"), "{}", run.stdout);
    assert_hidden(&run, &token);

    let bad = "not-a-database-token-SENTINEL";
    let run = remote
        .with_database_token(&work, bad, &["backups", "list"])
        .fails(3, &["401", "SCALINGO_DB_TOKEN"]);
    assert_hidden(&run, bad);
}

#[test]
fn no_credentials_exit_3_and_name_the_variables_to_set() {
    let remote = Remote::start();
    let work = Workdir::new();
    remote
        .cli(&work, &["--app", DEFAULT_APP, "--addon", DEFAULT_DATABASE])
        .args(["users", "list"])
        .run()
        .fails(
            3,
            &["no credentials", "SCALINGO_API_TOKEN", "SCALINGO_DB_TOKEN"],
        );
}

#[test]
fn an_api_token_without_an_app_or_an_addon_is_a_usage_error() {
    let remote = Remote::start();
    let work = Workdir::new();
    remote
        .cli(&work, &["--addon", DEFAULT_DATABASE, "users", "list"])
        .env("SCALINGO_API_TOKEN", DEFAULT_API_TOKEN)
        .run()
        .fails(2, &["--app", "SCALINGO_APP"]);
    remote
        .cli(&work, &["--app", DEFAULT_APP, "users", "list"])
        .env("SCALINGO_API_TOKEN", DEFAULT_API_TOKEN)
        .run()
        .fails(2, &["--addon", "SCALINGO_ADDON"]);
}

#[test]
fn the_app_and_addon_can_come_from_the_environment() {
    let remote = Remote::start();
    let work = Workdir::new();
    let run = remote
        .cli(&work, &["users", "list", "--json"])
        .env("SCALINGO_API_TOKEN", DEFAULT_API_TOKEN)
        .env("SCALINGO_APP", DEFAULT_APP)
        .env("SCALINGO_ADDON", DEFAULT_DATABASE)
        .run()
        .expect(0);
    assert!(run.json().is_array(), "{}", run.stdout);
}

#[test]
fn tokens_never_appear_in_the_output_even_at_the_most_verbose() {
    let remote = Remote::start();
    let work = Workdir::new();
    for args in [
        ["-vv", "users", "list"],
        ["-vv", "backups", "list"],
        ["-v", "backups", "list"],
    ] {
        let run = remote
            .with_api_token(&work, DEFAULT_API_TOKEN, &args)
            .expect(0);
        assert!(
            run.stderr.contains("exchange_api_token"),
            "-v logs the exchanges: {}",
            run.stderr
        );
        assert_hidden(&run, DEFAULT_API_TOKEN);
        // What was sent: the user token the API token was exchanged for, and the database token
        // obtained with it.
        assert_no_bearer_token(&run);

        let token = remote.sandbox.database_token(DEFAULT_DATABASE);
        assert!(
            token.starts_with("eyJ"),
            "assert_no_bearer_token expects JWTs"
        );
        let run = remote.with_database_token(&work, &token, &args).expect(0);
        assert!(run.stderr.contains("list_"), "{}", run.stderr);
        assert_hidden(&run, &token);
        assert_no_bearer_token(&run);
    }
}

#[test]
fn the_sandbox_ignores_the_environments_tokens() {
    let work = Workdir::new();
    let run = work
        .sandbox(["users", "list"])
        .env("SCALINGO_API_TOKEN", WRONG_API_TOKEN)
        .env("SCALINGO_DB_TOKEN", WRONG_API_TOKEN)
        .env("SCALINGO_APP", DEFAULT_APP)
        .run()
        .expect(0);
    assert!(run.stdout.contains("sandbox_app_"), "{}", run.stdout);
}

#[test]
fn an_unreachable_api_fails_with_exit_1_and_names_the_url() {
    let work = Workdir::new();
    // Port 1 (tcpmux): nothing listens there, and the system never hands it out to a test that
    // binds port 0, as a port found free then closed could be.
    let url = "http://127.0.0.1:1/api";
    work.cli([
        "--addon",
        DEFAULT_DATABASE,
        "--db-api-url",
        url,
        "users",
        "list",
    ])
    .env("SCALINGO_DB_TOKEN", "any-token")
    .run()
    .fails(1, &["could not connect", url]);
}

#[test]
fn passwords_and_archive_links_stay_out_of_the_logs_even_at_the_most_verbose() {
    let work = Workdir::new();
    let given = work
        .run_with_stdin(
            ["-vv", "users", "create", "app-writer", "--password-stdin"],
            format!("{PASSWORD}\n"),
        )
        .expect(0);
    assert_hidden(&given, PASSWORD);

    let generated = work
        .run(["-vv", "users", "reset-password", "app-writer"])
        .expect(0);
    let password = generated.stdout.lines().last().unwrap_or_default().trim();
    assert!(password.len() >= 24, "{}", generated.stdout);
    assert!(!generated.stderr.contains(password), "{}", generated.stderr);

    let id = id_of(&work.done_backup());
    let link = work.run(["-vv", "backups", "archive-url", &id]).expect(0);
    let token = link
        .stdout
        .trim_end()
        .rsplit_once("token=")
        .map(|(_, token)| token)
        .unwrap_or_else(|| panic!("no link token in {}", link.stdout));
    assert!(!link.stderr.contains(token), "{}", link.stderr);
    let download = work
        .run(["-vv", "backups", "download", &id, "-o", "db.tgz"])
        .expect(0);
    assert!(!download.stderr.contains("token="), "{}", download.stderr);
}
