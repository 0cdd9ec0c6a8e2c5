//! One log line per request, on `tracing`: method, the route's path template, status and the
//! time to the answer's head. Only the template: the real path names databases and users, and
//! the query of a download carries its link token; headers and bodies (credentials, passwords)
//! never appear.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::server::DropConnection;

/// The methods of RFC 9110, which are logged by name.
const STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// Logs `request` once answered. The elapsed time is real time (not the sandbox's clock, which a
/// test may have moved): it measures the sandbox, not what it simulates.
pub async fn log_request(request: Request, next: Next) -> Response {
    // An extension method is any word a client sends: it is not logged as sent.
    let method = match request.method() {
        method if STANDARD_METHODS.contains(method) => method.as_str().to_owned(),
        _ => "(extension method)".to_owned(),
    };
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if response.extensions().get::<DropConnection>().is_some() {
        tracing::info!(
            method,
            path,
            elapsed_ms,
            "sandbox dropped the connection (a fault)"
        );
    } else {
        let status = response.status().as_u16();
        // Named "sandbox" in the message: an embedding tool's log may not show the target.
        tracing::info!(method, path, status, elapsed_ms, "sandbox answered");
    }
    response
}
