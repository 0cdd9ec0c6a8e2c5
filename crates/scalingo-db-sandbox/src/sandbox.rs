//! [`Sandbox`], the handle tests and tools hold: it starts the server, hands out its URLs and
//! tokens, its fault rules, counters and clock, and its state to keep.

use std::net::SocketAddr;
use std::sync::Arc;

use scalingo_db_generated::Server;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::SandboxConfig;
use crate::faults::{Counters, Faults};
use crate::packed::PackedArchives;
use crate::router::router;
use crate::server::{Limits, serve};
use crate::service::Service;
use crate::state::SandboxState;
use crate::store::Store;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    address: SocketAddr,
    service: Arc<Service>,
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

    /// Starts a sandbox on `address`, on the current tokio runtime, once the dumps of
    /// [`SandboxConfig::archive_from`] are packed (an `InvalidInput` error names the rule a
    /// source breaks).
    pub async fn bind(mut config: SandboxConfig, address: SocketAddr) -> std::io::Result<Sandbox> {
        // Packed before listening: a dump that cannot be packed leaves no port taken.
        let packed = PackedArchives::pack(&config.archive_from).await?;
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let control_routes = config.control_routes;
        let limits = Limits::of(&config);
        // The store keeps its configuration for the sandbox's life; the saved state, once read
        // into the store, would only weigh on it there (and be cloned by every `config()`).
        let store = match config.state.take() {
            Some(saved) => Store::with_state(config, saved),
            None => Store::new(config),
        }
        .with_packed(packed);
        let service = Arc::new(Service::new(store, format!("http://{address}")));
        let router = router(Arc::clone(&service), control_routes);
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, router, stopped, limits));
        Ok(Sandbox {
            address,
            service,
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
        self.service.base_url().to_owned()
    }

    /// The base of the links the sandbox answers (archive downloads): the configured
    /// [`SandboxConfig::public_url`], else [`Sandbox::base_url`].
    pub fn public_url(&self) -> String {
        self.service.public_url().to_owned()
    }

    /// `http://127.0.0.1:<port>/api`: the base URL of the Database API (its path as the
    /// contract's server gives it).
    pub fn database_api_url(&self) -> String {
        format!(
            "{}{}",
            self.service.base_url(),
            Server::DatabaseApi.path_prefix()
        )
    }

    /// A fresh database token for `database`, as the addon token endpoint would issue it.
    pub fn database_token(&self, database: &str) -> String {
        self.service.store().issue_database_token(database)
    }

    /// The configuration the sandbox started with, without its `state` (always `None`:
    /// [`Sandbox::state`] gives the state as it is now). Its clock is the sandbox's.
    pub fn config(&self) -> SandboxConfig {
        self.service.store().config().clone()
    }

    /// Fault injection: rules that make the next matching requests fail.
    pub fn faults(&self) -> &Faults {
        &self.service.faults
    }

    /// Requests received, per operation.
    pub fn counters(&self) -> &Counters {
        &self.service.counters
    }

    /// The clock the sandbox reads: advance it to move backups along and expire tokens without
    /// waiting (with a [`Clock::manual`] one in [`SandboxConfig::clock`], nothing else moves it).
    pub fn clock(&self) -> &Clock {
        self.service.clock()
    }

    /// The databases, users and backups as they are now, to start a later sandbox with
    /// ([`SandboxConfig::state`]).
    pub fn state(&self) -> SandboxState {
        self.service.store().state().clone()
    }

    /// Makes every token issued so far expire now.
    pub fn expire_tokens(&self) {
        self.service.store().expire_tokens();
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

    #[tokio::test]
    async fn the_database_api_is_under_its_servers_path() {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .expect("starts");
        assert_eq!(
            sandbox.database_api_url(),
            format!(
                "http://{}{}",
                sandbox.address(),
                Server::DatabaseApi.path_prefix()
            )
        );
    }
}
