//! The [`Vault`]: connects accounts through OAuth, hands out access tokens, and refreshes them so
//! that none is ever stale.
//!
//! Refresh is single-flight per account at two levels: an in-process async mutex per account
//! (so N tasks in one process make one attempt), and the store's refresh lease (so N processes on
//! one database make one attempt). A waiter always re-reads the row after it gets its turn and
//! uses the tokens someone else stored rather than refreshing again.
//!
//! Publishing goes through [`Vault::call_known`] with the account's token version and status as
//! the post's claim read them: a token decrypted earlier at that version is used straight from
//! memory (see [`crate::token_cache`] for when an entry is used, updated and dropped), so a post
//! costs no read of the account and no decryption. [`Vault::call`] reads the row every time.
//!
//! The vault's work is split by job, each an `impl Vault` block of its own:
//! * `connect`: OAuth with PKCE, from the connect link to the stored, sealed tokens.
//! * `accounts`: reading accounts, and whether one may be used here (status, app, environment).
//! * `refresh`: access tokens, the in-memory token cache, and single-flight refresh.
//! * `calls`: calls to Pinterest with an account's token, and what a 401 means.
//! * `maintenance`: the background sweeps: renewal, interrupted refreshes, expiry alerts,
//!   old connect links, re-sealing under a new master key.
//! * `disconnect`: revoking at Pinterest and erasing the tokens here.
//!
//! This module holds what they share: the settings, the vault's state, and how an account event
//! is recorded and announced.

mod accounts;
mod calls;
mod connect;
mod disconnect;
mod maintenance;
mod refresh;

pub use connect::ConnectContext;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use pinline_core::cipher::KeyRing;
use pinline_core::clock::SharedClock;
use pinline_core::outbox::OutboxHint;
use pinline_pinterest::facts::{REFRESH_TOKEN_LIFETIME_SECS, Scope, parse_scope_list};
use pinline_pinterest::models::TokenResponse;
use pinline_pinterest::{AccessToken, ErrorClass, PinterestClient};
use pinline_store::{AccountRow, RefreshTokenKind, Store};
use tokio::sync::{Mutex, broadcast};
use url::Url;

use crate::account::Account;
use crate::events::{EventSender, VaultEvent};
use crate::token_cache::TokenCache;

/// The scopes asked for by default: enough to read the account and publish to public and
/// secret boards.
pub const DEFAULT_SCOPES: [Scope; 9] = [
    Scope::UserAccountsRead,
    Scope::BoardsRead,
    Scope::BoardsReadSecret,
    Scope::BoardsWrite,
    Scope::BoardsWriteSecret,
    Scope::PinsRead,
    Scope::PinsReadSecret,
    Scope::PinsWrite,
    Scope::PinsWriteSecret,
];

/// Tunables of the vault.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// pinline's OAuth callback, registered with the Pinterest app; compared exactly.
    pub redirect_uri: String,
    /// pinline's public URL, for reconnect links in events.
    pub public_url: String,
    /// Scopes requested when a connect does not name any.
    pub default_scopes: Vec<Scope>,
    /// Refresh an access token when less than this much of its life is left.
    pub access_refresh_margin: Duration,
    /// Renew a refresh token (by refreshing) when less than this much of its life is left.
    pub refresh_renew_margin: Duration,
    /// How long a refresh lease lasts; longer than one refresh with its retries.
    pub refresh_lease: Duration,
    /// How often a waiter looks again while another process holds the lease.
    pub lease_poll: Duration,
    /// How long a connect link stays valid.
    pub connect_lifetime: Duration,
    /// Retries of a refresh that failed transiently (5xx, timeouts).
    pub transient_retries: u32,
    /// First backoff between those retries; doubled each time.
    pub transient_backoff: Duration,
}

impl VaultSettings {
    /// Defaults for a pinline reachable at `public_url`.
    pub fn new(public_url: &str) -> VaultSettings {
        let public_url = public_url.trim_end_matches('/').to_owned();
        VaultSettings {
            redirect_uri: format!("{public_url}/oauth/callback"),
            public_url,
            default_scopes: DEFAULT_SCOPES.to_vec(),
            access_refresh_margin: Duration::from_secs(24 * 3600),
            refresh_renew_margin: Duration::from_secs(30 * 24 * 3600),
            refresh_lease: Duration::from_secs(30),
            lease_poll: Duration::from_millis(10),
            connect_lifetime: Duration::from_secs(10 * 60),
            transient_retries: 3,
            transient_backoff: Duration::from_millis(100),
        }
    }
}

