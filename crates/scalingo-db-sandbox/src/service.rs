//! [`Service`]: what every request of one sandbox shares. The generated traits of the contract's
//! operations are implemented on it (in `api/`), and the router, the control routes and the
//! [`crate::Sandbox`] handle all hold the same one.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::Clock;
use crate::faults::{Counters, Faults};
use crate::link::Link;
use crate::store::Store;

/// One sandbox's state, shared by its requests.
pub struct Service {
    store: Mutex<Store>,
    /// The store's clock too (clones share one time), readable without the store's lock.
    clock: Clock,
    /// `http://<bound address>`.
    base_url: String,
    /// The base of the links the sandbox answers: the configured public URL, else `base_url`.
    public_url: String,
    /// The emulated link archives come through.
    link: Link,
    /// The fault rules in force.
    pub faults: Faults,
    /// Requests per operation.
    pub counters: Counters,
}

impl Service {
    /// A service around `store`, reached at `base_url`; its links are on the configuration's
    /// public URL, else on `base_url`.
    pub fn new(store: Store, base_url: String) -> Self {
        let public_url = match &store.config().public_url {
            Some(url) => url.as_str().to_owned(),
            None => base_url.clone(),
        };
        Service {
            public_url,
            link: Link::of(store.config()),
            clock: store.config().clock.clone(),
            store: Mutex::new(store),
            base_url,
            faults: Faults::default(),
            counters: Counters::default(),
        }
    }

    /// The store, locked for one short step of a request (never across an `.await`), with the
    /// periodic backups due by now made ([`Store::catch_up`]). Every use of the store (every
    /// operation, control route and [`crate::Sandbox`] method) comes through here, so periodic
    /// backups appear at their hours of the clock with no timer: the first look after an hour has
    /// passed finds its backup, created at that hour.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A poisoned lock only means another request panicked mid-step; a test sandbox must keep
        // answering.
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.catch_up(self.clock.now());
        store
    }

    /// The sandbox's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// `http://<bound address>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The emulated link archives come through (configured once, at start).
    pub fn link(&self) -> Link {
        self.link
    }

    /// The base of the links the sandbox answers (never a request's `Host`).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }
}
