//! `scalingo-db backups download`: where the archive lands (the current directory, a directory, a
//! file, stdout), that what lands is the whole gzip archive, and that an existing file is only
//! replaced when asked. A fresh sandbox has a done backup, so no test waits for one.

use std::io::Read as _;
use std::path::Path;
use std::process::Stdio;

use flate2::read::GzDecoder;
use insta::assert_snapshot;
use serde_json::Value;

use crate::support::{TIMEOUT, Workdir, id_of, wait_within};

/// The backup a download without an id picks, with its size as `backups show --json` says.
struct Expected {
    id: String,
    name: String,
    size: usize,
}

fn expected(work: &Workdir) -> Expected {
    let id = id_of(&work.done_backup());
    let shown = work.json(["backups", "show", &id]);
    let text = |field: &str| shown[field].as_str().unwrap_or_default().to_owned();
    Expected {
        name: text("name"),
        size: shown["size"]
            .as_u64()
            .and_then(|size| usize::try_from(size).ok())
            .unwrap_or_else(|| panic!("no size in {shown}")),
        id,
    }
}

/// `bytes` are a complete gzip stream of the backup's size.
#[track_caller]
fn assert_archive(bytes: &[u8], expected: &Expected) {
    assert_eq!(bytes.len(), expected.size, "the archive's size");
    assert_eq!(bytes.get(..2), Some(&[0x1f, 0x8b][..]), "gzip magic");
    let mut unpacked = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut unpacked)
        .expect("the archive gunzips to its end");
    assert!(!unpacked.is_empty());
}

#[track_caller]
fn assert_archive_file(path: &Path, expected: &Expected) {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert_archive(&bytes, expected);
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    assert!(!Path::new(&part).exists(), "the .part file is left behind");
}

#[test]
fn by_default_the_most_recent_done_backup_is_saved_in_the_current_directory() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();
    let expected = expected(&work);

    let run = work.run(["backups", "download"]).expect(0);
    assert_snapshot!("download_default", run.stdout);
    run.stderr_has(&[&format!(
        "Selected the most recent done backup: {}",
        expected.id
    )]);
    assert_archive_file(
        &work.path().join(format!("{}.tar.gz", expected.name)),
        &expected,
    );
}

#[test]
fn output_to_a_directory_saves_the_archive_under_its_name_there() {
    let work = Workdir::new();
    let expected = expected(&work);
    std::fs::create_dir(work.path().join("archives")).expect("a directory");

    let run = work
        .run(["backups", "download", "-o", "archives"])
        .expect(0);
    let path = format!("archives/{}.tar.gz", expected.name);
    assert!(run.stdout.contains(&path), "{}", run.stdout);
    assert_archive_file(&work.path().join(path), &expected);
}

#[test]
fn output_to_a_file_saves_the_chosen_backup_there() {
    let work = Workdir::new();
    let expected = expected(&work);

    work.run(["backups", "download", &expected.id, "-o", "db.tgz"])
        .expect(0);
    assert_archive_file(&work.path().join("db.tgz"), &expected);
}

#[test]
fn an_existing_file_is_kept_without_force_and_replaced_with_it() {
    let work = Workdir::new();
    let expected = expected(&work);
    let path = work.path().join("db.tgz");
    std::fs::write(&path, "precious").expect("a file");

    work.run(["backups", "download", "-o", "db.tgz"])
        .fails(2, &["db.tgz already exists", "--force"]);
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some("precious")
    );

    work.run(["backups", "download", "-o", "db.tgz", "--force"])
        .expect(0);
    assert_archive_file(&path, &expected);
}

#[test]
fn output_to_stdout_writes_exactly_the_archive_there_and_every_message_to_stderr() {
    let work = Workdir::new();
    let expected = expected(&work);

    let run = work.run(["backups", "download", "-o", "-"]).expect(0);
    assert_archive(&run.stdout_bytes, &expected);
    run.stderr_has(&[
        "Selected the most recent done backup",
        &format!("Wrote backup {} (", expected.name),
        "to stdout",
    ]);

    work.run(["backups", "download", "-o", "same.tgz"])
        .expect(0);
    let file = std::fs::read(work.path().join("same.tgz")).expect("the archive");
    assert!(file == run.stdout_bytes, "stdout and the file differ");
}

