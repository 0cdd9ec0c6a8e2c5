//! `scalingo-db completions <shell>` prints a script people source from their shell's startup
//! file: it must be complete for every shell clap supports that people use here.

use crate::support::{Runs as _, Workdir};

#[test]
fn completion_scripts_name_the_binary_and_its_subcommands() {
    let work = Workdir::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = work.cli(["completions", shell]).run().expect(0);
        assert_eq!(run.stderr, "", "{shell}");
        // Shells spell options differently (`--read-only`, `-l read-only`): their names are enough.
        for word in [
            "scalingo-db",
            "backups",
            "users",
            "archive-url",
            "read-only",
        ] {
            assert!(
                run.stdout.contains(word),
                "the {shell} script ({} bytes) lacks {word}",
                run.stdout.len()
            );
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let work = Workdir::new();
    work.cli(["completions", "cmd.exe"])
        .run()
        .fails(2, &["invalid value 'cmd.exe'", "bash"]);
}
