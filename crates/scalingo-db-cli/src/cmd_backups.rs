//! `scalingo-db backups …`: list, create, show, wait, archive-url, download: their arguments,
//! what they do, and the schema of what they print with `--json`. `schedule` lives in
//! `cmd_schedule.rs`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use scalingo_db::verify::{Report, VerifyOptions};
use scalingo_db::{Backup, Database, WaitOptions};
use serde::Serialize;

use crate::args::parse_duration;
use crate::cmd_schedule::{self, ScheduleArgs, ScheduleJson};
use crate::cmd_schema::JsonOutput;
use crate::cmd_verify::{self, VerifyArgs, VerifyJson};
use crate::exit::{CliError, unsure};
use crate::human;
use crate::interrupt::{interruptible, leaving};
use crate::output::Output;
use crate::progress::{DownloadBar, WaitDisplay};
use crate::table::Table;
use crate::target::Target;

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

        /// Where to write the archive: a file, an existing directory, `-` (or /dev/stdout) for
        /// stdout, or a character device or FIFO, written into as it is.
        #[arg(long, short = 'o', value_name = "PATH|DIR|-")]
        output: Option<PathBuf>,

        /// Replace the file if it exists (only a regular file is ever replaced).
        #[arg(long, short = 'f')]
        force: bool,

        /// No progress bar.
        #[arg(long, short = 's')]
        silent: bool,

        /// Fetch the archive over N connections at once, in ranges (1: one stream). By default
        /// an archive of 64 MiB or more uses 8, a smaller one 1. Stdout, a FIFO or a device
        /// always take one stream.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=32))]
        connections: Option<u16>,

        /// Also verify the archive as it downloads, as `backups verify` does (without a
        /// restore): a file only. Exit codes as `backups verify`'s; the archive is kept either
        /// way.
        #[arg(long)]
        verify: bool,

        /// Run pg_restore from this folder rather than from the PATH (with --verify).
        #[arg(long, value_name = "DIR", requires = "verify")]
        postgres_bin: Option<PathBuf>,
    },

    /// Show when the daily backups are made; `--at` moves them, `--disable` stops them.
    Schedule(ScheduleArgs),

    /// Prove that a backup restores: its archive is a whole gzip and tar stream, it holds the
    /// database's dump and the engine's own tool reads it (PostgreSQL: pg_restore); with
    /// --restore-into, the dump restores into a scratch database with every row. Exit codes:
    /// 10 archive damaged, 11 dump unreadable, 12 restore failed.
    Verify(VerifyArgs),
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

/// What each `backups` command prints with `--json`.
pub const JSON_OUTPUTS: &[JsonOutput] = &[
    JsonOutput::new::<Vec<Backup>>("backups list"),
    JsonOutput::new::<Backup>("backups create"),
    JsonOutput::new::<Backup>("backups show"),
    JsonOutput::new::<Backup>("backups wait"),
    JsonOutput::new::<ArchiveUrl<'static>>("backups archive-url"),
    JsonOutput::new::<Downloaded<'static>>("backups download"),
    JsonOutput::new::<ScheduleJson>("backups schedule"),
    JsonOutput::new::<VerifyJson<'static>>("backups verify"),
];

