//! Proving that a backup restores. A downloaded archive is only a hope until something has read
//! it: this module reads a Scalingo archive as the platform packs it (a `.tar.gz` holding the
//! database tool's dump) in one streaming pass, and checks, in order:
//!
//! 1. the archive is one whole gzip stream (CRC-32 and length agree) holding a whole tar stream,
//!    every member read to its end;
//! 2. it holds the dump the database's engine is backed up as, and the engine's own tool reads
//!    it: for PostgreSQL `pg_restore --list` (its table of contents, summarised) and
//!    `pg_restore --file=-` (every data block, and the rows of every table); for MySQL the file
//!    reads to the line `mysqldump` ends with; for MongoDB every collection is whole BSON
//!    documents (what is not checked without MongoDB's tools is said);
//! 3. optionally, the dump restores into a scratch PostgreSQL database with the platform's flags,
//!    and every table has the dump's rows.
//!
//! The result is a [`Report`]; its [`Verdict`] says which of these failed first. The archive is
//! read once, as it comes: from a file ([`verify_file`]), any reader ([`verify_reader`]) or a
//! download in flight ([`crate::Backups::verify`]), which writes nothing to disk.

mod classify;
mod inspect;
mod judge;
mod mongo;
mod mysql;
mod pg_script;
mod pg_toc;
mod postgres;
mod report;
pub(crate) mod session;
mod target;
mod tools;

use std::future::IntoFuture;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use report::{
    ArchiveSummary, Check, DumpKind, DumpSummary, Member, Outcome, Report, RestoreSummary,
    RestoredTable, Verdict,
};
pub use target::RestoreTarget;

use crate::backups::Backups;
use crate::call::BoxFuture;
use crate::error::{Error, Result};

/// What to verify an archive against, and whether to restore it.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    expect: Option<DumpKind>,
    /// The engine of a backup whose archive holds no dump this module reads (Redis, InfluxDB,
    /// ...): only the archive is checked, and the report says so.
    engine_without_dump: Option<String>,
    restore_into: Option<RestoreTarget>,
    programs: tools::Programs,
}

impl VerifyOptions {
    /// Verifies the container and whatever dump it holds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires a dump of this kind: an archive holding another (or none) is
    /// [`Verdict::DumpUnreadable`].
    pub fn expect(mut self, kind: DumpKind) -> Self {
        self.expect = Some(kind);
        self
    }

    /// Also restores a PostgreSQL dump into `target`, a scratch database: `pg_restore --clean`
    /// drops what the dump holds there first. Check it is not the production database with
    /// [`RestoreTarget::refuse_production`] ([`crate::Backups::verify`] does).
    pub fn restore_into(mut self, target: RestoreTarget) -> Self {
        self.restore_into = Some(target);
        self
    }

    /// Runs `pg_restore` and `psql` from this folder rather than from the `PATH` (e.g.
    /// `/usr/lib/postgresql/17/bin`, for a dump newer than the default client).
    pub fn postgres_programs(mut self, folder: impl Into<PathBuf>) -> Self {
        self.programs.folder = Some(folder.into());
        self
    }
}

/// Verifies the archive `reader` yields; blocking (call it where blocking is allowed, e.g.
/// `tokio::task::spawn_blocking`).
///
/// Anything wrong with the archive is in the [`Report`]; an `Err` is a failure to verify: the
/// reader failed ([`Error::Io`] without a path) or a tool could not be started
/// ([`Error::Tool`]).
pub fn verify_reader(reader: impl Read, options: &VerifyOptions) -> Result<Report> {
    inspect::inspect(reader, options)
}

/// Verifies the archive at `path`, read once from start to end on a blocking thread.
pub async fn verify_file(path: impl AsRef<Path>, options: &VerifyOptions) -> Result<Report> {
    let path = path.as_ref().to_path_buf();
    let options = options.clone();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|source| Error::Io {
            path: Some(path.clone()),
            source,
        })?;
        inspect::inspect(file, &options).map_err(|error| match error {
            Error::Io { path: None, source } => Error::Io {
                path: Some(path),
                source,
            },
            other => other,
        })
    })
    .await
    .map_err(thread_failed)?
}

