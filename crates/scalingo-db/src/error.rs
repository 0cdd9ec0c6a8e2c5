//! The one error type of the crate, and the single place where an HTTP answer that is not a
//! success becomes one of its variants.
//!
//! Every answer maps to a variant: JSON error bodies of any of the service's three shapes, the
//! plain-text 429, HTML or empty gateway pages, truncated JSON, statuses the contract does not
//! list. Nothing here panics, and no message carries a token, a password or a pre-signed link's
//! token (bodies are shown only through [`crate::redact`]). No type of the HTTP stack appears in
//! the public API: statuses are numbers, and transport failures are a [`TransportError`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use scalingo_db_generated::types;

use crate::redact;
use crate::validation::ValidationError;
use crate::{Backup, BackupStatus, Operation};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The header in which the service names a request, for its support.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Everything that can go wrong when calling the Scalingo Database API.
///
/// Match on the variants to act on a failure; `Display` gives a sentence a person understands.
/// The variants that come from an answer carry the service's `X-Request-ID`, when it sent one
/// ([`Error::request_id`]): quote it to Scalingo's support.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value breaks a rule of the contract; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationError),

    /// The client was set up or called with something it cannot use (nothing was sent).
    #[error("invalid configuration: {message}")]
    InvalidInput {
        /// What is wrong.
        message: String,
    },

    /// 401: the token is missing, malformed, expired or not valid for this database.
    #[error(
        "the API refused the token (401 Unauthorized){}; check that it is a current token for this database",
        detail(message)
    )]
    Unauthorized {
        /// The service's message, when it gave one.
        message: Option<String>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// 403: the token is valid but may not do this.
    #[error(
        "the API forbids this operation to this token (403 Forbidden){}",
        detail(message)
    )]
    Forbidden {
        /// The service's message, when it gave one.
        message: Option<String>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// 404: the database, user or backup does not exist.
    #[error("{}", not_found(resource, message))]
    NotFound {
        /// What kind of thing was not found (`database_user`, `database_backup`, ...), when the
        /// service said.
        resource: Option<String>,
        /// The service's message, when it gave one.
        message: Option<String>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// 422: the service refused some fields; `errors` maps each field to its messages.
    #[error(
        "the API refused the request (422 Unprocessable Entity): {}",
        field_errors(errors, message)
    )]
    Unprocessable {
        /// The messages about each field, by field name.
        errors: BTreeMap<String, Vec<String>>,
        /// The service's overall message, when it gave one.
        message: Option<String>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// 429: too many requests.
    #[error(
        "the API is rate limiting this client (429 Too Many Requests); {}",
        retry_after_text(retry_after)
    )]
    RateLimited {
        /// How long the service asked to wait (`Retry-After`, in seconds or as a date), if it did.
        retry_after: Option<Duration>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// Another 4xx answer, e.g. 400 `A backup is running`.
    #[error("the API refused the request ({}){}", status_text(*status), detail(message))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The service's message, when it gave one.
        message: Option<String>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// A 5xx answer, whatever its body (JSON, an HTML gateway page, nothing).
    #[error("the API failed ({}){}", status_text(*status), detail(message))]
    Server {
        /// The HTTP status.
        status: u16,
        /// The service's message when the body was its JSON error; `None` for HTML or empty bodies.
        message: Option<String>,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// A status the contract does not give for this operation (e.g. a redirect without a
    /// `Location`).
    #[error(
        "the API answered an unexpected status ({}){}",
        status_text(*status),
        snippet_text(snippet)
    )]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The start of the body, with secrets removed.
        snippet: String,
        /// The service's id of the request.
        request_id: Option<String>,
    },

    /// A success status whose body is not what the contract describes (not JSON, truncated, ...).
    #[error("could not read the API's answer: {message}{}", snippet_text(snippet))]
    Decode {
        /// What the decoder found wrong.
        message: String,
        /// The start of the body, with secrets removed.
        snippet: String,
    },

    /// The connection to the API could not be made (DNS, refused, TLS): the request never left.
    #[error("could not connect to the API: {source}")]
    Connect {
        /// The underlying error.
        #[source]
        source: TransportError,
    },

    /// A request's time limit passed before its answer was complete.
    #[error("the API did not answer in time: {source}")]
    Timeout {
        /// The underlying error.
        #[source]
        source: TransportError,
    },

    /// The connection failed after it was made (reset, closed mid-body, ...).
    #[error("the connection to the API failed: {source}")]
    Transport {
        /// The underlying error.
        #[source]
        source: TransportError,
    },

    /// The server answered with a redirect to another origin (scheme, host or port), which is not
    /// followed: nothing was sent there, neither the body (a password) nor the link's token.
    #[error(
        "the server answered a redirect ({}) to another origin, {to}; it was not followed, so \
         nothing was sent there",
        status_text(*status)
    )]
    CrossOriginRedirect {
        /// The redirect's status (`301`, `302`, `303`, `307`, `308`).
        status: u16,
        /// Where it pointed: `scheme://host[:port]`, never a path or query.
        to: String,
    },

    /// A download received no answer, or no byte of its body, for the request time limit (it is
    /// resumed like a cut connection, within the retry policy's bounds).
    #[error("the download stalled: no data for {}", seconds(*after))]
    Stalled {
        /// How long no byte arrived.
        after: Duration,
    },

    /// A backup was still not done when the time given to wait for it ran out.
    #[error(
        "backup {} was still {} after {}",
        backup.id,
        backup.status,
        seconds(*waited)
    )]
    WaitTimedOut {
        /// The backup, as last seen.
        backup: Box<Backup>,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// The backup ended in `error` or `cancelled`.
    #[error("backup {} ended {}", backup.id, backup.status)]
    BackupFailed {
        /// The backup, as last seen.
        backup: Box<Backup>,
    },

    /// An operation (a restore, an upgrade) was still under way when the time given to wait for
    /// it ran out.
    #[error(
        "operation {} was still {} after {}",
        operation.id,
        operation.status,
        seconds(*waited)
    )]
    OperationTimedOut {
        /// The operation, as last seen.
        operation: Box<Operation>,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// An operation ended in `error`, `user-error` or `cancelled`.
    #[error("operation {} ended {}{}", operation.id, operation.status, detail(&operation.error))]
    OperationFailed {
        /// The operation, as last seen.
        operation: Box<Operation>,
    },

    /// A point-in-time restore was asked for a time the recovery window does not hold; nothing was
    /// sent.
    #[error(
        "{} is outside the recovery window{}; nothing was sent",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        window_text(earliest, latest)
    )]
    OutsideRecoveryWindow {
        /// The time asked for.
        at: chrono::DateTime<chrono::Utc>,
        /// The window's earliest time, if it has one.
        earliest: Option<chrono::DateTime<chrono::Utc>>,
        /// The window's latest time, if it has one.
        latest: Option<chrono::DateTime<chrono::Utc>>,
    },

    /// A backup archive cannot be downloaded or is not what it should be.
    #[error("the archive cannot be used: {0}")]
    Archive(ArchiveProblem),

    /// Reading or writing the download's destination failed, or it is not something a download
    /// may write (a part file that is a symbolic link, a destination file that is a device).
    #[error("{}: {source}", destination(path))]
    Io {
        /// The file, or `None` for a writer given by the caller (the message says "the writer").
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A database tool a verification needs (`pg_restore`, `psql`) could not be run.
    #[error("{program} could not be run: {message}")]
    Tool {
        /// The program, as it was looked for.
        program: String,
        /// Why, and what to do about it.
        message: String,
    },
}