/// Runs one `backups` command.
pub async fn run(
    command: BackupsCommand,
    target: &Target,
    output: &Output,
) -> Result<(), CliError> {
    let db = &target.db;
    let embedded = target.is_embedded();
    match command {
        BackupsCommand::List => list(db, output).await,
        BackupsCommand::Create { wait, wait_options } => {
            let backup = interruptible(db.backups().create())
                .await
                .map_err(|error| {
                    unsure(error, || {
                        "the request may have reached the API: `scalingo-db backups list` shows \
                         whether a backup started"
                            .to_owned()
                    })
                })?;
            if !wait {
                if output.json() {
                    return output.object(&backup);
                }
                output.outcome(&format!(
                    "Started backup {} ({}); `scalingo-db backups wait {}` follows it.",
                    backup.id, backup.status, backup.id
                ))?;
                return Ok(());
            }
            let done = wait_for(db, output, &backup.id, &wait_options)
                .await
                .map_err(|error| {
                    leaving(error, || {
                        format!(
                            "backup {} was started; `scalingo-db backups wait {}` follows it",
                            backup.id, backup.id
                        )
                    })
                })?;
            report_done(&done, output)
        }
        BackupsCommand::Show { id } => {
            let backup = interruptible(db.backups().get(&id)).await?;
            if output.json() {
                return output.object(&backup);
            }
            output.data(&details(&backup))
        }
        BackupsCommand::Wait { id, wait_options } => {
            let done = wait_for(db, output, &id, &wait_options).await?;
            report_done(&done, output)
        }
        BackupsCommand::ArchiveUrl { id } => {
            let link = interruptible(db.backups().archive_url(&id)).await?;
            if output.json() {
                return output.object(&ArchiveUrl {
                    download_url: link.expose(),
                });
            }
            output.data(link.expose())?;
            output.note("This link carries a token and expires within minutes: do not share it.");
            if embedded {
                output.note(
                    "The embedded sandbox stops with this command, and the link with it; \
                     the sandbox binary (`scalingo-db-sandbox`) serves links that stay up.",
                );
            }
            Ok(())
        }
        BackupsCommand::Download {
            id,
            output: destination,
            force,
            silent,
            connections,
            verify,
            postgres_bin,
        } => {
            let how = How {
                force,
                silent,
                connections,
                verify: verify.then(|| cmd_verify::download_options(postgres_bin)),
            };
            download(db, output, id, destination, how).await
        }
        BackupsCommand::Schedule(args) => cmd_schedule::run(args, db, output).await,
        BackupsCommand::Verify(args) => cmd_verify::run(args, db, output).await,
    }
}

/// The body of the API's archive answer, as `--json` prints it.
#[derive(Serialize, schemars::JsonSchema)]
struct ArchiveUrl<'a> {
    /// The pre-signed link: it carries its own token and expires within minutes.
    download_url: &'a str,
}

async fn list(db: &Database, output: &Output) -> Result<(), CliError> {
    let backups = interruptible(db.backups().list()).await?;
    if output.json() {
        return output.object(&backups);
    }
    if backups.is_empty() {
        return output.outcome(&format!("Database {} has no backups yet.", db.addon_id()));
    }
    let mut table = Table::new(&["ID", "CREATED", "SIZE", "METHOD", "STATUS"]);
    let for_stderr = !output.text_on_stdout();
    for backup in &backups {
        let status = human::status(&backup.status);
        let status = if for_stderr {
            status.for_stderr()
        } else {
            status
        };
        table.row(vec![
            backup.id.clone(),
            human::local_minute(backup.created_at),
            human::size(backup.size),
            backup
                .method
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
            status.to_string(),
        ]);
    }
    output.data(&table.render(for_stderr))
}

/// One backup, a field a line.
fn details(backup: &Backup) -> String {
    let size = match backup.size {
        Some(bytes) => format!("{} ({bytes} bytes)", human::size(Some(bytes))),
        None => "-".to_owned(),
    };
    let mut fields = vec![
        ("ID", backup.id.clone()),
        ("Name", backup.name.clone()),
        ("Status", human::status(&backup.status).to_string()),
        ("Created", human::local_time(backup.created_at)),
        (
            "Started",
            backup
                .started_at
                .map_or_else(|| "-".to_owned(), human::local_time),
        ),
        ("Size", size),
    ];
    if let Some(method) = &backup.method {
        fields.push(("Method", method.to_string()));
    }
    human::fields(&fields)
}

async fn wait_for(
    db: &Database,
    output: &Output,
    id: &str,
    args: &WaitArgs,
) -> Result<Backup, CliError> {
    let display = WaitDisplay::new(output, args.silent);
    let options = WaitOptions {
        timeout: Some(args.timeout),
        ..WaitOptions::default()
    };
    let result = interruptible(db.backups().wait(id).options(options).on_change(|backup| {
        display.update(
            &format!("backup {}", backup.id),
            human::status(&backup.status),
        );
    }))
    .await;
    display.finish();
    result
}

