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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use pinline_core::CoreError;
use pinline_core::cipher::{KeyRing, Resealed};
use pinline_core::clock::SharedClock;
use pinline_core::outbox::OutboxHint;
use pinline_pinterest::facts::{
    REFRESH_TOKEN_LIFETIME_SECS, Scope, error_code, format_scope_list, parse_scope_list,
};
use pinline_pinterest::models::TokenResponse;
use pinline_pinterest::{
    AccessToken, AuthorizationCode, ErrorClass, PinterestClient, PinterestError, PkceVerifier,
    RefreshToken,
};
use pinline_store::{
    AccountRow, ConnectedAccount, NewAccountEvent, OAuthStateRow, RefreshClaim, RefreshFailure,
    SealedTokens, StateRejection, Store, StoreError,
};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, broadcast};
use url::Url;

use crate::account::{Account, AccountStatus, LastError};
use crate::events::{EventSender, VaultEvent, kind};
use crate::token_cache::{self, KnownAccount, TokenCache};
use crate::{ConnectRejection, VaultError};

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

/// Horizons of `account.token_expiring` alerts, in days, widest first.
const EXPIRY_HORIZONS_DAYS: [i32; 3] = [14, 7, 1];

fn human_duration(ms: i64) -> String {
    let hours = ms / 3_600_000;
    if hours >= 48 {
        format!("{} days", hours / 24)
    } else if hours >= 1 {
        format!("{hours} hours")
    } else {
        format!("{} minutes", (ms / 60_000).max(1))
    }
}

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
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

    // ----- Connect ------------------------------------------------------------------------

    /// Starts connecting an account for `profile_id`: a fresh PKCE verifier and `state`, stored
    /// (state hashed, verifier sealed) until the callback.
    pub async fn begin_connect(
        &self,
        profile_id: &str,
        scopes: Option<&[Scope]>,
    ) -> Result<ConnectStart, VaultError> {
        let scopes = scopes.unwrap_or(&self.inner.settings.default_scopes);
        let authorization = self
            .inner
            .client
            .begin_authorization(&self.inner.settings.redirect_uri, scopes);
        let state_hash = sha256_hex(authorization.state.as_str());
        let now = self.now();
        let expires_at_ms = now + duration_ms(self.inner.settings.connect_lifetime);
        let verifier_sealed = self.inner.keys.seal(
            format!("oauth_state:{state_hash}").as_bytes(),
            authorization.verifier.expose_secret().as_bytes(),
        );
        self.inner
            .store
            .insert_oauth_state(&OAuthStateRow {
                state_hash,
                profile_id: profile_id.to_owned(),
                verifier_sealed,
                redirect_uri: self.inner.settings.redirect_uri.clone(),
                scopes: format_scope_list(scopes),
                environment: self.inner.client.environment().as_str().into_owned(),
                client_id: self.inner.client.client_id().as_str().to_owned(),
                created_at: now,
                expires_at: expires_at_ms,
                consumed_at: None,
            })
            .await?;
        Ok(ConnectStart {
            authorize_url: authorization.url,
            expires_at_ms,
        })
    }

    /// Finishes a connect from the callback's parameters. The state is consumed first, so the
    /// code is exchanged at most once however often the callback is replayed.
    pub async fn complete_connect(
        &self,
        state: &str,
        code: Option<AuthorizationCode>,
        error: Option<&str>,
    ) -> Result<Connected, VaultError> {
        let now = self.now();
        let pending = self
            .inner
            .store
            .consume_oauth_state(&sha256_hex(state), now)
            .await?
            .map_err(|rejection| {
                VaultError::ConnectRejected(match rejection {
                    StateRejection::Unknown => ConnectRejection::UnknownState,
                    StateRejection::AlreadyUsed => ConnectRejection::StateAlreadyUsed,
                    StateRejection::Expired => ConnectRejection::StateExpired,
                })
            })?;
        if error.is_some() {
            return Err(VaultError::ConnectRejected(ConnectRejection::AccessDenied));
        }
        let code = code.ok_or(VaultError::ConnectRejected(ConnectRejection::AccessDenied))?;
        self.ensure_same_app(&pending.environment, &pending.client_id)?;
        let verifier = self.inner.keys.open(
            format!("oauth_state:{}", pending.state_hash).as_bytes(),
            &pending.verifier_sealed,
        )?;
        let verifier = PkceVerifier::new(
            String::from_utf8(verifier.to_vec()).map_err(|_| CoreError::Decrypt)?,
        );
        let tokens = self
            .inner
            .client
            .exchange_code(&code, &pending.redirect_uri, Some(&verifier))
            .await?
            .value;
        // RFC 6749 §5.1: an answer without `scope` granted what was asked for. Scopes pinline
        // does not know are left out rather than making the whole list unreadable.
        let granted: Vec<String> = if tokens.scope.trim().is_empty() {
            pending
                .scopes
                .split(',')
                .filter(|scope| !scope.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            known_scopes(&tokens.scope)
                .iter()
                .map(|scope| scope.as_str().to_owned())
                .collect()
        };
        let missing_scopes: Vec<String> = pending
            .scopes
            .split(',')
            .filter(|scope| !scope.is_empty() && !granted.iter().any(|g| g == scope))
            .map(str::to_owned)
            .collect();
        let user = self
            .inner
            .client
            .user_account(&tokens.access_token)
            .await?
            .value;
        let now = self.now();
        let access_expires_at = now + tokens.expires_in.saturating_mul(1000);
        let refresh_expires_at = refresh_expiry(&tokens, now);
        let scopes = granted.join(",");
        let new_id = uuid::Uuid::now_v7().to_string();
        let detail = if missing_scopes.is_empty() {
            format!("connected @{}", user.username)
        } else {
            format!(
                "connected @{} without {}",
                user.username,
                missing_scopes.join(", ")
            )
        };
        let account_id = self
            .inner
            .store
            .upsert_connected_account(
                &ConnectedAccount {
                    profile_id: &pending.profile_id,
                    environment: &pending.environment,
                    client_id: &pending.client_id,
                    pinterest_user_id: &user.id,
                    username: &user.username,
                    scopes: &scopes,
                    access_expires_at,
                    refresh_expires_at,
                },
                &new_id,
                // In the same transaction as the tokens: a connect is never without its event.
                &[NewAccountEvent {
                    kind: kind::CONNECTED,
                    detail: &detail,
                    error_class: None,
                }],
                now,
                |id| self.seal_tokens(id, &tokens.access_token, tokens.refresh_token.as_ref()),
            )
            .await?;
        // The upsert keeps an existing row's id: a different id than the fresh one means this
        // Pinterest user was connected before (a reconnect), without reading every account.
        let existing_before = account_id != new_id;
        // The reconnect stored new tokens under a new version; the old entry can never be used.
        self.inner.tokens.forget(&account_id, None);
        let row = self.load(&account_id).await?;
        let account = Account::from(&row);
        self.announce(&row, kind::CONNECTED, detail, None);
        Ok(Connected {
            account,
            reconnected: existing_before,
            missing_scopes,
        })
    }

    fn seal_tokens(
        &self,
        account_id: &str,
        access: &AccessToken,
        refresh: Option<&RefreshToken>,
    ) -> SealedTokens {
        SealedTokens {
            access: self
                .inner
                .keys
                .seal(&access_aad(account_id), access.expose_secret().as_bytes()),
            refresh: refresh.map(|token| {
                self.inner
                    .keys
                    .seal(&refresh_aad(account_id), token.expose_secret().as_bytes())
            }),
        }
    }

    // ----- Reading accounts ---------------------------------------------------------------

    async fn load(&self, account_id: &str) -> Result<AccountRow, VaultError> {
        self.inner.account_loads.fetch_add(1, Ordering::Relaxed);
        self.inner
            .store
            .account_by_id(account_id)
            .await?
            .ok_or(VaultError::AccountNotFound)
    }

    /// One account of a profile, as [`Vault::shown`] presents it.
    pub async fn account(&self, profile_id: &str, account_id: &str) -> Result<Account, VaultError> {
        self.inner
            .store
            .account(profile_id, account_id)
            .await?
            .map(|row| self.shown(&row))
            .ok_or(VaultError::AccountNotFound)
    }

    /// A profile's accounts, as [`Vault::shown`] presents them.
    pub async fn accounts(&self, profile_id: &str) -> Result<Vec<Account>, VaultError> {
        Ok(self
            .inner
            .store
            .accounts(profile_id)
            .await?
            .iter()
            .map(|row| self.shown(row))
            .collect())
    }

    /// An account as people see it (API, CLI, dashboard): the row, and a credential issued for
    /// another app or environment than the configured one as its last error whether or not a
    /// post has run into it yet. The stored mark (and its one event) comes from the queue; the
    /// configuration can change under it at any restart, so the comparison is made here, on
    /// every read.
    pub fn shown(&self, row: &AccountRow) -> Account {
        let mut account = Account::from(row);
        let stored = account.last_error.as_ref();
        let marked =
            stored.is_some_and(|error| error.class == ErrorClass::CredentialMismatch.as_str());
        match self.ensure_same_app(&row.environment, &row.client_id) {
            Err(error) if !marked && account.status != AccountStatus::Disconnected => {
                account.last_error = Some(LastError {
                    class: ErrorClass::CredentialMismatch.as_str().to_owned(),
                    message: error.to_string(),
                    at_ms: None,
                });
            }
            // The configuration was fixed and no sweep has cleared the mark yet.
            Ok(()) if marked => account.last_error = None,
            _ => {}
        }
        account
    }

    /// Refuses an account whose credential was issued for another environment or app than the
    /// configured one, without any network call.
    pub fn ensure_credentials_match(&self, account: &Account) -> Result<(), VaultError> {
        self.ensure_same_app(&account.environment, &account.client_id)
    }

    fn ensure_same_app(&self, environment: &str, client_id: &str) -> Result<(), VaultError> {
        let configured_env = self.inner.client.environment().as_str();
        let configured_client = self.inner.client.client_id().as_str();
        if environment != configured_env || client_id != configured_client {
            return Err(VaultError::CredentialMismatch {
                stored: format!("{environment} (app {client_id})"),
                configured: format!("{configured_env} (app {configured_client})"),
            });
        }
        Ok(())
    }

    /// Whether this process can use the account as configured, without any network call: its
    /// status, the app and environment its credential was issued for, and a configured master
    /// key that opens its stored access token. The held-post sweep asks this before it releases
    /// an account's held posts, so that posts held for a cause that still stands stay held.
    pub async fn check_usable_here(&self, account_id: &str) -> Result<(), VaultError> {
        let row = self.load(account_id).await?;
        self.ensure_usable(&row)?;
        self.grant_from(&row).map(|_| ())
    }

    /// Refuses an account that cannot be used, before any network call.
    fn ensure_usable(&self, row: &AccountRow) -> Result<(), VaultError> {
        match AccountStatus::parse(&row.status) {
            AccountStatus::Disconnected => return Err(VaultError::Disconnected),
            AccountStatus::NeedsReauth => {
                return Err(VaultError::NeedsReauth {
                    reason: row
                        .status_reason
                        .clone()
                        .unwrap_or_else(|| "Pinterest refused the stored tokens".into()),
                });
            }
            AccountStatus::Active | AccountStatus::Refreshing => {}
        }
        self.ensure_same_app(&row.environment, &row.client_id)
    }

    fn grant_from(&self, row: &AccountRow) -> Result<TokenGrant, VaultError> {
        let sealed = row
            .access_token_sealed
            .as_deref()
            .ok_or(VaultError::Disconnected)?;
        let token = self.inner.keys.open(&access_aad(&row.id), sealed)?;
        let token = String::from_utf8(token.to_vec()).map_err(|_| CoreError::Decrypt)?;
        Ok(TokenGrant {
            token: AccessToken::new(token),
            version: row.token_version,
            account: Account::from(row),
        })
    }

    // ----- Tokens and refresh ---------------------------------------------------------------

    /// A usable access token for `account_id`, refreshed first when it is inside the margin.
    pub async fn access_token(&self, account_id: &str) -> Result<TokenGrant, VaultError> {
        let outcome = self.access_token_from_row(account_id).await;
        self.note(account_id, &outcome);
        outcome
    }

    async fn access_token_from_row(&self, account_id: &str) -> Result<TokenGrant, VaultError> {
        let row = self.load(account_id).await?;
        self.ensure_usable(&row)?;
        let margin = duration_ms(self.inner.settings.access_refresh_margin);
        let fresh = row
            .access_expires_at
            .is_some_and(|expires| expires - self.now() > margin);
        if fresh && row.refresh_started_at.is_none() {
            return self.grant_from(&row);
        }
        match self.refresh_from(account_id, row.token_version).await {
            Ok(grant) => Ok(grant),
            // An early refresh that failed for a passing reason (Pinterest down, rate limited)
            // must not fail a caller whose token still works: it is renewed on a later call.
            Err(error @ (VaultError::Pinterest(_) | VaultError::RefreshFailed { .. }))
                if error.class() != ErrorClass::Auth =>
            {
                let current = self.load(account_id).await?;
                self.ensure_usable(&current)?;
                let still_valid = current
                    .access_expires_at
                    .is_some_and(|expires| expires - self.now() > ACCESS_SKEW_MS);
                if !still_valid {
                    return Err(error);
                }
                tracing::warn!(
                    account_id,
                    error = %error,
                    "an early refresh failed; using the current token, which is still valid"
                );
                self.grant_from(&current)
            }
            Err(error) => Err(error),
        }
    }

    /// Refreshes `account_id` unless its tokens already changed since `seen_version`; either way
    /// returns the current token. At most one refresh per account is in flight at a time,
    /// across every task and process sharing the database.
    pub async fn refresh_from(
        &self,
        account_id: &str,
        seen_version: i64,
    ) -> Result<TokenGrant, VaultError> {
        let outcome = self.refresh_from_row(account_id, seen_version).await;
        self.note(account_id, &outcome);
        outcome
    }

    /// Keeps the token cache in step with what a full path found: a grant is remembered, a
    /// refusal (needs reauth, disconnected, gone, another app) drops the entry. Passing failures
    /// leave it, since they say nothing about the token.
    fn note(&self, account_id: &str, outcome: &Result<TokenGrant, VaultError>) {
        match outcome {
            Ok(grant) => self.remember(account_id, grant),
            Err(
                VaultError::NeedsReauth { .. }
                | VaultError::Disconnected
                | VaultError::AccountNotFound
                | VaultError::CredentialMismatch { .. },
            ) => self.inner.tokens.forget(account_id, None),
            Err(_) => {}
        }
    }

    fn remember(&self, account_id: &str, grant: &TokenGrant) {
        let account = &grant.account;
        let Some(access_expires_at) = account.access_expires_at_ms else {
            return;
        };
        if !matches!(
            account.status,
            AccountStatus::Active | AccountStatus::Refreshing
        ) {
            return;
        }
        self.inner.tokens.put(
            account_id,
            token_cache::Entry::new(
                grant.version,
                grant.token.clone(),
                access_expires_at,
                account.environment.clone(),
                account.client_id.clone(),
                account.status,
            ),
        );
    }

    /// The cached token of `account_id` when `known` and the entry allow using it without
    /// reading the row: the exact version, a usable status (the claim's and the entry's), the
    /// configured app, and outside the refresh margin. Anything else takes the full path.
    fn cached_token(&self, account_id: &str, known: KnownAccount) -> Option<AccessToken> {
        if !known.usable() {
            // The full path reads the row and refuses with the stored reason.
            return None;
        }
        let hit = self.inner.tokens.get(account_id, known.token_version)?;
        if !matches!(
            hit.status,
            AccountStatus::Active | AccountStatus::Refreshing
        ) || self
            .ensure_same_app(&hit.environment, &hit.client_id)
            .is_err()
        {
            return None;
        }
        let margin = duration_ms(self.inner.settings.access_refresh_margin);
        if hit.access_expires_at - self.now() <= margin {
            return None;
        }
        self.inner.token_cache_hits.fetch_add(1, Ordering::Relaxed);
        Some(hit.token)
    }

    async fn refresh_from_row(
        &self,
        account_id: &str,
        seen_version: i64,
    ) -> Result<TokenGrant, VaultError> {
        let waiting_since = self.now();
        let gate = {
            let mut gates = self
                .inner
                .gates
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            gates.entry(account_id.to_owned()).or_default().clone()
        };
        let _turn = gate.lock().await;
        loop {
            let row = self.load(account_id).await?;
            self.ensure_usable(&row)?;
            if row.token_version != seen_version {
                return self.grant_from(&row);
            }
            if let Some(failed) = self.failed_while_waiting(&row, waiting_since) {
                return Err(failed);
            }
            let now = self.now();
            let lease = duration_ms(self.inner.settings.refresh_lease);
            match self
                .inner
                .store
                .claim_refresh(
                    account_id,
                    seen_version,
                    &self.inner.owner,
                    now,
                    lease,
                    waiting_since,
                )
                .await?
            {
                RefreshClaim::Superseded(row) => {
                    self.ensure_usable(&row)?;
                    return self.grant_from(&row);
                }
                RefreshClaim::FailedMeanwhile(row) => {
                    self.ensure_usable(&row)?;
                    return Err(self.failed_while_waiting(&row, waiting_since).unwrap_or(
                        VaultError::RefreshFailed {
                            class: ErrorClass::Unknown.as_str().to_owned(),
                            message: "another refresh of this account failed".into(),
                        },
                    ));
                }
                RefreshClaim::Busy(_) => {
                    // Another process holds the lease; its result lands in the row.
                    tokio::time::sleep(self.inner.settings.lease_poll).await;
                }
                RefreshClaim::Claimed {
                    account,
                    interrupted,
                } => {
                    // The refresh runs in a task of its own, so a caller that gives up (a client
                    // hanging up drops its request's future) cannot drop Pinterest's answer
                    // between the rotation and the commit; the task always finishes.
                    let vault = self.clone();
                    let refresh = tokio::spawn(async move {
                        vault.run_refresh(account, seen_version, interrupted).await
                    });
                    return refresh.await.unwrap_or_else(|error| {
                        Err(VaultError::RefreshFailed {
                            class: ErrorClass::Unknown.as_str().to_owned(),
                            message: format!("the refresh task stopped: {error}"),
                        })
                    });
                }
            }
        }
    }

    /// When a refresh by someone else failed after we started waiting, report that failure
    /// instead of piling another attempt on top of it.
    fn failed_while_waiting(&self, row: &AccountRow, waiting_since: i64) -> Option<VaultError> {
        let failed_at = row.last_error_at?;
        if failed_at < waiting_since {
            return None;
        }
        let class = row.last_error_class.clone().unwrap_or_default();
        let message = row.last_error_message.clone().unwrap_or_default();
        Some(VaultError::RefreshFailed { class, message })
    }

    /// Renews the lease every third of its length while a refresh is out, so a slow Pinterest
    /// (timeouts and retries can outlast one lease) never hands the refresh to a second
    /// process that would send the same refresh token again. Only a stopped process lets the
    /// lease lapse. The renewal stops when the returned guard is dropped.
    fn keep_lease_alive(&self, account_id: &str) -> LeaseHeartbeat {
        let vault = self.clone();
        let account_id = account_id.to_owned();
        let lease = self.inner.settings.refresh_lease;
        LeaseHeartbeat(tokio::spawn(async move {
            let mut tick = tokio::time::interval((lease / 3).max(Duration::from_millis(1)));
            tick.tick().await;
            loop {
                tick.tick().await;
                let until = vault.now() + duration_ms(lease);
                match vault
                    .inner
                    .store
                    .extend_refresh_lease(&account_id, &vault.inner.owner, until)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => {
                        tracing::warn!(account_id, error = %error, "could not renew a refresh lease");
                    }
                }
            }
        }))
    }

    async fn run_refresh(
        &self,
        row: AccountRow,
        seen_version: i64,
        interrupted: bool,
    ) -> Result<TokenGrant, VaultError> {
        let _heartbeat = self.keep_lease_alive(&row.id);
        if interrupted {
            tracing::warn!(
                event = kind::REFRESH_INTERRUPTED,
                account_id = %row.id,
                "a previous refresh of this account was interrupted after it was sent; \
                 retrying with the stored refresh token"
            );
            self.emit(
                &row,
                kind::REFRESH_INTERRUPTED,
                "a previous refresh was interrupted between Pinterest's answer and the commit"
                    .into(),
                None,
            )
            .await;
        }
        let sealed = row
            .refresh_token_sealed
            .as_deref()
            .ok_or(VaultError::Disconnected)?;
        let refresh = self.inner.keys.open(&refresh_aad(&row.id), sealed)?;
        let refresh =
            RefreshToken::new(String::from_utf8(refresh.to_vec()).map_err(|_| CoreError::Decrypt)?);

        let mut backoff = self.inner.settings.transient_backoff;
        let mut attempt = 0;
        let outcome = loop {
            match self.inner.client.refresh(&refresh, None).await {
                Err(error)
                    if error.is_transient() && attempt < self.inner.settings.transient_retries =>
                {
                    attempt += 1;
                    tracing::info!(
                        event = "account.refresh_retry",
                        account_id = %row.id,
                        attempt,
                        error = %error,
                        "refresh failed transiently; retrying"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                other => break other,
            }
        };
        match outcome {
            Ok(response) => {
                let tokens = response.value;
                let now = self.now();
                let sealed =
                    self.seal_tokens(&row.id, &tokens.access_token, tokens.refresh_token.as_ref());
                // RFC 6749 §5.1: no `scope` in the answer means "as before".
                let scopes = if tokens.scope.trim().is_empty() {
                    row.scopes.clone()
                } else {
                    format_scope_list(&known_scopes(&tokens.scope))
                };
                let refresh_expires_at = refresh_expiry(&tokens, now);
                // The rotated refresh token is committed here, before anyone sees the new
                // access token: a crash after this point loses nothing.
                let committed = self
                    .inner
                    .store
                    .complete_refresh(
                        &row.id,
                        &self.inner.owner,
                        seen_version,
                        &sealed,
                        &scopes,
                        now + tokens.expires_in.saturating_mul(1000),
                        refresh_expires_at,
                        &[NewAccountEvent {
                            kind: kind::REFRESHED,
                            detail: "tokens refreshed",
                            error_class: None,
                        }],
                        now,
                    )
                    .await;
                let version = match committed {
                    Ok(version) => version,
                    Err(StoreError::LeaseLost) => {
                        // Someone else's tokens landed first (a reconnect, or a takeover after
                        // this process stalled): theirs are the current ones.
                        tracing::warn!(
                            account_id = %row.id,
                            "a refresh finished after newer tokens were stored; keeping the newer ones"
                        );
                        let current = self.load(&row.id).await?;
                        self.ensure_usable(&current)?;
                        return self.grant_from(&current);
                    }
                    Err(error) => return Err(error.into()),
                };
                let fresh = self.load(&row.id).await?;
                self.announce(&fresh, kind::REFRESHED, "tokens refreshed".into(), None);
                Ok(TokenGrant {
                    token: tokens.access_token,
                    version,
                    account: Account::from(&fresh),
                })
            }
            Err(error) => Err(self.record_refresh_failure(&row, error, interrupted).await),
        }
    }

    async fn record_refresh_failure(
        &self,
        row: &AccountRow,
        error: PinterestError,
        interrupted: bool,
    ) -> VaultError {
        let class = error.class();
        let message = error.to_string();
        // RFC 6749 §5.2: the token endpoint answers 401 (`invalid_client`) when it refuses the
        // app's own credentials. That is pinline's configuration, not this account: reconnecting
        // would not help, so the account is left as it is and the message names the fix.
        let app_refused = error.status() == Some(401)
            || error.api_error().is_some_and(|api| {
                matches!(
                    api.oauth_error.as_deref(),
                    Some("invalid_client" | "unauthorized_client")
                )
            });
        let message = if app_refused {
            format!(
                "Pinterest refused pinline's app credentials ({message}); check PINTEREST_CLIENT_ID \
                 and PINTEREST_CLIENT_SECRET. The account's tokens were not used up."
            )
        } else {
            message
        };
        let permanent = !app_refused && matches!(class, ErrorClass::Auth | ErrorClass::Scope);
        let reason = if interrupted {
            format!(
                "Pinterest refused the refresh token ({message}); a previous refresh was \
                 interrupted after it was sent, so Pinterest had probably already rotated it. \
                 Reconnect the account."
            )
        } else {
            format!("Pinterest refused the refresh token ({message}). Reconnect the account.")
        };
        let failure = RefreshFailure {
            status: if permanent { "needs_reauth" } else { "active" },
            status_reason: permanent.then_some(reason.as_str()),
            error_class: class.as_str(),
            error_message: &message,
        };
        // The events go in with the failure, in one transaction: a process that dies right
        // after cannot leave a needs_reauth account whose webhook never comes.
        let mut events = Vec::new();
        if !app_refused {
            events.push(NewAccountEvent {
                kind: kind::REFRESH_FAILED,
                detail: &message,
                error_class: Some(class.as_str()),
            });
            if permanent {
                events.push(NewAccountEvent {
                    kind: kind::NEEDS_REAUTH,
                    detail: &reason,
                    error_class: Some(class.as_str()),
                });
            }
        }
        if let Err(store_error) = self
            .inner
            .store
            .fail_refresh(&row.id, &self.inner.owner, &failure, &events, self.now())
            .await
        {
            return store_error.into();
        }
        if app_refused {
            tracing::error!(event = "app.credentials_refused", account_id = %row.id, "{message}");
            return VaultError::RefreshFailed {
                class: class.as_str().to_owned(),
                message,
            };
        }
        tracing::warn!(
            event = kind::REFRESH_FAILED,
            account_id = %row.id,
            class = class.as_str(),
            error = %message,
            "refresh failed"
        );
        self.announce(row, kind::REFRESH_FAILED, message.clone(), Some(class));
        if permanent {
            tracing::warn!(
                event = kind::NEEDS_REAUTH,
                account_id = %row.id,
                "account needs to be reconnected"
            );
            self.announce(row, kind::NEEDS_REAUTH, reason.clone(), Some(class));
            VaultError::NeedsReauth { reason }
        } else {
            VaultError::Pinterest(error)
        }
    }

    /// Runs `call` with the account's access token. On a 401 it refreshes and retries; a 401 on a
    /// token refreshed after one that was already refused marks the account `needs_reauth`.
    /// Reads the account row every time; publishing uses [`Vault::call_known`].
    pub async fn call<T, F, Fut>(&self, account_id: &str, call: F) -> Result<T, VaultError>
    where
        F: Fn(PinterestClient, AccessToken) -> Fut,
        Fut: std::future::Future<Output = Result<T, PinterestError>>,
    {
        let grant = self.access_token(account_id).await?;
        self.call_with(account_id, grant.token, grant.version, call)
            .await
    }

    /// [`Vault::call`] for a caller that read the account's token version and status in the
    /// statement that claimed its work (a post's claim). When this process holds the access
    /// token of exactly that version, usable and outside the refresh margin, `call` runs with it
    /// at once: no read of the account, no decryption. Otherwise this is [`Vault::call`], which
    /// also remembers the token for the next call. A 401 refreshes and retries as there.
    pub async fn call_known<T, F, Fut>(
        &self,
        account_id: &str,
        known: KnownAccount,
        call: F,
    ) -> Result<T, VaultError>
    where
        F: Fn(PinterestClient, AccessToken) -> Fut,
        Fut: std::future::Future<Output = Result<T, PinterestError>>,
    {
        if let Some(token) = self.cached_token(account_id, known) {
            return self
                .call_with(account_id, token, known.token_version, call)
                .await;
        }
        self.call(account_id, call).await
    }

    /// Runs `call` with `token` (of `version`), then the 401 handling of [`Vault::call`].
    async fn call_with<T, F, Fut>(
        &self,
        account_id: &str,
        token: AccessToken,
        version: i64,
        call: F,
    ) -> Result<T, VaultError>
    where
        F: Fn(PinterestClient, AccessToken) -> Fut,
        Fut: std::future::Future<Output = Result<T, PinterestError>>,
    {
        match call(self.inner.client.clone(), token).await {
            Err(error) if error.status() == Some(401) => {}
            other => return other.map_err(VaultError::from),
        }
        tracing::info!(
            event = "account.unauthorized",
            account_id,
            "Pinterest answered 401; refreshing once"
        );
        // Pinterest refused this token: no later call may take it from the cache.
        self.inner.tokens.forget(account_id, Some(version));
        let again = self.refresh_from(account_id, version).await?;
        match call(self.inner.client.clone(), again.token).await {
            Err(error) if error.status() == Some(401) => {}
            other => return other.map_err(VaultError::from),
        }
        // `again` is not necessarily a token refreshed after the first 401: when another caller
        // had already moved the version, `refresh_from` hands back the token it stored, which
        // may have died meanwhile like the first one (expired, say). Its 401 says nothing about
        // the refresh token, so refresh past it once more; only a 401 on that token too means
        // the account's access is gone.
        tracing::info!(
            event = "account.unauthorized",
            account_id,
            "Pinterest answered 401 on the current token too; refreshing past it"
        );
        self.inner.tokens.forget(account_id, Some(again.version));
        let last = self.refresh_from(account_id, again.version).await?;
        match call(self.inner.client.clone(), last.token).await {
            Err(error) if error.status() == Some(401) => {
                self.inner.tokens.forget(account_id, None);
                let reason = format!(
                    "Pinterest refused a freshly refreshed token ({error}). Reconnect the account."
                );
                let now = self.now();
                let marked = self
                    .inner
                    .store
                    .mark_needs_reauth(
                        account_id,
                        last.version,
                        &reason,
                        ("auth", &error.to_string()),
                        &[NewAccountEvent {
                            kind: kind::NEEDS_REAUTH,
                            detail: &reason,
                            error_class: Some(ErrorClass::Auth.as_str()),
                        }],
                        now,
                    )
                    .await?;
                let row = self.load(account_id).await?;
                if !marked {
                    // Newer tokens (a reconnect) landed meanwhile; they were not the
                    // ones refused.
                    self.ensure_usable(&row)?;
                    return Err(VaultError::Pinterest(error));
                }
                self.announce(
                    &row,
                    kind::NEEDS_REAUTH,
                    reason.clone(),
                    Some(ErrorClass::Auth),
                );
                Err(VaultError::NeedsReauth { reason })
            }
            other => other.map_err(VaultError::from),
        }
    }

    /// Refreshes every account whose access token is inside its margin or whose refresh token
    /// is inside its renewal margin (idle accounts included). Returns how many were refreshed.
    pub async fn refresh_due_accounts(&self) -> Result<usize, VaultError> {
        let now = self.now();
        let due = self
            .inner
            .store
            .accounts_due_for_refresh(
                now + duration_ms(self.inner.settings.access_refresh_margin),
                now + duration_ms(self.inner.settings.refresh_renew_margin),
                // Another app's or environment's refresh token cannot be sent from here: such
                // an account waits for its configuration without a failed refresh every sweep.
                (
                    &self.inner.client.environment().as_str(),
                    self.inner.client.client_id().as_str(),
                ),
                500,
            )
            .await?;
        let mut refreshed = 0;
        for row in due {
            match self.refresh_from(&row.id, row.token_version).await {
                Ok(_) => refreshed += 1,
                Err(error) => tracing::warn!(
                    event = kind::REFRESH_FAILED,
                    account_id = %row.id,
                    error = %error,
                    "background refresh failed"
                ),
            }
        }
        Ok(refreshed)
    }

    /// Finds refreshes interrupted by a dead process (an in-flight marker with no live lease)
    /// and settles each one now: logged and recorded as `account.refresh_interrupted`, then
    /// retried once with the stored refresh token. Run by every sweep. Returns how many were found.
    pub async fn recover_interrupted_refreshes(&self) -> Result<usize, VaultError> {
        let rows = self
            .inner
            .store
            .accounts_with_interrupted_refresh(self.now())
            .await?;
        for row in &rows {
            if let Err(error) = self.refresh_from(&row.id, row.token_version).await {
                tracing::warn!(
                    event = kind::REFRESH_FAILED,
                    account_id = %row.id,
                    error = %error,
                    "settling an interrupted refresh failed"
                );
            }
        }
        Ok(rows.len())
    }

    /// Sends `account.token_expiring` once per horizon (14, 7 and 1 days) for every account
    /// whose refresh token is that close to expiring, i.e. could not be renewed in time.
    /// Returns how many alerts were sent.
    pub async fn alert_expiring_tokens(&self) -> Result<usize, VaultError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let now = self.now();
        let rows = self
            .inner
            .store
            .accounts_with_refresh_expiring(now + EXPIRY_HORIZONS_DAYS[0] as i64 * DAY_MS, 1000)
            .await?;
        let mut sent = 0;
        for row in rows {
            let Some(expires_at) = row.refresh_expires_at else {
                continue;
            };
            let left = expires_at - now;
            let Some(days) = EXPIRY_HORIZONS_DAYS
                .iter()
                .copied()
                .filter(|days| left <= i64::from(*days) * DAY_MS)
                .min()
            else {
                continue;
            };
            let detail = if left <= 0 {
                "the refresh token has expired; reconnect the account".to_owned()
            } else {
                format!(
                    "the refresh token expires in {} and could not be renewed; reconnect the account before then",
                    human_duration(left)
                )
            };
            let event = NewAccountEvent {
                kind: kind::TOKEN_EXPIRING,
                detail: &detail,
                error_class: Some(ErrorClass::Auth.as_str()),
            };
            if !self
                .inner
                .store
                .record_expiry_alert(&row.id, days, &[event], now)
                .await?
            {
                continue;
            }
            self.announce(&row, kind::TOKEN_EXPIRING, detail, Some(ErrorClass::Auth));
            sent += 1;
        }
        Ok(sent)
    }

    /// Forgets connect links that expired more than a week ago (their sealed PKCE verifiers
    /// included). Returns how many.
    pub async fn forget_old_connect_links(&self) -> Result<u64, VaultError> {
        const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;
        Ok(self
            .inner
            .store
            .purge_oauth_states(self.now() - KEEP_MS)
            .await?)
    }

    /// Re-seals every account's tokens that are sealed under an older master key with the
    /// current one, page by page. A row no key opens is logged (by account id) and skipped, so
    /// one bad row does not stop the rest.
    pub async fn reseal_old_keys(&self) -> Result<Resealed, VaultError> {
        const PAGE: i64 = 200;
        let keys = &self.inner.keys;
        let mut done = Resealed::default();
        let mut after = String::new();
        loop {
            let rows = self
                .inner
                .store
                .accounts_sealed_with_other_keys(keys.current_key_id(), &after, PAGE)
                .await?;
            let Some(last) = rows.last() else {
                return Ok(done);
            };
            after = last.id.clone();
            for row in rows {
                let access = row
                    .access_token_sealed
                    .as_deref()
                    .map(|sealed| keys.reseal(&access_aad(&row.id), sealed))
                    .transpose();
                let refresh = row
                    .refresh_token_sealed
                    .as_deref()
                    .map(|sealed| keys.reseal(&refresh_aad(&row.id), sealed))
                    .transpose();
                let (access, refresh) = match (access, refresh) {
                    (Ok(Some(access)), Ok(refresh)) => (access, refresh),
                    // Erased tokens (a disconnected account) have nothing to re-seal.
                    (Ok(None), Ok(_)) => continue,
                    _ => {
                        tracing::warn!(
                            account = %row.id,
                            "no master key opens this account's tokens; they stay sealed as they are (put the old key back in PINLINE_OLD_MASTER_KEYS, or reconnect the account)"
                        );
                        done.unreadable += 1;
                        continue;
                    }
                };
                // Version-checked: a refresh that committed meanwhile already sealed under the
                // current key, and must not be overwritten with the older tokens.
                if self
                    .inner
                    .store
                    .reseal_account_tokens(
                        &row.id,
                        row.token_version,
                        &SealedTokens { access, refresh },
                    )
                    .await?
                {
                    done.resealed += 1;
                }
            }
        }
    }

    /// Asks Pinterest to revoke the account's tokens, erases them here whatever it answered, and
    /// records in the account's event (and the log) what actually happened at Pinterest.
    ///
    /// Pinterest's `token/revoke` only revokes tokens issued for system users; an ordinary
    /// user's token is refused with 403 code 29 and stays valid at Pinterest until the user
    /// removes the app in their Pinterest account settings or the token expires. Erasing is what
    /// pinline can promise; the event says which of the two the person got.
    pub async fn disconnect(
        &self,
        profile_id: &str,
        account_id: &str,
    ) -> Result<Account, VaultError> {
        let row = self
            .inner
            .store
            .account(profile_id, account_id)
            .await?
            .ok_or(VaultError::AccountNotFound)?;
        let revocation = self.revoke_at_pinterest(&row).await;
        self.inner
            .store
            .disconnect_account(account_id, self.now())
            .await?;
        self.inner.tokens.forget(account_id, None);
        let row = self.load(account_id).await?;
        self.emit(&row, kind::DISCONNECTED, revocation.detail(), None)
            .await;
        Ok(Account::from(&row))
    }

    /// Sends the stored refresh token, then the access token, to `token/revoke`. Never fails:
    /// the tokens are erased next whatever happens, so every outcome is only reported.
    async fn revoke_at_pinterest(&self, row: &AccountRow) -> Revocation {
        if row.refresh_token_sealed.is_none() && row.access_token_sealed.is_none() {
            return Revocation::NothingStored;
        }
        if self
            .ensure_same_app(&row.environment, &row.client_id)
            .is_err()
        {
            return Revocation::NotSent(
                "they were issued to another app or Pinterest environment than the configured one",
            );
        }
        let keys = &self.inner.keys;
        let refresh = row
            .refresh_token_sealed
            .as_deref()
            .and_then(|sealed| keys.open(&refresh_aad(&row.id), sealed).ok())
            .map(|plain| RefreshToken::new(String::from_utf8_lossy(&plain).into_owned()));
        let access = row
            .access_token_sealed
            .as_deref()
            .and_then(|sealed| keys.open(&access_aad(&row.id), sealed).ok())
            .map(|plain| AccessToken::new(String::from_utf8_lossy(&plain).into_owned()));
        if refresh.is_none() && access.is_none() {
            return Revocation::NotSent("no configured master key opens them");
        }
        let mut outcome = Revocation::Revoked;
        if let Some(token) = &refresh {
            outcome = outcome.with_answer(self.inner.client.revoke(token).await, &row.id);
        }
        // After a refusal the access token would be refused the same way: do not ask twice.
        if outcome != Revocation::Refused
            && let Some(token) = &access
        {
            outcome = outcome.with_answer(self.inner.client.revoke(token).await, &row.id);
        }
        outcome
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

/// Slack under which an access token counts as expired, for clock skew and the request's trip.
const ACCESS_SKEW_MS: i64 = 60_000;

/// What asking Pinterest to revoke an account's tokens came to, for the `account.disconnected`
/// event. Its texts name no token: they are built from fixed words and [`PinterestError`]'s
/// message, which is scrubbed of anything token-shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Revocation {
    /// Pinterest revoked every token sent.
    Revoked,
    /// Pinterest answered 403 code 29: apps may revoke system users' tokens only.
    Refused,
    /// Revoking failed otherwise (Pinterest unreachable, an unexpected answer).
    Failed(String),
    /// Nothing was sent, for this reason.
    NotSent(&'static str),
    /// The account had no tokens left (already disconnected).
    NothingStored,
}

/// What the person can rely on when Pinterest still honours the tokens pinline erased.
const ACCESS_ENDS_AT_PINTEREST: &str = "Access ends at Pinterest when the user removes the app \
    in their Pinterest account settings, or when the tokens expire.";

impl Revocation {
    /// Folds one `token/revoke` answer into the outcome so far: a refusal explains everything,
    /// and otherwise any failure outweighs success.
    fn with_answer<T>(self, answer: Result<T, PinterestError>, account_id: &str) -> Self {
        let error = match answer {
            Ok(_) => return self,
            Err(error) => error,
        };
        if error.status() == Some(403) && error.code() == Some(error_code::NOT_PERMITTED) {
            return Revocation::Refused;
        }
        tracing::warn!(
            account_id,
            error = %error,
            "revoking at Pinterest failed; erasing the tokens anyway"
        );
        match self {
            Revocation::Refused | Revocation::Failed(_) => self,
            _ => Revocation::Failed(error.to_string()),
        }
    }

    /// The event's detail.
    fn detail(&self) -> String {
        match self {
            Revocation::Revoked => "disconnected: tokens revoked at Pinterest and erased".into(),
            Revocation::Refused => format!(
                "disconnected: tokens erased here, but Pinterest refused revocation (HTTP 403, \
                 code 29): it does not let apps revoke an ordinary user's token. \
                 {ACCESS_ENDS_AT_PINTEREST}"
            ),
            Revocation::Failed(reason) => format!(
                "disconnected: tokens erased here, but revoking them at Pinterest failed \
                 ({reason}). {ACCESS_ENDS_AT_PINTEREST}"
            ),
            Revocation::NotSent(why) => format!(
                "disconnected: tokens erased here, not revoked at Pinterest ({why}). \
                 {ACCESS_ENDS_AT_PINTEREST}"
            ),
            Revocation::NothingStored => {
                "disconnected: no tokens were stored, so there was nothing to revoke or erase"
                    .into()
            }
        }
    }
}

/// Stops a lease renewal task when dropped.
struct LeaseHeartbeat(tokio::task::JoinHandle<()>);

impl Drop for LeaseHeartbeat {
    fn drop(&mut self) {
        self.0.abort();
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

    fn api_error(status: u16, code: Option<i64>) -> PinterestError {
        PinterestError::Api(Box::new(pinline_pinterest::ApiError {
            operation: "token/revoke",
            mutating: true,
            status,
            code,
            message: "You are not permitted to access that resource.".into(),
            oauth_error: None,
            rate_limit: Default::default(),
        }))
    }

    #[test]
    fn a_refusal_explains_the_outcome_whatever_else_happened() {
        let answers = |first, second| {
            Revocation::Revoked
                .with_answer::<()>(first, "a")
                .with_answer(second, "a")
        };
        assert_eq!(answers(Ok(()), Ok(())), Revocation::Revoked);
        assert_eq!(
            answers(Err(api_error(403, Some(29))), Ok(())),
            Revocation::Refused
        );
        assert_eq!(
            answers(Err(api_error(503, None)), Err(api_error(403, Some(29)))),
            Revocation::Refused
        );
        assert!(matches!(
            answers(Ok(()), Err(api_error(503, None))),
            Revocation::Failed(reason) if reason.contains("HTTP 503")
        ));
        // Another 403 (a missing scope) is a failure, not Pinterest's system-user rule.
        assert!(matches!(
            answers(Err(api_error(403, Some(3))), Ok(())),
            Revocation::Failed(_)
        ));
    }

    #[test]
    fn details_say_what_happened_at_pinterest() {
        assert_eq!(
            Revocation::Revoked.detail(),
            "disconnected: tokens revoked at Pinterest and erased"
        );
        let refused = Revocation::Refused.detail();
        for needle in [
            "tokens erased here",
            "refused revocation",
            "does not let apps revoke an ordinary user's token",
            "removes the app in their Pinterest account settings",
            "when the tokens expire",
        ] {
            assert!(refused.contains(needle), "{needle}: {refused}");
        }
        let failed = Revocation::Failed("HTTP 503".into()).detail();
        assert!(failed.contains("HTTP 503") && !failed.contains("revoked at"));
    }
}
