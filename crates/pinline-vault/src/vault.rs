//! The [`Vault`]: connects accounts through OAuth, hands out access tokens, and refreshes them so
//! that none is ever stale.
//!
//! Refresh is single-flight per account at two levels: an in-process async mutex per account
//! (so N tasks in one process make one attempt), and the store's refresh lease (so N processes on
//! one database make one attempt). A waiter always re-reads the row after it gets its turn and
//! uses the tokens someone else stored rather than refreshing again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use pinline_pinterest::facts::{Scope, format_scope_list, parse_scope_list};
use pinline_pinterest::{
    AccessToken, AuthorizationCode, ErrorClass, PinterestClient, PinterestError, PkceVerifier,
    RefreshToken,
};
use pinline_store::{
    AccountRow, ConnectedAccount, OAuthStateRow, RefreshClaim, RefreshFailure, SealedTokens,
    StateRejection, Store,
};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, broadcast};
use url::Url;

use crate::account::{Account, AccountStatus};
use crate::cipher::KeyRing;
use crate::clock::SharedClock;
use crate::events::{EventSender, VaultEvent, kind};
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
            }),
        }
    }

    /// Subscribes to account events.
    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.inner.events.subscribe()
    }

    /// The Pinterest client (for calls that go through [`Vault::call`]).
    pub fn client(&self) -> &PinterestClient {
        &self.inner.client
    }

    /// The settings in force.
    pub fn settings(&self) -> &VaultSettings {
        &self.inner.settings
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn reconnect_url(&self, account_id: &str) -> String {
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
            String::from_utf8(verifier.to_vec()).map_err(|_| VaultError::Decrypt)?,
        );
        let tokens = self
            .inner
            .client
            .exchange_code(&code, &pending.redirect_uri, Some(&verifier))
            .await?
            .value;
        let granted: Vec<String> = parse_scope_list(&tokens.scope)
            .unwrap_or_default()
            .iter()
            .map(|scope| scope.as_str().to_owned())
            .collect();
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
        let refresh_expires_at = tokens
            .refresh_token_expires_at
            .map(|secs| secs.saturating_mul(1000))
            .or_else(|| {
                tokens
                    .refresh_token_expires_in
                    .map(|secs| now + secs.saturating_mul(1000))
            });
        let scopes = granted.join(",");
        let new_id = uuid::Uuid::now_v7().to_string();
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
                now,
                |id| self.seal_tokens(id, &tokens.access_token, tokens.refresh_token.as_ref()),
            )
            .await?;
        // The upsert keeps an existing row's id: a different id than the fresh one means this
        // Pinterest user was connected before (a reconnect), without reading every account.
        let existing_before = account_id != new_id;
        let row = self.load(&account_id).await?;
        let account = Account::from(&row);
        let detail = if missing_scopes.is_empty() {
            format!("connected @{}", account.username)
        } else {
            format!(
                "connected @{} without {}",
                account.username,
                missing_scopes.join(", ")
            )
        };
        self.emit(&row, kind::CONNECTED, detail, None).await;
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
        self.inner
            .store
            .account_by_id(account_id)
            .await?
            .ok_or(VaultError::AccountNotFound)
    }

    /// One account of a profile.
    pub async fn account(&self, profile_id: &str, account_id: &str) -> Result<Account, VaultError> {
        self.inner
            .store
            .account(profile_id, account_id)
            .await?
            .map(|row| Account::from(&row))
            .ok_or(VaultError::AccountNotFound)
    }

    /// A profile's accounts.
    pub async fn accounts(&self, profile_id: &str) -> Result<Vec<Account>, VaultError> {
        Ok(self
            .inner
            .store
            .accounts(profile_id)
            .await?
            .iter()
            .map(Account::from)
            .collect())
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
        let token = String::from_utf8(token.to_vec()).map_err(|_| VaultError::Decrypt)?;
        Ok(TokenGrant {
            token: AccessToken::new(token),
            version: row.token_version,
            account: Account::from(row),
        })
    }

    // ----- Tokens and refresh ---------------------------------------------------------------

    /// A usable access token for `account_id`, refreshed first when it is inside the margin.
    pub async fn access_token(&self, account_id: &str) -> Result<TokenGrant, VaultError> {
        let row = self.load(account_id).await?;
        self.ensure_usable(&row)?;
        let margin = duration_ms(self.inner.settings.access_refresh_margin);
        let fresh = row
            .access_expires_at
            .is_some_and(|expires| expires - self.now() > margin);
        if fresh && row.refresh_started_at.is_none() {
            return self.grant_from(&row);
        }
        self.refresh_from(account_id, row.token_version).await
    }

    /// Refreshes `account_id` unless its tokens already changed since `seen_version`; either way
    /// returns the current token. At most one refresh per account is in flight at a time,
    /// across every task and process sharing the database.
    pub async fn refresh_from(
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
                .claim_refresh(account_id, seen_version, &self.inner.owner, now, lease)
                .await?
            {
                RefreshClaim::Superseded(row) => {
                    self.ensure_usable(&row)?;
                    return self.grant_from(&row);
                }
                RefreshClaim::Busy(_) => {
                    // Another process holds the lease; its result lands in the row.
                    tokio::time::sleep(self.inner.settings.lease_poll).await;
                }
                RefreshClaim::Claimed {
                    account,
                    interrupted,
                } => return self.run_refresh(account, interrupted).await,
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

    async fn run_refresh(
        &self,
        row: AccountRow,
        interrupted: bool,
    ) -> Result<TokenGrant, VaultError> {
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
        let refresh = RefreshToken::new(
            String::from_utf8(refresh.to_vec()).map_err(|_| VaultError::Decrypt)?,
        );

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
                let scopes = if tokens.scope.is_empty() {
                    row.scopes.clone()
                } else {
                    parse_scope_list(&tokens.scope)
                        .map(|scopes| format_scope_list(&scopes))
                        .unwrap_or_else(|_| row.scopes.clone())
                };
                let refresh_expires_at = tokens
                    .refresh_token_expires_at
                    .map(|secs| secs.saturating_mul(1000))
                    .or_else(|| {
                        tokens
                            .refresh_token_expires_in
                            .map(|secs| now + secs.saturating_mul(1000))
                    });
                // The rotated refresh token is committed here, before anyone sees the new
                // access token: a crash after this point loses nothing.
                let version = self
                    .inner
                    .store
                    .complete_refresh(
                        &row.id,
                        &self.inner.owner,
                        &sealed,
                        &scopes,
                        now + tokens.expires_in.saturating_mul(1000),
                        refresh_expires_at,
                        now,
                    )
                    .await?;
                let fresh = self.load(&row.id).await?;
                self.emit(&fresh, kind::REFRESHED, "tokens refreshed".into(), None)
                    .await;
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
        let permanent = matches!(class, ErrorClass::Auth | ErrorClass::Scope);
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
        if let Err(store_error) = self
            .inner
            .store
            .fail_refresh(&row.id, &self.inner.owner, &failure, self.now())
            .await
        {
            return store_error.into();
        }
        tracing::warn!(
            event = kind::REFRESH_FAILED,
            account_id = %row.id,
            class = class.as_str(),
            error = %message,
            "refresh failed"
        );
        self.emit(row, kind::REFRESH_FAILED, message.clone(), Some(class))
            .await;
        if permanent {
            tracing::warn!(
                event = kind::NEEDS_REAUTH,
                account_id = %row.id,
                "account needs to be reconnected"
            );
            self.emit(row, kind::NEEDS_REAUTH, reason.clone(), Some(class))
                .await;
            VaultError::NeedsReauth { reason }
        } else {
            VaultError::Pinterest(error)
        }
    }

    /// Runs `call` with the account's access token. On a 401 it refreshes once and retries
    /// once; a second 401 marks the account `needs_reauth`.
    pub async fn call<T, F, Fut>(&self, account_id: &str, call: F) -> Result<T, VaultError>
    where
        F: Fn(PinterestClient, AccessToken) -> Fut,
        Fut: std::future::Future<Output = Result<T, PinterestError>>,
    {
        let grant = self.access_token(account_id).await?;
        match call(self.inner.client.clone(), grant.token).await {
            Err(error) if error.status() == Some(401) => {
                tracing::info!(
                    event = "account.unauthorized",
                    account_id,
                    "Pinterest answered 401; refreshing once"
                );
                let again = self.refresh_from(account_id, grant.version).await?;
                match call(self.inner.client.clone(), again.token).await {
                    Err(error) if error.status() == Some(401) => {
                        let reason = format!(
                            "Pinterest refused a freshly refreshed token ({error}). Reconnect the account."
                        );
                        let now = self.now();
                        self.inner
                            .store
                            .set_account_status(
                                account_id,
                                "needs_reauth",
                                Some(&reason),
                                Some(("auth", &error.to_string())),
                                now,
                            )
                            .await?;
                        let row = self.load(account_id).await?;
                        self.emit(
                            &row,
                            kind::NEEDS_REAUTH,
                            reason.clone(),
                            Some(ErrorClass::Auth),
                        )
                        .await;
                        Err(VaultError::NeedsReauth { reason })
                    }
                    other => other.map_err(VaultError::from),
                }
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
    /// retried once with the stored refresh token. Run at start-up. Returns how many were found.
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
            if !self.inner.store.record_expiry_alert(&row.id, days).await? {
                continue;
            }
            let detail = if left <= 0 {
                "the refresh token has expired; reconnect the account".to_owned()
            } else {
                format!(
                    "the refresh token expires in {} and could not be renewed; reconnect the account before then",
                    human_duration(left)
                )
            };
            self.emit(&row, kind::TOKEN_EXPIRING, detail, Some(ErrorClass::Auth))
                .await;
            sent += 1;
        }
        Ok(sent)
    }

    /// Re-seals tokens sealed under an older master key with the current one. Returns how many
    /// accounts were re-sealed.
    pub async fn reseal_old_keys(&self) -> Result<usize, VaultError> {
        let rows = self
            .inner
            .store
            .accounts_sealed_with_other_keys(self.inner.keys.current_key_id(), 500)
            .await?;
        let mut resealed = 0;
        for row in rows {
            let open =
                |sealed: &Option<String>, aad: Vec<u8>| -> Result<Option<String>, VaultError> {
                    match sealed {
                        Some(sealed) => {
                            let plain = self.inner.keys.open(&aad, sealed)?;
                            Ok(Some(self.inner.keys.seal(&aad, &plain)))
                        }
                        None => Ok(None),
                    }
                };
            let Some(access) = open(&row.access_token_sealed, access_aad(&row.id))? else {
                continue;
            };
            let refresh = open(&row.refresh_token_sealed, refresh_aad(&row.id))?;
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
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// Revokes the account's tokens at Pinterest (best effort) and erases them here.
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
        if self
            .ensure_same_app(&row.environment, &row.client_id)
            .is_ok()
        {
            // Revoke both tokens; a failure (already revoked, Pinterest down) must not keep
            // the tokens here, so it is only logged.
            if let Some(sealed) = row.refresh_token_sealed.as_deref()
                && let Ok(plain) = self.inner.keys.open(&refresh_aad(&row.id), sealed)
            {
                let token = RefreshToken::new(String::from_utf8_lossy(&plain).into_owned());
                if let Err(error) = self.inner.client.revoke(&token).await {
                    tracing::warn!(account_id, error = %error, "revoking at Pinterest failed; erasing tokens anyway");
                }
            }
            if let Some(sealed) = row.access_token_sealed.as_deref()
                && let Ok(plain) = self.inner.keys.open(&access_aad(&row.id), sealed)
            {
                let token = AccessToken::new(String::from_utf8_lossy(&plain).into_owned());
                if let Err(error) = self.inner.client.revoke(&token).await {
                    tracing::warn!(account_id, error = %error, "revoking at Pinterest failed; erasing tokens anyway");
                }
            }
        }
        self.inner
            .store
            .disconnect_account(account_id, self.now())
            .await?;
        let row = self.load(account_id).await?;
        self.emit(&row, kind::DISCONNECTED, "disconnected".into(), None)
            .await;
        Ok(Account::from(&row))
    }

    async fn emit(
        &self,
        row: &AccountRow,
        event_kind: &'static str,
        detail: String,
        class: Option<ErrorClass>,
    ) {
        if let Err(error) = self
            .inner
            .store
            .record_account_event(&row.id, event_kind, &detail, self.now())
            .await
        {
            tracing::warn!(account_id = %row.id, error = %error, "could not record an account event");
        }
        tracing::info!(event = event_kind, account_id = %row.id, username = %row.username, "{detail}");
        // Nobody listening is fine: events are also in the account's history.
        let _ = self.inner.events.send(VaultEvent {
            kind: event_kind,
            profile_id: row.profile_id.clone(),
            account_id: row.id.clone(),
            username: row.username.clone(),
            detail,
            error_class: class.map(|class| class.as_str().to_owned()),
            reconnect_url: self.reconnect_url(&row.id),
        });
    }
}
