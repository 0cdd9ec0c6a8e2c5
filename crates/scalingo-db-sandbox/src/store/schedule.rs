//! The periodic backups of a database: its schedule (on or off, the UTC hours), and the catch-up
//! that makes the backups the schedule says are due, with no timer.
//!
//! Whenever the store is used at a time `now` ([`Store::catch_up`], which the service calls each
//! time it hands the store out), every database with its schedule on gets one periodic backup per
//! scheduled instant in (the time it was made up to, `now`] (the last seven days of them at most),
//! created at that instant, and then keeps its seven newest periodic backups. A moved clock thus
//! finds the backups of the nights it skipped, as if the sandbox had run through them.

use chrono::{DateTime, TimeDelta, Utc};
use scalingo_db_generated::BackupMethod;
use serde::{Deserialize, Serialize};

use super::{Backup, Database, Store};

/// The hour of the day (UTC) of a seeded database's periodic backups: about 01:00 in Paris, as
/// the platform schedules them by default.
pub const DEFAULT_BACKUP_HOUR: i32 = 0;

/// How many periodic backups a database keeps: the oldest go (manual ones stay).
pub const KEPT_PERIODIC_BACKUPS: usize = 7;

/// How far back a catch-up goes: after a longer gap, only the last days' backups are made (no
/// more could be kept anyway).
const CATCH_UP_LIMIT: TimeDelta = TimeDelta::days(7);

/// When a database's periodic backups are made, and up to when they were. Every field has a
/// default, so that state files written before the sandbox kept it still load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    /// Whether a backup is made every day.
    pub enabled: bool,
    /// The hours of the day (UTC) it is made at; `update_database` sets one.
    pub hours: Vec<i32>,
    /// The time up to which the backups of the schedule were made; `None` (a state file written
    /// before) starts at the first use, so nothing is made for the time before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub made_up_to: Option<DateTime<Utc>>,
}

impl Default for Schedule {
    /// On, every day at [`DEFAULT_BACKUP_HOUR`], from the first use.
    fn default() -> Self {
        Schedule {
            enabled: true,
            hours: vec![DEFAULT_BACKUP_HOUR],
            made_up_to: None,
        }
    }
}

impl Schedule {
    /// The default schedule, made up to `now` (a new database has no backup to catch up on).
    pub fn starting(now: DateTime<Utc>) -> Self {
        Schedule {
            made_up_to: Some(now),
            ..Schedule::default()
        }
    }

    /// The scheduled instants in (`after`, `until`], oldest first, of the last
    /// [`CATCH_UP_LIMIT`] at most. Hours outside 0–23 (a state file edited by hand) are ignored.
    pub fn due(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let after = after.max(until - CATCH_UP_LIMIT);
        let mut hours: Vec<u32> = self
            .hours
            .iter()
            .filter_map(|&hour| u32::try_from(hour).ok())
            .filter(|&hour| hour < 24)
            .collect();
        hours.sort_unstable();
        hours.dedup();
        let mut due = Vec::new();
        let mut day = Some(after.date_naive());
        // Bounded: `after` is at most `CATCH_UP_LIMIT` (a few days) before `until`.
        while let Some(date) = day.filter(|date| *date <= until.date_naive()) {
            for &hour in &hours {
                if let Some(at) = date.and_hms_opt(hour, 0, 0).map(|at| at.and_utc())
                    && after < at
                    && at <= until
                {
                    due.push(at);
                }
            }
            day = date.succ_opt();
        }
        due
    }
}

impl Store {
    /// Makes every database's periodic backups due at `now` ([`Database::catch_up`]).
    pub fn catch_up(&mut self, now: DateTime<Utc>) {
        for database in &mut self.data.databases {
            database.catch_up(now);
        }
    }
}