fn report_done(backup: &Backup, output: &Output) -> Result<(), CliError> {
    if output.json() {
        return output.object(backup);
    }
    output.outcome(&format!(
        "Backup {} is done: {} ({}).",
        backup.id,
        backup.name,
        human::size(backup.size)
    ))
}

/// What `backups download --json` prints.
#[derive(Serialize, schemars::JsonSchema)]
struct Downloaded<'a> {
    /// Where the archive was saved.
    path: &'a Path,
    /// Its size.
    bytes: u64,
    /// How many times the transfer was resumed after an interruption.
    resumes: u32,
    /// The backup.
    backup: &'a Backup,
    /// What `--verify` found, when it was asked for.
    verification: Option<&'a Report>,
}

/// How `backups download` goes about it.
struct How {
    /// Replace an existing file.
    force: bool,
    /// No progress bar.
    silent: bool,
    /// Connections asked for; `None` lets the library choose from the archive's size.
    connections: Option<u16>,
    /// The verification asked for, if any.
    verify: Option<VerifyOptions>,
}

async fn download(
    db: &Database,
    output: &Output,
    id: Option<String>,
    destination: Option<PathBuf>,
    how: How,
) -> Result<(), CliError> {
    let How {
        force,
        silent,
        connections,
        verify,
    } = how;
    let to_stdout = means_stdout(destination.as_deref());
    if to_stdout && verify.is_some() {
        return Err(verify_needs_a_file("stdout"));
    }
    if to_stdout && connections.is_some_and(|connections| connections > 1) {
        return Err(one_stream_only("stdout"));
    }
    if to_stdout && output.json() {
        return Err(CliError::Usage(
            "--json prints objects on stdout, and -o - the archive: choose one".to_owned(),
        ));
    }
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(CliError::Usage(
            "refusing to write a binary archive to the terminal: redirect stdout, or pass -o <PATH>"
                .to_owned(),
        ));
    }
    let backup = match id {
        Some(id) => interruptible(db.backups().get(&id)).await?,
        None => {
            let latest = interruptible(db.backups().latest_done()).await?;
            let backup = latest.ok_or_else(|| {
                CliError::NotFound(format!(
                    "database {} has no done backup to download (see `scalingo-db backups list`)",
                    db.addon_id()
                ))
            })?;
            output.note(&format!(
                "Selected the most recent done backup: {} ({}).",
                backup.id,
                human::local_minute(backup.created_at)
            ));
            backup
        }
    };
    let bar = DownloadBar::new(output, silent);

    if to_stdout {
        output.take_stdout();
        let streamed = interruptible(
            db.backups()
                .download_to(&backup.id, tokio::io::stdout())
                .on_progress(|progress| bar.update(progress)),
        )
        .await;
        bar.finish();
        let streamed = streamed.map_err(|error| writing(error, "stdout"))?;
        return output.outcome(&format!(
            "Wrote backup {} ({}) to stdout.",
            backup.name,
            indicatif::HumanBytes(streamed.bytes)
        ));
    }

    let path = archive_path(destination, &backup.name);
    if let Some(kind) = stream_kind(&path)? {
        if connections.is_some_and(|connections| connections > 1) {
            return Err(one_stream_only(&path.display().to_string()));
        }
        if verify.is_some() {
            return Err(verify_needs_a_file(&path.display().to_string()));
        }
        // Written into as it is: nothing is replaced, so no --force is asked for.
        let writer = interruptible(open_stream(&path, kind, output)).await?;
        let streamed = interruptible(
            db.backups()
                .download_to(&backup.id, writer)
                .on_progress(|progress| bar.update(progress)),
        )
        .await;
        bar.finish();
        let streamed = streamed.map_err(|error| writing(error, &path.display().to_string()))?;
        if output.json() {
            return output.object(&Downloaded {
                path: &path,
                bytes: streamed.bytes,
                resumes: streamed.resumes,
                backup: &backup,
                verification: None,
            });
        }
        return output.outcome(&format!(
            "Wrote backup {} ({}) to {}.",
            backup.name,
            indicatif::HumanBytes(streamed.bytes),
            path.display()
        ));
    }
    // Only a regular file is replaced; the library refuses anything else, naming it.
    let is_file = std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_file());
    if !force && is_file {
        return Err(CliError::Usage(format!(
            "{} already exists; pass --force to replace it",
            path.display()
        )));
    }
    let mut download = db
        .backups()
        .download(&backup.id, &path)
        // 0: the library chooses from the archive's size.
        .connections(connections.map_or(0, usize::from))
        .on_progress(|progress| bar.update(progress));
    if let Some(options) = verify {
        download = download.verify(options);
    }
    let downloaded = interruptible(download).await;
    bar.finish();
    let downloaded = downloaded.map_err(|error| {
        let mut part = path.clone().into_os_string();
        part.push(".part");
        // Nothing is written before the archive's first byte: there may be no part to speak of.
        if !Path::new(&part).exists() {
            return error;
        }
        leaving(error, || {
            format!(
                "the part already downloaded is kept in {}.part; the same command resumes it",
                path.display()
            )
        })
    })?;
    if output.json() {
        output.object(&Downloaded {
            path: &downloaded.path,
            bytes: downloaded.bytes,
            resumes: downloaded.resumes,
            backup: &backup,
            verification: downloaded.verification.as_ref(),
        })?;
    } else {
        output.outcome(&format!(
            "Saved backup {} ({}) to {}.",
            backup.name,
            indicatif::HumanBytes(downloaded.bytes),
            downloaded.path.display()
        ))?;
        if let Some(report) = &downloaded.verification {
            let title = format!("Backup {} ({})", backup.id, backup.name);
            output.data(&cmd_verify::human(report, &title))?;
        }
    }
    match &downloaded.verification {
        Some(report) => cmd_verify::verdict(report),
        None => Ok(()),
    }
}