/// What is wrong with a backup archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveProblem {
    /// The backup is not done, so it has no archive yet (or ever).
    #[error("backup {backup_id} is {status}: only a done backup can be downloaded")]
    NotDone {
        /// The backup.
        backup_id: String,
        /// Its status.
        status: BackupStatus,
    },
    /// The body does not start like a gzip file (a storage error answered with 200, an HTML page).
    #[error("the download is not a gzip archive; it begins with: {snippet}")]
    NotGzip {
        /// The start of the body, with secrets removed.
        snippet: String,
    },
    /// The server announced a size other than the one the backup records.
    #[error("the server announced an archive of {announced} bytes, the backup records {recorded}")]
    SizeMismatch {
        /// What `Content-Length` announced, in all.
        announced: u64,
        /// What the backup records.
        recorded: u64,
    },
    /// More bytes arrived than were announced.
    #[error("received {received} bytes, more than the {announced} announced")]
    Oversized {
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        announced: u64,
    },
    /// The transfer kept ending early without an error, and resuming made no progress.
    #[error("the transfer kept ending early, at {at} bytes")]
    EndedEarly {
        /// Where it stopped.
        at: u64,
    },
    /// The bytes cannot be a gzip file: invalid compressed data, a header that is not gzip's, an
    /// end before the gzip data's, or garbage after it.
    #[error("the archive is corrupt at byte {at}: {reason}")]
    Corrupt {
        /// Where in the archive it shows.
        at: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A gzip member's trailer disagrees with its content: the bytes are not the ones the
    /// archive was made of (joined from two versions, or altered on the way).
    #[error(
        "the archive is corrupt: the gzip trailer at byte {at} records CRC-32 {recorded_crc:08x} \
         and {recorded_len} bytes (mod 2^32), the content gives {computed_crc:08x} and \
         {computed_len}"
    )]
    ChecksumMismatch {
        /// Where the trailer is.
        at: u64,
        /// The CRC-32 the trailer records.
        recorded_crc: u32,
        /// The CRC-32 of the decompressed content.
        computed_crc: u32,
        /// The length the trailer records, mod 2^32.
        recorded_len: u32,
        /// The decompressed content's length, mod 2^32.
        computed_len: u32,
    },
    /// A range of the archive was answered with another range (or none said): its bytes
    /// cannot be placed.
    #[error("asked for bytes {from} to {to} of the archive, the server answered {answered:?}")]
    RangeMismatch {
        /// The first byte asked for.
        from: u64,
        /// The last byte asked for.
        to: u64,
        /// The answer's `Content-Range` and `Content-Length`, as it wrote them.
        answered: String,
    },
    /// The archive kept changing on the server while it was downloaded in ranges: each time,
    /// the download started over, until it gave up.
    #[error("the archive changed on the server {times} times during the download; try again later")]
    KeptChanging {
        /// How many times it changed.
        times: u32,
    },
    /// The server sent the whole archive again instead of the rest (it changed since the
    /// download began, or ignores ranges), and the destination, a writer, cannot take back the
    /// bytes of the earlier version it received.
    #[error(
        "the archive changed on the server after {written} bytes were written: what the writer \
         received is incomplete; download it again"
    )]
    Changed {
        /// Bytes the writer had received.
        written: u64,
    },
}

