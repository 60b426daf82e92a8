//! The start of Pinterest's authorization-code flow: the authorize URL and its `state`.
//!
//! [`begin_authorization`] produces everything one connection attempt needs: the URL to send the
//! user to, the `state` to check on the callback (CSRF protection, RFC 6749 §10.12) and the PKCE
//! verifier (RFC 7636) to send with the code exchange. The caller keeps `state` and the verifier
//! server-side until the callback; the token exchange itself is
//! [`crate::PinterestClient::exchange_code`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use url::Url;

use crate::facts::{Scope, format_scope_list};
use crate::pkce::PkceChallenge;
use crate::secret::{ClientId, PkceVerifier};

/// Random bytes in a generated `state`: 256 bits, twice the 128 that make guessing hopeless.
const STATE_BYTES: usize = 32;

/// The `state` parameter of one authorization attempt. It is not a credential (it travels in
/// the URL, and is useless without the victim's session), so it prints normally.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OAuthState(String);

impl OAuthState {
    /// A fresh state: 256 bits from the thread-local CSPRNG, unpadded base64url (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; STATE_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        OAuthState(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a stored state.
    pub fn new(value: impl Into<String>) -> Self {
        OAuthState(value.into())
    }

    /// The value as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the callback's `state` is this one. The comparison takes the same time
    /// wherever the first difference is, so a probing attacker learns nothing from timing.
    pub fn matches(&self, received: &str) -> bool {
        let expected = self.0.as_bytes();
        let received = received.as_bytes();
        expected.len() == received.len()
            && expected
                .iter()
                .zip(received)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

impl fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OAuthState({})", self.0)
    }
}

/// One authorization attempt: send the user to `url`, keep `state` and `verifier` until the
/// callback.
#[derive(Debug)]
pub struct Authorization {
    /// The authorize URL.
    pub url: Url,
    /// The `state` the callback must echo.
    pub state: OAuthState,
    /// The PKCE verifier to send with the code exchange.
    pub verifier: PkceVerifier,
}

/// Starts an authorization: fresh `state`, fresh PKCE verifier, and the URL of `oauth_url`
/// (Pinterest's `https://www.pinterest.com/oauth/` or a sandbox's) carrying them.
pub fn begin_authorization(
    oauth_url: &Url,
    client_id: &ClientId,
    redirect_uri: &str,
    scopes: &[Scope],
) -> Authorization {
    let state = OAuthState::generate();
    let verifier = PkceVerifier::generate();
    let url = authorize_url(
        oauth_url,
        client_id,
        redirect_uri,
        scopes,
        &state,
        &verifier.challenge(),
    );
    Authorization {
        url,
        state,
        verifier,
    }
}

/// The authorize URL: `oauth_url` plus `client_id`, `redirect_uri`, `response_type=code`,
/// `scope` (comma-separated, as Pinterest expects), `state`, `code_challenge` and
/// `code_challenge_method=S256`. `redirect_uri` is passed verbatim because Pinterest compares it
/// byte for byte with the registered one. Query parameters already on `oauth_url` are kept.
pub fn authorize_url(
    oauth_url: &Url,
    client_id: &ClientId,
    redirect_uri: &str,
    scopes: &[Scope],
    state: &OAuthState,
    challenge: &PkceChallenge,
) -> Url {
    let mut url = oauth_url.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id.as_str())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &format_scope_list(scopes))
        .append_pair("state", state.as_str())
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", challenge.method());
    url
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn query(url: &Url) -> HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn authorize_url_carries_every_parameter() {
        let oauth = Url::parse("https://www.pinterest.com/oauth/").expect("valid");
        let verifier = PkceVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            .expect("the RFC's verifier is valid");
        let url = authorize_url(
            &oauth,
            &ClientId::new("1484"),
            "https://pinline.example/oauth/callback",
            &[Scope::BoardsRead, Scope::PinsWrite],
            &OAuthState::new("st4te"),
            &verifier.challenge(),
        );
        assert_eq!(url.origin(), oauth.origin());
        assert_eq!(url.path(), "/oauth/");
        let expected: HashMap<String, String> = [
            ("client_id", "1484"),
            ("redirect_uri", "https://pinline.example/oauth/callback"),
            ("response_type", "code"),
            ("scope", "boards:read,pins:write"),
            ("state", "st4te"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(query(&url), expected);
        assert!(
            !url.as_str().contains("dBjftJeZ"),
            "the verifier must stay secret"
        );
    }

    #[test]
    fn begin_authorization_ties_url_state_and_verifier_together() {
        let oauth = Url::parse("http://127.0.0.1:9999/oauth/?lang=en").expect("valid");
        let started =
            begin_authorization(&oauth, &ClientId::new("1"), "http://cb", &[Scope::PinsRead]);
        let params = query(&started.url);
        assert_eq!(params["lang"], "en");
        assert!(started.state.matches(&params["state"]));
        assert_eq!(
            params["code_challenge"],
            started.verifier.challenge().as_str()
        );
        assert!(
            !started
                .url
                .as_str()
                .contains(started.verifier.expose_secret())
        );
    }

    #[test]
    fn states_are_random_and_compared_exactly() {
        let state = OAuthState::generate();
        assert_eq!(state.as_str().len(), 43);
        assert_ne!(state, OAuthState::generate());
        assert!(state.matches(state.as_str()));
        assert!(!state.matches(""));
        assert!(!state.matches(&state.as_str()[1..]));
        assert!(!state.matches(&format!("{}x", &state.as_str()[1..])));
    }
}
