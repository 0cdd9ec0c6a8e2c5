//! Waiting for what the service does in the background, a backup or an operation: poll it with a
//! growing interval until it ends, fails, or the time is up. One loop serves both, so they back
//! off and give up alike. Time is the client's [`Clock`](crate::Clock), so a test can wait two
//! hours in no time.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use crate::backups::Backups;
use crate::call::BoxFuture;
use crate::clock::{Clock, since};
use crate::error::{Error, Result};
use crate::{Backup, BackupStatus};

/// How a wait polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// The first interval between two polls.
    pub initial_interval: Duration,
    /// The interval grows by half after each poll, up to this.
    pub max_interval: Duration,
    /// Give up (with [`Error::WaitTimedOut`] or [`Error::OperationTimedOut`]) after this long;
    /// `None` waits for ever.
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

/// Where a polled thing stands.
pub(crate) enum Verdict {
    /// Still under way: poll again.
    Pending,
    /// Ended well: the wait answers it.
    Done,
    /// Ended badly: the wait fails with this error.
    Failed(Error),
}

/// How one wait reads and judges what it polls.
pub(crate) trait Polled: Sized {
    /// What tells one state from the next, for `on_change`.
    type Status: PartialEq + Clone;

    /// Its status now.
    fn status(&self) -> &Self::Status;

    /// Where it stands.
    fn verdict(&self) -> Verdict;

    /// The error of a wait whose time ran out while it was still under way.
    fn timed_out(self, waited: Duration) -> Error;
}

/// Polls with `fetch` until the thing ends or `options.timeout` passes, calling `on_change` each
/// time its status changes (and once at the start). Polls that fail for a reason the retry
/// policy retries are retried inside each poll; any other failure ends the wait.
pub(crate) async fn poll<T: Polled, Fut>(
    clock: &dyn Clock,
    options: WaitOptions,
    mut fetch: impl FnMut() -> Fut,
    mut on_change: impl FnMut(&T),
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    let started = clock.now();
    let mut interval = options.initial_interval;
    let mut last: Option<T::Status> = None;
    loop {
        let polled = fetch().await?;
        if last.as_ref() != Some(polled.status()) {
            last = Some(polled.status().clone());
            on_change(&polled);
        }
        match polled.verdict() {
            Verdict::Done => return Ok(polled),
            Verdict::Failed(error) => return Err(error),
            Verdict::Pending => {}
        }
        if let Some(timeout) = options.timeout {
            let waited = since(started, clock.now());
            let left = timeout.saturating_sub(waited);
            if left.is_zero() {
                return Err(polled.timed_out(waited));
            }
            interval = interval.min(left);
        }
        clock.sleep(interval).await;
        interval = (interval + interval / 2).min(options.max_interval);
    }
}

impl Polled for Backup {
    type Status = BackupStatus;

    fn status(&self) -> &BackupStatus {
        &self.status
    }

    fn verdict(&self) -> Verdict {
        match self.status {
            BackupStatus::Done => Verdict::Done,
            BackupStatus::Error | BackupStatus::Cancelled => Verdict::Failed(Error::BackupFailed {
                backup: Box::new(self.clone()),
            }),
            _ => Verdict::Pending,
        }
    }

    fn timed_out(self, waited: Duration) -> Error {
        Error::WaitTimedOut {
            backup: Box::new(self),
            waited,
        }
    }
}

/// A wait for a backup, from [`Backups::wait`]; `.await` it for the done backup.
#[must_use = "a wait does nothing until it is awaited"]
pub struct Wait<'a, F> {
    backups: Backups<'a>,
    backup_id: String,
    options: WaitOptions,
    on_change: F,
}

impl<F> std::fmt::Debug for Wait<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("backup_id", &self.backup_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> Backups<'a> {
    /// Polls the backup until it is `done` and answers it, with the intervals and time limit of
    /// [`WaitOptions::default`] unless [`Wait::options`] says otherwise.
    ///
    /// Fails with [`Error::BackupFailed`] when it ends `error` or `cancelled`, and with
    /// [`Error::WaitTimedOut`] when the time limit passes first. Polls that fail for a reason the
    /// retry policy retries are retried inside each poll; any other failure ends the wait.
    pub fn wait(&self, backup_id: impl Into<String>) -> Wait<'a, fn(&Backup)> {
        Wait {
            backups: *self,
            backup_id: backup_id.into(),
            options: WaitOptions::default(),
            on_change: |_| {},
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

impl<'a, F: FnMut(&Backup) + Send + 'a> Wait<'a, F> {
    /// Polls with these intervals and this time limit.
    pub fn options(mut self, options: WaitOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `on_change` with the backup each time its status changes (and once at the start).
    pub fn on_change<G: FnMut(&Backup) + Send + 'a>(self, on_change: G) -> Wait<'a, G> {
        Wait {
            backups: self.backups,
            backup_id: self.backup_id,
            options: self.options,
            on_change,
        }
    }

    /// The wait as a future, for what takes a future rather than something to `.await`.
    pub fn send(self) -> BoxFuture<'a, Result<Backup>> {
        self.into_future()
    }
}

impl<'a, F: FnMut(&Backup) + Send + 'a> IntoFuture for Wait<'a, F> {
    type Output = Result<Backup>;
    type IntoFuture = BoxFuture<'a, Result<Backup>>;

    fn into_future(self) -> Self::IntoFuture {
        let Wait {
            backups,
            backup_id,
            options,
            on_change,
        } = self;
        Box::pin(async move {
            let clock = backups.database().client().clock();
            let fetch = || backups.get(backup_id.as_str()).send();
            poll(clock, options, fetch, on_change).await
        })
    }
}
