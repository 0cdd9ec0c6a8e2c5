//! [`RangedStore`]: a fake of the service and of the object storage behind an archive link, on
//! loopback, for the exchanges of a download in ranges that depend on what came before: an
//! archive replaced by another version between two ranges, a server that ignores `If-Range`, and
//! ranges answered in another order than they were asked.
//!
//! httpmock answers each request on its own, and the sandbox serves one archive per size; this
//! store keeps a script ([`Script`]) and a log of what it answered ([`Answer`]), so a test can say
//! what the client must have seen. It serves the backup ([`BACKUP_ID`], of [`DB`]), its link and
//! the archive, with `ETag`s `"v0"`, `"v1"`, ... for its versions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::json;

use crate::support::{BACKUP_ID, DB};

/// How much of the first range is sent before [`Script::first_range_last`] holds the rest.
const FIRST_BYTES: usize = 64;
/// How long the first range waits for the others at most: a client that never asks for them
/// would otherwise keep the test waiting for ever.
const HOLD_LIMIT: Duration = Duration::from_secs(20);

/// What the store does.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// The archive's versions, all of the same length; the first is served first.
    pub versions: Vec<Vec<u8>>,
    /// After this many answers of the archive, the next version replaces the current one (the
    /// last stays).
    pub change_every: Option<usize>,
    /// Answer a range of the version asked for in `If-Range` when it is not the current one,
    /// as a server that ignores the condition does (with the current version's bytes and tag).
    pub ignore_if_range: bool,
    /// The range that starts at byte 0 sends its first bytes, then waits until every other
    /// range of an archive cut into this many is answered.
    pub first_range_last: Option<usize>,
}

/// One answer of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The `Range` asked for.
    pub range: Option<String>,
    /// The `If-Range` sent.
    pub if_range: Option<String>,
    /// 200 or 206.
    pub status: u16,
    /// The version answered.
    pub version: usize,
}

/// A running store; it stops when dropped.
pub struct RangedStore {
    base: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    script: Script,
    base: String,
    /// Answers of the archive so far.
    answers: AtomicUsize,
    /// Ranges answered that do not start at byte 0.
    others: AtomicUsize,
    others_answered: tokio::sync::Notify,
    log: Mutex<Vec<Answer>>,
    /// Whether the first range gave up waiting for the others.
    hold_expired: Mutex<bool>,
}

impl RangedStore {
    /// Starts a store on `script`.
    pub async fn start(script: Script) -> RangedStore {
        assert!(!script.versions.is_empty(), "an archive to serve");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let shared = Arc::new(Shared {
            script,
            base: base.clone(),
            answers: AtomicUsize::new(0),
            others: AtomicUsize::new(0),
            others_answered: tokio::sync::Notify::new(),
            log: Mutex::default(),
            hold_expired: Mutex::new(false),
        });
        let router = axum::Router::new()
            .route(&format!("/backups/{BACKUP_ID}"), get(backup))
            .route(
                &format!("/databases/{DB}/backups/{BACKUP_ID}/archive"),
                get(link),
            )
            .route(&format!("/download/{BACKUP_ID}"), get(archive))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        RangedStore {
            base,
            shared,
            server,
        }
    }

    /// The base URL of the API (and of the link).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Every answer of the archive so far, in the order they were given.
    pub fn answers(&self) -> Vec<Answer> {
        lock(&self.shared.log).clone()
    }

    /// Whether the first range stopped waiting for the others (the client did not ask for them
    /// at once).
    pub fn hold_expired(&self) -> bool {
        *lock(&self.shared.hold_expired)
    }
}

impl Drop for RangedStore {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn backup(State(shared): State<Arc<Shared>>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "id": BACKUP_ID,
        "created_at": "2018-09-02T03:00:00.178+02:00",
        "name": "20180902010000_my_app_4553",
        "size": shared.script.versions[0].len(),
        "status": "done",
    }))
}

async fn link(State(shared): State<Arc<Shared>>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "download_url": format!("{}/download/{BACKUP_ID}?token=t", shared.base)
    }))
}

