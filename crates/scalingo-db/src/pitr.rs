//! [`Pitr`]: point-in-time recovery of a PostgreSQL database: the window a restore can go back
//! to, and the restore itself, checked against that window before anything is sent.

use chrono::{DateTime, Utc};
use scalingo_db_generated::Envelope as _;
use scalingo_db_generated::OperationId;
use scalingo_db_generated::rules::tables;
use scalingo_db_generated::types::{RestoreRequest, RestoreResponse};

use crate::call::Call;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::transport::never;
use crate::validation;
use crate::{Operation, RecoveryWindow};

/// The point-in-time recovery of a database (PostgreSQL only), from [`Database::pitr`].
#[derive(Clone, Copy, Debug)]
pub struct Pitr<'a> {
    db: &'a Database,
}

impl<'a> Pitr<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Pitr { db }
    }

    /// The span of time a restore can go back to; either end is `None` before the first base
    /// backup. Another engine than PostgreSQL answers 400 ([`Error::Refused`]).
    pub fn window(&self) -> Call<'a, RecoveryWindow> {
        let db = self.db;
        Call::new(move |options| {
            Box::pin(async move {
                db.send(
                    OperationId::GetRecoveryWindow,
                    &[],
                    options,
                    never,
                    |api| async move { api.get_recovery_window(db.addon_id()).await },
                )
                .await
            })
        })
    }

    /// Restores the database to `at`: it is stopped meanwhile, and what was written after `at`
    /// is lost, for good. Answers the restore's operation; [`Operations::wait`] follows it.
    ///
    /// The window is read first, and a time outside it fails with
    /// [`Error::OutsideRecoveryWindow`], naming the window, before the restore is asked for.
    /// Sent once: a restore is never repeated after a failure whose outcome is unknown (see
    /// [`RetryPolicy`](crate::RetryPolicy)). When the service answers the operation's id alone
    /// (as its documentation shows), the operation is then read with it.
    ///
    /// [`Operations::wait`]: crate::Operations::wait
    pub fn restore(&self, at: DateTime<Utc>) -> Call<'a, Operation> {
        let db = self.db;
        Call::new(move |options| {
            Box::pin(async move {
                let window = db.pitr().window().with_options(options).await?;
                check_restore_time(&window, at)?;
                let request = RestoreRequest { restore_time: at };
                validation::check(db.client().validation(), &request, tables::RESTORE_DATABASE)?;
                let request = &request;
                let (answer, meta) = db
                    .send(
                        OperationId::RestoreDatabase,
                        &[],
                        options,
                        never,
                        |api| async move { api.restore_database(db.addon_id(), request).await },
                    )
                    .await?;
                let operation = match answer {
                    RestoreResponse::Response(answer) => answer.into_inner(),
                    RestoreResponse::IdResponse(answer) => {
                        db.operations()
                            .get(answer.operation_id)
                            .with_options(options)
                            .await?
                    }
                };
                Ok((operation, meta))
            })
        })
    }
}

/// Whether a restore to `at` is possible within `window`: [`Error::OutsideRecoveryWindow`],
/// naming the window, when it is not (or when the window has no end yet). [`Pitr::restore`]
/// checks it; a tool that confirms a restore with someone checks it before asking.
pub fn check_restore_time(window: &RecoveryWindow, at: DateTime<Utc>) -> Result<()> {
    let within = window
        .earliest_recoverable_at
        .is_some_and(|from| from <= at)
        && window
            .latest_recoverable_at
            .is_some_and(|until| at <= until);
    if within {
        return Ok(());
    }
    Err(Error::OutsideRecoveryWindow {
        at,
        earliest: window.earliest_recoverable_at,
        latest: window.latest_recoverable_at,
    })
}
