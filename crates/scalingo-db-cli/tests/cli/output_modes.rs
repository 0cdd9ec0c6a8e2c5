//! The output rules scripts rely on when stdout and stderr are pipes (as they are here): no
//! colour codes unless asked for, `-q` keeps only the data asked for, and `--json` keeps stdout
//! for objects. Colours can be forced for people who pipe into a pager that shows them.

use crate::support::{PASSWORD, Run, Runs as _, Workdir, has_ansi, id_of};

#[track_caller]
fn assert_plain(run: &Run) {
    assert!(
        !has_ansi(&run.stdout) && !has_ansi(&run.stderr),
        "colour codes in a piped run:\n--- stdout\n{:?}\n--- stderr\n{:?}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn piped_output_has_no_colour_codes_by_default() {
    let work = Workdir::new();
    let id = id_of(&work.done_backup());
    // Each run with its exit code and what `--color always` would colour: table headers (bold),
    // statuses, the `error:` label.
    let runs: [(&[&str], i32, &str, &str); 4] = [
        (&["users", "list"], 0, "NAME ", ""),
        (&["backups", "list"], 0, "  done\n", ""),
        (&["backups", "show", &id], 0, "Status   done\n", ""),
        (&["users", "reset-password", "ghost-user"], 4, "", "error: "),
    ];
    for (args, code, stdout, stderr) in runs {
        let run = work.run(args).expect(code);
        assert_plain(&run);
        assert!(run.stdout.contains(stdout), "{args:?}: {:?}", run.stdout);
        assert!(run.stderr.starts_with(stderr), "{args:?}: {:?}", run.stderr);
    }
    let help = work.cli(["--help"]).run().expect(0);
    assert_plain(&help);
    assert!(
        help.stdout.contains("Usage: scalingo-db"),
        "{}",
        help.stdout
    );

    let id = work.start_backup();
    let waited = work.run(["backups", "wait", &id]).expect(0);
    assert_plain(&waited);
    assert!(
        waited.stderr.ends_with(&format!("backup {id} is done\n")),
        "{:?}",
        waited.stderr
    );
}

#[test]
fn no_color_keeps_colours_off_unless_color_always() {
    let work = Workdir::new();
    let auto = work
        .sandbox(["--color", "auto", "backups", "list"])
        .env("NO_COLOR", "1")
        .run()
        .expect(0);
    assert_plain(&auto);
    assert!(auto.stdout.contains("  done\n"), "{:?}", auto.stdout);
    let failed = work
        .sandbox(["--color", "auto", "users", "delete", "ghost-user", "--yes"])
        .env("NO_COLOR", "1")
        .run()
        .expect(4);
    assert_plain(&failed);
    assert!(failed.stderr.starts_with("error: "), "{:?}", failed.stderr);

    let always = work
        .sandbox([
            "--color",
            "always",
            "users",
            "delete",
            "ghost-user",
            "--yes",
        ])
        .env("NO_COLOR", "1")
        .run()
        .expect(4);
    assert!(has_ansi(&always.stderr), "{:?}", always.stderr);
    let always = work
        .sandbox(["--color", "always", "backups", "list"])
        .env("NO_COLOR", "1")
        .run()
        .expect(0);
    assert!(has_ansi(&always.stdout), "{:?}", always.stdout);
}

#[test]
fn clicolor_force_colours_piped_output_and_clicolor_0_keeps_it_plain() {
    let work = Workdir::new();
    let forced = work
        .sandbox(["backups", "list"])
        .env("CLICOLOR_FORCE", "1")
        .run()
        .expect(0);
    assert!(has_ansi(&forced.stdout), "{:?}", forced.stdout);
    // --color never is the last word.
    let never = work
        .sandbox(["--color", "never", "backups", "list"])
        .env("CLICOLOR_FORCE", "1")
        .run()
        .expect(0);
    assert_plain(&never);
    assert!(never.stdout.contains("  done\n"), "{:?}", never.stdout);
    let off = work
        .sandbox(["backups", "list"])
        .env("CLICOLOR", "0")
        .run()
        .expect(0);
    assert_plain(&off);
    assert!(off.stdout.contains("  done\n"), "{:?}", off.stdout);
}

#[test]
fn quiet_prints_the_data_asked_for_and_no_outcomes() {
    let work = Workdir::new();
    let list = work.run(["-q", "users", "list"]).expect(0);
    assert!(list.stdout.starts_with("NAME "), "{}", list.stdout);

    let changes: [(&[&str], &str); 4] = [
        (
            &["-q", "users", "create", "app-writer", "--password-stdin"],
            PASSWORD,
        ),
        (
            &[
                "-q",
                "users",
                "update-password",
                "app-writer",
                "--password-stdin",
            ],
            PASSWORD,
        ),
        (&["-q", "users", "delete", "app-writer", "--yes"], ""),
        (&["-q", "backups", "create"], ""),
    ];
    for (args, stdin) in changes {
        let run = work.run_with_stdin(args, format!("{stdin}\n")).expect(0);
        assert_eq!(
            (run.stdout.as_str(), run.stderr.as_str()),
            ("", ""),
            "{args:?}"
        );
    }
}

#[test]
fn json_keeps_stdout_for_objects_only() {
    let work = Workdir::new();
    work.create_user("app-writer");
    let deleted = work
        .run(["--json", "users", "delete", "app-writer", "--yes"])
        .expect(0);
    deleted.stdout_empty();

    let run = work
        .run(["--json", "users", "reset-password", "ghost-user"])
        .expect(4);
    run.stdout_empty();

    let reset = work.cli(["--json", "sandbox", "reset"]).run().expect(0);
    reset.stdout_empty();
}