#[test]
fn output_to_stdout_with_json_is_refused() {
    let work = Workdir::new();
    work.run(["--json", "backups", "download", "-o", "-"])
        .fails(2, &["--json", "-o -", "choose one"]);
}

#[test]
fn json_download_describes_the_saved_file() {
    let work = Workdir::new();
    let expected = expected(&work);

    let run = work
        .run(["--json", "backups", "download", "-o", "db.tgz"])
        .expect(0);
    let saved = run.json();
    assert_eq!(saved["path"], "db.tgz", "{saved}");
    assert_eq!(saved["bytes"], Value::from(expected.size), "{saved}");
    assert_eq!(saved["resumes"], 0, "{saved}");
    assert_eq!(id_of(&saved["backup"]), expected.id);
    assert_archive_file(&work.path().join("db.tgz"), &expected);
}

#[test]
fn silent_and_quiet_downloads_still_save_the_archive() {
    let work = Workdir::new();
    let expected = expected(&work);

    let silent = work
        .run(["backups", "download", "--silent", "-o", "silent.tgz"])
        .expect(0);
    assert_eq!(silent.stderr.lines().count(), 1, "{:?}", silent.stderr);
    silent.stderr_has(&["Selected the most recent done backup"]);
    assert!(
        silent.stdout.starts_with("Saved backup"),
        "{}",
        silent.stdout
    );
    assert_archive_file(&work.path().join("silent.tgz"), &expected);

    let quiet = work
        .run(["-q", "backups", "download", "-o", "quiet.tgz"])
        .expect(0);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
    assert_archive_file(&work.path().join("quiet.tgz"), &expected);
}

