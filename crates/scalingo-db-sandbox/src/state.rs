//! The sandbox's state as a file: what a later run (of the binary with `--state-file`, or of a
//! command-line tool using an embedded sandbox) needs to find the same databases, users, backups,
//! backup schedules and operations. Tokens are not kept: they are short-lived and reissued.
//!
//! The file is the store's own data written with serde, so there is no second shape to keep in
//! step. Passwords are kept as the store keeps them, salted SHA-256, never in clear.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::Database;

/// The version of the file format, checked on load. Fields added since come with defaults, so
/// files of this format written by earlier versions still read.
const FORMAT: u32 = 1;

/// Everything a sandbox holds, but its tokens: its databases, their users (passwords hashed) and
/// backups, sorted by database id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxState {
    format: u32,
    /// The sandbox's time when the state was kept, for a later run whose clock must not go back
    /// (see [`SandboxState::at`]); absent from the states a sandbox gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<DateTime<Utc>>,
    pub(crate) databases: Vec<Database>,
}

impl SandboxState {
    pub(crate) fn new(databases: Vec<Database>) -> Self {
        SandboxState {
            format: FORMAT,
            time: None,
            databases,
        }
    }

    /// The state, noting that the sandbox's clock read `time` when it was kept: a sandbox whose
    /// clock ran ahead of the real time (a `Clock::manual` moved forward) saves it, so that the
    /// next run can start its clock there instead of before its own backups.
    pub fn at(mut self, time: DateTime<Utc>) -> Self {
        self.time = Some(time);
        self
    }

    /// The time noted by [`SandboxState::at`], if any.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.time
    }

    /// Reads a state file; `Ok(None)` when there is none yet. First removes the temporary files
    /// that saves interrupted by a crash or `kill -9` left beside it (only those: see
    /// `remove_stale_temporaries`), as the next start is when they are found.
    pub fn load(path: &Path) -> std::io::Result<Option<SandboxState>> {
        for removed in remove_stale_temporaries(path) {
            tracing::info!(
                file = %removed.display(),
                "sandbox removed a temporary state file an interrupted save left"
            );
        }
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let unreadable = |error: serde_json::Error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not a sandbox state file: {error}", path.display()),
            )
        };
        // The format first: a file of another format may not have this format's shape, and
        // should be refused for its format rather than for its shape.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let Format { format } = serde_json::from_slice(&text).map_err(unreadable)?;
        if format != FORMAT {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} has state format {format}, this sandbox reads {FORMAT}",
                    path.display(),
                ),
            ));
        }
        serde_json::from_slice(&text).map(Some).map_err(unreadable)
    }

    /// Writes the state to `path` atomically: to a temporary file beside it
    /// (`<name>.<pid>.tmp`), synced, then renamed over it, so a crash leaves either the old state
    /// or the new one (and at worst that temporary file, which the next load removes).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let temporary = temporary_file(path, std::process::id());
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        };
        write().inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    }
}

/// The temporary file a save by the process `pid` writes before renaming it over `path`.
fn temporary_file(path: &Path, pid: u32) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{pid}.tmp"));
    path.with_file_name(name)
}

/// How old a temporary file must be to be removed when the process that wrote it may still be
/// running (its id was reused, or there is no way to tell): a save takes milliseconds.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Removes the temporary files of interrupted saves of `path`, and answers which. Only files
/// beside it named exactly as [`SandboxState::save`] names them (`<name>.<digits>.tmp`) are
/// candidates, and of those only the ones whose process is gone (known on Linux) or that are
/// over an hour old: never another file, nor a save under way in another process. Failures are
/// skipped: a file that cannot be removed stays, and the state still loads.
fn remove_stale_temporaries(path: &Path) -> Vec<PathBuf> {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return Vec::new();
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|file| {
                file.strip_prefix(name)?
                    .strip_prefix('.')?
                    .strip_suffix(".tmp")
            })
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let old = metadata
            .modified()
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if metadata.is_file()
            && (old || process_is_gone(pid))
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed
}

