//! What every handler sees: the store, the vault, webhooks and the clock.

use std::sync::Arc;

use pinline_queue::Publisher;
use pinline_store::Store;
use pinline_vault::Vault;
use pinline_vault::clock::SharedClock;
use pinline_webhooks::Webhooks;

use crate::boards::BoardDirectory;

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
    /// Each account's boards, briefly remembered for validation.
    pub boards: BoardDirectory,
    /// Publishes accepted posts; woken when one is accepted.
    pub publisher: Publisher,
}

impl AppState {
    /// Bundles the services.
    pub fn new(
        store: Store,
        vault: Vault,
        webhooks: Webhooks,
        publisher: Publisher,
        clock: SharedClock,
    ) -> AppState {
        AppState {
            inner: Arc::new(AppInner {
                store,
                vault,
                webhooks,
                clock,
                boards: BoardDirectory::default(),
                publisher,
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

    pub fn boards(&self) -> &BoardDirectory {
        &self.inner.boards
    }

    /// The publisher of this process.
    pub fn publisher(&self) -> &Publisher {
        &self.inner.publisher
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
