//! Waiting for a backup: poll it with a growing interval until it is done, failed, or too late.

use std::time::{Duration, Instant};

use crate::backups::Backups;
use crate::error::{Error, Result};
use crate::{Backup, BackupStatus};

/// How [`Backups::wait`] polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// The first interval between two polls.
    pub initial_interval: Duration,
    /// The interval grows by half after each poll, up to this.
    pub max_interval: Duration,
    /// Give up (with [`Error::Timeout`]) after this long; `None` waits for ever.
    pub timeout: Option<Duration>,
}

impl Default for WaitOptions {
    /// 1 s growing to 30 s, for up to 2 hours (large databases take that long).
    fn default() -> Self {
        WaitOptions {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            timeout: Some(Duration::from_secs(2 * 3600)),
        }
    }
}

impl Backups<'_> {
    /// Polls the backup until it is `done` and returns it. Calls `on_change` with the backup
    /// each time its status changes (and once at the start).
    ///
    /// Fails with [`Error::BackupFailed`] when it ends `error` or `cancelled`, and with
    /// [`Error::Timeout`] when `options.timeout` passes first. Polls that fail for a reason the
    /// retry policy retries are retried inside each poll; any other failure ends the wait.
    pub async fn wait(
        &self,
        backup_id: &str,
        options: WaitOptions,
        mut on_change: impl FnMut(&Backup),
    ) -> Result<Backup> {
        let started = Instant::now();
        let mut interval = options.initial_interval;
        let mut last: Option<BackupStatus> = None;
        loop {
            let backup = self.get(backup_id).await?;
            if last.as_ref() != Some(&backup.status) {
                last = Some(backup.status.clone());
                on_change(&backup);
            }
            match backup.status {
                BackupStatus::Done => return Ok(backup),
                BackupStatus::Error | BackupStatus::Cancelled => {
                    return Err(Error::BackupFailed {
                        backup: Box::new(backup),
                    });
                }
                _ => {}
            }
            if let Some(timeout) = options.timeout {
                let left = timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(Error::Timeout {
                        what: format!(
                            "backup {backup_id} was still {} after {}",
                            backup.status,
                            crate::error::seconds(started.elapsed())
                        ),
                        source: None,
                    });
                }
                interval = interval.min(left);
            }
            tokio::time::sleep(interval).await;
            interval = (interval + interval / 2).min(options.max_interval);
        }
    }

    /// The most recent backup that is `done` (the list is newest first), if there is one.
    pub async fn latest_done(&self) -> Result<Option<Backup>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|backup| backup.status == BackupStatus::Done))
    }
}