/// `--verify` with a destination written in order as it comes, which has no archive to keep.
fn verify_needs_a_file(destination: &str) -> CliError {
    CliError::Usage(format!(
        "--verify needs a file to download to, not {destination}; `scalingo-db backups verify` \
         checks a backup without saving it"
    ))
}

/// `--connections` above 1 for a destination written in order, `what`.
fn one_stream_only(what: &str) -> CliError {
    CliError::Usage(format!(
        "{what} takes the archive in order, over one connection: --connections applies to a \
         file download"
    ))
}

/// Whether `-o` means standard output: `-`, or `/dev/stdout` (which is not replaced by a file).
fn means_stdout(destination: Option<&Path>) -> bool {
    destination.is_some_and(|path| path == Path::new("-") || path == Path::new("/dev/stdout"))
}

/// A destination written into as it is, never replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    /// A character device (`/dev/null`, ...).
    Device,
    /// A FIFO (named pipe).
    Fifo,
}

/// Whether `path` (links followed: it was named on the command line) is a character device or a
/// FIFO, which the archive is written into; `None` for a file or nothing, which is downloaded
/// beside and renamed into place. A socket or a block device cannot take an archive: refused.
fn stream_kind(path: &Path) -> Result<Option<Stream>, CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let Ok(metadata) = std::fs::metadata(path) else {
            return Ok(None);
        };
        let file_type = metadata.file_type();
        let refused = |what: &str| {
            Err(CliError::Usage(format!(
                "{} is {what}: an archive can go to a file, a directory, a character device, a \
                 FIFO, or stdout (-o -)",
                path.display()
            )))
        };
        if file_type.is_char_device() {
            return Ok(Some(Stream::Device));
        }
        if file_type.is_fifo() {
            return Ok(Some(Stream::Fifo));
        }
        if file_type.is_socket() {
            return refused("a socket");
        }
        if file_type.is_block_device() {
            return refused("a block device");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(None)
}

