//! Dashboard sessions: a random token in an HttpOnly cookie names a session row in the
//! database, shared by every replica, together with its CSRF token.
//!
//! The row is keyed by the SHA-256 of the cookie's token, so the table holds nothing a browser
//! could present. The store returns a session only while its API key is live, so revoking a key
//! ends its dashboard sessions at once, on every replica.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pinline_store::{SessionRow, Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pinline_session";
/// The cookie that binds the sign-in form to the browser that loaded it (login CSRF).
pub const SIGNIN_COOKIE: &str = "pinline_signin";
/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3600 * 1000;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub profile_id: String,
    /// The API key the person signed in with.
    pub key_id: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
}

/// Starts a session for the API key `key_id` of `profile_id`; returns the cookie's token.
pub async fn create(
    store: &Store,
    profile_id: String,
    key_id: String,
    now_ms: i64,
) -> Result<String, StoreError> {
    let token = random_token();
    store
        .insert_session(&SessionRow {
            id: token_hash(&token),
            profile_id,
            api_key_id: key_id,
            csrf_token: random_token(),
            created_at: now_ms,
            expires_at: now_ms + SESSION_LIFETIME_MS,
        })
        .await?;
    Ok(token)
}

/// The live session named by a cookie token (not expired, its key not revoked).
pub async fn get(store: &Store, token: &str, now_ms: i64) -> Result<Option<Session>, StoreError> {
    Ok(store
        .session(&token_hash(token), now_ms)
        .await?
        .map(|row| Session {
            profile_id: row.profile_id,
            key_id: row.api_key_id,
            csrf_token: row.csrf_token,
        }))
}

/// Ends a session.
pub async fn remove(store: &Store, token: &str) -> Result<(), StoreError> {
    store.delete_session(&token_hash(token)).await
}

/// 256 random bits, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure when served over HTTPS.
/// `max_age_secs` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_comparisons() {
        assert_eq!(
            cookie_value("a=1; pinline_session=xyz; b=2", SESSION_COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value("pinline_session_x=1", SESSION_COOKIE), None);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        let cookie = set_cookie(SESSION_COOKIE, "v", 60, true);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(cookie.ends_with("; Secure"));
        assert!(!set_cookie(SESSION_COOKIE, "v", 60, false).contains("Secure"));
    }
}