/// A failure of the HTTP connection, with its causes in its message.
///
/// Opaque on purpose: the HTTP stack is an implementation detail, and the variant of [`Error`]
/// that carries this already says what kind of failure it was.
pub struct TransportError {
    /// Without its URL: reqwest's rendering of it would show the query (a link's token).
    source: reqwest::Error,
    /// The URL of the request, as [`redact::url_text`] shows it.
    url: Option<String>,
}

impl TransportError {
    fn new(source: reqwest::Error) -> Self {
        TransportError {
            url: source.url().map(redact::url_text),
            source: source.without_url(),
        }
    }
}

impl std::fmt::Debug for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TransportError")
            .field(&self.to_string())
            .finish()
    }
}

impl std::fmt::Display for TransportError {
    /// reqwest's own message is terse ("error sending request"); its sources say why.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(url) = &self.url {
            write!(f, " for {url}")?;
        }
        let mut source = std::error::Error::source(&self.source);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {}

impl Error {
    /// The HTTP status the API answered, when the failure came from an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Unprocessable { .. } => Some(422),
            Error::RateLimited { .. } => Some(429),
            Error::Refused { status, .. }
            | Error::Server { status, .. }
            | Error::UnexpectedStatus { status, .. }
            | Error::CrossOriginRedirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service's id of the request (`X-Request-ID`), when the failure came from an answer
    /// that had one: what Scalingo's support asks for.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { request_id, .. }
            | Error::Forbidden { request_id, .. }
            | Error::NotFound { request_id, .. }
            | Error::Unprocessable { request_id, .. }
            | Error::RateLimited { request_id, .. }
            | Error::Refused { request_id, .. }
            | Error::Server { request_id, .. }
            | Error::UnexpectedStatus { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    /// Turns an error of the generated client into ours, reading the error body if there is one;
    /// `now` dates a `Retry-After` given as a date.
    pub(crate) async fn from_generated(
        error: scalingo_db_generated::Error<scalingo_db_generated::ByteStream>,
        now: SystemTime,
    ) -> Self {
        use scalingo_db_generated::Error as Generated;
        match error {
            Generated::ErrorResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = read_capped(response.into_inner().into_inner()).await;
                from_status(status, &headers, &body, now)
            }
            Generated::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = read_capped(response.bytes_stream()).await;
                from_status(status, &headers, &body, now)
            }
            Generated::InvalidResponsePayload(body, error) => Error::Decode {
                message: error.to_string(),
                snippet: redact::snippet(&body),
            },
            Generated::CommunicationError(error) | Generated::ResponseBodyError(error) => {
                Error::from(error)
            }
            Generated::InvalidRequest(message) | Generated::Custom(message) => {
                Error::InvalidInput { message }
            }
            Generated::InvalidUpgrade(error) => Error::from(error),
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        if let Some(refused) = crate::redirect::refused(&error) {
            return Error::CrossOriginRedirect {
                status: refused.status,
                to: refused.to.clone(),
            };
        }
        let source = TransportError::new(error);
        if source.source.is_timeout() {
            Error::Timeout { source }
        } else if source.source.is_connect() {
            Error::Connect { source }
        } else {
            Error::Transport { source }
        }
    }
}