/// A started connect: send the person to `authorize_url`.
#[derive(Debug, Clone)]
pub struct ConnectStart {
    pub authorize_url: Url,
    /// When the link stops working, unix milliseconds.
    pub expires_at_ms: i64,
}

/// A finished connect.
#[derive(Debug, Clone)]
pub struct Connected {
    pub account: Account,
    /// True when the account already existed and was updated in place.
    pub reconnected: bool,
    /// Requested scopes Pinterest did not grant (empty when all were granted).
    pub missing_scopes: Vec<String>,
}

/// A usable access token and the token version it came from.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub token: AccessToken,
    pub version: i64,
    pub account: Account,
}

/// Counters of how tokens were obtained (relaxed: exact once the vault is idle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VaultStats {
    /// Reads of an account row by id: one per [`Vault::call`], one per
    /// [`Vault::call_known`] that missed the token cache, more around refreshes.
    pub account_loads: u64,
    /// [`Vault::call_known`] calls served from the token cache.
    pub token_cache_hits: u64,
}

/// Accounts, tokens and refresh.
#[derive(Debug, Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    keys: Arc<KeyRing>,
    clock: SharedClock,
    client: PinterestClient,
    settings: VaultSettings,
    /// Names this process in refresh leases.
    owner: String,
    gates: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
    events: EventSender,
    /// The lossless copy of every event for the one consumer that must not miss any (webhooks).
    outbox_hint: OutboxHint,
    /// Decrypted access tokens by account and version, for [`Vault::call_known`].
    tokens: TokenCache,
    account_loads: AtomicU64,
    token_cache_hits: AtomicU64,
}

fn access_aad(account_id: &str) -> Vec<u8> {
    format!("account:{account_id}:access").into_bytes()
}

