//! The one error type of the core crate: what goes wrong with master keys and sealed values.
//! Clocks and the outbox's wake-up cannot fail.

/// What can go wrong with master keys and sealed values.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A master key is malformed (wrong length or encoding).
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
    /// The key file could not be read or created.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The key file's path.
        path: String,
        /// What went wrong, without the key.
        reason: String,
    },
    /// A ciphertext was sealed with a key the ring does not hold.
    #[error(
        "no master key with id `{0}` is configured; add the old key to PINLINE_OLD_MASTER_KEYS"
    )]
    UnknownKey(String),
    /// A ciphertext failed authentication: wrong key, wrong row, or tampered data.
    #[error("a stored secret failed to decrypt (wrong key, moved between rows, or tampered)")]
    Decrypt,
    /// A stored ciphertext is not in the sealed format.
    #[error("a stored secret is malformed: {0}")]
    Malformed(&'static str),
}
