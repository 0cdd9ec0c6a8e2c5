//! The command line as clap parses it: the global flags, the commands, and the arguments several
//! commands share, with the help text people read. Each area's own commands live beside their
//! code (`cmd_users.rs`, `cmd_backups.rs`). Nothing here does I/O; `target.rs` turns these into a
//! client.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use scalingo_db::Region;

use crate::cmd_backups::BackupsCommand;
use crate::cmd_database::DatabaseCommand;
use crate::cmd_operations::OperationsCommand;
use crate::cmd_pitr::PitrCommand;
use crate::cmd_users::UsersCommand;

/// Manage the users, backups and restores of a Scalingo database.
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
  SCALINGO_DB_RESTORE_INTO  the URL of the scratch database `backups verify --restore-into`
                            restores into (it may carry a password)
  SCALINGO_DB_SANDBOX_TIME  `virtual`: the --sandbox time moves only when a command waits, which
                            then ends at once (default: `real`)
  NO_COLOR, CLICOLOR=0  no colours with --color=auto; CLICOLOR_FORCE=1: colours even when piped
  RUST_LOG              log filter, overriding -v

Exit codes:
  0    success
  1    the API or the server failed or refused, the network failed, a backup or an operation
       failed or was still under way when --timeout passed, a local file could not be written,
       or a confirmation was declined
  2    usage or validation error: bad arguments, missing configuration, a protected user, a
       name, password or hour the API's rules refuse (checked before sending, or refused with
       422), a restore time outside the recovery window
  3    authentication: no credentials, or the API refused them (401, 403)
  4    not found: the database, user, backup or operation does not exist
  10   backups verify: the archive is damaged (not a whole gzip and tar stream)
  11   backups verify: the archive holds no dump of the database's kind, or its tool cannot
       read it
  12   backups verify --restore-into: the restore failed, or did not bring back every row
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
    /// Show the database itself.
    #[command(subcommand)]
    Database(DatabaseCommand),

    /// List, create, update and delete the database's users.
    #[command(subcommand)]
    Users(UsersCommand),

    /// List, create, wait for and download the database's backups; set when they are made.
    #[command(subcommand)]
    Backups(BackupsCommand),

    /// Restore a PostgreSQL database to a point in time.
    #[command(subcommand)]
    Pitr(PitrCommand),

    /// Follow the long operations on the database (a restore).
    #[command(subcommand)]
    Operations(OperationsCommand),

    /// Manage the embedded sandbox's state file.
    #[command(subcommand)]
    Sandbox(SandboxCommand),

    /// Print the JSON Schema of what a command prints with --json.
    ///
    /// `schema users list` prints one; without a command, the schemas of every command, by
    /// command.
    Schema {
        /// The command, as typed after `scalingo-db` (e.g. `backups download`).
        command: Vec<String>,
    },

    /// Print a completion script for a shell, e.g. `scalingo-db completions bash > …`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `scalingo-db sandbox …`
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Forget the sandbox's users and backups: the next --sandbox run starts afresh.
    Reset,
}

/// A region by its name; the error lists the known ones.
fn parse_region(name: &str) -> Result<Region, String> {
    name.parse()
        .map_err(|error: scalingo_db::UnknownRegion| error.to_string())
}

/// `90`, `90s`, `15m`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
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
