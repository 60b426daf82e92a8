//! The in-memory model of a fake Pinterest: users, boards, sections, pins, media uploads, OAuth
//! codes and tokens, and the counters behind `/_sandbox/stats`.
//!
//! One `State` sits behind one mutex. Every collection that a request touches on the hot path
//! (token lookup, pin creation, listing a board's pins) is a map or an ordered per-owner index,
//! so no request scans all pins. Ids are allocated from one increasing counter, which makes "newest
//! first" the same as "highest id first" and lets bookmarks be plain ids.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use base64::Engine as _;
use pinline_pinterest::facts::Scope;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

/// Internal numeric id; on the wire every id is its decimal digit string.
pub type Id = u64;

/// Ids start high so they look like Pinterest's 18-digit ids.
const ID_BASE: Id = 100_000_000_000_000_000;

/// A sandbox user (a Pinterest account).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: Id,
    pub username: String,
    pub created_at: i64,
    /// A system user (a business's machine identity). Pinterest's `token/revoke` only revokes
    /// tokens issued for system users and refuses everyone else's with 403 code 29, so whether
    /// an app can revoke a token depends on this. State files from before the flag existed load
    /// every user as an ordinary one.
    #[serde(default)]
    pub system: bool,
}

/// Board privacy as the spec's `BoardPrivacy` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Privacy {
    Public,
    Protected,
    Secret,
}

impl Privacy {
    pub fn parse(s: &str) -> Option<Privacy> {
        match s {
            "PUBLIC" => Some(Privacy::Public),
            "PROTECTED" => Some(Privacy::Protected),
            "SECRET" => Some(Privacy::Secret),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::Public => "PUBLIC",
            Privacy::Protected => "PROTECTED",
            Privacy::Secret => "SECRET",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Board {
    pub id: Id,
    pub owner: Id,
    pub name: String,
    pub description: Option<String>,
    pub privacy: Privacy,
    pub is_ads_only: bool,
    pub created_at: i64,
    pub pins_modified_at: i64,
}

impl Board {
    pub fn is_secret(&self) -> bool {
        self.privacy == Privacy::Secret
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Section {
    pub id: Id,
    pub board: Id,
    pub name: String,
}

/// One image of a multiple-image pin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageItem {
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
}

/// What a pin shows, as created from its `media_source`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PinMedia {
    Image {
        url: String,
    },
    Images {
        items: Vec<ImageItem>,
    },
    Video {
        media_id: Id,
        cover_image_url: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pin {
    pub id: Id,
    pub owner: Id,
    pub board: Id,
    pub section: Option<Id>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    pub dominant_color: Option<String>,
    pub parent_pin_id: Option<String>,
    pub media: PinMedia,
    pub created_at: i64,
}

/// The spec's `MediaUploadStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    Registered,
    Processing,
    Succeeded,
    Failed,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaStatus::Registered => "registered",
            MediaStatus::Processing => "processing",
            MediaStatus::Succeeded => "succeeded",
            MediaStatus::Failed => "failed",
        }
    }
}

/// A media upload. It is `registered` until its file arrives, then `processing` until the
/// sandbox clock reaches `processing_ends_at_millis`, then `succeeded` (or `failed`, when the
/// upload asked for that outcome); [`Media::status_at`] works out which.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Media {
    pub id: Id,
    pub owner: Id,
    /// `registered`, or `processing` once uploaded. Read the status through
    /// [`Media::status_at`]: this field does not move on when processing ends. State files from
    /// before processing was modelled hold `succeeded` or `failed` here, which stay as they are.
    #[serde(rename = "status")]
    pub recorded_status: MediaStatus,
    /// When processing ends, in sandbox clock milliseconds.
    #[serde(default)]
    pub processing_ends_at_millis: Option<i64>,
    /// Processing ends in `failed` rather than `succeeded`.
    #[serde(default)]
    pub processing_fails: bool,
    pub created_at: i64,
}

impl Media {
    /// The status a client sees at `now_millis` on the sandbox clock.
    pub fn status_at(&self, now_millis: i64) -> MediaStatus {
        match self.recorded_status {
            MediaStatus::Processing
                if self
                    .processing_ends_at_millis
                    .is_none_or(|end| end <= now_millis) =>
            {
                if self.processing_fails {
                    MediaStatus::Failed
                } else {
                    MediaStatus::Succeeded
                }
            }
            status => status,
        }
    }
}

/// An issued access token. The map key is the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    pub user: Id,
    #[serde(with = "scope_names")]
    pub scopes: Vec<Scope>,
    pub expires_at: i64,
    /// The authorization (code or control mint) this token descends from; reuse detection and
    /// code replay revoke a whole grant.
    pub grant: Id,
    pub revoked: bool,
}

