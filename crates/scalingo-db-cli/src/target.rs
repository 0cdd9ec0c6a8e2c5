//! Which database the command acts on and with which credentials: the global options and the
//! environment resolved into a ready [`Database`], before any request. Commands never read
//! credentials themselves.
//!
//! Tokens are read from the environment only: arguments show in the process list.

use scalingo_db::{Client, ClientBuilder, Database};

use crate::args::GlobalArgs;
use crate::exit::CliError;
use crate::output::Output;

/// The selected database, and the embedded sandbox it lives in, if any.
pub struct Target {
    /// The database, with its client's credentials.
    pub db: Database,
    /// The embedded sandbox of `--sandbox`, whose state is saved when the command ends.
    #[cfg(feature = "sandbox")]
    sandbox: Option<crate::embedded::Embedded>,
}

/// Set by `scalingo-db` on every request, before the library's own product token.
fn user_agent() -> String {
    format!("scalingo-db-cli/{}", env!("CARGO_PKG_VERSION"))
}

impl Target {
    /// Resolves the options into a database; with `--sandbox`, starts the embedded sandbox first.
    pub async fn connect(global: &GlobalArgs, output: &Output) -> Result<Target, CliError> {
        if global.sandbox {
            return Target::sandbox(global, output).await;
        }
        let addon = global.addon.clone().ok_or_else(|| {
            CliError::Usage(
                "no database selected: pass --addon <ID> or set SCALINGO_ADDON (or try --sandbox)"
                    .to_owned(),
            )
        })?;
        let mut builder = Client::builder()
            .region(global.region)
            .user_agent(user_agent());
        if let Some(url) = &global.db_api_url {
            builder = builder.database_api_url(url);
        }
        if let Some(url) = env("SCALINGO_AUTH_URL") {
            builder = builder.auth_url(url);
        }
        if let Some(url) = env("SCALINGO_API_URL") {
            builder = builder.main_api_url(url);
        }
        let (builder, app) = with_credentials(builder, &addon, global.app.as_deref())?;
        let client = builder.build()?;
        let db = match app {
            Some(app) => client.database_of(app, addon),
            None => client.database(addon),
        };
        Ok(Target {
            db,
            #[cfg(feature = "sandbox")]
            sandbox: None,
        })
    }

    /// Whether the database is the embedded sandbox's.
    pub fn is_embedded(&self) -> bool {
        #[cfg(feature = "sandbox")]
        return self.sandbox.is_some();
        #[cfg(not(feature = "sandbox"))]
        false
    }

    /// Ends the command: the embedded sandbox's state is saved whatever happened, since a failure
    /// may follow a change; a failure to save is reported with the command's own failure.
    pub fn finish(self, result: Result<(), CliError>, output: &Output) -> Result<(), CliError> {
        #[cfg(feature = "sandbox")]
        if let Some(sandbox) = &self.sandbox {
            return match (sandbox.save(), result) {
                (Err(error), Ok(())) => Err(error),
                (Err(error), Err(failure)) => {
                    output.error(&error);
                    Err(failure)
                }
                (Ok(()), result) => result,
            };
        }
        let _ = output;
        result
    }

    /// `--sandbox`: the embedded sandbox's own token flow; the environment's tokens, which belong
    /// to real accounts, are neither used nor sent there.
    #[cfg(feature = "sandbox")]
    async fn sandbox(global: &GlobalArgs, output: &Output) -> Result<Target, CliError> {
        use scalingo_db_sandbox::{DEFAULT_APP, DEFAULT_DATABASE};

        let embedded = crate::embedded::Embedded::start(output).await?;
        let mut builder = Client::builder()
            .all_servers_at(embedded.sandbox().base_url())
            .api_token(embedded.api_token())
            .user_agent(user_agent());
        if let Some(clock) = embedded.client_clock() {
            builder = builder.clock(clock);
        }
        let client = builder.build()?;
        let db = client.database_of(
            global.app.as_deref().unwrap_or(DEFAULT_APP),
            global.addon.as_deref().unwrap_or(DEFAULT_DATABASE),
        );
        Ok(Target {
            db,
            sandbox: Some(embedded),
        })
    }

    /// `--sandbox` without the embedded sandbox: say how to get one.
    #[cfg(not(feature = "sandbox"))]
    async fn sandbox(_: &GlobalArgs, _: &Output) -> Result<Target, CliError> {
        Err(CliError::Usage(WITHOUT_SANDBOX.to_owned()))
    }
}

/// Why `--sandbox` and `sandbox reset` fail in a build without the embedded sandbox.
#[cfg(not(feature = "sandbox"))]
pub const WITHOUT_SANDBOX: &str = "this scalingo-db was built without the embedded sandbox \
    (cargo feature `sandbox`): rebuild it with `--features sandbox`, or run \
    `scalingo-db-sandbox` and point --db-api-url, SCALINGO_AUTH_URL and SCALINGO_API_URL at it";

/// A database token if there is one (it needs nothing else), else an API token and its app.
fn with_credentials<'a>(
    builder: ClientBuilder,
    addon: &str,
    app: Option<&'a str>,
) -> Result<(ClientBuilder, Option<&'a str>), CliError> {
    if let Some(token) = env("SCALINGO_DB_TOKEN") {
        return Ok((builder.database_token(addon, token), app));
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
    Ok((builder.api_token(api_token), Some(app)))
}

/// A variable of the environment, unless unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