impl Database {
    /// Makes the periodic backups due at `now`: one per scheduled instant since the schedule was
    /// made up to (seven days at most), created at that instant and named after it; then keeps
    /// the newest [`KEPT_PERIODIC_BACKUPS`] periodic backups. Nothing when the schedule is off.
    pub fn catch_up(&mut self, now: DateTime<Utc>) {
        let Some(after) = self.schedule.made_up_to else {
            self.schedule.made_up_to = Some(now);
            return;
        };
        if !self.schedule.enabled || now <= after {
            return;
        }
        let due = self.schedule.due(after, now);
        let Some(&last) = due.last() else {
            return;
        };
        // Up to the last instant passed, not to `now`: the state changes only when a backup is
        // made, and the instants in between hold none.
        self.schedule.made_up_to = Some(last);
        let resource = self.default_user_name();
        for at in due {
            // Oldest first: a manual backup may have been asked for the same instant.
            let position = self
                .backups
                .partition_point(|backup| backup.created_at <= at);
            self.backups
                .insert(position, Backup::new(&resource, at, BackupMethod::Periodic));
        }
        let periodic = self
            .backups
            .iter()
            .filter(|backup| backup.method == BackupMethod::Periodic)
            .count();
        let mut excess = periodic.saturating_sub(KEPT_PERIODIC_BACKUPS);
        self.backups.retain(|backup| {
            let goes = excess > 0 && backup.method == BackupMethod::Periodic;
            excess -= usize::from(goes);
            !goes
        });
    }