/// Opens the device or FIFO at `path` to write the archive into; a FIFO once a reader has opened
/// it (as a shell's `>` waits), which Ctrl-C interrupts.
async fn open_stream(
    path: &Path,
    kind: Stream,
    output: &Output,
) -> Result<Box<dyn tokio::io::AsyncWrite + Unpin + Send>, CliError> {
    let failed = |error: std::io::Error| CliError::io(path.display(), error);
    match kind {
        Stream::Device => {
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .await
                .map_err(failed)?
                .into_std()
                .await;
            if file.is_terminal() {
                return Err(CliError::Usage(format!(
                    "refusing to write a binary archive to the terminal {}",
                    path.display()
                )));
            }
            Ok(Box::new(tokio::fs::File::from_std(file)))
        }
        #[cfg(unix)]
        Stream::Fifo => {
            let mut told = false;
            loop {
                match tokio::net::unix::pipe::OpenOptions::new().open_sender(path) {
                    Ok(sender) => return Ok(Box::new(sender)),
                    // No reader yet.
                    Err(error) if error.raw_os_error() == Some(libc::ENXIO) => {
                        if !told {
                            output.note(&format!("Waiting for a reader of {}.", path.display()));
                            told = true;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => return Err(failed(error)),
                }
            }
        }
        #[cfg(not(unix))]
        Stream::Fifo => {
            let _ = output;
            Err(failed(std::io::ErrorKind::Unsupported.into()))
        }
    }
}

/// A failure to write into a caller's writer, which the library leaves unnamed, as a failure of
/// `name` ("stdout", a device's path).
fn writing(error: CliError, name: &str) -> CliError {
    match error {
        CliError::Api(scalingo_db::Error::Io { path: None, source }) if name == "stdout" => {
            CliError::io(name, source)
        }
        CliError::Api(scalingo_db::Error::Io { path: None, source }) => {
            CliError::Failed(format!("{name}: {source}"))
        }
        error => error,
    }
}

/// `-o`'s file, or `<dir>/<backup name>.tar.gz` for a directory, or `./<backup name>.tar.gz`.
fn archive_path(destination: Option<PathBuf>, backup_name: &str) -> PathBuf {
    let file_name = format!("{}.tar.gz", human::file_name(backup_name));
    match destination {
        None => PathBuf::from(file_name),
        Some(dir) if dir.is_dir() || dir.as_os_str().to_string_lossy().ends_with('/') => {
            dir.join(file_name)
        }
        Some(file) => file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_stdout_means_stdout_and_nothing_else_does() {
        assert!(means_stdout(Some(Path::new("-"))));
        assert!(means_stdout(Some(Path::new("/dev/stdout"))));
        for other in ["./-", "/dev/stderr", "stdout", "/dev/null"] {
            assert!(!means_stdout(Some(Path::new(other))), "{other}");
        }
        assert!(!means_stdout(None));
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_written_into_sockets_refused_files_replaced() {
        let dir = tempfile::tempdir().expect("a directory");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("a socket");
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").expect("a file");
        let link_to_null = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &link_to_null).expect("a link");

        assert_eq!(
            stream_kind(Path::new("/dev/null")).ok(),
            Some(Some(Stream::Device))
        );
        assert_eq!(stream_kind(&link_to_null).ok(), Some(Some(Stream::Device)));
        assert_eq!(stream_kind(&fifo).ok(), Some(Some(Stream::Fifo)));
        assert_eq!(stream_kind(&file).ok(), Some(None));
        assert_eq!(stream_kind(&dir.path().join("none")).ok(), Some(None));
        match stream_kind(&socket) {
            Err(CliError::Usage(message)) => {
                assert!(message.contains("is a socket"), "{message}");
                assert!(!message.contains("--force"), "{message}");
            }
            other => panic!("a socket: {other:?}"),
        }
    }

    #[test]
    fn a_failing_writer_is_named_by_what_the_cli_gave() {
        let full = || {
            CliError::Api(scalingo_db::Error::Io {
                path: None,
                source: std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "No space left on device",
                ),
            })
        };
        assert_eq!(
            writing(full(), "stdout").to_string(),
            "stdout: No space left on device"
        );
        assert_eq!(
            writing(full(), "/dev/full").to_string(),
            "/dev/full: No space left on device"
        );
        let closed = CliError::Api(scalingo_db::Error::Io {
            path: None,
            source: std::io::ErrorKind::BrokenPipe.into(),
        });
        assert!(matches!(writing(closed, "stdout"), CliError::BrokenPipe));
    }
}