/// Where a refresh token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RefreshStatus {
    Active,
    /// Replaced by a successor at `at` (sandbox clock seconds).
    Rotated {
        at: i64,
    },
    Revoked,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub user: Id,
    pub client_id: String,
    #[serde(with = "scope_names")]
    pub scopes: Vec<Scope>,
    pub expires_at: i64,
    pub grant: Id,
    pub status: RefreshStatus,
    /// A legacy refresh token: a refresh issues a new access token and hands the same refresh
    /// token back with its first expiry, so it ends when it ends.
    #[serde(default)]
    pub legacy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user: Id,
    #[serde(with = "scope_names")]
    pub scopes: Vec<Scope>,
    /// The S256 PKCE challenge given at authorization, if any.
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    pub used: bool,
    pub grant: Id,
}

/// Token requests per grant type (every request with that `grant_type` that passed client
/// authentication, successful or not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequestStats {
    pub authorization_code: u64,
    pub refresh_token: u64,
    /// Code exchanges that sent `continuous_refresh=true`.
    #[serde(default)]
    pub continuous_refresh: u64,
    /// Code exchanges answered with a legacy refresh token.
    #[serde(default)]
    pub legacy_issued: u64,
}

/// Counters behind `GET /_sandbox/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub token_requests: TokenRequestStats,
    /// Token pairs minted through the control API (not counted as token requests).
    pub tokens_minted: u64,
    pub pins_created: u64,
    pub pins_deleted: u64,
    pub boards_created: u64,
    pub media_created: u64,
    pub responses_429: u64,
    /// A rotated or revoked refresh token presented again.
    pub refresh_token_reuse: u64,
    /// Every request under `/v5`.
    pub requests_total: u64,
    pub faults_injected: u64,
    /// Pins created per user id (cumulative; deletes do not subtract).
    pub pins_by_user: BTreeMap<String, u64>,
    /// Requests that reached `POST /v5/oauth/token`, counted on arrival, before faults, client
    /// authentication or a delay: a test can act while a token request is still in flight.
    #[serde(default)]
    pub token_endpoint_requests: u64,
    /// The last [`RECENT_TOKEN_REQUESTS`] of those requests, oldest first, as they arrived: with
    /// the peer's port, a test that runs several clients can tell which process is waiting for
    /// an answer, and with `held_ms`, which request a fault is holding.
    #[serde(default)]
    pub recent_token_requests: VecDeque<TokenRequestSeen>,
    /// Refresh grants refused per user id (a rotated, revoked or expired refresh token, or a
    /// scope it does not cover): the sandbox's own record of which users it ever refused, so a
    /// client that gives up on an account can be checked against it.
    #[serde(default)]
    pub refresh_refused_by_user: BTreeMap<String, u64>,
}

/// How many token requests [`Stats::recent_token_requests`] keeps.
pub const RECENT_TOKEN_REQUESTS: usize = 64;

/// One request that reached the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequestSeen {
    /// The client's address and port (absent when the router runs without connection info).
    pub peer: Option<String>,
    /// How long fault rules delay it before it is answered.
    pub held_ms: u64,
}

/// A freshly issued access/refresh token pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub scopes: Vec<Scope>,
    pub expires_in: i64,
    pub refresh_token_expires_in: i64,
    pub refresh_token_expires_at: i64,
}

/// Lifetimes used when issuing tokens (from the config).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_secs: i64,
    pub refresh_secs: i64,
    /// Issue a legacy refresh token (whose lifetime `refresh_secs` then is).
    pub legacy: bool,
}

/// The whole fake Pinterest.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    next_id: u64,
    pub users: BTreeMap<Id, User>,
    pub usernames: HashMap<String, Id>,
    pub boards: HashMap<Id, Board>,
    pub boards_by_user: HashMap<Id, BTreeSet<Id>>,
    pub sections: HashMap<Id, Section>,
    pub sections_by_board: HashMap<Id, BTreeSet<Id>>,
    pub pins: HashMap<Id, Pin>,
    pub pins_by_board: HashMap<Id, BTreeSet<Id>>,
    pub pins_by_section: HashMap<Id, BTreeSet<Id>>,
    pub pins_by_user: HashMap<Id, BTreeSet<Id>>,
    pub media: HashMap<Id, Media>,
    pub media_by_user: HashMap<Id, BTreeSet<Id>>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, AuthCode>,
    pub stats: Stats,
}

/// Why a user could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateUserError {
    Taken,
    Invalid,
}

