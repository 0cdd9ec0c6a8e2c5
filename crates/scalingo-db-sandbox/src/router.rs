//! The router: every operation of the contract, from the generated routes, at its server's path
//! prefix and its path; each behind the layer that counts it and applies fault rules, and with
//! an `X-Request-ID` on its answer, as the service sends; the archive route behind the emulated
//! object-storage link when one is configured; then the control routes when enabled, JSON
//! refusals for anything else, and one log line per request.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Uri};
use axum::middleware;
use axum::response::Response;
use rand::Rng as _;
use scalingo_db_generated::OperationId;

use crate::api::control;
use crate::error::ApiError;
use crate::generated_api;
use crate::http::BODY_LIMIT;
use crate::inject::count_and_inject_faults;
use crate::link::over_the_link;
use crate::request_log::log_request;
use crate::service::Service;

/// The sandbox's routes on `service`: every contract operation, and the control routes when
/// `control_routes` is set.
pub fn router(service: Arc<Service>, control_routes: bool) -> Router {
    let mut router = Router::new();
    let link = service.link();
    for (operation, handler) in generated_api::routes(Arc::clone(&service)) {
        let path = format!("{}{}", operation.server().path_prefix(), operation.path());
        // A route layer: a request the operation does not serve (another method) is neither
        // counted nor faulted.
        let handler = handler
            .route_layer(middleware::from_fn_with_state(
                (Arc::clone(&service), operation),
                count_and_inject_faults,
            ))
            .route_layer(middleware::map_response(with_request_id));
        // Outermost: the link is the network between the client and everything the route does.
        let handler = if operation == OperationId::DownloadBackupArchive && link.is_emulated() {
            handler.route_layer(middleware::from_fn_with_state(link, over_the_link))
        } else {
            handler
        };
        // Two operations on one path (another method) merge into one route.
        router = router.route(&path, handler);
    }
    if control_routes {
        router = router.merge(control::routes(service));
    }
    router
        .fallback(no_route)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(log_request))
}

/// The 404 of a path no operation has, `{"resource": "route"}` as before, whose message names
/// the method and path. A path with an empty segment is most often what a URL library made of an
/// id: it removes a `.` or `..` segment (RFC 3986) before sending, so `backups/..` arrives as the
/// database's path with a trailing `/`. The sandbox cannot know the id that was meant, but it
/// can say why the path may not be the one the client built.
async fn no_route(method: Method, uri: Uri) -> ApiError {
    let path = uri.path();
    let hint = if path.len() > 1 && (path.ends_with('/') || path.contains("//")) {
        "; it has an empty segment: an id of `.` or `..` is removed from a URL before it is \
         sent, and an empty id leaves the segment empty"
    } else {
        ""
    };
    ApiError::NoRoute(format!(
        "no operation of the API is at {method} {path}{hint}"
    ))
}

/// Names the answer as the service does, so that clients can show what its support asks for.
async fn with_request_id(mut response: Response) -> Response {
    let id: u128 = rand::rng().random();
    if let Ok(value) = HeaderValue::try_from(format!("{id:032x}")) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The header the contract names `X-Request-ID`.
const REQUEST_ID: &str = "x-request-id";
