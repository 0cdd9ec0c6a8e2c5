//! The `backups` operations: list, create, show, the archive's link, and the download it opens
//! (a generated `.tar.gz`, or a dump packed at start-up, whole or from a `Range`, streamed, never
//! held in memory).
//!
//! Every time here is read on the sandbox's clock, once per request: a backup is `scheduled`,
//! `running` then `done` as that clock moves.

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, LAST_MODIFIED,
    RANGE,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse as _, Response};
use chrono::SubsecRound as _;
use scalingo_db_generated::types::Backup as BackupView;
use scalingo_db_generated::{ArchiveUrl, BackupMethod, BackupStatus, Credential, OperationId};

use crate::archive::{RangeRequest, parse_range};
use crate::error::ApiError;
use crate::generated_api::{
    BackupsApi, CreateBackupPath, DownloadBackupArchivePath, GetBackupArchiveUrlPath,
    GetBackupByIdPath, GetBackupPath, ListBackupsPath, Request,
};
use crate::http::credential;
use crate::service::Service;
use crate::store::Backup;
use crate::tokens::Grant;
use crate::validators::{http_date, if_range_holds};

/// `text` as one segment of a path: all but the unreserved bytes of RFC 3986 escaped, so that an
/// id with a `/` or a space stays one segment.
fn path_segment(text: &str) -> percent_encoding::PercentEncode<'_> {
    const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED)
}

/// The size of the chunks an archive is streamed in.
const CHUNK: usize = 64 * 1024;

impl BackupsApi for Service {
    /// Every backup, newest first.
    async fn list_backups(
        &self,
        request: Request<ListBackupsPath>,
    ) -> Result<Vec<BackupView>, ApiError> {
        let now = self.clock().now();
        let store = self.store();
        let lifecycle = store.lifecycle();
        let database = store.database(&request.path.database_id)?;
        Ok(database
            .backups
            .iter()
            .rev()
            .map(|backup| backup.view(database, lifecycle, now))
            .collect())
    }

    /// A manual backup, unless one is already under way (`A backup is running`, as the service
    /// words it). The answer always says `scheduled`, even when the configured delays are zero
    /// and the backup is done by the time anyone asks again.
    async fn create_backup(
        &self,
        request: Request<CreateBackupPath>,
    ) -> Result<BackupView, ApiError> {
        let mut store = self.store();
        // Read once the store has made the periodic backups due (see `Service::store`), so that
        // this one comes after them. The service reports milliseconds.
        let now = store.now().trunc_subsecs(3);
        let lifecycle = store.lifecycle();
        let database = store.database_mut(&request.path.database_id)?;
        if database
            .backups
            .iter()
            .any(|backup| backup.is_busy(lifecycle, now))
        {
            return Err(ApiError::BadRequest("A backup is running".to_owned()));
        }
        let backup = Backup::new(&database.default_user_name(), now, BackupMethod::Manual);
        let mut view = backup.view(database, lifecycle, now);
        view.status = BackupStatus::Scheduled;
        view.started_at = None;
        view.size = None;
        database.backups.push(backup);
        Ok(view)
    }

    async fn get_backup(&self, request: Request<GetBackupPath>) -> Result<BackupView, ApiError> {
        let now = self.clock().now();
        let store = self.store();
        let database = store.database(&request.path.database_id)?;
        let backup = database.backup(&request.path.backup_id)?;
        Ok(backup.view(database, store.lifecycle(), now))
    }

    /// The backup of the token's database: the path names no database. A backup of another
    /// database is not found, as if it did not exist.
    async fn get_backup_by_id(
        &self,
        request: Request<GetBackupByIdPath>,
    ) -> Result<BackupView, ApiError> {
        let now = self.clock().now();
        let store = self.store();
        let token = credential(Credential::Bearer, &request.headers, None);
        let database = store.database(&store.token_database(token.as_deref())?)?;
        let backup = database.backup(&request.path.backup_id)?;
        Ok(backup.view(database, store.lifecycle(), now))
    }