impl State {
    /// Allocates a fresh id, larger than every id before it.
    pub fn next_id(&mut self) -> Id {
        self.next_id += 1;
        ID_BASE + self.next_id
    }

    /// Creates an ordinary user, or with `system` a system user.
    pub fn create_user(
        &mut self,
        username: &str,
        system: bool,
        now: i64,
    ) -> Result<User, CreateUserError> {
        let username = username.trim();
        let valid = !username.is_empty()
            && username.len() <= 30
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !valid {
            return Err(CreateUserError::Invalid);
        }
        if self.usernames.contains_key(username) {
            return Err(CreateUserError::Taken);
        }
        let user = User {
            id: self.next_id(),
            username: username.to_owned(),
            created_at: now,
            system,
        };
        self.usernames.insert(user.username.clone(), user.id);
        self.users.insert(user.id, user.clone());
        Ok(user)
    }

    pub fn username(&self, user: Id) -> &str {
        self.users.get(&user).map_or("", |u| u.username.as_str())
    }

    /// True when `user` exists and is a system user.
    pub fn is_system_user(&self, user: Id) -> bool {
        self.users.get(&user).is_some_and(|u| u.system)
    }

    /// Issues a new access token for a legacy refresh token (`refresh_token`, recorded as
    /// `record`), which is handed back unchanged: its expiry stays where the connect put it.
    pub fn issue_legacy_refresh(
        &mut self,
        refresh_token: &str,
        record: &RefreshToken,
        scopes: Vec<Scope>,
        now: i64,
        lifetimes: Lifetimes,
    ) -> TokenPair {
        let access_token = random_token(pinline_pinterest::facts::ACCESS_TOKEN_PREFIX);
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                user: record.user,
                scopes: scopes.clone(),
                expires_at: now + lifetimes.access_secs,
                grant: record.grant,
                revoked: false,
            },
        );
        TokenPair {
            access_token,
            refresh_token: refresh_token.to_owned(),
            scopes,
            expires_in: lifetimes.access_secs,
            refresh_token_expires_in: (record.expires_at - now).max(0),
            refresh_token_expires_at: record.expires_at,
        }
    }

    /// Issues a new token pair in `grant` and records it.
    pub fn issue_tokens(
        &mut self,
        user: Id,
        client_id: &str,
        scopes: Vec<Scope>,
        grant: Id,
        now: i64,
        lifetimes: Lifetimes,
    ) -> TokenPair {
        let access_token = random_token(pinline_pinterest::facts::ACCESS_TOKEN_PREFIX);
        let refresh_token = random_token(pinline_pinterest::facts::REFRESH_TOKEN_PREFIX);
        let refresh_token_expires_at = now + lifetimes.refresh_secs;
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                user,
                scopes: scopes.clone(),
                expires_at: now + lifetimes.access_secs,
                grant,
                revoked: false,
            },
        );
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshToken {
                user,
                client_id: client_id.to_owned(),
                scopes: scopes.clone(),
                expires_at: refresh_token_expires_at,
                grant,
                status: RefreshStatus::Active,
                legacy: lifetimes.legacy,
            },
        );
        TokenPair {
            access_token,
            refresh_token,
            scopes,
            expires_in: lifetimes.access_secs,
            refresh_token_expires_in: lifetimes.refresh_secs,
            refresh_token_expires_at,
        }
    }

    /// Revokes every access and refresh token of a grant (a replayed code, a reused refresh token,
    /// or a revoked refresh token take their whole family with them, as OAuth 2.1 advises).
    pub fn revoke_grant(&mut self, grant: Id) {
        for token in self.access_tokens.values_mut() {
            if token.grant == grant {
                token.revoked = true;
            }
        }
        for token in self.refresh_tokens.values_mut() {
            if token.grant == grant {
                token.status = RefreshStatus::Revoked;
            }
        }
    }

    /// Revokes every token of a user (what a password change does).
    pub fn revoke_user(&mut self, user: Id) {
        for token in self.access_tokens.values_mut() {
            if token.user == user {
                token.revoked = true;
            }
        }
        for token in self.refresh_tokens.values_mut() {
            if token.user == user {
                token.status = RefreshStatus::Revoked;
            }
        }
    }

    /// Makes a user's access tokens (and with `refresh`, refresh tokens) expired as of `now`.
    pub fn expire_user(&mut self, user: Id, refresh: bool, now: i64) {
        for token in self.access_tokens.values_mut() {
            if token.user == user {
                token.expires_at = token.expires_at.min(now - 1);
            }
        }
        if refresh {
            for token in self.refresh_tokens.values_mut() {
                if token.user == user {
                    token.expires_at = token.expires_at.min(now - 1);
                }
            }
        }
    }

    pub fn insert_pin(&mut self, pin: Pin) {
        let (id, owner, board, section) = (pin.id, pin.owner, pin.board, pin.section);
        self.pins.insert(id, pin);
        self.pins_by_board.entry(board).or_default().insert(id);
        self.pins_by_user.entry(owner).or_default().insert(id);
        if let Some(section) = section {
            self.pins_by_section.entry(section).or_default().insert(id);
        }
    }

    /// Removes a pin and its index entries.
    pub fn remove_pin(&mut self, id: Id) -> Option<Pin> {
        let pin = self.pins.remove(&id)?;
        self.unindex_pin_placement(&pin);
        if let Some(set) = self.pins_by_user.get_mut(&pin.owner) {
            set.remove(&id);
        }
        Some(pin)
    }

    /// Drops a pin from its board and section indexes (before a move or a delete).
    pub fn unindex_pin_placement(&mut self, pin: &Pin) {
        if let Some(set) = self.pins_by_board.get_mut(&pin.board) {
            set.remove(&pin.id);
        }
        if let Some(section) = pin.section
            && let Some(set) = self.pins_by_section.get_mut(&section)
        {
            set.remove(&pin.id);
        }
    }

    pub fn index_pin_placement(&mut self, id: Id, board: Id, section: Option<Id>) {
        self.pins_by_board.entry(board).or_default().insert(id);
        if let Some(section) = section {
            self.pins_by_section.entry(section).or_default().insert(id);
        }
    }

    pub fn board_pin_count(&self, board: Id) -> usize {
        self.pins_by_board.get(&board).map_or(0, BTreeSet::len)
    }
}

