//! The emulated object-storage link of archive downloads (`--link-rate`, `--link-latency`):
//! real archives come from object storage through a pre-signed link, where one HTTP stream is
//! capped well below the machine's own link and the store is tens of milliseconds away. On
//! loopback a download is neither, so a client's parallel ranged downloads could not be measured
//! against a single stream without this.
//!
//! The latency is one way: a download request reaches the archive that late, and its answer takes
//! as long to come back, so its first byte arrives twice the latency after the request left. The
//! rate caps each request's answer on its own ([`PacedBody`]); HTTP/1.1 serves one request at a
//! time on a connection, so it is a cap per connection, and several connections each get the
//! whole rate, as from object storage. Neither costs anything when the link is off (the default):
//! the layer is not even installed. Connection set-up is not emulated (a real new connection
//! costs a round trip more, and TLS one or two): the emulation is of the answer's way back.
//!
//! Time here is real time, not the sandbox's [`Clock`](crate::Clock): the link emulates a network,
//! like the `delay` fault, and the test that moves the clock by hours should not move bytes.

mod paced_body;
mod token_bucket;

use std::num::NonZeroU64;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::SandboxConfig;
use paced_body::PacedBody;

/// The emulated link's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Bytes per second per request; `None`: no cap.
    pub rate: Option<NonZeroU64>,
    /// One way.
    pub latency: Duration,
}

impl Link {
    /// The link `config` sets.
    pub fn of(config: &SandboxConfig) -> Self {
        Link {
            rate: config.link_rate,
            latency: config.link_latency,
        }
    }

    /// Whether the link changes anything: a cap or a latency.
    pub fn is_emulated(self) -> bool {
        self.rate.is_some() || !self.latency.is_zero()
    }
}

/// The layer of the archive route: the request travels for the latency before it is answered
/// (counted, faulted, served), the answer for the latency again before its head is sent, and its
/// body at no more than the rate.
pub async fn over_the_link(State(link): State<Link>, request: Request, next: Next) -> Response {
    tokio::time::sleep(link.latency).await;
    let response = next.run(request).await;
    tokio::time::sleep(link.latency).await;
    match link.rate {
        // The head (and a dropped connection's mark, in its extensions) stays as it is.
        Some(rate) => response.map(|body| Body::new(PacedBody::new(body, rate))),
        None => response,
    }
}
