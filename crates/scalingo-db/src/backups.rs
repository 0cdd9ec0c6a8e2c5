//! [`Backups`]: list, create and show the backups of a database, and get their archives.
//! Waiting for a backup is in `wait.rs`, downloading its archive in `download.rs`.

use futures_util::TryStreamExt as _;
use scalingo_db_generated::OperationId;
use tracing::Instrument as _;

use crate::call::Call;
use crate::database::Database;
use crate::download::Validator;
use crate::error::{self, Error, Result};
use crate::transport::{never, record, request_span};
use crate::{ArchiveUrl, Backup};

/// The backups of a database, from [`Database::backups`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use scalingo_db_sandbox::{Sandbox, DEFAULT_DATABASE};
/// # let sandbox = Sandbox::start(Default::default()).await?;
/// # let db = scalingo_db::Client::builder()
/// #     .all_servers_at(sandbox.base_url())
/// #     .database_token(DEFAULT_DATABASE, sandbox.database_token(DEFAULT_DATABASE))
/// #     .build()?
/// #     .database(DEFAULT_DATABASE);
/// use scalingo_db::BackupStatus;
///
/// let backup = db.backups().create().await?;
/// assert_eq!(backup.status, BackupStatus::Scheduled);
///
/// // Newest first; the sandbox's backups are done at once.
/// let newest = db.backups().list().await?.remove(0);
/// assert_eq!(newest.id, backup.id);
/// assert_eq!(db.backups().get(&backup.id).await?.status, BackupStatus::Done);
///
/// let link = db.backups().archive_url(&backup.id).await?;
/// let mut archive = db.backups().open_archive(&link).await?;
/// let mut size = 0;
/// while let Some(chunk) = archive.chunk().await? {
///     size += chunk.len() as u64;
/// }
/// assert_eq!(Some(size), archive.content_length());
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Backups<'a> {
    db: &'a Database,
}