/// An opaque token: `prefix` + 43 url-safe characters from 32 random bytes.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Serializes scopes by their wire names (the facts enum is not serde-aware).
mod scope_names {
    use pinline_pinterest::facts::Scope;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(scopes: &[Scope], serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        names.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Scope>, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        names
            .iter()
            .map(|name| name.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_long() {
        let token = random_token("pina_");
        assert!(token.starts_with("pina_"));
        assert_eq!(token.len(), 5 + 43);
        assert!(
            token[5..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(token, random_token("pina_"));
    }

    #[test]
    fn ids_increase_and_are_long() {
        let mut state = State::default();
        let first = state.next_id();
        let second = state.next_id();
        assert!(second > first);
        assert_eq!(first.to_string().len(), 18);
    }

    #[test]
    fn usernames_are_unique_and_validated() {
        let mut state = State::default();
        assert!(state.create_user("alice", false, 0).is_ok());
        assert_eq!(
            state.create_user("alice", true, 0).map(|u| u.id),
            Err(CreateUserError::Taken)
        );
        assert_eq!(
            state.create_user("<b>", false, 0).map(|u| u.id),
            Err(CreateUserError::Invalid)
        );
    }

    #[test]
    fn media_processing_ends_when_the_clock_passes_its_end() {
        let mut media = Media {
            id: 1,
            owner: 2,
            recorded_status: MediaStatus::Registered,
            processing_ends_at_millis: None,
            processing_fails: false,
            created_at: 0,
        };
        assert_eq!(media.status_at(i64::MAX), MediaStatus::Registered);
        media.recorded_status = MediaStatus::Processing;
        media.processing_ends_at_millis = Some(5_000);
        assert_eq!(media.status_at(4_999), MediaStatus::Processing);
        assert_eq!(media.status_at(5_000), MediaStatus::Succeeded);
        media.processing_fails = true;
        assert_eq!(media.status_at(5_000), MediaStatus::Failed);
        // A state file written before processing was modelled still loads as it was.
        let old: Media = serde_json::from_str(
            r#"{"id": 1, "owner": 2, "status": "succeeded", "created_at": 0}"#,
        )
        .expect("loads");
        assert_eq!(old.status_at(0), MediaStatus::Succeeded);
    }

    #[test]
    fn revoking_a_grant_kills_its_whole_family() {
        let mut state = State::default();
        let lifetimes = Lifetimes {
            access_secs: 10,
            refresh_secs: 20,
            legacy: false,
        };
        let a = state.issue_tokens(1, "c", vec![Scope::PinsRead], 7, 0, lifetimes);
        let b = state.issue_tokens(1, "c", vec![Scope::PinsRead], 8, 0, lifetimes);
        state.revoke_grant(7);
        assert!(state.access_tokens[&a.access_token].revoked);
        assert_eq!(
            state.refresh_tokens[&a.refresh_token].status,
            RefreshStatus::Revoked
        );
        assert!(!state.access_tokens[&b.access_token].revoked);
    }
}
