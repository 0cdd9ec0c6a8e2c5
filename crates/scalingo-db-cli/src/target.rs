//! Which database the command acts on and with which credentials: the global options and the
//! environment resolved into a ready [`Client`], before any request. Commands never read
//! credentials themselves.
//!
//! Tokens are read from the environment only: arguments show in the process list.

use scalingo_db::secrecy::SecretString;
use scalingo_db::{Client, ClientBuilder};
use scalingo_db_sandbox::{DEFAULT_API_TOKEN, DEFAULT_APP, DEFAULT_DATABASE};

use crate::args::GlobalArgs;
use crate::embedded::Embedded;
use crate::exit::CliError;
use crate::output::Output;

/// The client of the selected database, and the embedded sandbox it talks to, if any.
pub struct Target {
    /// The client, with its database and credentials.
    pub client: Client,
    /// The embedded sandbox of `--sandbox`, whose state is saved when the command ends.
    pub sandbox: Option<Embedded>,
}

/// Set by `scalingo-db` on every request, before the library's own product token.
fn user_agent() -> String {
    format!("scalingo-db-cli/{}", env!("CARGO_PKG_VERSION"))
}

impl Target {
    /// Resolves the options into a client; with `--sandbox`, starts the embedded sandbox first.
    pub async fn connect(global: &GlobalArgs) -> Result<Target, CliError> {
        if global.sandbox {
            return Target::sandbox(global).await;
        }
        let addon = global.addon.clone().ok_or_else(|| {
            CliError::Usage(
                "no database selected: pass --addon <ID> or set SCALINGO_ADDON (or try --sandbox)"
                    .to_owned(),
            )
        })?;
        let mut builder = Client::builder()
            .region(global.region)
            .database_id(addon)
            .user_agent(user_agent());
        if let Some(url) = &global.db_api_url {
            builder = builder.base_url(url);
        }
        builder = with_credentials(builder, global.app.as_deref())?;
        if let Some(url) = env("SCALINGO_AUTH_URL") {
            builder = builder.auth_url(url);
        }
        if let Some(url) = env("SCALINGO_API_URL") {
            builder = builder.main_api_url(url);
        }
        Ok(Target {
            client: builder.build()?,
            sandbox: None,
        })
    }

    /// Ends the command: the embedded sandbox's state is saved whatever happened, since a failure
    /// may follow a change; a failure to save is reported with the command's own failure.
    pub fn finish(self, result: Result<(), CliError>, output: &Output) -> Result<(), CliError> {
        let Some(sandbox) = &self.sandbox else {
            return result;
        };
        match (sandbox.save(), result) {
            (Err(error), Ok(())) => Err(error),
            (Err(error), Err(failure)) => {
                output.error(&error);
                Err(failure)
            }
            (Ok(()), result) => result,
        }
    }

    /// `--sandbox`: the embedded sandbox's own token flow; the environment's tokens, which belong
    /// to real accounts, are neither used nor sent there.
    async fn sandbox(global: &GlobalArgs) -> Result<Target, CliError> {
        let embedded = Embedded::start().await?;
        let sandbox = embedded.sandbox();
        let client = Client::builder()
            .base_url(sandbox.database_api_url())
            .auth_url(sandbox.base_url())
            .main_api_url(sandbox.base_url())
            .database_id(global.addon.as_deref().unwrap_or(DEFAULT_DATABASE))
            .api_token(
                DEFAULT_API_TOKEN,
                global.app.as_deref().unwrap_or(DEFAULT_APP),
            )
            .user_agent(user_agent())
            .build()?;
        Ok(Target {
            client,
            sandbox: Some(embedded),
        })
    }
}

/// A database token if there is one (it needs nothing else), else an API token and its app.
fn with_credentials(builder: ClientBuilder, app: Option<&str>) -> Result<ClientBuilder, CliError> {
    if let Some(token) = env("SCALINGO_DB_TOKEN") {
        return Ok(builder.token(SecretString::from(token)));
    }
    let Some(api_token) = env("SCALINGO_API_TOKEN") else {
        return Err(CliError::Auth(
            "no credentials: set SCALINGO_API_TOKEN (an API token, from the dashboard or \
             `scalingo tokens-create`) or SCALINGO_DB_TOKEN (a database token); or try --sandbox"
                .to_owned(),
        ));
    };
    let app = app.ok_or_else(|| {
        CliError::Usage(
            "an API token works through the database's app: pass --app <NAME> or set SCALINGO_APP"
                .to_owned(),
        )
    })?;
    Ok(builder.api_token(SecretString::from(api_token), app))
}

/// A variable of the environment, unless unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
