//! Connecting an account: OAuth 2.0 with PKCE (RFC 7636). The connect link's `state` is stored
//! hashed and its verifier sealed until the callback; the callback's code is exchanged once, the
//! granted scopes are checked, and the tokens are sealed and committed before anyone uses them.

use pinline_core::CoreError;
use pinline_pinterest::ErrorClass;
use pinline_pinterest::facts::{Scope, format_scope_list};
use pinline_pinterest::{AccessToken, AuthorizationCode, PkceVerifier, RefreshToken};
use pinline_store::{
    AccountIdentity, AccountRow, ConnectedAccount, NewAccountEvent, OAuthStateRow,
    RefreshTokenKind, SealedTokens, StateRejection,
};
use sha2::{Digest, Sha256};

use crate::account::Account;
use crate::events::kind;
use crate::{ConnectRejection, VaultError};

use super::{
    ConnectStart, Connected, Vault, access_aad, duration_ms, known_scopes, refresh_aad,
    refresh_expiry, refresh_token_kind,
};

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// What an app that embeds connecting says about the person connecting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectContext {
    /// The app's own id for the person (at most 255 characters, checked by the caller).
    pub external_id: Option<String>,
    /// A small JSON object, as text.
    pub metadata: Option<String>,
    /// Where the callback sends the person back (checked against the allow-list by the caller).
    pub return_to: Option<String>,
}

impl Vault {
    /// Starts connecting an account for `profile_id`: a fresh PKCE verifier and `state`, stored
    /// (state hashed, verifier sealed) until the callback.
    pub async fn begin_connect(
        &self,
        profile_id: &str,
        scopes: Option<&[Scope]>,
    ) -> Result<ConnectStart, VaultError> {
        self.begin_connect_with(profile_id, scopes, &ConnectContext::default())
            .await
    }

    /// [`Vault::begin_connect`] for an app that embeds connecting: what it says about the
    /// person (`context`) is kept with the link and, once connected, with the account.
    pub async fn begin_connect_with(
        &self,
        profile_id: &str,
        scopes: Option<&[Scope]>,
        context: &ConnectContext,
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
                external_id: context.external_id.clone(),
                metadata: context.metadata.clone(),
                return_to: context.return_to.clone(),
            })
            .await?;
        Ok(ConnectStart {
            authorize_url: authorization.url,
            expires_at_ms,
        })
    }

    /// Where the connect of `state` sends the person back (embeddable connect), read without
    /// consuming the state.
    pub async fn connect_return_to(&self, state: &str) -> Result<Option<String>, VaultError> {
        Ok(self
            .inner
            .store
            .oauth_state_return_to(&sha256_hex(state))
            .await?)
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
        // Before the account row and its event: the `account.connected` webhook echoes it.
        if pending.external_id.is_some() || pending.metadata.is_some() {
            self.inner
                .store
                .upsert_account_link(
                    &AccountIdentity {
                        profile_id: &pending.profile_id,
                        environment: &pending.environment,
                        client_id: &pending.client_id,
                        pinterest_user_id: &user.id,
                    },
                    pending.external_id.as_deref(),
                    pending.metadata.as_deref(),
                    now,
                )
                .await?;
        }
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
        let mut row = self.load(&account_id).await?;
        self.announce(&row, kind::CONNECTED, detail, None);
        if let Some(token_kind) = refresh_token_kind(&tokens, now) {
            row = self.record_token_kind(row, token_kind, now).await?;
        }
        let account = Account::from(&row);
        Ok(Connected {
            account,
            reconnected: existing_before,
            missing_scopes,
        })
    }

    /// Stores which kind of refresh token the connect got. A legacy one is alerted at once
    /// (`account.token_expiring`): it ends on a fixed day, and only a reconnect that gets a
    /// continuous one keeps the account working past it.
    async fn record_token_kind(
        &self,
        row: AccountRow,
        token_kind: RefreshTokenKind,
        now: i64,
    ) -> Result<AccountRow, VaultError> {
        let detail = match (token_kind, row.refresh_expires_at) {
            (RefreshTokenKind::Legacy, Some(ends)) => Some(format!(
                "the account holds a legacy refresh token, which ends in {} days and cannot be renewed; the app asked for a continuous one, so reconnect the account (after checking the app's settings at Pinterest) before then",
                // Rounded: the expiry is in whole seconds, so it lands a moment short of a day.
                ((ends - now).max(0) + 12 * 3600 * 1000) / (24 * 3600 * 1000)
            )),
            (RefreshTokenKind::Legacy, None) => Some(
                "the account holds a legacy refresh token, which cannot be renewed; reconnect the account".to_owned(),
            ),
            (RefreshTokenKind::Continuous, _) => None,
        };
        let events: Vec<NewAccountEvent<'_>> = detail
            .iter()
            .map(|detail| NewAccountEvent {
                kind: kind::TOKEN_EXPIRING,
                detail,
                error_class: Some(ErrorClass::Auth.as_str()),
            })
            .collect();
        let recorded = self
            .inner
            .store
            .record_refresh_token_kind(&row.id, row.token_version, token_kind, &events, now)
            .await?;
        if !recorded {
            // A newer connect landed meanwhile; its own kind is the one that counts.
            return self.load(&row.id).await;
        }
        if let Some(detail) = detail {
            tracing::warn!(account_id = %row.id, "connected with a legacy refresh token");
            self.announce(&row, kind::TOKEN_EXPIRING, detail, Some(ErrorClass::Auth));
        }
        self.load(&row.id).await
    }

    pub(super) fn seal_tokens(
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
}
