//! The point-in-time recovery window of a database: the span its backups let a restore go back
//! to, as the sandbox models it.

use chrono::{DateTime, SecondsFormat, Utc};
use scalingo_db_generated::BackupStatus;
use scalingo_db_generated::types::RecoveryWindow;

use super::{Database, Lifecycle};

impl Database {
    /// From the creation of its oldest done backup (the first base backup) to `now`; both ends
    /// `None` while no backup is done.
    pub fn recovery_window(&self, lifecycle: Lifecycle, now: DateTime<Utc>) -> RecoveryWindow {
        let earliest = self
            .backups
            .iter()
            .filter(|backup| backup.status(lifecycle, now) == BackupStatus::Done)
            .map(|backup| backup.created_at)
            .min();
        RecoveryWindow {
            earliest_recoverable_at: earliest,
            latest_recoverable_at: earliest.map(|_| now),
        }
    }
}

/// Whether `at` is within `window` (both ends included; never, when it has no ends).
pub fn within(window: &RecoveryWindow, at: DateTime<Utc>) -> bool {
    window
        .earliest_recoverable_at
        .is_some_and(|earliest| earliest <= at)
        && window
            .latest_recoverable_at
            .is_some_and(|latest| at <= latest)
}

/// `(<earliest> to <latest>)`, in RFC 3339 to the second, as the refusal of a time outside the
/// window says it.
pub fn describe(window: &RecoveryWindow) -> String {
    let time = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    match (window.earliest_recoverable_at, window.latest_recoverable_at) {
        (Some(earliest), Some(latest)) => format!("({} to {})", time(earliest), time(latest)),
        _ => "(there is none yet: no backup is done)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    use crate::config::{DEFAULT_DATABASE, SandboxConfig};
    use crate::store::Store;

    #[test]
    fn the_window_runs_from_the_oldest_done_backup_to_now_and_is_empty_before_one_is_done() {
        // The seeded backup, taken 20 hours before, is done 21 hours after it was asked for.
        let store = Store::new(SandboxConfig {
            clock: crate::Clock::manual(
                DateTime::parse_from_rfc3339("2026-03-01T12:00:00.750Z")
                    .expect("a time")
                    .to_utc(),
            ),
            backup_scheduled_for: std::time::Duration::from_secs(21 * 3600),
            ..SandboxConfig::default()
        });
        let lifecycle = store.lifecycle();
        let database = store.database(DEFAULT_DATABASE).expect("seeded");
        let seeded = database.backups[0].created_at;
        let now = store.now();

        let empty = database.recovery_window(lifecycle, now);
        assert_eq!(empty, RecoveryWindow::default());
        assert!(!within(&empty, now));
        assert_eq!(describe(&empty), "(there is none yet: no backup is done)");

        let later = now + TimeDelta::hours(1);
        let window = database.recovery_window(lifecycle, later);
        assert_eq!(window.earliest_recoverable_at, Some(seeded));
        assert_eq!(window.latest_recoverable_at, Some(later));
        assert!(within(&window, seeded));
        assert!(within(&window, later));
        let tick = TimeDelta::milliseconds(1);
        assert!(!within(&window, seeded - tick));
        assert!(!within(&window, later + tick));
        assert_eq!(
            describe(&window),
            "(2026-02-28T16:00:00Z to 2026-03-01T13:00:00Z)",
            "to the second"
        );
    }
}
