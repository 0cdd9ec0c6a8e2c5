//! The one error type of the crate, and the single place where an HTTP answer that is not a
//! success becomes one of its variants.
//!
//! Every answer maps to a variant: JSON error bodies of any of the service's three shapes, the
//! plain-text 429, HTML or empty gateway pages, truncated JSON, statuses the contract does not
//! list. Nothing here panics, and no message carries a token, a password or a pre-signed link's
//! token (bodies are shown only through [`crate::redact`]).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use scalingo_db_generated::{ByteStream, types};

use crate::Backup;

use crate::redact;
use crate::validation::ValidationError;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling the Scalingo Database API.
///
/// Match on the variants to act on a failure; `Display` gives a sentence a person understands.
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
    },

    /// 403: the token is valid but may not do this.
    #[error(
        "the API forbids this operation to this token (403 Forbidden){}",
        detail(message)
    )]
    Forbidden {
        /// The service's message, when it gave one.
        message: Option<String>,
    },

    /// 404: the database, user or backup does not exist.
    #[error("{}", not_found(resource, message))]
    NotFound {
        /// What kind of thing was not found (`database_user`, `backup`, ...), when the service said.
        resource: Option<String>,
        /// The service's message, when it gave one.
        message: Option<String>,
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
    },

    /// 429: too many requests.
    #[error(
        "the API is rate limiting this client (429 Too Many Requests); {}",
        retry_after_text(retry_after)
    )]
    RateLimited {
        /// How long the service asked to wait (`Retry-After`, in seconds or as a date), if it did.
        retry_after: Option<Duration>,
    },

    /// Another 4xx answer, e.g. 400 `A backup is running`.
    #[error("the API refused the request ({status}){}", detail(message))]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// The service's message, when it gave one.
        message: Option<String>,
    },

    /// A 5xx answer, whatever its body (JSON, an HTML gateway page, nothing).
    #[error("the API failed ({status}){}", detail(message))]
    Server {
        /// The HTTP status.
        status: StatusCode,
        /// The service's message when the body was its JSON error; `None` for HTML or empty bodies.
        message: Option<String>,
    },

    /// A status the contract does not give for this operation (e.g. a redirect).
    #[error(
        "the API answered an unexpected status ({status}){}",
        snippet_text(snippet)
    )]
    UnexpectedStatus {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, with secrets removed.
        snippet: String,
    },

    /// A success status whose body is not what the contract describes (not JSON, truncated, ...).
    #[error("could not read the API's answer: {message}{}", snippet_text(snippet))]
    Decode {
        /// What the decoder found wrong.
        message: String,
        /// The start of the body, with secrets removed.
        snippet: String,
    },

    /// The connection to the API could not be made (DNS, refused, TLS).
    #[error("could not connect to the API: {}", source_chain(source))]
    Connect {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// A deadline passed: a request's time limit, or the time given to wait for a backup.
    #[error("{what}{}", source.as_ref().map(|source| format!(": {}", source_chain(source))).unwrap_or_default())]
    Timeout {
        /// What did not finish in time.
        what: String,
        /// The underlying error, for a request's time limit.
        #[source]
        source: Option<reqwest::Error>,
    },

    /// The backup ended in `error` or `cancelled`.
    #[error("backup {} ended {}", backup.id, backup.status)]
    BackupFailed {
        /// The backup, as last seen.
        backup: Box<Backup>,
    },

    /// A backup archive cannot be downloaded or is not what it should be (not done yet, not a
    /// gzip file, not of the recorded size).
    #[error("the archive cannot be used: {message}")]
    Archive {
        /// What is wrong.
        message: String,
    },

    /// Reading or writing a local file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The connection failed after it was made (reset, closed mid-body, ...).
    #[error("the connection to the API failed: {}", source_chain(source))]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
}

impl Error {
    /// The HTTP status the API answered, when the failure came from an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Unauthorized { .. } => Some(StatusCode::UNAUTHORIZED),
            Error::Forbidden { .. } => Some(StatusCode::FORBIDDEN),
            Error::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Error::Unprocessable { .. } => Some(StatusCode::UNPROCESSABLE_ENTITY),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Refused { status, .. }
            | Error::Server { status, .. }
            | Error::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    /// Turns an error of the generated client into ours, reading the error body if there is one.
    pub(crate) async fn from_generated(error: scalingo_db_generated::Error<ByteStream>) -> Self {
        use scalingo_db_generated::Error as Generated;
        match error {
            Generated::ErrorResponse(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = read_capped(response.into_inner().into_inner()).await;
                from_status(status, &headers, &body)
            }
            Generated::UnexpectedResponse(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = read_capped(response.bytes_stream()).await;
                from_status(status, &headers, &body)
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
        // The URL of a pre-signed download carries its token in the query string.
        let source = redact::reqwest_error(error);
        if source.is_timeout() {
            Error::Timeout {
                what: "the API did not answer in time".to_owned(),
                source: Some(source),
            }
        } else if source.is_connect() {
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

/// Maps a non-success answer to a variant, decoding the service's JSON error when there is one.
pub(crate) fn from_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let decoded: Option<types::Error> = serde_json::from_slice(body).ok();
    let message = decoded.as_ref().and_then(|error| error.error.clone());
    match status.as_u16() {
        401 => Error::Unauthorized { message },
        403 => Error::Forbidden { message },
        404 => Error::NotFound {
            resource: decoded.and_then(|error| error.resource),
            message,
        },
        422 => Error::Unprocessable {
            errors: decoded
                .map(|error| error.errors.into_iter().collect())
                .unwrap_or_default(),
            message,
        },
        429 => Error::RateLimited {
            retry_after: retry_after(headers, SystemTime::now()),
        },
        400..=499 => Error::Refused { status, message },
        500..=599 => Error::Server { status, message },
        _ => Error::UnexpectedStatus {
            status,
            snippet: redact::snippet(body),
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

/// reqwest's own message is terse ("error sending request"); its sources say why.
fn source_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn field_errors_read_like_a_sentence() {
        let error = from_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &HeaderMap::new(),
            br#"{"errors":{"name":["is too short","is invalid"],"password":["is too short"]}}"#,
        );
        assert_eq!(
            error.to_string(),
            "the API refused the request (422 Unprocessable Entity): \
             name is too short, is invalid; password is too short"
        );
    }
}
