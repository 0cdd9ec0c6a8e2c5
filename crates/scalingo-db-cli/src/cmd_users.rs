//! `scalingo-db users …`: list, create, update-password, reset-password, delete: their arguments,
//! what they do, and the schema of what they print with `--json`.

use clap::{Args, Subcommand};
use scalingo_db::{Database, DatabaseUser, NewUser, check_password};

use crate::cmd_schema::JsonOutput;
use crate::exit::{CliError, unsure};
use crate::human;
use crate::interrupt::interruptible;
use crate::output::Output;
use crate::prompt::{self, IfEmpty};
use crate::table::Table;

/// `scalingo-db users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List the users, the protected default user included.
    List,

    /// Create a user. Asks for its password (leave it empty to let the server generate one).
    Create {
        /// The user's name.
        name: String,

        /// Allow the user only to read.
        #[arg(long)]
        read_only: bool,

        #[command(flatten)]
        password: PasswordSource,
    },

    /// Set a user's password. Asks for it (`reset-password` has the server generate one).
    UpdatePassword {
        /// The user's name.
        name: String,

        #[command(flatten)]
        password: PasswordSource,
    },

    /// Replace a user's password with one the server generates, shown once.
    ResetPassword {
        /// The user's name.
        name: String,
    },

    /// Delete a user. Asks for confirmation unless --yes.
    Delete {
        /// The user's name.
        name: String,

        /// Do not ask for confirmation (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Where a password comes from: a hidden prompt, or stdin.
#[derive(Debug, Args)]
pub struct PasswordSource {
    /// Read the password from stdin, its only line, instead of prompting; with `create`, an empty
    /// line (or no input) lets the server generate one.
    #[arg(long)]
    pub password_stdin: bool,
}

/// What each `users` command prints with `--json`.
pub const JSON_OUTPUTS: &[JsonOutput] = &[
    JsonOutput::new::<Vec<DatabaseUser>>("users list"),
    JsonOutput::new::<DatabaseUser>("users create"),
    JsonOutput::new::<DatabaseUser>("users update-password"),
    JsonOutput::new::<DatabaseUser>("users reset-password"),
    JsonOutput::nothing("users delete"),
];

/// Runs one `users` command.
pub async fn run(command: UsersCommand, db: &Database, output: &Output) -> Result<(), CliError> {
    match command {
        UsersCommand::List => list(db, output).await,
        UsersCommand::Create {
            name,
            read_only,
            password,
        } => {
            let user = NewUser::new(&name).read_only(read_only);
            // A bad name is refused before anyone types a password for it.
            user.check()?;
            let user = match prompt::new_password(&password, IfEmpty::Generate, |password| {
                user.clone().password(password.clone()).check()
            })? {
                Some(password) => user.password(password),
                None => user,
            };
            let created = interruptible(db.users().create(user))
                .await
                .map_err(|error| {
                    unsure(error, || {
                        format!(
                            "the request may have reached the API, and user {name} may exist \
                             with a password nobody has seen: `scalingo-db users list` shows \
                             whether it does, and `scalingo-db users reset-password {name}` then \
                             gives it one"
                        )
                    })
                })?;
            if output.json() {
                return output.object(&created);
            }
            let access = if created.read_only {
                "read-only"
            } else {
                "read-write"
            };
            output.outcome(&format!("Created user {} ({access}).", created.name))?;
            show_generated_password(&created, output)
        }
        UsersCommand::UpdatePassword { name, password } => {
            changeable_user(db, &name).await?;
            let password = prompt::new_password(&password, IfEmpty::Refuse, check_password)?
                .ok_or_else(|| {
                    CliError::Usage(
                        "no password given (stdin is empty); `scalingo-db users reset-password` \
                         has the server generate one"
                            .to_owned(),
                    )
                })?;
            let updated = interruptible(db.users().update_password(&name, password)).await?;
            if output.json() {
                return output.object(&updated);
            }
            output.outcome(&format!("Updated the password of user {name}."))?;
            show_generated_password(&updated, output)
        }
        UsersCommand::ResetPassword { name } => {
            changeable_user(db, &name).await?;
            let reset = interruptible(db.users().reset_password(&name)).await?;
            if output.json() {
                return output.object(&reset);
            }
            output.outcome(&format!("Reset the password of user {name}."))?;
            show_generated_password(&reset, output)
        }
        UsersCommand::Delete { name, yes } => {
            changeable_user(db, &name).await?;
            let question = format!(
                "Delete user {name} of database {}? This cannot be undone",
                db.addon_id()
            );
            if !yes && !prompt::confirm(&question, "--yes")? {
                return Err(CliError::Failed(format!(
                    "not confirmed: user {name} was not deleted"
                )));
            }
            interruptible(db.users().delete(&name)).await?;
            output.outcome(&format!("Deleted user {name}."))
        }
    }
}

async fn list(db: &Database, output: &Output) -> Result<(), CliError> {
    let users = interruptible(db.users().list()).await?;
    if output.json() {
        return output.object(&users);
    }
    // PostgreSQL alone says how passwords are stored; other engines get no empty column.
    let with_encryption = users.iter().any(|user| {
        user.dbms_attributes
            .as_ref()
            .is_some_and(|attributes| attributes.password_encryption.is_some())
    });
    let mut headers = vec!["NAME", "READ-ONLY", "PROTECTED"];
    if with_encryption {
        headers.push("PASSWORD ENCRYPTION");
    }
    let mut table = Table::new(&headers);
    for user in &users {
        let mut row = vec![
            user.name.clone(),
            human::yes_no(user.read_only).to_owned(),
            human::yes_no(user.protected).to_owned(),
        ];
        if with_encryption {
            let encryption = user
                .dbms_attributes
                .as_ref()
                .and_then(|attributes| attributes.password_encryption.as_ref());
            row.push(encryption.map_or_else(|| "-".to_owned(), ToString::to_string));
        }
        table.row(row);
    }
    output.data(&table.render(!output.text_on_stdout()))
}

/// The user, if it exists and is not the protected one, whose password and existence the
/// platform manages: checked before a prompt or a change, with a message that says why.
async fn changeable_user(db: &Database, name: &str) -> Result<(), CliError> {
    let user = db
        .users()
        .list()
        .await?
        .into_iter()
        .find(|user| user.name == name)
        .ok_or_else(|| {
            CliError::NotFound(format!(
                "database {} has no user named {name} (see `scalingo-db users list`)",
                db.addon_id()
            ))
        })?;
    if user.protected {
        return Err(CliError::Usage(format!(
            "user {name} is protected: the platform manages it, so its password cannot be \
             changed and it cannot be deleted; create another user instead"
        )));
    }
    Ok(())
}

fn show_generated_password(user: &DatabaseUser, output: &Output) -> Result<(), CliError> {
    match &user.password {
        Some(password) => output.generated_password(password),
        None => Ok(()),
    }
}
