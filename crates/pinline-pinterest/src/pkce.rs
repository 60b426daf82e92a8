//! PKCE (RFC 7636) for the authorization-code flow: verifier generation and the S256 challenge.
//!
//! Why not the `oauth2` crate, as STYLE.md suggests: with `default-features = false` it still
//! depends on `rand` 0.8, `chrono` and `thiserror` 1, none of which the workspace otherwise
//! builds (it uses `rand` 0.9, `time` and `thiserror` 2), and its verifier type is not a
//! `secrecy` secret, so it would be converted at once anyway. What we need is twenty lines of
//! `rand` + `sha2` + `base64`, pinned by the RFC's own test vector below.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::secret::PkceVerifier;

/// Length of the verifiers pinline generates: 64 characters, comfortably inside RFC 7636's
/// 43–128 and carrying 384 random bits.
pub const VERIFIER_LEN: usize = 64;
/// Shortest verifier RFC 7636 §4.1 allows.
pub const VERIFIER_MIN_LEN: usize = 43;
/// Longest verifier RFC 7636 §4.1 allows.
pub const VERIFIER_MAX_LEN: usize = 128;
/// The only challenge method pinline uses (`plain` would send the verifier itself).
pub const CHALLENGE_METHOD: &str = "S256";

/// A verifier that breaks RFC 7636 §4.1 (length or character set). The value is not echoed,
/// since it is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a PKCE verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (got {len} characters)"
)]
pub struct InvalidVerifier {
    /// Length of the rejected value, the only thing safe to report about it.
    pub len: usize,
}

impl PkceVerifier {
    /// A fresh verifier from the thread-local CSPRNG: 48 random bytes in unpadded base64url,
    /// which is exactly [`VERIFIER_LEN`] characters, all from the RFC's unreserved set.
    pub fn generate() -> Self {
        let mut bytes = [0u8; VERIFIER_LEN / 4 * 3];
        rand::rng().fill_bytes(&mut bytes);
        PkceVerifier::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Rebuilds a verifier kept between the redirect and the callback, checking RFC 7636 §4.1.
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidVerifier> {
        let value = value.into();
        let len = value.len();
        let unreserved = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        if (VERIFIER_MIN_LEN..=VERIFIER_MAX_LEN).contains(&len) && value.bytes().all(unreserved) {
            Ok(PkceVerifier::new(value))
        } else {
            Err(InvalidVerifier { len })
        }
    }

    /// The S256 challenge for this verifier: `BASE64URL(SHA256(ASCII(verifier)))`.
    pub fn challenge(&self) -> PkceChallenge {
        let digest = Sha256::digest(self.expose_secret().as_bytes());
        PkceChallenge(URL_SAFE_NO_PAD.encode(digest))
    }
}

/// An S256 code challenge. It is public by design (it travels in the authorize URL), so it is
/// a plain newtype.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PkceChallenge(String);

impl PkceChallenge {
    /// The challenge as sent in `code_challenge`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method to send in `code_challenge_method`.
    pub fn method(&self) -> &'static str {
        CHALLENGE_METHOD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B; the challenge is also what Python's `hashlib.sha256` and
    /// `base64.urlsafe_b64encode` give for the verifier.
    #[test]
    fn rfc_7636_appendix_b_vector() {
        let verifier = PkceVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            .expect("the RFC's verifier is valid");
        assert_eq!(
            verifier.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let first = PkceVerifier::generate();
        let second = PkceVerifier::generate();
        assert_eq!(first.expose_secret().len(), VERIFIER_LEN);
        assert!(PkceVerifier::parse(first.expose_secret()).is_ok());
        assert_ne!(first.expose_secret(), second.expose_secret());
    }

    #[test]
    fn malformed_verifiers_are_rejected() {
        let check = |value: &str, ok: bool| {
            assert_eq!(PkceVerifier::parse(value).is_ok(), ok, "{value:?}");
        };
        check(&"a".repeat(42), false);
        check(&"a".repeat(43), true);
        check(&"a".repeat(128), true);
        check(&"a".repeat(129), false);
        check(&format!("{}+", "a".repeat(50)), false);
        check(&format!("{}~._-", "a".repeat(50)), true);
    }
}
