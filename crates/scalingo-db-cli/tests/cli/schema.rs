//! `scalingo-db schema [<command>]`: the JSON Schema of what each command prints with `--json`.
//! Every command it lists is run with `--json` against the embedded sandbox, and what it prints is
//! validated against the schema it announces, so a script that trusts the schema is not let down;
//! a command announced to print nothing prints nothing. An unknown command is a usage error that
//! names the known ones.

use serde_json::{Value, json};

use crate::support::{PASSWORD, Run, Runs as _, Workdir, id_of};

/// Every command's schema, by command, as `scalingo-db schema` prints them.
fn all_schemas(work: &Workdir) -> serde_json::Map<String, Value> {
    let run = work.cli(["schema"]).run().expect(0);
    assert_eq!(run.stderr, "");
    match run.json() {
        Value::Object(schemas) => schemas,
        other => panic!("`schema` printed {other}, not an object of schemas by command"),
    }
}

/// Whether `schema` is the one of a command that prints nothing with `--json`.
fn says_nothing_is_printed(schema: &Value) -> bool {
    schema.get("not") == Some(&json!({}))
}

/// A validator of `schema`, formats (`date-time`, ...) included.
fn validator(command: &str, schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|error| panic!("the schema of `{command}` is not a valid schema: {error}"))
}

/// Runs `command` with `--json` on the sandbox of `work`, in a way that succeeds (creating what it
/// needs first). A command `schema` lists but this does not know fails the test: cover it here.
fn run_with_json(work: &Workdir, command: &str) -> Run {
    let done = || id_of(&work.done_backup());
    let (args, stdin): (Vec<String>, String) = match command {
        "database show" => (vec![], String::new()),
        "users list" => (vec![], String::new()),
        "users create" => (
            vec!["schema-created".into(), "--password-stdin".into()],
            format!("{PASSWORD}\n"),
        ),
        "users update-password" => {
            work.create_user("schema-updated");
            (
                vec!["schema-updated".into(), "--password-stdin".into()],
                format!("{PASSWORD}\n"),
            )
        }
        "users reset-password" => {
            work.create_user("schema-reset");
            (vec!["schema-reset".into()], String::new())
        }
        "users delete" => {
            work.create_user("schema-deleted");
            (vec!["schema-deleted".into(), "--yes".into()], String::new())
        }
        "backups list" => (vec![], String::new()),
        "backups create" => (vec![], String::new()),
        // The sandbox's seeded backup is done: `wait` answers at once, without waiting for real.
        "backups show" | "backups wait" | "backups archive-url" => (vec![done()], String::new()),
        "backups download" => (
            vec![done(), "-o".into(), "schema.tgz".into(), "--silent".into()],
            String::new(),
        ),
        "backups schedule" => (vec!["--at".into(), "4 UTC".into()], String::new()),
        // A generated sandbox archive holds no dump (exit 11): verify a whole one from a file.
        "backups verify" => {
            let file =
                crate::verify::archive(work, "schema.tgz", "shop.sql", crate::verify::MYSQL_DUMP);
            (vec!["--file".into(), file], String::new())
        }
        "pitr window" => (vec![], String::new()),
        "pitr restore" | "operations show" | "operations wait" => {
            let at = vec!["--at".into(), "-1m".into(), "--yes".into()];
            if command == "pitr restore" {
                (at, String::new())
            } else {
                let mut restore = vec!["pitr".to_owned(), "restore".to_owned()];
                restore.extend(at);
                restore.push("--wait".into());
                (vec![id_of(&work.json(&restore))], String::new())
            }
        }
        other => panic!("`scalingo-db schema` lists `{other}`, which this test does not run yet"),
    };
    let mut command_line = vec!["--json".to_owned()];
    command_line.extend(command.split(' ').map(str::to_owned));
    command_line.extend(args);
    work.run_with_stdin(&command_line, stdin)
}

#[test]
fn what_every_command_prints_with_json_matches_the_schema_it_announces() {
    let work = Workdir::new();
    let schemas = all_schemas(&work);
    // Scripts rely on this list: a command that leaves it (or joins it) shows up here for review.
    let mut listed: Vec<&str> = schemas.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "backups archive-url",
            "backups create",
            "backups download",
            "backups list",
            "backups schedule",
            "backups show",
            "backups verify",
            "backups wait",
            "database show",
            "operations show",
            "operations wait",
            "pitr restore",
            "pitr window",
            "users create",
            "users delete",
            "users list",
            "users reset-password",
            "users update-password",
        ]
    );
    for (command, listed) in &schemas {
        // `schema <command>` prints the same schema as the whole list does.
        let words: Vec<&str> = std::iter::once("schema")
            .chain(command.split(' '))
            .collect();
        let schema = work.cli(&words).run().expect(0).json();
        assert_eq!(&schema, listed, "`schema {command}` and `schema` differ");

        let run = run_with_json(&work, command).expect(0);
        if says_nothing_is_printed(&schema) {
            run.stdout_empty();
            continue;
        }
        let printed = run.json();
        let validator = validator(command, &schema);
        let errors: Vec<String> = validator
            .iter_errors(&printed)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "`scalingo-db --json {command}` printed what its schema refuses:\n{}\n--- printed\n\
             {printed:#}\n--- schema\n{schema:#}",
            errors.join("\n")
        );
        // The schema does constrain: it is not `true` in disguise.
        assert!(
            !validator.is_valid(&json!(42)),
            "the schema of `{command}` accepts anything: {schema}"
        );
    }
}

#[test]
fn the_schemas_reject_an_object_without_a_required_field() {
    let work = Workdir::new();
    let schema = work
        .cli(["schema", "backups", "show"])
        .run()
        .expect(0)
        .json();
    let validator = validator("backups show", &schema);
    let mut backup = work.done_backup();
    assert!(validator.is_valid(&backup), "{backup}");
    backup
        .as_object_mut()
        .expect("a backup is an object")
        .remove("status");
    assert!(
        !validator.is_valid(&backup),
        "a backup without a status passed: {backup}"
    );
}

#[test]
fn a_command_that_prints_nothing_has_a_schema_nothing_matches() {
    let work = Workdir::new();
    let schema = work
        .cli(["schema", "users", "delete"])
        .run()
        .expect(0)
        .json();
    assert!(says_nothing_is_printed(&schema), "{schema}");
    let validator = validator("users delete", &schema);
    for value in [json!(null), json!({}), json!([]), json!("")] {
        assert!(!validator.is_valid(&value), "{value} matches {schema}");
    }
}

#[test]
fn schema_of_an_unknown_command_exits_2_and_names_the_known_ones() {
    let work = Workdir::new();
    let known: Vec<String> = all_schemas(&work).keys().cloned().collect();
    let run = work
        .cli(["schema", "users", "frob"])
        .run()
        .fails(2, &["`users frob` is not a command that takes --json"]);
    let parts: Vec<&str> = known.iter().map(String::as_str).collect();
    run.stderr_has(&parts);
}