/// Whether no process `pid` runs (this one counts as running: its own save may be under way).
/// Known on Linux, from `/proc`; elsewhere, unknown, so `false`.
fn process_is_gone(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    cfg!(target_os = "linux")
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;
    use crate::store::Store;

    /// A state file as format 1 was first written.
    const FORMAT_1: &str = r#"{
      "format": 1,
      "databases": [
        {
          "id": "ad-old",
          "app": "old-app",
          "type": "mysql",
          "users": [
            {
              "name": "old_app_1234",
              "read_only": false,
              "protected": true,
              "salt": "000102030405060708090a0b0c0d0e0f",
              "password_sha256": "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"
            }
          ],
          "backups": [
            {
              "id": "0123456789abcdef01234567",
              "name": "20260301120000_old_app_1234",
              "created_at": "2026-03-01T12:00:00.123Z",
              "method": "periodic"
            }
          ]
        }
      ]
    }"#;

    #[test]
    fn a_saved_state_loads_back_the_same() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("state.json");
        let state = Store::new(SandboxConfig::default()).state().clone();
        state.save(&path).expect("save");
        assert_eq!(SandboxState::load(&path).expect("load"), Some(state));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["state.json"], "no temporary file is left");
    }

    #[test]
    fn a_format_1_file_of_an_earlier_version_loads() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("old.json");
        std::fs::write(&path, FORMAT_1).expect("write");
        let state = SandboxState::load(&path).expect("load").expect("a state");
        let [database] = state.databases.as_slice() else {
            panic!("one database: {state:?}");
        };
        assert_eq!(database.id, "ad-old");
        assert_eq!(database.kind, crate::DatabaseType::Mysql);
        assert_eq!(database.users[0].name, "old_app_1234");
        assert!(database.users[0].protected);
        assert_eq!(database.backups[0].id, "0123456789abcdef01234567");
        assert_eq!(
            database.backups[0].created_at.to_rfc3339(),
            "2026-03-01T12:00:00.123+00:00"
        );
        // Fields added since take their defaults: backups every day at midnight UTC, counted
        // from the first use (nothing retroactive), and no operation.
        assert_eq!(database.schedule, crate::store::Schedule::default());
        assert!(database.schedule.enabled);
        assert_eq!(database.schedule.hours, [0]);
        assert_eq!(database.schedule.made_up_to, None);
        assert!(database.operations.is_empty());
        assert_eq!(database.created_at, None);

        // Written again, it reads the same (hashes in lower case).
        state.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("\"password_sha256\": \"00112233445566778899aabbccddeeff"),
            "{text}"
        );
        assert_eq!(SandboxState::load(&path).expect("load"), Some(state));
    }

    #[test]
    fn the_schedule_and_operations_are_kept_in_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("state.json");
        let mut state = Store::new(SandboxConfig::default()).state().clone();
        let now = chrono::Utc::now();
        let database = &mut state.databases[0];
        database.update_schedule(Some(false), Some(7), now);
        database.operations.push(crate::store::Operation::restore(
            now,
            now - chrono::TimeDelta::hours(2),
        ));
        state.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        for key in [
            "\"schedule\"",
            "\"made_up_to\"",
            "\"operations\"",
            "\"pitr_restore\"",
        ] {
            assert!(text.contains(key), "{key} in {text}");
        }
        let loaded = SandboxState::load(&path).expect("load").expect("a state");
        assert_eq!(loaded, state);
        let database = &loaded.databases[0];
        assert!(!database.schedule.enabled);
        assert_eq!(database.schedule.hours, [7]);
        assert_eq!(database.schedule.made_up_to, Some(now));
        assert_eq!(
            database.operations[0].restore_time,
            Some(now - chrono::TimeDelta::hours(2))
        );
    }

    #[test]
    fn another_format_is_refused_for_its_format_whatever_its_shape() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("newer.json");
        std::fs::write(&path, r#"{"format": 2, "databases": {"ad-1": {}}}"#).expect("write");
        let error = SandboxState::load(&path).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("has state format 2, this sandbox reads 1"),
            "{error}"
        );
    }

    #[test]
    fn an_unreadable_hash_or_type_is_not_a_state_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("bad.json");
        for (from, to) in [
            ("\"salt\": \"00", "\"salt\": \"zz"),
            ("\"mysql\"", "\"oracle\""),
        ] {
            std::fs::write(&path, FORMAT_1.replace(from, to)).expect("write");
            let error = SandboxState::load(&path).expect_err("refused");
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
            assert!(
                error.to_string().contains("is not a sandbox state file"),
                "{error}"
            );
        }
    }
}
