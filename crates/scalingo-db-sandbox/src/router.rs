//! The router, built from the contract's operation table: every operation of openapi.yaml is
//! served at the path the contract gives it, and one that has no handler stops the sandbox from
//! starting (so the contract and the sandbox cannot drift apart silently).

use axum::Router;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use scalingo_db_generated::operations::{OPERATIONS, Operation};

use crate::error::ApiError;
use crate::faults::Fault;
use crate::handlers::{auth, backups, control, users};
use crate::server::{AppState, DropConnection};

/// The sandbox's routes: every contract operation, and the control routes when enabled.
pub fn router(state: AppState, control_routes: bool) -> Router {
    let mut router = Router::new();
    for operation in OPERATIONS {
        let path = format!("{}{}", operation.prefix, operation.path);
        let handler = handler(operation).layer(middleware::from_fn_with_state(
            (state.clone(), operation.id),
            count_and_inject_faults,
        ));
        router = router.route(&path, handler);
    }
    if control_routes {
        router = router
            .route(
                "/_sandbox/faults",
                post(control::inject_fault).delete(control::clear_faults),
            )
            .route(
                "/_sandbox/counters",
                get(control::counters).delete(control::reset_counters),
            )
            .route("/_sandbox/expire-tokens", post(control::expire_tokens))
            .route(
                "/_sandbox/databases/{database_id}/token",
                post(control::database_token),
            );
    }
    router
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

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

/// Logs one line per request: method, the route's path template, status and the time to the
/// answer's head. Only the template: the real path names databases and users, and the query of
/// a download carries its link token; headers and bodies (credentials, passwords) never appear.
async fn log_request(request: Request, next: Next) -> Response {
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

/// The handler of one operation, on the contract's method.
fn handler(operation: &Operation) -> MethodRouter<AppState> {
    let method = Method::from_bytes(operation.method.as_bytes())
        .ok()
        .and_then(|method| MethodFilter::try_from(method).ok())
        .unwrap_or_else(|| {
            panic!(
                "`{}` has an unknown method {}",
                operation.id, operation.method
            )
        });
    match operation.id {
        "list_users" => on(method, users::list),
        "create_user" => on(method, users::create),
        "update_user_password" => on(method, users::update_password),
        "reset_user_password" => on(method, users::reset_password),
        "delete_user" => on(method, users::delete),
        "list_backups" => on(method, backups::list),
        "create_backup" => on(method, backups::create),
        "get_backup" => on(method, backups::get),
        "get_backup_archive_url" => on(method, backups::archive_url),
        "download_backup_archive" => on(method, backups::download),
        "exchange_api_token" => on(method, auth::exchange),
        "get_addon_token" => on(method, auth::addon_token),
        other => panic!("the sandbox has no handler for the contract's operation `{other}`"),
    }
}

/// Counts the request under its operation, then applies the first fault rule that matches it.
async fn count_and_inject_faults(
    State((state, operation)): State<(AppState, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    state.counters.hit(operation);
    match state.faults.take(operation) {
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
            response_headers.remove(axum::http::header::CONTENT_TYPE);
            let extra = content_type
                .map(|value| ("content-type".to_owned(), value))
                .into_iter()
                .chain(headers);
            for (name, value) in extra {
                if let (Ok(name), Ok(value)) = (
                    axum::http::HeaderName::try_from(name),
                    axum::http::HeaderValue::try_from(value),
                ) {
                    response_headers.insert(name, value);
                }
            }
            response
        }
        Some(Fault::Delay { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(Fault::DropConnection) => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(DropConnection);
            response
        }
        Some(Fault::TruncateBody { after_bytes }) => {
            let response = next.run(request).await;
            if http_body::Body::size_hint(response.body()).exact() == Some(0) {
                // Nothing to cut (a 204): the answer is lost whole, after the work was done.
                let mut lost = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                lost.extensions_mut().insert(DropConnection);
                lost
            } else {
                crate::server::truncate(response, after_bytes)
            }
        }
    }
}
