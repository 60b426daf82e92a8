//! What every handler sees: the store, the vault, webhooks, the drafter and the clock.

use std::sync::Arc;

use pinline_core::clock::SharedClock;
use pinline_drafts::{DraftSettings, Drafter, RuleGenerator};
use pinline_queue::Publisher;
use pinline_store::{PostRow, PostsDueHints, Store};
use pinline_vault::Vault;
use pinline_webhooks::Webhooks;

use crate::boards::BoardDirectory;
use crate::lockout::Lockout;
use crate::metrics::Metrics;
use crate::routes::drafts::{DRAFTS_IN_PROGRESS, DRAFTS_PER_PROFILE, DraftSlots};

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
    /// Tells the other replicas' publishers that a post is due (PostgreSQL only; off unless
    /// set with [`AppState::with_posts_due_hints`]).
    pub posts_due_hints: PostsDueHints,
    /// Turns ideas into pin drafts.
    pub drafter: Drafter,
    /// The drafts requests in progress, capped per profile and in all.
    pub draft_slots: Arc<DraftSlots>,
    /// Addresses locked out after repeated wrong API keys or sign-ins.
    pub lockout: Lockout,
    /// What `/metrics` serves.
    pub metrics: Metrics,
    /// The SHA-256 of the bearer token `/metrics` wants; open when `None`.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// Where a connect's callback may send the person back (`return_to` must start with one).
    pub connect_return_urls: Vec<url::Url>,
    /// The Pinterest passthrough and the token endpoint.
    pub credential: crate::passthrough::CredentialPath,
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
        let credential = crate::passthrough::CredentialPath::new(Default::default());
        let metrics = Metrics::new(
            &publisher,
            &webhooks,
            &credential.metrics,
            vault.subscribe(),
        );
        publisher
            .pacer()
            .set_reserved(credential.settings.reserved_share);
        AppState {
            inner: Arc::new(AppInner {
                store,
                vault,
                webhooks,
                clock,
                boards: BoardDirectory::default(),
                publisher,
                posts_due_hints: PostsDueHints::disabled(),
                drafter: Drafter::new(DraftSettings::default(), Arc::new(RuleGenerator)),
                draft_slots: Arc::new(DraftSlots::new(DRAFTS_PER_PROFILE, DRAFTS_IN_PROGRESS)),
                lockout: Lockout::new(Vec::new()),
                metrics,
                metrics_token_hash: None,
                connect_return_urls: Vec::new(),
                credential,
            }),
        }
    }

    /// Configures the passthrough and the token endpoint (the reserved share goes to the
    /// publisher's pacer, which tools share). Call it while building the state.
    pub fn with_credential_settings(
        mut self,
        settings: crate::passthrough::CredentialSettings,
    ) -> AppState {
        self.inner
            .publisher
            .pacer()
            .set_reserved(settings.reserved_share);
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => {
                let metrics = inner.credential.metrics.clone();
                inner.credential = crate::passthrough::CredentialPath::new(settings);
                // The counters registered with `/metrics` stay the ones counted.
                inner.credential.metrics = metrics;
            }
            None => {
                tracing::error!("the credential path was configured after the state was shared")
            }
        }
        self
    }

    /// The passthrough's and the token endpoint's state.
    pub fn credential(&self) -> &crate::passthrough::CredentialPath {
        &self.inner.credential
    }

    /// Makes `/metrics` want `token` as a bearer token. Call it while building the state.
    pub fn with_metrics_token(mut self, token: &str) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.metrics_token_hash = Some(crate::metrics::token_hash(token)),
            None => tracing::error!("the metrics token was set after the state was shared"),
        }
        self
    }

    /// Lets connects send people back to URLs under `urls` (embeddable connect). Call it while
    /// building the state.
    pub fn with_connect_return_urls(mut self, urls: Vec<url::Url>) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.connect_return_urls = urls,
            None => tracing::error!("the connect return URLs were set after the state was shared"),
        }
        self
    }

    /// `url` parsed, when it is an http(s) URL under one of the allowed return URLs: the same
    /// scheme, host and port, and a path that starts with the allowed one's.
    pub fn allowed_return_to(&self, url: &str) -> Option<String> {
        let url = url::Url::parse(url).ok()?;
        if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
            return None;
        }
        self.inner
            .connect_return_urls
            .iter()
            .any(|allowed| {
                allowed.origin() == url.origin() && url.path().starts_with(allowed.path())
            })
            .then(|| url.to_string())
    }

    /// What `/metrics` serves.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The hash of the token `/metrics` wants, if one is set.
    pub fn metrics_token_hash(&self) -> Option<&[u8; 32]> {
        self.inner.metrics_token_hash.as_ref()
    }

    /// Reads clients' addresses from `X-Forwarded-For` when the peer is one of `proxies`. Call
    /// it while building the state, as [`with_drafter`](Self::with_drafter).
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.lockout = Lockout::new(proxies),
            None => tracing::error!("trusted proxies were configured after the state was shared"),
        }
        self
    }

    /// Sends `hints` to the other replicas when a post is queued (see
    /// [`AppState::post_committed`]). Call it while building the state, as
    /// [`with_drafter`](Self::with_drafter).
    pub fn with_posts_due_hints(mut self, hints: PostsDueHints) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.posts_due_hints = hints,
            None => tracing::error!("posts-due hints were configured after the state was shared"),
        }
        self
    }

    pub fn lockout(&self) -> &Lockout {
        &self.inner.lockout
    }

    /// Uses `drafter` for drafts instead of the default (public pages only, built-in copy).
    /// Call it while building the state, before it is shared: a state already cloned keeps its
    /// drafter, and the refusal is logged.
    pub fn with_drafter(mut self, drafter: Drafter) -> AppState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.drafter = drafter,
            None => tracing::error!("the drafter was configured after the state was shared"),
        }
        self
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

    /// The drafter of this process.
    pub fn drafter(&self) -> &Drafter {
        &self.inner.drafter
    }

    /// The drafts requests in progress, per profile and in all.
    pub fn draft_slots(&self) -> &Arc<DraftSlots> {
        &self.inner.draft_slots
    }

    /// The publisher of this process.
    pub fn publisher(&self) -> &Publisher {
        &self.inner.publisher
    }

    /// After a post was committed (created or changed): wakes this process's publisher, and
    /// when the post is queued and due now, hints the other replicas (the hint is sent by a task
    /// of its own after this commit, so the request does not wait for it).
    pub fn post_committed(&self, row: &PostRow) {
        self.inner.publisher.wake();
        if row.status == PostRow::QUEUED {
            self.inner
                .posts_due_hints
                .posts_due(row.next_attempt_at, self.now_ms());
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