/// A verification's thread that panicked or was cancelled, as the error a caller gets.
pub(crate) fn thread_failed(joined: impl std::fmt::Display) -> Error {
    Error::Tool {
        program: "the verification thread".to_owned(),
        message: joined.to_string(),
    }
}

/// How many bytes of a download in flight wait for the verification at most: the transfer waits
/// for it past that, so memory stays bounded whatever the archive's size.
const IN_FLIGHT: usize = 1024 * 1024;

/// The verification of a backup's archive as it downloads, from [`Backups::verify`]; `.await`
/// it.
#[must_use = "a verification does nothing until it is awaited"]
pub struct Verify<'a> {
    backups: Backups<'a>,
    backup_id: String,
    options: VerifyOptions,
    /// Production URLs carry their passwords: never shown.
    production_urls: Vec<String>,
}

impl std::fmt::Debug for Verify<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verify")
            .field("backup_id", &self.backup_id)
            .field("options", &self.options)
            .field("production_urls", &self.production_urls.len())
            .finish_non_exhaustive()
    }
}

impl Verify<'_> {
    /// Replaces the options (by default: the dump of the database's engine is expected).
    pub fn options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// URLs of the production database (e.g. the app's `SCALINGO_POSTGRESQL_URL`), which a
    /// restore must not target, beside those the database's own description gives away.
    pub fn production_urls(mut self, urls: impl IntoIterator<Item = String>) -> Self {
        self.production_urls.extend(urls);
        self
    }

    async fn run(self) -> Result<Report> {
        let options = self
            .backups
            .resolve(self.options, &self.production_urls)
            .await?;
        let (writer, reader) = tokio::io::duplex(IN_FLIGHT);
        let verification = tokio::task::spawn_blocking(move || {
            let reader = tokio_util::io::SyncIoBridge::new(reader);
            inspect::inspect(reader, &options)
        });
        let downloaded = self.backups.download_to(&self.backup_id, writer).await;
        let verified = verification.await.map_err(thread_failed)?;
        match (downloaded, verified) {
            // A verification that could not run stopped reading: the download's broken pipe is
            // only its echo.
            (_, Err(error @ Error::Tool { .. })) => Err(error),
            // A download that failed explains a verification that read a cut archive.
            (Err(error), _) => Err(error),
            (Ok(_), verified) => verified,
        }
    }
}

impl<'a> IntoFuture for Verify<'a> {
    type Output = Result<Report>;
    type IntoFuture = BoxFuture<'a, Result<Report>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<'a> Backups<'a> {
    /// `options` made ready for this database: the dump of its engine expected unless they
    /// expect one, a restore target that looks like it (or like one of `production_urls`)
    /// refused, and the tools a PostgreSQL dump needs found, all before anything is read.
    pub(crate) async fn resolve(
        &self,
        mut options: VerifyOptions,
        production_urls: &[String],
    ) -> Result<VerifyOptions> {
        let database = self.database().show().await?;
        if let Some(target) = &options.restore_into {
            target.refuse_production(Some(&database), production_urls)?;
        }
        if options.expect.is_none()
            && let Some(engine) = &database.type_name
        {
            let engine = engine.to_string();
            options.expect = DumpKind::of_database_type(&engine);
            if options.expect.is_none() {
                options.engine_without_dump = Some(engine);
            }
        }
        if options.expect == Some(DumpKind::Postgresql) {
            let programs = options.programs.clone();
            let restoring = options.restore_into.is_some();
            tokio::task::spawn_blocking(move || postgres::check_programs(&programs, restoring))
                .await
                .map_err(thread_failed)??;
        }
        Ok(options)
    }

    /// Verifies the archive of a `done` backup as it downloads (see [the module](crate::verify)):
    /// nothing is written to disk. The dump of the database's engine is expected, and a restore
    /// target ([`VerifyOptions::restore_into`]) that looks like this database is refused
    /// before anything is read.
    pub fn verify(&self, backup_id: impl Into<String>) -> Verify<'a> {
        Verify {
            backups: *self,
            backup_id: backup_id.into(),
            options: VerifyOptions::default(),
            production_urls: Vec::new(),
        }
    }
}
