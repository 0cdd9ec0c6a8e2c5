//! The layer in front of every operation: it counts the request, then applies the first fault
//! rule that matches it (a status and body instead of the answer, a delay, a dropped connection,
//! a body cut short, or a body that pauses).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use futures_util::StreamExt as _;
use scalingo_db_generated::OperationId;

use crate::faults::Fault;
use crate::server::DropConnection;
use crate::service::Service;

/// Counts the request under `operation`, then applies the first fault rule that matches it.
pub async fn count_and_inject_faults(
    State((service, operation)): State<(Arc<Service>, OperationId)>,
    request: Request,
    next: Next,
) -> Response {
    service.counters.hit(operation);
    match service.faults.take(operation) {
        None => next.run(request).await,
        Some(Fault::Status {
            status,
            body,
            content_type,
            headers,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, body).into_response();
            let response_headers = response.headers_mut();
            response_headers.remove(CONTENT_TYPE);
            let extra = content_type
                .map(|value| ("content-type".to_owned(), value))
                .into_iter()
                .chain(headers);
            for (name, value) in extra {
                if let (Ok(name), Ok(value)) =
                    (HeaderName::try_from(name), HeaderValue::try_from(value))
                {
                    response_headers.insert(name, value);
                }
            }
            response
        }
        // A network's delay: real time, whatever the sandbox's clock says.
        Some(Fault::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(Fault::DropConnection) => dropped(),
        Some(Fault::TruncateBody { after_bytes }) => {
            let response = next.run(request).await;
            if http_body::Body::size_hint(response.body()).exact() == Some(0) {
                // Nothing to cut (a 204): the answer is lost whole, after the work was done.
                dropped()
            } else {
                truncate(response, after_bytes)
            }
        }
        Some(Fault::StallBody {
            after_bytes,
            millis,
        }) => stall(
            next.run(request).await,
            after_bytes,
            Duration::from_millis(millis),
        ),
    }
}

/// Keeps a response whole, but pauses its body for `pause` after `after_bytes`.
fn stall(response: Response, after_bytes: usize, pause: Duration) -> Response {
    /// Where the paused body is.
    struct Paused {
        data: axum::body::BodyDataStream,
        /// Bytes still to send before the pause; `None` once it is over.
        before_pause: Option<usize>,
        /// The rest of a chunk split at the pause.
        held: Option<bytes::Bytes>,
    }
    let (parts, body) = response.into_parts();
    let start = Paused {
        data: body.into_data_stream(),
        before_pause: Some(after_bytes),
        held: None,
    };
    let paused = futures_util::stream::unfold(start, move |mut at| async move {
        if at.before_pause == Some(0) {
            // hyper sends what it holds while the body has nothing ready: the bytes before the
            // pause reach the client, then nothing does for a while.
            tokio::time::sleep(pause).await;
            at.before_pause = None;
        }
        let chunk = match at.held.take() {
            Some(chunk) => chunk,
            None => match at.data.next().await? {
                Ok(chunk) => chunk,
                Err(error) => return Some((Err(std::io::Error::other(error)), at)),
            },
        };
        match at.before_pause {
            Some(remaining) if chunk.len() > remaining => {
                at.held = Some(chunk.slice(remaining..));
                at.before_pause = Some(0);
                Some((Ok(chunk.slice(..remaining)), at))
            }
            Some(remaining) => {
                at.before_pause = Some(remaining - chunk.len());
                Some((Ok(chunk), at))
            }
            None => Some((Ok(chunk), at)),
        }
    });
    Response::from_parts(parts, Body::from_stream(paused))
}

/// An answer the accept loop replaces by closing the connection.
fn dropped() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// Keeps a response's status, headers and announced `Content-Length`, but ends its body with an
/// error after `after_bytes`, which makes hyper close the connection mid-body.
fn truncate(response: Response, after_bytes: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(len) = http_body::Body::size_hint(&body).exact() {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    let cut = futures_util::stream::unfold(
        (body.into_data_stream(), after_bytes, false),
        |(mut data, remaining, ended)| async move {
            if ended {
                return None;
            }
            let next = if remaining == 0 {
                None
            } else {
                data.next().await
            };
            match next {
                Some(Ok(chunk)) => {
                    let keep = chunk.len().min(remaining);
                    Some((Ok(chunk.slice(..keep)), (data, remaining - keep, false)))
                }
                _ => {
                    // hyper writes out what it holds only once the body has nothing ready, and
                    // drops what is still unsent when the body fails: failing at once would lose
                    // the head and the kept bytes. 20 ms proved short for a client slowed by a
                    // loaded machine (a 300 MiB test lost 147 KB once in 16 runs); nothing tells
                    // the body when hyper's buffer is drained, so the grace is generous (and
                    // real time, like any network's).
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let error = std::io::Error::other("body truncated by a sandbox fault");
                    Some((Err(error), (data, 0, true)))
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(cut))
}