fn refresh_aad(account_id: &str) -> Vec<u8> {
    format!("account:{account_id}:refresh").into_bytes()
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Vault {
    /// A vault over `store`, sealing with `keys`, talking to Pinterest through `client`.
    pub fn new(
        store: Store,
        keys: Arc<KeyRing>,
        clock: SharedClock,
        client: PinterestClient,
        settings: VaultSettings,
    ) -> Vault {
        let (events, _) = broadcast::channel(1024);
        Vault {
            inner: Arc::new(Inner {
                store,
                keys,
                clock,
                client,
                settings,
                owner: uuid::Uuid::new_v4().to_string(),
                gates: StdMutex::new(HashMap::new()),
                events,
                outbox_hint: OutboxHint::default(),
                tokens: TokenCache::default(),
                account_loads: AtomicU64::new(0),
                token_cache_hits: AtomicU64::new(0),
            }),
        }
    }

    /// Subscribes to account events. A subscriber that falls more than 1,024 events behind
    /// misses some (webhooks are made from the recorded rows, see [`Vault::outbox_hint`]).
    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.inner.events.subscribe()
    }

    /// The hint this vault gives whenever it records an account event, for the webhook
    /// outbox's dispatcher (the events themselves are rows; see [`OutboxHint`]).
    pub fn outbox_hint(&self) -> OutboxHint {
        self.inner.outbox_hint.clone()
    }

    /// The Pinterest client (for calls that go through [`Vault::call`]).
    pub fn client(&self) -> &PinterestClient {
        &self.inner.client
    }

    /// The settings in force.
    pub fn settings(&self) -> &VaultSettings {
        &self.inner.settings
    }

    /// How tokens were obtained so far: tests and benchmarks count database reads with it.
    pub fn stats(&self) -> VaultStats {
        VaultStats {
            account_loads: self.inner.account_loads.load(Ordering::Relaxed),
            token_cache_hits: self.inner.token_cache_hits.load(Ordering::Relaxed),
        }
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The dashboard page where a person reconnects the account (sent with account events).
    pub fn reconnect_url(&self, account_id: &str) -> String {
        format!(
            "{}/accounts/{account_id}/reconnect",
            self.inner.settings.public_url
        )
    }

    /// Records an account event (in the webhook outbox too), then announces it.
    async fn emit(
        &self,
        row: &AccountRow,
        event_kind: &'static str,
        detail: String,
        class: Option<ErrorClass>,
    ) {
        // Recorded before anyone hears of it, in the webhook outbox too: webhooks are made from
        // this row, so an event that was recorded is delivered even if this process dies now.
        let error_class = class.map(|class| class.as_str());
        if let Err(error) = self
            .inner
            .store
            .record_account_event(&row.id, event_kind, &detail, error_class, true, self.now())
            .await
        {
            tracing::warn!(account_id = %row.id, error = %error, "could not record an account event");
        }
        self.announce(row, event_kind, detail, class);
    }

    /// Logs an account event already recorded and tells this process's listeners (the webhook
    /// dispatcher among them, which reads it from the outbox table).
    fn announce(
        &self,
        row: &AccountRow,
        event_kind: &'static str,
        detail: String,
        class: Option<ErrorClass>,
    ) {
        tracing::info!(event = event_kind, account_id = %row.id, username = %row.username, "{detail}");
        let event = VaultEvent {
            kind: event_kind,
            profile_id: row.profile_id.clone(),
            account_id: row.id.clone(),
            username: row.username.clone(),
            detail,
            error_class: class.map(|class| class.as_str().to_owned()),
            reconnect_url: self.reconnect_url(&row.id),
        };
        self.inner.outbox_hint.notify();
        // Nobody listening is fine: events are also in the account's history.
        let _ = self.inner.events.send(event);
    }
}

/// The scopes in a token answer that pinline knows; unknown names are logged and left out.
fn known_scopes(list: &str) -> Vec<Scope> {
    let mut scopes = Vec::new();
    for name in list.split([',', ' ']).filter(|part| !part.is_empty()) {
        match parse_scope_list(name) {
            Ok(parsed) => scopes.extend(parsed),
            Err(_) => tracing::info!(
                scope = name,
                "Pinterest granted a scope pinline does not know"
            ),
        }
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Which kind of refresh token a code exchange's answer carries: a continuous token lives 60
/// days, a legacy one 365 (from the spec's `/oauth/token` description), so any lifetime longer
/// than a continuous token's (with a day's slack) is a legacy one. None without a refresh token
/// or its lifetime.
fn refresh_token_kind(tokens: &TokenResponse, now_ms: i64) -> Option<RefreshTokenKind> {
    const SLACK_SECS: i64 = 24 * 60 * 60;
    tokens.refresh_token.as_ref()?;
    let lifetime_secs = tokens.refresh_token_expires_in.or_else(|| {
        tokens
            .refresh_token_expires_at
            .map(|at| at - now_ms.div_euclid(1000))
    })?;
    Some(
        if lifetime_secs > REFRESH_TOKEN_LIFETIME_SECS + SLACK_SECS {
            RefreshTokenKind::Legacy
        } else {
            RefreshTokenKind::Continuous
        },
    )
}

/// When a token answer's refresh token expires, in unix ms. A new refresh token whose expiry
/// is not given is taken to live as long as Pinterest's continuous refresh tokens, so an
/// account is not renewed again at every sweep; no new refresh token keeps the stored expiry.
fn refresh_expiry(tokens: &TokenResponse, now: i64) -> Option<i64> {
    tokens
        .refresh_token_expires_at
        .map(|secs| secs.saturating_mul(1000))
        .or_else(|| {
            tokens
                .refresh_token_expires_in
                .map(|secs| now + secs.saturating_mul(1000))
        })
        .or_else(|| {
            tokens
                .refresh_token
                .as_ref()
                .map(|_| now + REFRESH_TOKEN_LIFETIME_SECS.saturating_mul(1000))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(
        refresh: Option<&str>,
        expires_in: Option<i64>,
        expires_at: Option<i64>,
    ) -> TokenResponse {
        serde_json::from_value(serde_json::json!({
            "access_token": "pina_A", "token_type": "bearer", "expires_in": 2_592_000,
            "scope": "pins:read", "refresh_token": refresh,
            "refresh_token_expires_in": expires_in, "refresh_token_expires_at": expires_at,
        }))
        .expect("decodes")
    }

    #[test]
    fn the_refresh_token_kind_follows_its_lifetime() {
        let now_ms = 1_700_000_000_000;
        let day = 86_400;
        assert_eq!(
            refresh_token_kind(&answer(Some("pinr_R"), Some(60 * day), None), now_ms),
            Some(RefreshTokenKind::Continuous)
        );
        assert_eq!(
            refresh_token_kind(&answer(Some("pinr_R"), Some(365 * day), None), now_ms),
            Some(RefreshTokenKind::Legacy)
        );
        // Only the end given: the lifetime is counted from now.
        assert_eq!(
            refresh_token_kind(
                &answer(Some("pinr_R"), None, Some(now_ms / 1000 + 365 * day)),
                now_ms
            ),
            Some(RefreshTokenKind::Legacy)
        );
        assert_eq!(
            refresh_token_kind(&answer(Some("pinr_R"), None, None), now_ms),
            None
        );
        assert_eq!(
            refresh_token_kind(&answer(None, Some(60 * day), None), now_ms),
            None
        );
    }
}
