//! Reading accounts: the token-free view shown to people, and the checks that decide whether an
//! account may be used by this installation (its status, and the app and environment its
//! credential was issued for).

use std::sync::atomic::Ordering;

use pinline_core::CoreError;
use pinline_pinterest::{AccessToken, ErrorClass};
use pinline_store::AccountRow;

use crate::VaultError;
use crate::account::{Account, AccountStatus, LastError};

use super::{TokenGrant, Vault, access_aad};

impl Vault {
    pub(super) async fn load(&self, account_id: &str) -> Result<AccountRow, VaultError> {
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

    pub(super) fn ensure_same_app(
        &self,
        environment: &str,
        client_id: &str,
    ) -> Result<(), VaultError> {
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
    pub(super) fn ensure_usable(&self, row: &AccountRow) -> Result<(), VaultError> {
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

    pub(super) fn grant_from(&self, row: &AccountRow) -> Result<TokenGrant, VaultError> {
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
}
