//! The command line as clap parses it: every flag, argument and environment variable, with the
//! help text people read. Nothing here does I/O; `target.rs` turns these into a client.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use scalingo_db::Region;

/// Manage the users and backups of a Scalingo database.
///
/// Select the database with --app and --addon (or SCALINGO_APP and SCALINGO_ADDON) and give an
/// API token in SCALINGO_API_TOKEN. Or try every command with --sandbox, no account needed.
#[derive(Debug, Parser)]
#[command(
    name = "scalingo-db",
    version,
    after_long_help = AFTER_HELP,
    after_help = "Exit codes and environment variables: see --help."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Shown at the end of `--help`: what scripts need to know.
const AFTER_HELP: &str = "\
Credentials (read from the environment only, never from arguments, which other users can see):
  SCALINGO_API_TOKEN    an API token (dashboard, or `scalingo tokens-create`); needs --app
  SCALINGO_DB_TOKEN     a database token, used as is (with --db-api-url for other setups)
  SCALINGO_AUTH_URL, SCALINGO_API_URL
                        where API tokens are exchanged, for setups other than Scalingo's

Other environment variables:
  SCALINGO_DB_SANDBOX_FILE  the --sandbox state file
                            (default: $XDG_DATA_HOME/scalingo-db/sandbox.json)
  NO_COLOR, CLICOLOR=0  no colours with --color=auto; CLICOLOR_FORCE=1: colours even when piped
  RUST_LOG              log filter, overriding -v

Exit codes:
  0    success
  1    the API or the server failed, the network failed, a backup failed, a local file could not
       be written, or a confirmation was declined
  2    usage or validation error: bad arguments, missing configuration, a protected user, a
       name or password the API's rules refuse (checked before sending, or refused with 422)
  3    authentication: no credentials, or the API refused them (401, 403)
  4    not found: the database, user or backup does not exist
  130  interrupted (Ctrl-C)";

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The Scalingo region of the database.
    #[arg(
        long,
        env = "SCALINGO_REGION",
        default_value = "osc-fr1",
        value_parser = parse_region,
        global = true
    )]
    pub region: Region,

    /// The app the database addon belongs to.
    #[arg(
        long,
        short = 'a',
        env = "SCALINGO_APP",
        value_name = "NAME",
        global = true
    )]
    pub app: Option<String>,

    /// The database addon's ID (`ad-…`).
    #[arg(long, env = "SCALINGO_ADDON", value_name = "ID", global = true)]
    pub addon: Option<String>,

    /// Call this Database API instead of the region's (its base URL, with its `/api` prefix).
    #[arg(long, env = "SCALINGO_DB_API_URL", value_name = "URL", global = true)]
    pub db_api_url: Option<String>,

    /// Run against an embedded sandbox instead of Scalingo: no account needed. Its databases,
    /// users and backups are kept in a local file between runs (`sandbox reset` clears it).
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// Print the API's objects as JSON on stdout, and nothing else there.
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only errors and the data asked for.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log each HTTP exchange on stderr (-vv: more detail).
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// When to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a colour terminal, unless NO_COLOR or CLICOLOR=0 is set (or anywhere with
    /// CLICOLOR_FORCE=1).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, create, update and delete the database's users.
    #[command(subcommand)]
    Users(UsersCommand),

    /// List, create, wait for and download the database's backups.
    #[command(subcommand)]
    Backups(BackupsCommand),

    /// Manage the embedded sandbox's state file.
    #[command(subcommand)]
    Sandbox(SandboxCommand),

    /// Print a completion script for a shell, e.g. `scalingo-db completions bash > …`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

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

    /// Set a user's password. Asks for it (leave it empty to let the server generate one).
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
    /// Read the password from the first line of stdin instead of prompting; an empty line (or no
    /// input) lets the server generate one.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `scalingo-db backups …`
#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// List the backups, newest first.
    List,

    /// Start a backup now.
    Create {
        /// Wait until it is done.
        #[arg(long)]
        wait: bool,

        #[command(flatten)]
        wait_options: WaitArgs,
    },

    /// Show one backup.
    Show {
        /// The backup's ID.
        id: String,
    },

    /// Wait until a backup is done.
    Wait {
        /// The backup's ID.
        id: String,

        #[command(flatten)]
        wait_options: WaitArgs,
    },

    /// Print a short-lived download link of a backup's archive. It carries a token: treat it like
    /// a password.
    ArchiveUrl {
        /// The backup's ID.
        id: String,
    },

    /// Download a backup's archive (by default the most recent done backup, to
    /// `./<backup name>.tar.gz`). An interrupted download resumes when run again.
    Download {
        /// The backup's ID (default: the most recent done backup).
        id: Option<String>,

        /// Where to write the archive: a file, an existing directory, or `-` for stdout.
        #[arg(long, short = 'o', value_name = "PATH|DIR|-")]
        output: Option<PathBuf>,

        /// Replace the file if it exists.
        #[arg(long, short = 'f')]
        force: bool,

        /// No progress bar.
        #[arg(long, short = 's')]
        silent: bool,
    },
}

/// How long and how quietly to wait for a backup.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Give up after this long: seconds, or a number with s, m or h.
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub timeout: Duration,

    /// No progress display.
    #[arg(long, short = 's')]
    pub silent: bool,
}

/// `scalingo-db sandbox …`
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Forget the sandbox's users and backups: the next --sandbox run starts afresh.
    Reset,
}

/// A region by its name; the error lists the known ones.
fn parse_region(name: &str) -> Result<Region, String> {
    name.parse().map_err(|_| {
        format!(
            "known regions: {}",
            Region::ALL.map(Region::name).join(", ")
        )
    })
}

/// `90`, `90s`, `15m`, `2h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let seconds_per_unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(format!(
                "`{text}` is not a duration (e.g. 90, 90s, 15m, 2h)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|value| value.checked_mul(seconds_per_unit))
        .filter(|seconds| *seconds > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is not a positive duration (e.g. 90, 90s, 15m, 2h)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "0", "m", "1d", "-5", "1.5h", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }
}
