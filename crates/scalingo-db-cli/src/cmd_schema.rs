//! `scalingo-db schema [<command>]`: the JSON Schema of what each command prints with `--json`,
//! so that a script can validate what it parses. Each command declares its output beside its
//! code (`JSON_OUTPUTS` in `cmd_<area>.rs`); the schemas come from the types themselves
//! (`schemars`), the API's objects included, so they cannot drift from what is printed.

use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

use crate::exit::CliError;
use crate::output::Output;
use crate::{cmd_backups, cmd_database, cmd_operations, cmd_pitr, cmd_users};

/// What one command prints with `--json`.
pub struct JsonOutput {
    /// The command, as typed after `scalingo-db` (`users list`).
    pub command: &'static str,
    /// The schema of what it prints; `None` when it prints nothing on stdout.
    schema: Option<fn() -> Schema>,
}

impl JsonOutput {
    /// `command` prints a `T` as JSON.
    pub const fn new<T: JsonSchema>(command: &'static str) -> JsonOutput {
        JsonOutput {
            command,
            schema: Some(schema_of::<T>),
        }
    }

    /// `command` prints nothing on stdout with `--json`.
    pub const fn nothing(command: &'static str) -> JsonOutput {
        JsonOutput {
            command,
            schema: None,
        }
    }

    /// Its schema, as printed.
    pub fn schema(&self) -> Value {
        match self.schema {
            Some(schema) => schema().to_value(),
            None => serde_json::json!({
                "$comment": format!("`scalingo-db {} --json` prints nothing on stdout", self.command),
                "not": {},
            }),
        }
    }
}

fn schema_of<T: JsonSchema>() -> Schema {
    schemars::schema_for!(T)
}

/// Every command that takes `--json`, in the order of `--help`.
pub fn all() -> impl Iterator<Item = &'static JsonOutput> {
    cmd_database::JSON_OUTPUTS
        .iter()
        .chain(cmd_users::JSON_OUTPUTS)
        .chain(cmd_backups::JSON_OUTPUTS)
        .chain(cmd_pitr::JSON_OUTPUTS)
        .chain(cmd_operations::JSON_OUTPUTS)
}

/// `schema`: one command's schema, or every command's by command.
pub fn run(words: &[String], output: &Output) -> Result<(), CliError> {
    let value = if words.is_empty() {
        let schemas: Map<String, Value> = all()
            .map(|json| (json.command.to_owned(), json.schema()))
            .collect();
        Value::Object(schemas)
    } else {
        let command = words.join(" ");
        let json = all().find(|json| json.command == command).ok_or_else(|| {
            let known: Vec<&str> = all().map(|json| json.command).collect();
            CliError::Usage(format!(
                "`{command}` is not a command that takes --json; those are: {}",
                known.join(", ")
            ))
        })?;
        json.schema()
    };
    output.object(&value)
}
