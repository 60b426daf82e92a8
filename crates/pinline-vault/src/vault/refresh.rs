//! Access tokens and their refresh. A token is served from memory while the account's token
//! version is the one it was decrypted at; otherwise from the row, refreshed first when it is
//! inside its margin. Refresh is single-flight per account in this process (an async mutex) and
//! across processes (the store's refresh lease, kept alive while the call to Pinterest runs), and
//! a rotated refresh token is committed before the access token from the same answer is used.

use std::sync::atomic::Ordering;
use std::time::Duration;

use pinline_core::CoreError;
use pinline_pinterest::facts::format_scope_list;
use pinline_pinterest::{AccessToken, ErrorClass, PinterestError, RefreshToken};
use pinline_store::{AccountRow, NewAccountEvent, RefreshClaim, RefreshFailure, StoreError};

use crate::VaultError;
use crate::account::{Account, AccountStatus};
use crate::events::kind;
use crate::token_cache::{self, KnownAccount};

use super::{TokenGrant, Vault, duration_ms, known_scopes, refresh_aad, refresh_expiry};

impl Vault {
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
    pub(super) fn cached_token(
        &self,
        account_id: &str,
        known: KnownAccount,
    ) -> Option<AccessToken> {
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
}

/// Slack under which an access token counts as expired, for clock skew and the request's trip.
const ACCESS_SKEW_MS: i64 = 60_000;

/// Stops a lease renewal task when dropped.
struct LeaseHeartbeat(tokio::task::JoinHandle<()>);

impl Drop for LeaseHeartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
