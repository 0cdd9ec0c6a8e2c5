//! `scalingo-db`: the users, backups and restores of Scalingo databases, from a terminal or a
//! script.
//!
//! `main` stays thin: parse (`args`), resolve the target (`target`, and `embedded` with the
//! `sandbox` feature), run one command (`cmd_*`), print through `output`, and turn the outcome
//! into an exit code (`exit`).

mod args;
mod cmd_backups;
mod cmd_database;
mod cmd_operations;
mod cmd_pitr;
#[cfg(feature = "sandbox")]
mod cmd_sandbox;
mod cmd_schedule;
mod cmd_schema;
mod cmd_users;
mod cmd_verify;
#[cfg(feature = "sandbox")]
mod embedded;
mod escape;
mod exit;
#[cfg(test)]
mod fuzz;
mod human;
mod interrupt;
mod output;
mod progress;
mod prompt;
mod table;
mod target;
mod when;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::args::{Cli, Command, GlobalArgs, SandboxCommand};
use crate::exit::CliError;
use crate::output::Output;
use crate::target::Target;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output::new(&cli.global);
    init_logging(&cli.global);
    // One thread: a command makes one request at a time, and the embedded sandbox is as fast on
    // the same thread; a single-threaded runtime also starts quicker.
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Failed(format!("cannot start the async runtime: {error}")))
        .and_then(|runtime| runtime.block_on(run(cli, &output)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output.error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(cli: Cli, output: &Output) -> Result<(), CliError> {
    match cli.command {
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "scalingo-db", &mut text);
            output.data(&String::from_utf8_lossy(&text))
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(SandboxCommand::Reset) => cmd_sandbox::reset(output),
        #[cfg(not(feature = "sandbox"))]
        Command::Sandbox(SandboxCommand::Reset) => {
            Err(CliError::Usage(target::WITHOUT_SANDBOX.to_owned()))
        }
        Command::Schema { command } => cmd_schema::run(&command, output),
        Command::Database(command) => {
            let target = Target::connect(&cli.global, output).await?;
            let result = cmd_database::run(command, &target.db, output).await;
            target.finish(result, output)
        }
        Command::Users(command) => {
            let target = Target::connect(&cli.global, output).await?;
            let result = cmd_users::run(command, &target.db, output).await;
            target.finish(result, output)
        }
        Command::Backups(cmd_backups::BackupsCommand::Verify(args)) if args.names_a_file() => {
            cmd_verify::run_file(args, output).await
        }
        Command::Backups(command) => {
            let target = Target::connect(&cli.global, output).await?;
            let result = cmd_backups::run(command, &target, output).await;
            target.finish(result, output)
        }
        Command::Pitr(command) => {
            let target = Target::connect(&cli.global, output).await?;
            let result = cmd_pitr::run(command, &target.db, output).await;
            target.finish(result, output)
        }
        Command::Operations(command) => {
            let target = Target::connect(&cli.global, output).await?;
            let result = cmd_operations::run(command, &target.db, output).await;
            target.finish(result, output)
        }
    }
}

/// `-v` shows each HTTP exchange of the client library, `-vv` the sandbox's and the HTTP stack's
/// too; RUST_LOG, when set, decides instead.
fn init_logging(global: &GlobalArgs) {
    let default = match global.verbose {
        0 if global.quiet => "error",
        0 => "warn",
        // Targets match by prefix: `scalingo_db` alone would take in `scalingo_db_sandbox` too.
        1 => "warn,scalingo_db=debug,scalingo_db_sandbox=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(console::colors_enabled_stderr())
        .with_target(false)
        .init();
}
