//! Disconnecting an account: asking Pinterest to revoke its tokens, erasing them here whatever
//! Pinterest answered, and saying in the account's event which of the two actually happened.

use pinline_pinterest::facts::error_code;
use pinline_pinterest::{AccessToken, PinterestError, RefreshToken};
use pinline_store::AccountRow;

use crate::VaultError;
use crate::account::Account;
use crate::events::kind;

use super::{Vault, access_aad, refresh_aad};

impl Vault {
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
}

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
