//! Master keys: parsed from `PINLINE_MASTER_KEY` (32 bytes, base64 or hex), or kept in a key file
//! that the embedded default creates with mode 0600 on first run.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::CoreError;

/// A 256-bit master key. Its `Debug` shows only its id.
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        let id = key_id(&bytes);
        MasterKey {
            bytes: Zeroizing::new(bytes),
            id,
        }
    }

    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        MasterKey::from_bytes(bytes)
    }

    /// Parses a key written as 64 hex digits or as base64 (standard or url-safe) of 32 bytes.
    pub fn parse(text: &str) -> Result<MasterKey, CoreError> {
        let text = text.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .ok()
        };
        let decoded = Zeroizing::new(decoded.ok_or_else(|| {
            CoreError::InvalidMasterKey(
                "expected 32 bytes as 64 hex digits or base64 (generate one with `openssl rand -base64 32`)"
                    .into(),
            )
        })?);
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            CoreError::InvalidMasterKey(format!("expected 32 bytes, got {}", decoded.len()))
        })?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// Reads the key file at `path`, creating it with a fresh key (mode 0600) if it is missing.
    pub fn load_or_create_file(path: &Path) -> Result<MasterKey, CoreError> {
        let fail = |reason: String| CoreError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                return MasterKey::parse(&text);
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(fail(error.to_string()));
            }
            Err(_) => {}
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        let key = MasterKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                let encoded = Zeroizing::new(STANDARD.encode(key.bytes.as_slice()));
                file.write_all(encoded.as_bytes())
                    .and_then(|()| file.write_all(b"\n"))
                    .and_then(|()| file.sync_all())
                    .map_err(|e| fail(e.to_string()))?;
                Ok(key)
            }
            // Another process created it between our read and our create: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
                MasterKey::parse(&text)
            }
            Err(error) => Err(fail(error.to_string())),
        }
    }

    /// The key's id: a short fingerprint naming it in sealed values (not secret: it is a hash
    /// prefix of a 256-bit random key).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.bytes).into())
    }
}

/// The key file is created 0600; one that others can read (copied, restored from a backup,
/// unpacked by a tool that ignores modes) still works, but is worth a loud warning.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the master key file can be read by other users; run `chmod 600` on it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn key_id(bytes: &[u8; 32]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    hex::encode(&digest[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64() {
        let hex_key = MasterKey::parse(&"ab".repeat(32)).expect("hex");
        let b64 = STANDARD.encode([0xab; 32]);
        let b64_key = MasterKey::parse(&b64).expect("base64");
        assert_eq!(hex_key.id(), b64_key.id());
        assert!(MasterKey::parse("short").is_err());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16])).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = MasterKey::from_bytes([0x42; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("42, 42"), "{shown}");
        assert!(!shown.contains(&STANDARD.encode([0x42; 32])), "{shown}");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/master.key");
        let first = MasterKey::load_or_create_file(&path).expect("created");
        let second = MasterKey::load_or_create_file(&path).expect("reused");
        assert_eq!(first.id(), second.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
        }
    }
}