impl<'a> Backups<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Backups { db }
    }

    pub(crate) fn database(&self) -> &'a Database {
        self.db
    }

    /// Every backup of the database, newest first.
    pub fn list(&self) -> Call<'a, Vec<Backup>> {
        let db = self.db;
        Call::new(move |options| {
            Box::pin(async move {
                db.send(
                    OperationId::ListBackups,
                    &[],
                    options,
                    never,
                    |api| async move { api.list_backups(db.addon_id()).await },
                )
                .await
            })
        })
    }

    /// Asks for a manual backup. The answer is `scheduled`; [`Backups::wait`] follows it. The
    /// service refuses (400, [`Error::Refused`]) while another backup is running.
    pub fn create(&self) -> Call<'a, Backup> {
        let db = self.db;
        Call::new(move |options| {
            Box::pin(async move {
                db.send(
                    OperationId::CreateBackup,
                    &[],
                    options,
                    never,
                    |api| async move { api.create_backup(db.addon_id()).await },
                )
                .await
            })
        })
    }

    /// One backup, through the path Scalingo's own CLI has used since 2019
    /// (`get_backup_by_id`: the database comes from the token).
    pub fn get(&self, backup_id: impl Into<String>) -> Call<'a, Backup> {
        let db = self.db;
        let backup_id = backup_id.into();
        Call::new(move |options| {
            Box::pin(async move {
                let backup_id = &backup_id;
                db.send(
                    OperationId::GetBackupById,
                    &[backup_id],
                    options,
                    never,
                    |api| async move { api.get_backup_by_id(backup_id).await },
                )
                .await
            })
        })
    }

    /// A pre-signed, expiring link to the backup's archive. It carries its own token: treat it
    /// like a password (its `Debug` shows nothing).
    pub fn archive_url(&self, backup_id: impl Into<String>) -> Call<'a, ArchiveUrl> {
        let db = self.db;
        let backup_id = backup_id.into();
        Call::new(move |options| {
            Box::pin(async move {
                let backup_id = &backup_id;
                let (link, meta) = db
                    .send(
                        OperationId::GetBackupArchiveUrl,
                        &[backup_id],
                        options,
                        never,
                        |api| async move { api.get_backup_archive_url(db.addon_id(), backup_id).await },
                    )
                    .await?;
                parse_link(&link)?;
                Ok((link, meta))
            })
        })
    }

    /// Starts downloading an archive from its link, without the Authorization header (the link
    /// carries its own token).
    ///
    /// The link is used as given, whatever its host: the service may point it at object storage.
    pub async fn open_archive(&self, link: &ArchiveUrl) -> Result<ArchiveStream> {
        self.open_archive_from(link, 0).await
    }

    /// Like [`Backups::open_archive`], starting at byte `from` with a `Range` request (answered
    /// with 206), to resume.
    ///
    /// The client's request time limit ([`ClientBuilder::request_timeout`]) bounds the wait for
    /// the answer's head: past it, [`Error::Stalled`]. Reading the body has no overall limit (an
    /// archive may take hours); [`Backups::download`] bounds each pause in it instead.
    ///
    /// [`ClientBuilder::request_timeout`]: crate::ClientBuilder::request_timeout
    pub async fn open_archive_from(&self, link: &ArchiveUrl, from: u64) -> Result<ArchiveStream> {
        let stream = self.request_archive(link, from, None, None).await?;
        if from > 0 && !stream.is_range() {
            // A whole archive (200) for a range: never read it, it may weigh gigabytes.
            return Err(Error::UnexpectedStatus {
                status: 200,
                snippet: String::new(),
                request_id: error::request_id(stream.headers()),
            });
        }
        Ok(stream)
    }

    /// Asks for the archive from byte `from` to byte `to` (included; `None`: to its end), with
    /// `If-Range: if_range` on a range, and waits for the head of the answer, within the request
    /// time limit: from 0 to the end, a whole archive (200); for a range, a range (206) or, when
    /// the archive changed or the server ignores ranges, the whole archive (200), which the
    /// caller tells apart with [`ArchiveStream::is_range`].
    pub(crate) async fn request_archive(
        &self,
        link: &ArchiveUrl,
        from: u64,
        to: Option<u64>,
        if_range: Option<&Validator>,
    ) -> Result<ArchiveStream> {
        let client = self.db.client();
        let mut request = client.http().get(parse_link(link)?);
        let ranged = from > 0 || to.is_some();
        if ranged {
            let to = to.map(|to| to.to_string()).unwrap_or_default();
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-{to}"));
            if let Some(validator) = if_range {
                request = request.header(reqwest::header::IF_RANGE, validator.if_range());
            }
        }
        // The link's URL never goes into the span: its query string is a credential.
        let span = request_span(OperationId::DownloadBackupArchive, 1);
        let started = std::time::Instant::now();
        // Only the head is bounded here: a per-request limit of the HTTP client would bound the
        // whole body too, which may take hours. The real clock: this measures a connection.
        let limit = client.request_timeout();
        let sent = request
            .header(reqwest::header::ACCEPT, "application/octet-stream")
            .send()
            .instrument(span.clone());
        let response = match tokio::time::timeout(limit, sent).await {
            Ok(response) => response.map_err(Error::from),
            Err(_) => Err(Error::Stalled { after: limit }),
        };
        let status = response.as_ref().ok().map(|response| response.status());
        record(
            &span,
            status.map(|status| status.as_u16()),
            started.elapsed(),
        );
        let response = response?;
        let status = response.status().as_u16();
        let accepted: &[u16] = if ranged { &[200, 206] } else { &[200] };
        if (200..300).contains(&status) && !accepted.contains(&status) {
            return Err(Error::UnexpectedStatus {
                status,
                snippet: String::new(),
                request_id: error::request_id(response.headers()),
            });
        }
        if !accepted.contains(&status) {
            let headers = response.headers().clone();
            // An error body that stalls is given up on, like a head: the status says enough.
            let body = tokio::time::timeout(limit, error::read_capped(response.bytes_stream()))
                .await
                .unwrap_or_default();
            return Err(error::from_status(
                status,
                &headers,
                &body,
                client.clock().now(),
            ));
        }
        Ok(ArchiveStream {
            content_length: response.content_length(),
            is_range: status == 206,
            validator: Validator::of(response.headers()),
            response,
        })
    }
}

/// The link as a URL; one that is not is a decoding error of the answer that gave it.
fn parse_link(link: &ArchiveUrl) -> Result<url::Url> {
    url::Url::parse(link.expose()).map_err(|err| Error::Decode {
        message: format!("the download link is not a URL: {err}"),
        snippet: String::new(),
    })
}

/// An archive being downloaded: its length, and its bytes as a stream of chunks.
pub struct ArchiveStream {
    /// Read at the start: reqwest's own figure shrinks as the body is consumed.
    content_length: Option<u64>,
    /// Whether the answer is a range (206) rather than the whole archive.
    is_range: bool,
    /// The version of the archive the answer names.
    validator: Option<Validator>,
    response: reqwest::Response,
}

impl std::fmt::Debug for ArchiveStream {
    /// Written by hand: the response's own `Debug` shows its URL, whose query string is the
    /// link's token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveStream")
            .field("status", &self.response.status().as_u16())
            .field("content_length", &self.content_length)
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

impl ArchiveStream {
    /// Whether the answer is a range of the archive (206) rather than all of it.
    pub(crate) fn is_range(&self) -> bool {
        self.is_range
    }

    /// The version of the archive the answer names (`ETag` or `Last-Modified`), if it does.
    pub(crate) fn validator(&self) -> Option<&Validator> {
        self.validator.as_ref()
    }

    /// The answer's headers.
    pub(crate) fn headers(&self) -> &reqwest::header::HeaderMap {
        self.response.headers()
    }

    /// The number of bytes this answer will carry, when the server said (`Content-Length`).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The next chunk of bytes, or `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>> {
        self.response.chunk().await.map_err(Error::from)
    }

    /// The chunks as a stream.
    pub fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<bytes::Bytes>> + Send + 'static {
        self.response.bytes_stream().map_err(Error::from)
    }
}
