//! Encryption at rest: XChaCha20-Poly1305 with a random 192-bit nonce per value, and the caller's
//! row identity bound in as associated data, so a ciphertext copied into another row (or another
//! column) fails to decrypt instead of silently lending one account's token to another.
//!
//! A sealed value is text: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id names
//! which master key sealed it, so keys can be rotated: new values use the current key while old
//! ones stay readable until they have been re-sealed.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::CoreError;
use crate::master_key::MasterKey;

const FORMAT_VERSION: &str = "v1";
const NONCE_LEN: usize = 24;

/// The master keys pinline can use: one current key that seals, and older ones that only open.
pub struct KeyRing {
    current: String,
    ciphers: HashMap<String, XChaCha20Poly1305>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.ciphers.keys().collect();
        ids.sort();
        f.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("key_ids", &ids)
            .finish()
    }
}

impl KeyRing {
    /// A ring whose current key is `current`, able to open values sealed with any of `old`.
    pub fn new(current: &MasterKey, old: &[MasterKey]) -> KeyRing {
        let mut ciphers = HashMap::new();
        for key in old.iter().chain(std::iter::once(current)) {
            ciphers.insert(key.id().to_owned(), key.cipher());
        }
        KeyRing {
            current: current.id().to_owned(),
            ciphers,
        }
    }

    /// A ring that seals with `new_current` and still opens everything this ring opens: the
    /// first step of a key rotation.
    pub fn rotate_to(&self, new_current: &MasterKey) -> KeyRing {
        let mut ciphers = self.ciphers.clone();
        ciphers.insert(new_current.id().to_owned(), new_current.cipher());
        KeyRing {
            current: new_current.id().to_owned(),
            ciphers,
        }
    }

    /// The id of the key that seals new values.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Encrypts `plaintext` for the row named by `associated_data`.
    pub fn seal(&self, associated_data: &[u8], plaintext: &[u8]) -> String {
        let cipher = &self.ciphers[&self.current];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = XNonce::from(nonce);
        // Encryption with a valid key and nonce cannot fail; the error type exists for
        // buffer-based APIs we don't use.
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .unwrap_or_default();
        let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(nonce.as_slice());
        bytes.extend_from_slice(&ciphertext);
        format!(
            "{FORMAT_VERSION}.{}.{}",
            self.current,
            URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// Decrypts a value sealed for the row named by `associated_data`.
    pub fn open(
        &self,
        associated_data: &[u8],
        sealed: &str,
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let key_id = sealed_key_id(sealed)?;
        let cipher = self
            .ciphers
            .get(key_id)
            .ok_or_else(|| CoreError::UnknownKey(key_id.to_owned()))?;
        let encoded = sealed
            .rsplit('.')
            .next()
            .ok_or(CoreError::Malformed("missing payload"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CoreError::Malformed("payload is not base64url"))?;
        if bytes.len() < NONCE_LEN {
            return Err(CoreError::Malformed("payload shorter than a nonce"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| CoreError::Malformed("nonce"))?;
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CoreError::Decrypt)
    }

    /// True when `sealed` was sealed with an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed_key_id(sealed).is_ok_and(|id| id != self.current)
    }

    /// `sealed` opened and sealed again under the current key, for the same associated data.
    pub fn reseal(&self, associated_data: &[u8], sealed: &str) -> Result<String, CoreError> {
        let plain = self.open(associated_data, sealed)?;
        Ok(self.seal(associated_data, &plain))
    }
}

/// What one re-sealing pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Rows now sealed under the current key.
    pub resealed: usize,
    /// Rows that no key in the ring opens (their key was dropped too early, or the row was
    /// tampered with). They stay as they are; the old key must come back to save them.
    pub unreadable: usize,
}

/// The key id of a sealed value.
pub fn sealed_key_id(sealed: &str) -> Result<&str, CoreError> {
    let mut parts = sealed.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(FORMAT_VERSION), Some(key_id), Some(_)) if !key_id.is_empty() => Ok(key_id),
        (Some(FORMAT_VERSION), _, _) => Err(CoreError::Malformed("missing key id")),
        _ => Err(CoreError::Malformed("unknown format version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; 32])
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let ring = KeyRing::new(&key(1), &[]);
        let sealed = ring.seal(b"account:1:access", b"pina_secret_value");
        assert!(!sealed.contains("pina_"), "{sealed}");
        let opened = ring.open(b"account:1:access", &sealed).expect("opens");
        assert_eq!(opened.as_slice(), b"pina_secret_value");
    }

    #[test]
    fn a_value_moved_to_another_row_fails() {
        let ring = KeyRing::new(&key(1), &[]);
        let sealed = ring.seal(b"account:1:access", b"token");
        assert!(matches!(
            ring.open(b"account:2:access", &sealed),
            Err(CoreError::Decrypt)
        ));
        assert!(matches!(
            ring.open(b"account:1:refresh", &sealed),
            Err(CoreError::Decrypt)
        ));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = KeyRing::new(&key(1), &[]);
        let mut sealed = ring.seal(b"row", b"token").into_bytes();
        let last = sealed.len() - 2;
        sealed[last] = if sealed[last] == b'A' { b'B' } else { b'A' };
        let sealed = String::from_utf8(sealed).expect("still text");
        assert!(ring.open(b"row", &sealed).is_err());
    }

    #[test]
    fn nonces_differ_between_seals() {
        let ring = KeyRing::new(&key(1), &[]);
        assert_ne!(ring.seal(b"row", b"same"), ring.seal(b"row", b"same"));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old_ring = KeyRing::new(&key(1), &[]);
        let sealed = old_ring.seal(b"row", b"token");

        let rotated = KeyRing::new(&key(2), &[key(1)]);
        assert!(rotated.needs_reseal(&sealed));
        assert_eq!(
            rotated
                .open(b"row", &sealed)
                .expect("old key opens")
                .as_slice(),
            b"token"
        );
        let resealed = rotated.seal(b"row", b"token");
        assert!(!rotated.needs_reseal(&resealed));

        let without_old = KeyRing::new(&key(2), &[]);
        assert!(matches!(
            without_old.open(b"row", &sealed),
            Err(CoreError::UnknownKey(_))
        ));
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        let ring = KeyRing::new(&key(1), &[]);
        for bad in [
            "",
            "v1",
            "v1..",
            "v2.x.y",
            "v1.nokey",
            "v1.id.!!!",
            "v1.id.AAAA",
        ] {
            assert!(ring.open(b"row", bad).is_err(), "{bad:?}");
        }
    }
}
