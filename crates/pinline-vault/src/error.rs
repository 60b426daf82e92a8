//! The one error type of the vault.

use pinline_core::CoreError;
use pinline_pinterest::{ErrorClass, PinterestError};
use pinline_store::StoreError;

/// What can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A master key or a sealed value is unusable: wrong key, wrong row, tampered, malformed.
    #[error(transparent)]
    Cipher(#[from] CoreError),
    /// No such account in this profile.
    #[error("account not found")]
    AccountNotFound,
    /// The account must be reconnected before it can be used.
    #[error("account needs to be reconnected: {reason}")]
    NeedsReauth {
        /// Why, in words a person can act on.
        reason: String,
    },
    /// The account was disconnected; its tokens are gone.
    #[error("account is disconnected; connect it again to use it")]
    Disconnected,
    /// The stored credential belongs to another environment or app than the one configured.
    #[error(
        "credential mismatch: the account was connected on {stored}, but pinline is configured for {configured}; reconnect it or fix the configuration"
    )]
    CredentialMismatch {
        /// Environment/app recorded with the credential.
        stored: String,
        /// Environment/app of the running configuration.
        configured: String,
    },
    /// The OAuth callback's `state` is not usable.
    #[error("{0}")]
    ConnectRejected(ConnectRejection),
    /// Pinterest granted fewer scopes than pinline asked for.
    #[error(
        "Pinterest granted fewer scopes than requested; missing: {missing}. Reconnect and approve all requested permissions"
    )]
    ScopesNotGranted {
        /// The missing scopes, comma-separated.
        missing: String,
    },
    /// A refresh by another task or process failed while this caller waited for it.
    #[error("refreshing the account failed ({class}): {message}")]
    RefreshFailed {
        /// The failure class recorded by the refresh.
        class: String,
        /// What happened.
        message: String,
    },
    /// A call to Pinterest failed (its class says whether to retry).
    #[error("Pinterest: {0}")]
    Pinterest(#[from] PinterestError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an OAuth callback was refused without exchanging its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectRejection {
    /// No connect was started with this state: a forged or mistyped callback.
    #[error("this connect link is unknown; start the connection again from pinline")]
    UnknownState,
    /// The callback was already used once (a replay or a double click).
    #[error("this connect link was already used; the account is connected, or start again")]
    StateAlreadyUsed,
    /// The connect was started more than 10 minutes ago.
    #[error("this connect link expired (10 minutes); start the connection again")]
    StateExpired,
    /// The person declined on Pinterest's consent page.
    #[error("access was denied on Pinterest's consent page")]
    AccessDenied,
}

impl VaultError {
    /// The failure class, in the same vocabulary as Pinterest errors.
    pub fn class(&self) -> ErrorClass {
        match self {
            VaultError::Pinterest(error) => error.class(),
            VaultError::NeedsReauth { .. }
            | VaultError::Disconnected
            | VaultError::ConnectRejected(_) => ErrorClass::Auth,
            VaultError::CredentialMismatch { .. } => ErrorClass::CredentialMismatch,
            VaultError::ScopesNotGranted { .. } => ErrorClass::Scope,
            VaultError::AccountNotFound => ErrorClass::NotFound,
            VaultError::RefreshFailed { class, .. } => match ErrorClass::parse(class) {
                Some(
                    class @ (ErrorClass::Auth
                    | ErrorClass::Scope
                    | ErrorClass::RateLimited
                    | ErrorClass::CredentialMismatch),
                ) => class,
                _ => ErrorClass::Transient,
            },
            VaultError::Store(error) if error.is_transient() => ErrorClass::Transient,
            _ => ErrorClass::Unknown,
        }
    }
}
