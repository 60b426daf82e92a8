//! Credentials in types that cannot leak by accident.
//!
//! Every token, secret and verifier lives in a newtype over [`secrecy::SecretString`] from the
//! moment it is parsed: `Debug` and `Display` print `[REDACTED]` (not even the `pina_`/`pinr_`
//! prefix, so that a grep of captured output for those prefixes stays a sound leak test), the
//! memory is zeroed on drop, and the value is reachable only through `expose_secret()`, which the
//! client calls exactly where a value is put on the wire.
//!
//! `Serialize` is deliberately not implemented for any secret type, so a secret cannot end up in
//! a JSON response or a log line through a derived `Serialize`. `Deserialize` is implemented for
//! the tokens because they arrive in Pinterest's token response. Persisting a secret (encrypted,
//! by the vault) therefore needs an explicit `expose_secret()` at the one place that does it.
//!
//! **Invariant:** no type in this module prints its value through `Debug` or `Display`.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// What every secret prints instead of its value.
pub const REDACTED: &str = "[REDACTED]";

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a value that arrived from outside (a response, the vault, a callback).
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The value itself. Call only where it is sent to Pinterest or handed to the
            /// vault for encryption; never to log or display it.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), REDACTED)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
    };
}

secret_type!(
    /// A user's OAuth access token (`pina_…`), sent as a bearer token.
    AccessToken
);
secret_type!(
    /// A user's OAuth refresh token (`pinr_…`). Pinterest rotates it on every refresh, so the
    /// newest one must be committed by the vault before anything else uses the response.
    RefreshToken
);
secret_type!(
    /// The app's client secret, sent only in the HTTP Basic header of token calls.
    ClientSecret
);
secret_type!(
    /// The single-use authorization code that arrives on the OAuth callback.
    AuthorizationCode
);
secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1). Generate one with [`PkceVerifier::generate`] and
    /// rebuild a stored one with [`PkceVerifier::parse`]; see [`crate::pkce`].
    PkceVerifier
);

/// The app's client id. It is public (it appears in authorize URLs), so it is a plain newtype
/// that prints and serializes normally.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Wraps a client id as configured.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_redacted<T: fmt::Debug + fmt::Display>(secret: &T, value: &str) {
        for printed in [
            format!("{secret:?}"),
            format!("{secret:#?}"),
            secret.to_string(),
        ] {
            assert!(!printed.contains(value), "{printed} leaks the value");
            assert!(
                !printed.contains("pina"),
                "{printed} leaks the token prefix"
            );
            assert!(
                !printed.contains("pinr"),
                "{printed} leaks the token prefix"
            );
            assert!(
                printed.contains(REDACTED),
                "{printed} does not say it is redacted"
            );
        }
    }

    #[test]
    fn secrets_never_print_their_value() {
        check_redacted(&AccessToken::new("pina_abc123SECRET"), "abc123SECRET");
        check_redacted(&RefreshToken::new("pinr_def456SECRET"), "def456SECRET");
        check_redacted(&ClientSecret::new("app-secret-789"), "app-secret-789");
        check_redacted(&AuthorizationCode::new("code-xyz"), "code-xyz");
        check_redacted(&PkceVerifier::new("verifier-0123"), "verifier-0123");
    }

    #[test]
    fn secrets_inside_derived_debug_stay_redacted() {
        #[derive(Debug)]
        #[expect(dead_code, reason = "only Debug reads the field")]
        struct Holder {
            token: Option<AccessToken>,
        }
        let printed = format!(
            "{:?}",
            Holder {
                token: Some(AccessToken::new("pina_inner"))
            }
        );
        assert!(!printed.contains("inner"), "{printed}");
    }

    #[test]
    fn secrets_deserialize_and_expose_only_on_request() {
        let token: AccessToken = serde_json::from_str("\"pina_json\"").expect("a JSON string");
        assert_eq!(token.expose_secret(), "pina_json");
        assert_eq!(token.clone().expose_secret(), "pina_json");
    }

    #[test]
    fn client_ids_are_public() {
        let id = ClientId::new("1234");
        assert_eq!(id.to_string(), "1234");
        assert_eq!(
            serde_json::to_string(&id).expect("serializable"),
            "\"1234\""
        );
    }
}