/// A sandbox served by this test process on its own runtime (so that its faults can be set),
/// and `scalingo-db` pointed at it with a database token.
struct Remote {
    sandbox: scalingo_db_sandbox::Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Remote {
    fn start() -> Remote {
        Remote::start_with(Default::default())
    }

    fn start_with(config: scalingo_db_sandbox::SandboxConfig) -> Remote {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let sandbox = runtime
            .block_on(scalingo_db_sandbox::Sandbox::start(config))
            .expect("the sandbox starts");
        Remote {
            sandbox,
            _runtime: runtime,
        }
    }

    fn download(&self, work: &Workdir, args: &[&str]) -> crate::support::Run {
        use crate::support::Runs as _;
        let database = scalingo_db_sandbox::DEFAULT_DATABASE;
        work.cli(["--addon", database, "backups", "download"])
            .args(args)
            .env("SCALINGO_DB_API_URL", self.sandbox.database_api_url())
            .env("SCALINGO_DB_TOKEN", self.sandbox.database_token(database))
            .run()
    }
}

#[test]
fn a_part_file_left_by_an_interrupted_download_is_continued() {
    use scalingo_db_sandbox::{Fault, FaultRule, OperationId};
    let work = Workdir::new();
    let remote = Remote::start();
    // A download cut after 5000 bytes, whose resume is refused: it leaves its part (and the
    // sidecar naming the backup and the version of its archive).
    let download = OperationId::DownloadBackupArchive;
    let cut_then_refuse = || {
        let faults = remote.sandbox.faults();
        faults.inject(FaultRule::new(
            download,
            1,
            Fault::TruncateBody { after_bytes: 5000 },
        ));
        faults.inject(FaultRule::new(download, 1, Fault::json_error(404, "gone")));
    };
    cut_then_refuse();
    remote
        .download(&work, &["-o", "resumed.tgz"])
        .fails(4, &["not found"]);
    let part_path = work.path().join("resumed.tgz.part");
    let part = std::fs::read(&part_path).expect("a part file is kept");
    assert_eq!(part.len(), 5000);

    // One byte changed on disk: only a download that continues the part, instead of fetching
    // everything again, meets it; the gzip trailer then disagrees, and nothing is saved.
    let mut altered = part.clone();
    altered[4000] ^= 0xff;
    std::fs::write(&part_path, &altered).expect("alter the part");
    remote
        .download(&work, &["-o", "resumed.tgz"])
        .fails(1, &["corrupt", "CRC-32"]);
    assert!(!work.path().join("resumed.tgz").exists());
    assert!(!part_path.exists(), "a corrupt part is not kept");

    // Cut again, the part is then continued to the very archive an uninterrupted download saves.
    cut_then_refuse();
    remote
        .download(&work, &["-o", "resumed.tgz"])
        .fails(4, &["not found"]);
    remote.download(&work, &["-o", "resumed.tgz"]).expect(0);
    remote.download(&work, &["-o", "whole.tgz"]).expect(0);
    let resumed = std::fs::read(work.path().join("resumed.tgz")).expect("the archive");
    let whole = std::fs::read(work.path().join("whole.tgz")).expect("the archive");
    assert!(resumed == whole, "the continued download differs");
    assert!(!part_path.exists());
}

#[test]
fn connections_fetch_a_file_in_ranges_that_a_later_run_continues() {
    use scalingo_db_sandbox::{Fault, FaultRule, OperationId, SandboxConfig};
    let work = Workdir::new();
    // 24 MiB: three ranges of 8 MiB with --connections 3 (one stream by default, below 64 MiB).
    let remote = Remote::start_with(SandboxConfig {
        archive_size: 24 * 1024 * 1024,
        ..SandboxConfig::default()
    });
    let download = OperationId::DownloadBackupArchive;
    // Every request of a range is refused once the first range has begun: the run fails, and
    // keeps the part, with a sidecar that counts what each range holds.
    let faults = remote.sandbox.faults();
    faults.inject(FaultRule::new(
        download,
        1,
        Fault::TruncateBody {
            after_bytes: 100_000,
        },
    ));
    faults.inject(FaultRule::new(download, 10, Fault::json_error(404, "gone")));
    remote
        .download(&work, &["-o", "ranged.tgz", "--connections", "3"])
        .fails(4, &["not found"]);
    faults.clear();
    let sidecar = std::fs::read_to_string(work.path().join("ranged.tgz.part.backup"))
        .expect("the part's sidecar");
    assert!(
        sidecar
            .lines()
            .nth(1)
            .is_some_and(|line| line.starts_with("ranged ")),
        "a sidecar of ranges: {sidecar}"
    );
    assert!(!work.path().join("ranged.tgz").exists());
    assert!(
        work.path().join("ranged.tgz.part").exists(),
        "the part is kept"
    );

    remote
        .download(&work, &["-o", "ranged.tgz", "--connections", "3"])
        .expect(0);
    remote
        .download(&work, &["-o", "whole.tgz", "--connections", "1"])
        .expect(0);
    let ranged = std::fs::read(work.path().join("ranged.tgz")).expect("the archive");
    let whole = std::fs::read(work.path().join("whole.tgz")).expect("the archive");
    assert!(ranged == whole, "the download in ranges differs");
    assert_eq!(
        std::fs::read_dir(work.path())
            .expect("the directory lists")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().contains(".part"))
            .count(),
        0,
        "no part or sidecar left"
    );
}

#[test]
fn connections_are_refused_for_a_destination_written_in_order() {
    let work = Workdir::new();
    work.run(["backups", "download", "-o", "-", "--connections", "4"])
        .fails(2, &["stdout takes the archive in order", "--connections"]);
    work.run(["backups", "download", "--connections", "0"])
        .fails(2, &["0 is not in 1..=32"]);
}

#[test]
fn a_backup_that_is_not_done_cannot_be_downloaded() {
    let work = Workdir::new();
    let id = work.start_backup();
    work.run(["backups", "download", &id, "-o", "early.tgz"])
        .fails(1, &[&id, "only a done backup can be downloaded"]);
    assert!(!work.path().join("early.tgz").exists());
    assert!(!work.path().join("early.tgz.part").exists());
}

