//! A backup as the store holds it (what a state file keeps: id, name, time, method), where it is
//! in its life at a given time, and its view on the wire.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scalingo_db_generated::types;
use scalingo_db_generated::{BackupMethod, BackupStatus};
use serde::{Deserialize, Serialize};

use super::{Database, random_id};
use crate::archive::Archive;
use crate::clock::later;
use crate::config::{DatabaseType, SandboxConfig};
use crate::error::ApiError;
use crate::packed::PackedArchives;

/// A backup of a database. Its status is not kept: it follows from `created_at` and the clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    /// Its id (24 hex digits, like the service's).
    pub id: String,
    /// `<YYYYMMDDhhmmss>_<default user>`, as the service names them.
    pub name: String,
    /// When it was asked for (or scheduled).
    pub created_at: DateTime<Utc>,
    /// Why it exists.
    pub method: BackupMethod,
}

/// How every backup goes: `scheduled` for a while, then `running`, then `done` with an archive
/// of one length per database type (the configured size, or the packed dump's length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    /// How long a backup stays `scheduled`.
    pub scheduled_for: Duration,
    /// How long it then stays `running`.
    pub running_for: Duration,
    /// The length of a done backup's archive, by [`DatabaseType::index`].
    pub archive_lens: [u64; DatabaseType::ALL.len()],
}

impl Lifecycle {
    /// The lifecycle `config` sets, with the lengths of the archives `packed` from its
    /// `archive_from`.
    pub fn of(config: &SandboxConfig, packed: &PackedArchives) -> Self {
        let generated = Archive::len_for(config.archive_size);
        Lifecycle {
            scheduled_for: config.backup_scheduled_for,
            running_for: config.backup_running_for,
            archive_lens: DatabaseType::ALL.map(|kind| {
                packed
                    .for_kind(kind)
                    .map_or(generated, |archive| archive.len())
            }),
        }
    }

    /// The length of a done backup's archive of a `kind` database.
    pub fn archive_len(&self, kind: DatabaseType) -> u64 {
        self.archive_lens[kind.index()]
    }
}

impl Backup {
    /// A new backup with a random id, named after `resource` (the default user) and its time.
    pub fn new(resource: &str, created_at: DateTime<Utc>, method: BackupMethod) -> Self {
        Backup {
            name: format!("{}_{resource}", created_at.format("%Y%m%d%H%M%S")),
            id: random_id(),
            created_at,
            method,
        }
    }

    /// Where the backup is at `now`.
    pub fn status(&self, lifecycle: Lifecycle, now: DateTime<Utc>) -> BackupStatus {
        let elapsed = (now - self.created_at).to_std().unwrap_or(Duration::ZERO);
        // Saturating: the configured phases may be as long as `Duration::MAX`.
        let done_after = lifecycle
            .scheduled_for
            .saturating_add(lifecycle.running_for);
        if elapsed < lifecycle.scheduled_for {
            BackupStatus::Scheduled
        } else if elapsed < done_after {
            BackupStatus::Running
        } else {
            BackupStatus::Done
        }
    }

    /// When the backup is (or will be) done: its archive's `Last-Modified`.
    pub fn done_at(&self, lifecycle: Lifecycle) -> DateTime<Utc> {
        self.created_at + lifecycle.scheduled_for + lifecycle.running_for
    }

    /// Whether the backup is still under way at `now` (another may not start).
    pub fn is_busy(&self, lifecycle: Lifecycle, now: DateTime<Utc>) -> bool {
        matches!(
            self.status(lifecycle, now),
            BackupStatus::Scheduled | BackupStatus::Running
        )
    }

    /// The backup on the wire at `now`, as a backup of `database`.
    pub fn view(
        &self,
        database: &Database,
        lifecycle: Lifecycle,
        now: DateTime<Utc>,
    ) -> types::Backup {
        let status = self.status(lifecycle, now);
        let started_at = (status != BackupStatus::Scheduled)
            .then(|| later(self.created_at, lifecycle.scheduled_for));
        let size = (status == BackupStatus::Done)
            .then(|| i64::try_from(lifecycle.archive_len(database.kind)).unwrap_or(i64::MAX));
        types::Backup {
            id: self.id.clone(),
            created_at: self.created_at,
            started_at,
            name: self.name.clone(),
            size,
            status,
            database_id: Some(database.internal_id()),
            method: Some(self.method.clone()),
            type_: None,
        }
    }
}

impl Database {
    /// The backup `id`, or the 404 of the service.
    pub fn backup(&self, id: &str) -> Result<&Backup, ApiError> {
        self.backups
            .iter()
            .find(|backup| backup.id == id)
            .ok_or(ApiError::NotFound("database_backup"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn a_backup_is_scheduled_then_running_then_done() {
        let lifecycle = Lifecycle {
            scheduled_for: Duration::from_secs(1),
            running_for: Duration::from_secs(2),
            archive_lens: [1000; DatabaseType::ALL.len()],
        };
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let backup = Backup::new("app_1234", start, BackupMethod::Manual);
        assert_eq!(backup.name, "20270115080000_app_1234");
        let at = |millis| start + TimeDelta::milliseconds(millis);
        assert_eq!(backup.status(lifecycle, at(-5)), BackupStatus::Scheduled);
        assert_eq!(backup.status(lifecycle, at(999)), BackupStatus::Scheduled);
        assert_eq!(backup.status(lifecycle, at(1000)), BackupStatus::Running);
        assert_eq!(backup.status(lifecycle, at(2999)), BackupStatus::Running);
        assert!(backup.is_busy(lifecycle, at(2999)));
        assert_eq!(backup.status(lifecycle, at(3000)), BackupStatus::Done);
        assert_eq!(backup.done_at(lifecycle), at(3000));
        assert!(!backup.is_busy(lifecycle, at(3000)));
    }

    #[test]
    fn archive_lengths_are_indexed_in_the_order_of_all_types() {
        for (at, kind) in DatabaseType::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), at, "{kind:?}");
        }
    }
}
