//! [`Operations`]: the long operations on a database (a point-in-time restore, an upgrade): one
//! read, or a wait until it ends, with the same intervals and time limit as a backup's.

use std::future::IntoFuture;

use scalingo_db_generated::{OperationId, OperationStatus};

use crate::Operation;
use crate::call::{BoxFuture, Call};
use crate::database::Database;
use crate::error::{Error, Result};
use crate::transport::never;
use crate::wait::{Polled, Verdict, WaitOptions, poll};

/// The operations of a database, from [`Database::operations`].
#[derive(Clone, Copy, Debug)]
pub struct Operations<'a> {
    db: &'a Database,
}

impl<'a> Operations<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Operations { db }
    }

    /// One operation.
    pub fn get(&self, operation_id: impl Into<String>) -> Call<'a, Operation> {
        let db = self.db;
        let operation_id = operation_id.into();
        Call::new(move |options| {
            Box::pin(async move {
                let operation_id = &operation_id;
                db.send(
                    OperationId::GetOperation,
                    &[operation_id],
                    options,
                    never,
                    |api| async move { api.get_operation(db.addon_id(), operation_id).await },
                )
                .await
            })
        })
    }

    /// Polls the operation until it is `finished` and answers it, with the intervals and time
    /// limit of [`WaitOptions::default`] unless [`OperationWait::options`] says otherwise.
    ///
    /// Fails with [`Error::OperationFailed`] when it ends `error`, `user-error` or `cancelled`,
    /// and with [`Error::OperationTimedOut`] when the time limit passes first.
    pub fn wait(&self, operation_id: impl Into<String>) -> OperationWait<'a, fn(&Operation)> {
        OperationWait {
            operations: *self,
            operation_id: operation_id.into(),
            options: WaitOptions::default(),
            on_change: |_| {},
        }
    }
}

impl Polled for Operation {
    type Status = OperationStatus;

    fn status(&self) -> &OperationStatus {
        &self.status
    }

    fn verdict(&self) -> Verdict {
        match self.status {
            OperationStatus::Finished => Verdict::Done,
            OperationStatus::Error | OperationStatus::UserError | OperationStatus::Cancelled => {
                Verdict::Failed(Error::OperationFailed {
                    operation: Box::new(self.clone()),
                })
            }
            _ => Verdict::Pending,
        }
    }

    fn timed_out(self, waited: std::time::Duration) -> Error {
        Error::OperationTimedOut {
            operation: Box::new(self),
            waited,
        }
    }
}

/// A wait for an operation, from [`Operations::wait`]; `.await` it for the finished operation.
#[must_use = "a wait does nothing until it is awaited"]
pub struct OperationWait<'a, F> {
    operations: Operations<'a>,
    operation_id: String,
    options: WaitOptions,
    on_change: F,
}

impl<F> std::fmt::Debug for OperationWait<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationWait")
            .field("operation_id", &self.operation_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a, F: FnMut(&Operation) + Send + 'a> OperationWait<'a, F> {
    /// Polls with these intervals and this time limit.
    pub fn options(mut self, options: WaitOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `on_change` with the operation each time its status changes (and once at the
    /// start).
    pub fn on_change<G: FnMut(&Operation) + Send + 'a>(self, on_change: G) -> OperationWait<'a, G> {
        OperationWait {
            operations: self.operations,
            operation_id: self.operation_id,
            options: self.options,
            on_change,
        }
    }

    /// The wait as a future, for what takes a future rather than something to `.await`.
    pub fn send(self) -> BoxFuture<'a, Result<Operation>> {
        self.into_future()
    }
}

impl<'a, F: FnMut(&Operation) + Send + 'a> IntoFuture for OperationWait<'a, F> {
    type Output = Result<Operation>;
    type IntoFuture = BoxFuture<'a, Result<Operation>>;

    fn into_future(self) -> Self::IntoFuture {
        let OperationWait {
            operations,
            operation_id,
            options,
            on_change,
        } = self;
        Box::pin(async move {
            let clock = operations.db.client().clock();
            let fetch = || operations.get(operation_id.as_str()).send();
            poll(clock, options, fetch, on_change).await
        })
    }
}
