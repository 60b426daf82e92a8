//! The webhook signing secret: shown once when the webhook is created, sealed at rest, and opened
//! only to sign a delivery.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use zeroize::Zeroizing;

/// Prefix of every webhook secret, so a leaked one is recognisable (and greppable in logs).
pub const SECRET_PREFIX: &str = "whsec_";

/// A webhook's signing secret: `whsec_` + 32 random bytes in base64url. Its `Debug` never shows
/// the value, it is not `Serialize`, and its memory is wiped on drop.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<String>);

impl WebhookSecret {
    /// A fresh random secret.
    pub fn generate() -> WebhookSecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        WebhookSecret(Zeroizing::new(format!(
            "{SECRET_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes.as_ref())
        )))
    }

    /// Wraps a secret read back from the vault.
    pub(crate) fn from_opened(bytes: &[u8]) -> WebhookSecret {
        WebhookSecret(Zeroizing::new(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The secret itself, to show the user once or to sign with.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The associated data that binds a sealed secret to its webhook row (public so that a row
    /// written by other means, such as an import or a test, can be sealed the same way).
    pub fn associated_data(webhook_id: &str) -> Vec<u8> {
        format!("webhook:{webhook_id}:secret").into_bytes()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_redacted() {
        let secret = WebhookSecret::generate();
        let value = secret.expose_secret();
        assert!(value.starts_with(SECRET_PREFIX));
        let random = URL_SAFE_NO_PAD
            .decode(&value[SECRET_PREFIX.len()..])
            .expect("base64url body");
        assert_eq!(random.len(), 32);
        assert_ne!(value, WebhookSecret::generate().expose_secret());
        let debug = format!("{secret:?}");
        assert!(!debug.contains(&value[SECRET_PREFIX.len()..]), "{debug}");
    }
}
