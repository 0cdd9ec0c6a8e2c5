//! [`Backups`]: list, create and show the backups of a database, and get their archives.

use futures_util::TryStreamExt as _;
use scalingo_db_generated::types::BackupResponse;
use tracing::Instrument as _;

use crate::error::{Error, Result};
use crate::transport::never;
use crate::{Backup, Client};

/// The backups of the client's database, from [`Client::backups`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use scalingo_db_sandbox::{Sandbox, DEFAULT_DATABASE};
/// # let sandbox = Sandbox::start(Default::default()).await?;
/// # let client = scalingo_db::Client::builder()
/// #     .base_url(sandbox.database_api_url())
/// #     .database_id(DEFAULT_DATABASE)
/// #     .token(sandbox.database_token(DEFAULT_DATABASE))
/// #     .build()?;
/// use scalingo_db::BackupStatus;
///
/// let backup = client.backups().create().await?;
/// assert_eq!(backup.status, BackupStatus::Scheduled);
///
/// // Newest first; the sandbox's backups are done at once.
/// let newest = client.backups().list().await?.remove(0);
/// assert_eq!(newest.id, backup.id);
/// assert_eq!(client.backups().get(&backup.id).await?.status, BackupStatus::Done);
///
/// let link = client.backups().archive_link(&backup.id).await?;
/// let mut archive = client.backups().open_archive(&link).await?;
/// let mut size = 0;
/// while let Some(chunk) = archive.chunk().await? {
///     size += chunk.len() as u64;
/// }
/// assert_eq!(Some(size), archive.content_length());
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Backups<'a> {
    client: &'a Client,
}

impl<'a> Backups<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Backups { client }
    }

    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    /// Every backup of the database, newest first.
    pub async fn list(&self) -> Result<Vec<Backup>> {
        let database = self.client.database_id();
        let backups = self
            .client
            .send("list_backups", never, |api| async move {
                api.list_backups(database).await
            })
            .await?;
        Ok(backups.database_backups)
    }

    /// Asks for a manual backup. The answer is `scheduled`; poll [`Backups::get`] to follow it.
    /// The service refuses (400, [`Error::Refused`]) while another backup is running.
    pub async fn create(&self) -> Result<Backup> {
        let database = self.client.database_id();
        let backup = self
            .client
            .send("create_backup", never, |api| async move {
                api.create_backup(database).await
            })
            .await?;
        Ok(unwrap(backup))
    }

    /// One backup.
    pub async fn get(&self, backup_id: &str) -> Result<Backup> {
        let database = self.client.database_id();
        let backup = self
            .client
            .send("get_backup", never, |api| async move {
                api.get_backup(database, backup_id).await
            })
            .await?;
        Ok(unwrap(backup))
    }

    /// A pre-signed, expiring link to the backup's archive.
    pub async fn archive_link(&self, backup_id: &str) -> Result<ArchiveLink> {
        let database = self.client.database_id();
        let url = self
            .client
            .send("get_backup_archive_url", never, |api| async move {
                api.get_backup_archive_url(database, backup_id).await
            })
            .await?
            .download_url;
        let url = url::Url::parse(url.expose()).map_err(|err| Error::Decode {
            message: format!("the download link is not a URL: {err}"),
            snippet: String::new(),
        })?;
        Ok(ArchiveLink { url })
    }

    /// Starts downloading an archive from its link, without the Authorization header (the link
    /// carries its own token). `from` skips that many bytes with a `Range` request, to resume.
    ///
    /// The link is used as given, whatever its host: the service may point it at object storage.
    pub async fn open_archive(&self, link: &ArchiveLink) -> Result<ArchiveStream> {
        self.open_archive_from(link, 0).await
    }

    /// Like [`Backups::open_archive`], starting at byte `from` (answered with 206).
    pub async fn open_archive_from(&self, link: &ArchiveLink, from: u64) -> Result<ArchiveStream> {
        let mut request = self.client.http().get(link.url.clone());
        if from > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        // The link's URL never goes into the span: its query string is a credential.
        let operation = crate::transport::operation("download_backup_archive");
        let span = crate::transport::request_span(operation, 1);
        let started = std::time::Instant::now();
        let response = request
            .header(reqwest::header::ACCEPT, "application/octet-stream")
            .send()
            .instrument(span.clone())
            .await;
        let status = response.as_ref().ok().map(|response| response.status());
        crate::transport::record(
            &span,
            status.map(|status| status.as_u16()),
            started.elapsed(),
        );
        let response = response.map_err(Error::from)?;
        let status = response.status();
        let expected = if from > 0 {
            reqwest::StatusCode::PARTIAL_CONTENT
        } else {
            reqwest::StatusCode::OK
        };
        if status.is_success() && status != expected {
            // E.g. a whole archive (200) for a range: never read it, it may weigh gigabytes.
            return Err(Error::UnexpectedStatus {
                status,
                snippet: String::new(),
            });
        }
        if status != expected {
            let headers = response.headers().clone();
            let body = crate::error::read_capped(response.bytes_stream()).await;
            return Err(crate::error::from_status(status, &headers, &body));
        }
        Ok(ArchiveStream {
            content_length: response.content_length(),
            response,
        })
    }
}

/// The service wraps backups in `database_backup`; its documentation shows them bare.
fn unwrap(response: BackupResponse) -> Backup {
    match response {
        BackupResponse::Variant0(envelope) => envelope.database_backup,
        BackupResponse::Variant1(backup) => backup,
    }
}

/// A pre-signed link to a backup's archive. Its `Debug` hides the token in the query string.
#[derive(Clone, PartialEq, Eq)]
pub struct ArchiveLink {
    url: url::Url,
}

impl ArchiveLink {
    /// The link in full, token included: treat it like a password.
    pub fn expose_url(&self) -> &str {
        self.url.as_str()
    }
}

impl std::fmt::Debug for ArchiveLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.url.clone();
        if shown.query().is_some() {
            shown.set_query(Some("<redacted>"));
        }
        f.debug_tuple("ArchiveLink").field(&shown.as_str()).finish()
    }
}

/// An archive being downloaded: its length, and its bytes as a stream of chunks.
#[derive(Debug)]
pub struct ArchiveStream {
    /// Read at the start: reqwest's own figure shrinks as the body is consumed.
    content_length: Option<u64>,
    response: reqwest::Response,
}

impl ArchiveStream {
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
