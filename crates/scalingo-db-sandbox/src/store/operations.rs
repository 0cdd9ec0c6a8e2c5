//! A long operation on a database (a point-in-time restore) as the store holds it (what a state
//! file keeps: id, type, time, what it restores to), where it is in its life at a given time, and
//! its view on the wire.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scalingo_db_generated::types;
use scalingo_db_generated::{OperationStatus, OperationType};
use serde::{Deserialize, Serialize};

use super::{Database, random_id};
use crate::clock::later;
use crate::config::SandboxConfig;
use crate::error::ApiError;

/// An operation of a database. Its status is not kept: it follows from `created_at` and the
/// clock, as a backup's does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Its id (24 hex digits, like the service's).
    pub id: String,
    /// What it does.
    #[serde(rename = "type")]
    pub kind: OperationType,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// The time a point-in-time restore goes back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_time: Option<DateTime<Utc>>,
}

/// How every operation goes: `pending` for a while, then `running`, then `finished`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationLifecycle {
    /// How long an operation stays `pending`.
    pub pending_for: Duration,
    /// How long it then stays `running`.
    pub running_for: Duration,
}

impl OperationLifecycle {
    /// How long after its creation an operation is finished; saturating, as the configured
    /// phases may be as long as `Duration::MAX`.
    fn finished_after(self) -> Duration {
        self.pending_for.saturating_add(self.running_for)
    }

    /// The lifecycle `config` sets.
    pub fn of(config: &SandboxConfig) -> Self {
        OperationLifecycle {
            pending_for: config.operation_pending_for,
            running_for: config.operation_running_for,
        }
    }
}

impl Operation {
    /// A point-in-time restore to `restore_time`, asked for at `created_at`, with a random id.
    pub fn restore(created_at: DateTime<Utc>, restore_time: DateTime<Utc>) -> Self {
        Operation {
            id: random_id(),
            kind: OperationType::PitrRestore,
            created_at,
            restore_time: Some(restore_time),
        }
    }

    /// Where the operation is at `now`.
    pub fn status(&self, lifecycle: OperationLifecycle, now: DateTime<Utc>) -> OperationStatus {
        let elapsed = (now - self.created_at).to_std().unwrap_or(Duration::ZERO);
        if elapsed < lifecycle.pending_for {
            OperationStatus::Pending
        } else if elapsed < lifecycle.finished_after() {
            OperationStatus::Running
        } else {
            OperationStatus::Finished
        }
    }

    /// Whether the operation is still under way at `now`.
    pub fn is_under_way(&self, lifecycle: OperationLifecycle, now: DateTime<Utc>) -> bool {
        self.status(lifecycle, now) != OperationStatus::Finished
    }

    /// The operation on the wire at `now`.
    pub fn view(&self, lifecycle: OperationLifecycle, now: DateTime<Utc>) -> types::Operation {
        let status = self.status(lifecycle, now);
        let finished_at = (status == OperationStatus::Finished)
            .then(|| later(self.created_at, lifecycle.finished_after()));
        types::Operation {
            id: self.id.clone(),
            type_: Some(self.kind.clone()),
            status,
            created_at: Some(self.created_at),
            finished_at,
            error: None,
        }
    }
}

impl Database {
    /// The operation `id`, or the 404 of the service.
    pub fn operation(&self, id: &str) -> Result<&Operation, ApiError> {
        self.operations
            .iter()
            .find(|operation| operation.id == id)
            .ok_or(ApiError::NotFound("operation"))
    }

    /// The operation under way at `now`, if any (the latest, should there be several).
    pub fn current_operation(
        &self,
        lifecycle: OperationLifecycle,
        now: DateTime<Utc>,
    ) -> Option<&Operation> {
        self.operations
            .iter()
            .rev()
            .find(|operation| operation.is_under_way(lifecycle, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn an_operation_is_pending_then_running_then_finished() {
        let lifecycle = OperationLifecycle {
            pending_for: Duration::from_secs(1),
            running_for: Duration::from_secs(5),
        };
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let operation = Operation::restore(start, start - TimeDelta::hours(1));
        assert_eq!(operation.id.len(), 24);
        assert!(operation.id.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let at = |millis| start + TimeDelta::milliseconds(millis);
        assert_eq!(
            operation.status(lifecycle, at(-5)),
            OperationStatus::Pending
        );
        assert_eq!(
            operation.status(lifecycle, at(999)),
            OperationStatus::Pending
        );
        assert_eq!(
            operation.status(lifecycle, at(1000)),
            OperationStatus::Running
        );
        assert_eq!(
            operation.status(lifecycle, at(5999)),
            OperationStatus::Running
        );
        assert!(operation.is_under_way(lifecycle, at(5999)));
        assert_eq!(operation.view(lifecycle, at(5999)).finished_at, None);
        let finished = operation.view(lifecycle, at(6000));
        assert_eq!(finished.status, OperationStatus::Finished);
        assert_eq!(finished.finished_at, Some(at(6000)));
        assert_eq!(finished.error, None);
        assert_eq!(finished.type_, Some(OperationType::PitrRestore));
        assert!(!operation.is_under_way(lifecycle, at(6000)));
    }
}