#[test]
fn a_missing_output_directory_fails_and_names_it() {
    let work = Workdir::new();
    work.run(["backups", "download", "-o", "missing/db.tgz"])
        .fails(1, &["missing/db.tgz", "No such file or directory"]);
}

#[test]
fn a_reader_that_closes_stdout_early_ends_the_download_quietly() {
    let work = Workdir::new();
    let mut child = work
        .std_command()
        .args(["--sandbox", "backups", "download", "-o", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scalingo-db starts");
    // The archive (1 MiB) is larger than a pipe holds: the CLI is still writing when the reader
    // leaves, as with `… -o - | head -c 2`.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut magic = [0; 2];
    stdout.read_exact(&mut magic).expect("the archive starts");
    assert_eq!(magic, [0x1f, 0x8b]);
    drop(stdout);

    let status = wait_within(&mut child, TIMEOUT);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr is text");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn a_device_or_dev_stdout_is_written_into_without_force_and_never_replaced() {
    use std::os::unix::fs::FileTypeExt as _;
    let work = Workdir::new();
    let expected = expected(&work);

    let run = work
        .run(["backups", "download", "-o", "/dev/null"])
        .expect(0);
    assert!(
        run.stdout
            .starts_with(&format!("Wrote backup {} (", expected.name))
            && run.stdout.trim_end().ends_with("to /dev/null."),
        "{}",
        run.stdout
    );
    let null = std::fs::symlink_metadata("/dev/null").expect("/dev/null");
    assert!(null.file_type().is_char_device(), "/dev/null was replaced");
    assert!(!Path::new("/dev/null.part").exists());

    // A link to a device is followed: it was named on purpose.
    std::os::unix::fs::symlink("/dev/null", work.path().join("null")).expect("a link");
    work.run(["backups", "download", "-o", "null"]).expect(0);
    assert!(
        std::fs::symlink_metadata(work.path().join("null"))
            .expect("the link")
            .is_symlink()
    );

    let run = work
        .run(["backups", "download", "-o", "/dev/stdout"])
        .expect(0);
    assert_archive(&run.stdout_bytes, &expected);
    run.stderr_has(&["to stdout"]);
    work.run(["--json", "backups", "download", "-o", "/dev/stdout"])
        .fails(2, &["choose one"]);
}

#[test]
fn a_fifo_is_written_into_for_its_reader() {
    let work = Workdir::new();
    let expected = expected(&work);
    let fifo = work.path().join("archive.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let (sent, received) = std::sync::mpsc::channel();
    let reader_path = fifo.clone();
    std::thread::spawn(move || {
        let _ = sent.send(std::fs::read(reader_path));
    });

    let run = work
        .run(["backups", "download", "-o", "archive.fifo"])
        .expect(0);
    assert!(
        run.stdout.trim_end().ends_with("to archive.fifo."),
        "{}",
        run.stdout
    );
    let read = received
        .recv_timeout(TIMEOUT)
        .expect("the reader ends")
        .expect("the reader reads");
    assert_archive(&read, &expected);
    let kind = std::fs::symlink_metadata(&fifo).expect("the FIFO");
    use std::os::unix::fs::FileTypeExt as _;
    assert!(kind.file_type().is_fifo(), "the FIFO was replaced");
}

#[test]
fn a_full_stdout_is_named_and_nothing_destructive_is_suggested() {
    let work = Workdir::new();
    let full = std::fs::File::create("/dev/full").expect("/dev/full");
    let mut child = work
        .std_command()
        .args(["--sandbox", "backups", "download", "-o", "-"])
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .expect("scalingo-db starts");
    let status = wait_within(&mut child, TIMEOUT);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr is text");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stdout: No space left on device"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("<writer>") && !stderr.contains("--force"),
        "{stderr}"
    );
}