    /// Changes the schedule at `now` (a field left out keeps its value: on or off, one hour). The
    /// backups due until `now` under the old schedule are made first; the new one counts from
    /// `now`, so turning the backups back on makes none for the time they were off.
    pub fn update_schedule(
        &mut self,
        enabled: Option<bool>,
        hour: Option<i32>,
        now: DateTime<Utc>,
    ) {
        self.catch_up(now);
        if let Some(enabled) = enabled {
            self.schedule.enabled = enabled;
        }
        if let Some(hour) = hour {
            self.schedule.hours = vec![hour];
        }
        self.schedule.made_up_to = Some(self.schedule.made_up_to.map_or(now, |at| at.max(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DATABASE, SandboxConfig};

    /// 2026-03-01 at `hh:mm:ss.mmm` UTC, plus `days`.
    fn at(days: i64, time: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-03-01T{time}Z"))
            .expect("a time")
            .to_utc()
            + TimeDelta::days(days)
    }

    /// The default PostgreSQL database, seeded at 2026-03-01 12:00 (its seeded periodic backup
    /// 20 hours before), with a manual backup taken at the seeding time.
    fn database() -> Database {
        let mut store = Store::new(SandboxConfig {
            clock: crate::Clock::manual(at(0, "12:00:00")),
            ..SandboxConfig::default()
        });
        let database = store.database_mut(DEFAULT_DATABASE).expect("seeded");
        let resource = database.default_user_name();
        database.backups.push(Backup::new(
            &resource,
            at(0, "12:00:00"),
            BackupMethod::Manual,
        ));
        database.clone()
    }

    fn periodic(database: &Database) -> Vec<DateTime<Utc>> {
        database
            .backups
            .iter()
            .filter(|backup| backup.method == BackupMethod::Periodic)
            .map(|backup| backup.created_at)
            .collect()
    }

    #[test]
    fn a_seeded_database_is_made_up_to_its_seeding_time_so_nothing_appears_retroactively() {
        let mut database = database();
        assert_eq!(database.schedule.made_up_to, Some(at(0, "12:00:00")));
        assert_eq!(database.schedule.hours, [DEFAULT_BACKUP_HOUR]);
        let before = database.backups.clone();
        database.catch_up(at(0, "12:00:00"));
        database.catch_up(at(0, "23:59:59.999"));
        assert_eq!(database.backups, before, "midnight is not reached yet");
        assert_eq!(database.schedule.made_up_to, Some(at(0, "12:00:00")));
    }

    #[test]
    fn a_backup_appears_exactly_at_the_hour_created_at_that_instant_and_named_after_it() {
        let mut database = database();
        database.catch_up(at(1, "00:00:00"));
        assert_eq!(periodic(&database), [at(-1, "16:00:00"), at(1, "00:00:00")]);
        let newest = database.backups.last().expect("a backup");
        assert_eq!(newest.method, BackupMethod::Periodic);
        assert_eq!(
            newest.name,
            format!("20260302000000_{}", database.default_user_name())
        );
        assert_eq!(database.schedule.made_up_to, Some(at(1, "00:00:00")));

        // Once made, never again.
        database.catch_up(at(1, "00:00:00"));
        database.catch_up(at(1, "23:59:59"));
        assert_eq!(periodic(&database).len(), 2);
    }

    #[test]
    fn several_hours_a_day_each_make_a_backup_in_order() {
        let mut database = database();
        database.schedule.hours = vec![18, 3, 18];
        database.catch_up(at(1, "12:00:00"));
        assert_eq!(
            periodic(&database),
            [at(-1, "16:00:00"), at(0, "18:00:00"), at(1, "03:00:00")]
        );
        let times: Vec<_> = database.backups.iter().map(|b| b.created_at).collect();
        assert!(times.is_sorted(), "oldest first: {times:?}");
    }

    #[test]
    fn a_gap_of_thirty_days_makes_seven_and_keeps_the_seven_newest_periodic_backups() {
        let mut database = database();
        database.catch_up(at(30, "06:00:00"));
        let expected: Vec<_> = (24..=30).map(|day| at(day, "00:00:00")).collect();
        assert_eq!(periodic(&database), expected, "the seeded one went");
        let manual: Vec<_> = database
            .backups
            .iter()
            .filter(|backup| backup.method == BackupMethod::Manual)
            .collect();
        assert_eq!(manual.len(), 1, "manual backups stay");
        assert_eq!(database.backups.len(), 8);
        assert_eq!(database.backups[0].method, BackupMethod::Manual);

        // Day by day, each new one pushes the oldest out.
        database.catch_up(at(31, "00:00:00"));
        let expected: Vec<_> = (25..=31).map(|day| at(day, "00:00:00")).collect();
        assert_eq!(periodic(&database), expected);
    }

    #[test]
    fn a_schedule_turned_off_makes_nothing_and_turned_back_on_nothing_for_the_time_off() {
        let mut database = database();
        database.update_schedule(Some(false), None, at(0, "13:00:00"));
        database.catch_up(at(3, "12:00:00"));
        assert_eq!(periodic(&database), [at(-1, "16:00:00")]);

        database.update_schedule(Some(true), Some(5), at(3, "12:00:00"));
        assert_eq!(database.schedule.hours, [5]);
        database.catch_up(at(4, "04:59:59.999"));
        assert_eq!(periodic(&database), [at(-1, "16:00:00")]);
        database.catch_up(at(4, "05:00:00"));
        assert_eq!(periodic(&database), [at(-1, "16:00:00"), at(4, "05:00:00")]);
    }

    #[test]
    fn a_new_hour_counts_from_the_change_and_the_old_one_is_made_up_to_it_first() {
        let mut database = database();
        // At 01:00 the next day the hour moves to 06: midnight's backup, due under the old
        // schedule, is made first.
        database.update_schedule(None, Some(6), at(1, "01:00:00"));
        assert_eq!(periodic(&database), [at(-1, "16:00:00"), at(1, "00:00:00")]);
        database.update_schedule(None, Some(3), at(1, "04:00:00"));
        database.catch_up(at(1, "23:00:00"));
        assert_eq!(
            periodic(&database),
            [at(-1, "16:00:00"), at(1, "00:00:00")],
            "03:00 had passed when it was set"
        );
        database.catch_up(at(2, "03:00:00"));
        assert_eq!(periodic(&database).last(), Some(&at(2, "03:00:00")));
    }

    #[test]
    fn a_database_without_a_made_up_to_time_starts_at_its_first_use() {
        let mut database = database();
        database.schedule = Schedule::default();
        let before = database.backups.clone();
        database.catch_up(at(5, "12:00:00"));
        assert_eq!(database.backups, before, "nothing retroactive");
        assert_eq!(database.schedule.made_up_to, Some(at(5, "12:00:00")));
        database.catch_up(at(6, "00:00:00"));
        assert_eq!(periodic(&database).last(), Some(&at(6, "00:00:00")));
    }

    #[test]
    fn hours_outside_the_day_are_ignored() {
        let schedule = Schedule {
            hours: vec![-1, 24, 7],
            ..Schedule::default()
        };
        assert_eq!(
            schedule.due(at(0, "00:00:00"), at(2, "00:00:00")),
            [at(0, "07:00:00"), at(1, "07:00:00")]
        );
    }
}