async fn archive(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let (range, if_range) = (text(header::RANGE), text(header::IF_RANGE));
    let script = &shared.script;
    let answer = shared.answers.fetch_add(1, Ordering::SeqCst);
    let current = script
        .change_every
        .map_or(0, |every| answer / every)
        .min(script.versions.len() - 1);
    let asked = if_range.as_deref().and_then(|tag| {
        tag.strip_prefix("\"v")?
            .strip_suffix('"')?
            .parse::<usize>()
            .ok()
    });
    // A server that honours `If-Range` sends the whole current archive when the tag is not
    // the current one; one that ignores it sends the range anyway.
    let honoured = asked.is_none_or(|asked| asked == current) || script.ignore_if_range;
    let bytes = &script.versions[current];
    let total = bytes.len();
    let wanted = range.as_deref().and_then(parse_range).filter(|_| honoured);
    let mut log = Answer {
        range,
        if_range,
        status: 200,
        version: current,
    };
    let Some((first, last)) = wanted.filter(|(first, _)| *first < total) else {
        lock(&shared.log).push(log);
        return respond(
            StatusCode::OK,
            current,
            None,
            Body::from(bytes.clone()),
            total,
        );
    };
    let last = last.unwrap_or(total - 1).min(total - 1);
    log.status = 206;
    lock(&shared.log).push(log);
    let slice = Bytes::copy_from_slice(&bytes[first..=last]);
    let content_range = format!("bytes {first}-{last}/{total}");
    let length = slice.len();
    let body = match script.first_range_last {
        Some(ranges) if first == 0 => held(Arc::clone(&shared), slice, ranges),
        Some(_) => {
            shared.others.fetch_add(1, Ordering::SeqCst);
            shared.others_answered.notify_waiters();
            Body::from(slice)
        }
        None => Body::from(slice),
    };
    respond(
        StatusCode::PARTIAL_CONTENT,
        current,
        Some(content_range),
        body,
        length,
    )
}

/// The body of the first range: its first bytes at once, the rest once the `ranges - 1` others
/// are answered (or [`HOLD_LIMIT`] passed, which the store remembers).
fn held(shared: Arc<Shared>, slice: Bytes, ranges: usize) -> Body {
    let cut = FIRST_BYTES.min(slice.len());
    let (head, rest) = (slice.slice(..cut), slice.slice(cut..));
    let rest = async move {
        let all_answered = async {
            // Bounded: each turn is a wake-up by another range's answer.
            loop {
                let notified = shared.others_answered.notified();
                if shared.others.load(Ordering::SeqCst) + 1 >= ranges {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(HOLD_LIMIT, all_answered)
            .await
            .is_err()
        {
            *lock(&shared.hold_expired) = true;
        }
        Ok::<_, std::io::Error>(rest)
    };
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(head)])
        .chain(futures_util::stream::once(rest));
    Body::from_stream(stream)
}

fn respond(
    status: StatusCode,
    version: usize,
    content_range: Option<String>,
    body: Body,
    length: usize,
) -> Response {
    let mut response = Response::builder()
        .status(status)
        .header(header::ETAG, format!("\"v{version}\""))
        .header(header::CONTENT_LENGTH, length)
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some(content_range) = content_range {
        response = response.header(header::CONTENT_RANGE, content_range);
    }
    response.body(body).expect("a valid answer")
}

/// `bytes=<first>-[<last>]`.
fn parse_range(text: &str) -> Option<(usize, Option<usize>)> {
    let (first, last) = text.strip_prefix("bytes=")?.split_once('-')?;
    let last = match last {
        "" => None,
        last => Some(last.parse().ok()?),
    };
    Some((first.parse().ok()?, last))
}

/// `content` gzip-compressed without compression (stored blocks): contents of the same length
/// give archives of the same length, as versions of one archive must be here.
pub fn stored_gzip(content: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    encoder.write_all(content).expect("in memory");
    encoder.finish().expect("in memory")
}