    /// A link to a done backup's archive, on the sandbox's public URL (configured, or the address
    /// it listens on; never the request's `Host`, which the client chooses), carrying a token
    /// that opens that backup only, for the configured lifetime.
    async fn get_backup_archive_url(
        &self,
        request: Request<GetBackupArchiveUrlPath>,
    ) -> Result<ArchiveUrl, ApiError> {
        let path = request.path;
        let now = self.clock().now();
        let mut store = self.store();
        let status = store
            .database(&path.database_id)?
            .backup(&path.backup_id)?
            .status(store.lifecycle(), now);
        if status != BackupStatus::Done {
            return Err(ApiError::BadRequest(format!(
                "the backup is {status}: only a done backup can be downloaded"
            )));
        }
        let token = store.issue(Grant::Archive {
            database: path.database_id.clone(),
            backup: path.backup_id.clone(),
        });
        download_link(
            self.public_url(),
            &path.database_id,
            &path.backup_id,
            &token,
        )
        .map(ArchiveUrl::new)
    }

    /// The archive, whole (200) or the requested range (206); 416 past its end. The link's
    /// token was checked before (the `archiveLink` scheme). Every answer names the archive with
    /// `ETag` and `Last-Modified` (the backup's end); a `Range` whose `If-Range` names another
    /// archive is ignored, and the whole archive is sent, as object storage does.
    async fn download_backup_archive(
        &self,
        request: Request<DownloadBackupArchivePath>,
    ) -> Result<Response, ApiError> {
        let (archive, last_modified) = {
            let store = self.store();
            let database = store.database(&request.path.database_id)?;
            let backup = database.backup(&request.path.backup_id)?;
            (
                store.archive(database.kind, backup),
                backup.done_at(store.lifecycle()),
            )
        };
        let len = archive.len();
        let etag = archive.etag();
        // A value that is not text is no usable range, and a condition that names nothing:
        // either way the whole archive is sent.
        let header = |name| {
            request
                .headers
                .get(name)
                .map(|value: &HeaderValue| value.to_str().unwrap_or_default())
        };
        let range =
            header(RANGE).filter(|_| if_range_holds(header(IF_RANGE), &etag, last_modified));
        let (status, range) = match parse_range(range, len) {
            RangeRequest::Full => (StatusCode::OK, 0..len),
            RangeRequest::Partial(range) => (StatusCode::PARTIAL_CONTENT, range),
            RangeRequest::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable(len)),
        };
        let mut response = Body::from_stream(archive.stream(range.clone(), CHUNK)).into_response();
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Ok(value) = HeaderValue::try_from(etag) {
            headers.insert(ETAG, value);
        }
        if let Ok(value) = HeaderValue::try_from(http_date(last_modified)) {
            headers.insert(LAST_MODIFIED, value);
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(range.end - range.start));
        if status == StatusCode::PARTIAL_CONTENT
            && let Ok(value) = HeaderValue::try_from(format!(
                "bytes {}-{}/{len}",
                range.start,
                range.end.saturating_sub(1)
            ))
        {
            headers.insert(CONTENT_RANGE, value);
        }
        Ok(response)
    }
}

/// The link of `download_backup_archive` for this backup on `base`, with `token` where the
/// operation's security scheme carries it: path and parameter come from the contract.
fn download_link(
    base: &str,
    database_id: &str,
    backup_id: &str,
    token: &str,
) -> Result<String, ApiError> {
    let operation = OperationId::DownloadBackupArchive;
    let path = operation
        .path()
        .replace("{database_id}", &path_segment(database_id).to_string())
        .replace("{backup_id}", &path_segment(backup_id).to_string());
    match operation.security().map(|scheme| scheme.credential()) {
        Some(Credential::Query(parameter)) => Ok(format!(
            "{base}{}{path}?{parameter}={token}",
            operation.server().path_prefix()
        )),
        other => Err(ApiError::Internal(format!(
            "a link cannot carry a credential that travels as {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_link_follows_the_contract() {
        let link = download_link("http://127.0.0.1:1", "ad-1", "b 2", "t.k").expect("a link");
        let operation = OperationId::DownloadBackupArchive;
        assert_eq!(
            link,
            format!(
                "http://127.0.0.1:1{}{}?token=t.k",
                operation.server().path_prefix(),
                operation
                    .path()
                    .replace("{database_id}", "ad-1")
                    .replace("{backup_id}", "b%202")
            )
        );
    }
}
