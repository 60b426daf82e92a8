//! Dashboard sessions: a random token in an HttpOnly cookie, and the session it names kept in
//! this process's memory together with its CSRF token.
//!
//! Limits, on purpose for now: sessions live in one process, so they do not survive a restart
//! and a person whose requests move between replicas behind a load balancer must sign in on each
//! (or the balancer must be sticky). The store keeps no sessions so that the only credential it
//! knows stays the API key's hash. Each request re-checks that the API key behind the session is
//! still live, so revoking a key ends its dashboard sessions at once.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pinline_session";
/// The cookie that binds the sign-in form to the browser that loaded it (login CSRF).
pub const SIGNIN_COOKIE: &str = "pinline_signin";
/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3600 * 1000;
/// Sessions kept at most; the oldest go first when a sign-in finds the table full.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub profile_id: String,
    pub key_id: String,
    /// The SHA-256 of the API key used to sign in, to re-check the key on every request.
    pub key_hash: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

/// The process-local session table, keyed by the SHA-256 of the cookie's token so that the
/// table itself holds nothing a browser could present.
#[derive(Debug, Default)]
pub struct Sessions {
    table: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session; returns the cookie's token.
    pub fn create(
        &self,
        profile_id: String,
        key_id: String,
        key_hash: String,
        now_ms: i64,
    ) -> String {
        let token = random_token();
        let session = Session {
            profile_id,
            key_id,
            key_hash,
            csrf_token: random_token(),
            expires_at_ms: now_ms + SESSION_LIFETIME_MS,
        };
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, session| session.expires_at_ms > now_ms);
        while table.len() >= MAX_SESSIONS {
            let oldest = table
                .iter()
                .min_by_key(|(_, session)| session.expires_at_ms)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => table.remove(&id),
                None => break,
            };
        }
        table.insert(token_hash(&token), session);
        token
    }

    /// The live session named by a cookie token.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<Session> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let id = token_hash(token);
        match table.get(&id) {
            Some(session) if session.expires_at_ms > now_ms => Some(session.clone()),
            Some(_) => {
                table.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn remove(&self, token: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&token_hash(token));
    }
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
    fn sessions_expire_and_end() {
        let sessions = Sessions::default();
        let token = sessions.create("p".into(), "k".into(), "h".into(), 1_000);
        let session = sessions.get(&token, 2_000).expect("live");
        assert_eq!(session.profile_id, "p");
        assert_ne!(session.csrf_token, token);
        assert!(sessions.get("other", 2_000).is_none());
        assert!(sessions.get(&token, 1_000 + SESSION_LIFETIME_MS).is_none());
        let token = sessions.create("p".into(), "k".into(), "h".into(), 1_000);
        sessions.remove(&token);
        assert!(sessions.get(&token, 2_000).is_none());
    }

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
