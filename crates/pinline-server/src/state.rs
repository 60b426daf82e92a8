//! What every handler sees: the store, the vault, webhooks and the clock.

use std::sync::Arc;

use pinline_store::Store;
use pinline_vault::Vault;
use pinline_vault::clock::SharedClock;
use pinline_webhooks::Webhooks;

/// Shared application state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub inner: Arc<AppInner>,
}

/// The parts of [`AppState`].
#[derive(Debug)]
pub struct AppInner {
    pub store: Store,
    pub vault: Vault,
    pub webhooks: Webhooks,
    pub clock: SharedClock,
}

impl AppState {
    /// Bundles the services.
    pub fn new(store: Store, vault: Vault, webhooks: Webhooks, clock: SharedClock) -> AppState {
        AppState {
            inner: Arc::new(AppInner {
                store,
                vault,
                webhooks,
                clock,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
