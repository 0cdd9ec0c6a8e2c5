//! The accept loop, on hyper directly rather than `axum::serve`: a fault must be able to drop a
//! connection without answering, which only the connection's owner can do.
//!
//! It also bounds what a client can hold: a connection that sends no request head within
//! [`Limits::header_read`] (a half-open one, or one kept alive and left idle) is closed, and so
//! is one whose body or answer makes no progress for [`Limits::idle`]. When `accept` fails for
//! want of resources (out of file descriptors), the loop waits ([`Backoff`]) instead of spinning.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::backoff::Backoff;
use crate::config::SandboxConfig;
use crate::timeouts::{IdleBody, WriteIdle};

/// Marks a response the accept loop must replace by closing the connection.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// How long the slow parts of a connection may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// To receive a request's head, from when the connection waits for one.
    pub header_read: Duration,
    /// Without progress of a request's body or of the writing of an answer.
    pub idle: Duration,
}

/// The longest limit kept: a year. Longer ones (up to [`Duration::MAX`]) would overflow the
/// deadlines computed from them; a year is as good as never.
const LONGEST_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

impl Limits {
    /// The limits `config` sets.
    pub fn of(config: &SandboxConfig) -> Self {
        Limits {
            header_read: config.header_read_timeout.min(LONGEST_LIMIT),
            idle: config.idle_timeout.min(LONGEST_LIMIT),
        }
    }
}

/// Where connections come from: a [`TcpListener`], or in tests a source that fails.
pub trait Accept: Send + 'static {
    /// The next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<TcpStream>> + Send;
}

impl Accept for TcpListener {
    async fn accept(&mut self) -> io::Result<TcpStream> {
        TcpListener::accept(self).await.map(|(stream, _)| stream)
    }
}

/// Serves `router` on `listener` until `stopped` changes, then closes the open connections.
pub async fn serve(
    mut listener: impl Accept,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
    limits: Limits,
) {
    let mut connections = JoinSet::new();
    let mut backoff = Backoff::default();
    'accepting: loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    backoff.succeeded();
                    connections.spawn(connection(stream, router.clone(), stopped.clone(), limits));
                }
                // That connection is gone before it was accepted; the next one may be fine.
                Err(error) if ends_one_connection(&error) => {}
                Err(error) => {
                    let wait = backoff.failed();
                    if backoff.first_failure() {
                        tracing::warn!(
                            %error,
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "sandbox cannot accept connections; waiting before it tries again"
                        );
                    }
                    // Connections that end meanwhile free what `accept` lacked: keep reaping.
                    let pause = tokio::time::sleep(wait);
                    tokio::pin!(pause);
                    loop {
                        tokio::select! {
                            _ = &mut pause => break,
                            _ = stopped.changed() => break 'accepting,
                            Some(_) = connections.join_next(), if !connections.is_empty() => {}
                        }
                    }
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// Whether an `accept` error is about the connection being accepted (reset before it was
/// accepted) rather than about the listener or the process (out of descriptors or memory).
fn ends_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// Serves one connection until it ends, fails a limit, or the sandbox stops.
async fn connection(
    stream: TcpStream,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
    limits: Limits,
) {
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let request = request.map(|body| Body::new(IdleBody::new(body, limits.idle)));
            let response = router
                .oneshot(request)
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            if response.extensions().get::<DropConnection>().is_some() {
                // An error from the service makes hyper close the connection without writing
                // any answer.
                return Err(io::Error::other("connection dropped by a sandbox fault"));
            }
            Ok(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .serve_connection(TokioIo::new(WriteIdle::new(stream, limits.idle)), service);
    tokio::select! {
        _ = connection => {}
        _ = stopped.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::time::Instant;

    use super::*;

    /// A listener out of file descriptors: `accept` fails at once, `failures` times, noting when
    /// it was called; then it waits for ever.
    struct OutOfDescriptors {
        failures: usize,
        calls: Arc<Mutex<Vec<Instant>>>,
    }

    impl Accept for OutOfDescriptors {
        async fn accept(&mut self) -> io::Result<TcpStream> {
            let calls = {
                let mut calls = self.calls.lock().expect("not poisoned");
                calls.push(Instant::now());
                calls.len()
            };
            if calls > self.failures {
                std::future::pending::<()>().await;
            }
            Err(io::Error::from_raw_os_error(24)) // EMFILE
        }
    }

    #[tokio::test(start_paused = true)]
    async fn accept_errors_are_retried_after_growing_waits_not_at_once() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let listener = OutOfDescriptors {
            failures: 8,
            calls: Arc::clone(&calls),
        };
        let (stop, stopped) = watch::channel(false);
        let limits = Limits {
            header_read: Duration::from_secs(1),
            idle: Duration::from_secs(1),
        };
        let server = tokio::spawn(serve(listener, axum::Router::new(), stopped, limits));
        // The paused clock jumps to each timer: this takes no real time.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let _ = stop.send(true);
        server.await.expect("the loop ends when stopped");

        let calls = calls.lock().expect("not poisoned");
        assert_eq!(calls.len(), 9, "8 failures, then one that waits");
        let waits: Vec<u128> = calls
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_millis())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000]);
    }

    #[test]
    fn limits_past_a_year_are_a_year() {
        let limits = Limits::of(&SandboxConfig {
            header_read_timeout: Duration::MAX,
            idle_timeout: Duration::MAX,
            ..SandboxConfig::default()
        });
        assert_eq!(limits.header_read, LONGEST_LIMIT);
        assert_eq!(limits.idle, LONGEST_LIMIT);
    }
}