/// At most this much of an error body is read: enough for any JSON error, bounded for HTML pages.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub(crate) async fn read_capped(
    stream: impl futures_util::Stream<Item = reqwest::Result<Bytes>> + Send,
) -> Bytes {
    let mut stream = std::pin::pin!(stream);
    let mut body = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = ERROR_BODY_LIMIT - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == ERROR_BODY_LIMIT {
            break;
        }
    }
    Bytes::from(body)
}

/// The request id an answer carries, if any.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get(REQUEST_ID).and_then(header_text)
}

/// A header's value as text for people: trimmed, control characters escaped, `None` if empty or
/// not text.
pub(crate) fn header_text(value: &reqwest::header::HeaderValue) -> Option<String> {
    value
        .to_str()
        .ok()
        .map(|value| redact::control_free(value.trim()))
        .filter(|value| !value.is_empty())
}

/// Maps a non-success answer to a variant, decoding the service's JSON error when there is one.
/// `now` dates a `Retry-After` given as a date.
pub(crate) fn from_status(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Error {
    // What the service wrote is shown as text, never as control characters (a log line or a
    // terminal would take them as commands).
    let decoded: Option<types::ErrorBody> = serde_json::from_slice(body).ok();
    let text = |text: &String| redact::control_free(text);
    let message = decoded
        .as_ref()
        .and_then(|error| error.error.as_ref().map(text));
    let request_id = request_id(headers);
    match status {
        401 => Error::Unauthorized {
            message,
            request_id,
        },
        403 => Error::Forbidden {
            message,
            request_id,
        },
        404 => Error::NotFound {
            resource: decoded.and_then(|error| error.resource.as_ref().map(text)),
            message,
            request_id,
        },
        422 => Error::Unprocessable {
            errors: decoded
                .map(|error| {
                    error
                        .errors
                        .iter()
                        .map(|(field, problems)| (text(field), problems.iter().map(text).collect()))
                        .collect()
                })
                .unwrap_or_default(),
            message,
            request_id,
        },
        429 => Error::RateLimited {
            retry_after: retry_after(headers, now),
            request_id,
        },
        400..=499 => Error::Refused {
            status,
            message,
            request_id,
        },
        500..=599 => Error::Server {
            status,
            message,
            request_id,
        },
        _ => Error::UnexpectedStatus {
            status,
            snippet: redact::snippet(body),
            request_id,
        },
    }
}

/// `Retry-After` as a delay: a number of seconds, or an HTTP date (a date in the past is zero).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `404 Not Found`: the number and its reason phrase.
fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

fn detail(message: &Option<String>) -> String {
    match message {
        Some(message) if !message.is_empty() => format!(": {message}"),
        _ => String::new(),
    }
}

fn not_found(resource: &Option<String>, message: &Option<String>) -> String {
    match resource {
        Some(resource) => format!(
            "the {} was not found (404 Not Found)",
            resource.replace('_', " ")
        ),
        None => format!("not found (404 Not Found){}", detail(message)),
    }
}

fn field_errors(errors: &BTreeMap<String, Vec<String>>, message: &Option<String>) -> String {
    if errors.is_empty() {
        return message
            .clone()
            .unwrap_or_else(|| "no details given".to_owned());
    }
    errors
        .iter()
        .map(|(field, messages)| format!("{field} {}", messages.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(delay) => format!("retry in {}", seconds(*delay)),
        None => "retry later".to_owned(),
    }
}

fn window_text(
    earliest: &Option<chrono::DateTime<chrono::Utc>>,
    latest: &Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let time =
        |at: &chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match (earliest, latest) {
        (Some(earliest), Some(latest)) => format!(", {} to {}", time(earliest), time(latest)),
        (Some(earliest), None) => format!(", from {}", time(earliest)),
        (None, Some(latest)) => format!(", until {}", time(latest)),
        (None, None) => " (there is none yet: no base backup has ended)".to_owned(),
    }
}

fn destination(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "the writer".to_owned(),
    }
}

/// A duration for people: `7 s`, `1.9 s`, `0.3 s`.
pub(crate) fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value.fract() == 0.0 {
        format!("{value:.0} s")
    } else {
        format!("{value:.1} s")
    }
}

fn snippet_text(snippet: &str) -> String {
    if snippet.is_empty() {
        "; the body was empty".to_owned()
    } else {
        format!("; the body began with: {snippet}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let retry = |value| retry_after(&headers(&[("retry-after", value)]), now);
        assert_eq!(retry("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            retry("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(retry("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn field_errors_read_like_a_sentence_and_keep_the_request_id() {
        let error = from_status(
            422,
            &headers(&[("x-request-id", "req-42")]),
            br#"{"errors":{"name":["is too short","is invalid"],"password":["is too short"]}}"#,
            SystemTime::now(),
        );
        assert_eq!(
            error.to_string(),
            "the API refused the request (422 Unprocessable Entity): \
             name is too short, is invalid; password is too short"
        );
        assert_eq!(error.request_id(), Some("req-42"));
        assert_eq!(error.status(), Some(422));
    }

    #[test]
    fn statuses_read_with_their_reason() {
        let error = from_status(502, &HeaderMap::new(), b"<html>", SystemTime::now());
        assert_eq!(error.to_string(), "the API failed (502 Bad Gateway)");
        assert_eq!(error.request_id(), None);
    }
}
