//! Calling Pinterest with an account's token. A 401 refreshes the token and retries once; a 401
//! on a token that was refreshed after one already refused means the account needs reconnecting.

use pinline_pinterest::{AccessToken, ErrorClass, PinterestClient, PinterestError};
use pinline_store::NewAccountEvent;

use crate::VaultError;
use crate::events::kind;
use crate::token_cache::KnownAccount;

use super::Vault;

impl Vault {
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
}
