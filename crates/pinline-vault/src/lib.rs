//! The vault: Pinterest accounts and their tokens. Tokens are encrypted at rest with a key ring
//! ([`cipher`]); the master key comes from the environment or a key file ([`master_key`]).

pub mod cipher;
pub mod clock;
mod error;
pub mod master_key;

pub use error::VaultError;
