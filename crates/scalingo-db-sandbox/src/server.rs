//! Serving: the shared state, the accept loop (on hyper directly, so a fault can drop a
//! connection without answering), and [`Sandbox`], the handle tests hold.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Body;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderValue, Request};
use axum::response::Response;
use futures_util::StreamExt as _;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::config::SandboxConfig;
use crate::faults::{Counters, Faults};
use crate::router::router;
use crate::state::SandboxState;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    store: Arc<Mutex<Store>>,
    /// The fault rules in force.
    pub faults: Arc<Faults>,
    /// Requests per operation.
    pub counters: Arc<Counters>,
    base_url: Arc<str>,
}

impl AppState {
    /// The store, locked for one short step of a request.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://<bound address>`, for links when a request has no `Host` header.
    pub fn base_url(&self) -> String {
        self.base_url.to_string()
    }
}

/// Marks a response the accept loop must replace by closing the connection.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// Keeps a response's status, headers and announced `Content-Length`, but ends its body with an
/// error after `after_bytes`, which makes hyper close the connection mid-body.
pub fn truncate(response: Response, after_bytes: usize) -> Response {
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
                    // the body when hyper's buffer is drained, so the grace is generous.
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                    let error = std::io::Error::other("body truncated by a sandbox fault");
                    Some((Err(error), (data, 0, true)))
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(cut))
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    address: SocketAddr,
    state: AppState,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox on a free loopback port, on the current tokio runtime.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::bind(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a sandbox on `address`, on the current tokio runtime.
    pub async fn bind(mut config: SandboxConfig, address: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let control_routes = config.control_routes;
        // The store keeps its configuration for the sandbox's life; the saved state, once read
        // into the store, would only weigh on it there (and be cloned by every `config()`).
        let store = match config.state.take() {
            Some(saved) => Store::with_state(config, &saved)
                .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?,
            None => Store::new(config),
        };
        let state = AppState {
            store: Arc::new(Mutex::new(store)),
            faults: Arc::default(),
            counters: Arc::default(),
            base_url: Arc::from(format!("http://{address}")),
        };
        let router = router(state.clone(), control_routes);
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, router, stopped));
        Ok(Sandbox {
            address,
            state,
            stop,
            server: Some(server),
        })
    }

    /// The address the sandbox listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:<port>`: the base URL of the token flow's hosts (auth and main API).
    pub fn base_url(&self) -> String {
        self.state.base_url()
    }

    /// `http://127.0.0.1:<port>/api`: the base URL of the Database API.
    pub fn database_api_url(&self) -> String {
        format!("{}/api", self.state.base_url())
    }

    /// A fresh database token for `database`, as the addon token endpoint would issue it.
    pub fn database_token(&self, database: &str) -> String {
        self.state.store().issue_database_token(database)
    }

    /// The configuration the sandbox started with, without its `state` (always `None`:
    /// [`Sandbox::state`] gives the state as it is now).
    pub fn config(&self) -> SandboxConfig {
        self.state.store().config().clone()
    }

    /// Fault injection: rules that make the next matching requests fail.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Requests received, per operation.
    pub fn counters(&self) -> &Counters {
        &self.state.counters
    }

    /// The databases, users and backups as they are now, to start a later sandbox with
    /// ([`SandboxConfig::state`]).
    pub fn state(&self) -> SandboxState {
        self.state.store().snapshot()
    }

    /// Makes every token issued so far expire now.
    pub fn expire_tokens(&self) {
        self.state.store().expire_tokens();
    }

    /// Stops accepting connections, closes the open ones and waits for the server to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn serve(listener: TcpListener, router: axum::Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                let mut stopped = stopped.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let router = router.clone();
                        async move {
                            let response = router
                                .oneshot(request.map(Body::new))
                                .await
                                .unwrap_or_else(|never: Infallible| match never {});
                            if response.extensions().get::<DropConnection>().is_some() {
                                // An error from the service makes hyper close the connection
                                // without writing any answer.
                                return Err(std::io::Error::other("connection dropped by a sandbox fault"));
                            }
                            Ok(response)
                        }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_saved_state_goes_into_the_store_not_into_the_kept_configuration() {
        let first = Sandbox::start(SandboxConfig::default())
            .await
            .expect("starts");
        let saved = first.state();
        let config = SandboxConfig {
            state: Some(saved.clone()),
            ..SandboxConfig::default()
        };
        let second = Sandbox::start(config).await.expect("starts");
        assert_eq!(second.state(), saved, "the saved state was read");
        assert!(second.config().state.is_none());
    }
}
