//! The vault's background sweeps, run by the server on a timer: renewing tokens before their
//! margins (idle accounts included), finishing refreshes a crashed process left behind, alerting
//! before refresh tokens expire, forgetting old connect links, and re-sealing tokens under the
//! current master key after a rotation.

use pinline_core::cipher::Resealed;
use pinline_pinterest::ErrorClass;
use pinline_store::{NewAccountEvent, RefreshTokenKind, SealedTokens};

use crate::VaultError;
use crate::events::kind;

use super::{Vault, access_aad, duration_ms, refresh_aad};

/// Horizons of `account.token_expiring` alerts, in days, widest first.
const EXPIRY_HORIZONS_DAYS: [i32; 3] = [14, 7, 1];
/// Horizons for a legacy refresh token, which no refresh renews: the first alert comes two
/// months ahead, time enough to reconnect every such account.
const LEGACY_EXPIRY_HORIZONS_DAYS: [i32; 5] = [60, 30, 14, 7, 1];

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

impl Vault {
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
    /// whose refresh token is that close to expiring, i.e. could not be renewed in time; for a
    /// legacy refresh token, which nothing renews, from 60 days ahead (60, 30, 14, 7, 1).
    /// Returns how many alerts were sent.
    pub async fn alert_expiring_tokens(&self) -> Result<usize, VaultError> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let now = self.now();
        let rows = self
            .inner
            .store
            .accounts_with_refresh_expiring(
                now + i64::from(EXPIRY_HORIZONS_DAYS[0]) * DAY_MS,
                now + i64::from(LEGACY_EXPIRY_HORIZONS_DAYS[0]) * DAY_MS,
                1000,
            )
            .await?;
        let mut sent = 0;
        for row in rows {
            let Some(expires_at) = row.refresh_expires_at else {
                continue;
            };
            let legacy = row
                .refresh_token_kind
                .as_deref()
                .and_then(RefreshTokenKind::parse)
                == Some(RefreshTokenKind::Legacy);
            let horizons: &[i32] = if legacy {
                &LEGACY_EXPIRY_HORIZONS_DAYS
            } else {
                &EXPIRY_HORIZONS_DAYS
            };
            let left = expires_at - now;
            let Some(days) = horizons
                .iter()
                .copied()
                .filter(|days| left <= i64::from(*days) * DAY_MS)
                .min()
            else {
                continue;
            };
            let detail = if left <= 0 {
                "the refresh token has expired; reconnect the account".to_owned()
            } else if legacy {
                format!(
                    "the account holds a legacy refresh token, which ends in {} and cannot be renewed; reconnect the account before then to get a continuous one",
                    human_duration(left)
                )
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
}
