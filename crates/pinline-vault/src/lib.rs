//! The vault: Pinterest accounts and their tokens.
//!
//! * [`vault`]: connect (OAuth with PKCE), access tokens, single-flight refresh, reactive 401
//!   handling, background renewal, key rotation.
//! * [`account`]: the token-free view of an account; [`events`]: what happened to it.
//! * [`token_cache`]: decrypted access tokens by account and token version, so publishing
//!   reads no account row while the version its claim read is the one in memory.
//!
//! Tokens are sealed at rest with `pinline_core`'s key ring, bound to their row; time comes from
//! `pinline_core`'s injectable clock.
//!
//! **Invariant:** a rotated refresh token is committed before any access token from the same
//! response is used.
//! **Invariant:** callers get tokens from the vault each time they use one; nothing else keeps a
//! copy that can drift. The vault's own copy is keyed by token version, which every change of
//! tokens bumps.

pub mod account;
pub mod doctor;
mod error;
pub mod events;
pub mod token_cache;
pub mod vault;

pub use account::{Account, AccountStatus};
pub use error::{ConnectRejection, VaultError};
pub use token_cache::KnownAccount;
pub use vault::{
    ConnectContext, ConnectStart, Connected, DEFAULT_SCOPES, TokenGrant, Vault, VaultSettings,
    VaultStats,
};
