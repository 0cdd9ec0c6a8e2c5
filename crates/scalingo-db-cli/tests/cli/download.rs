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

#[test]
fn a_part_file_left_by_an_interrupted_download_is_continued() {
    let work = Workdir::new();
    let expected = expected(&work);
    work.run(["backups", "download", &expected.id, "-o", "full.tgz"])
        .expect(0);
    let full = std::fs::read(work.path().join("full.tgz")).expect("the archive");

    // The start of the archive with one byte changed: only a download that continues the part
    // file, instead of fetching everything again, keeps that byte.
    let mut part = full[..5000].to_vec();
    part[4000] ^= 0xff;
    std::fs::write(work.path().join("resumed.tgz.part"), &part).expect("a part file");
    // A part is continued only for the backup it names.
    std::fs::write(work.path().join("resumed.tgz.part.backup"), &expected.id)
        .expect("the part's owner");
    work.run(["backups", "download", &expected.id, "-o", "resumed.tgz"])
        .expect(0);
    let resumed = std::fs::read(work.path().join("resumed.tgz")).expect("the archive");
    assert_eq!(resumed.len(), full.len());
    assert_eq!(resumed[4000], part[4000], "the part file was fetched again");
    assert!(resumed[5000..] == full[5000..], "the rest differs");
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
