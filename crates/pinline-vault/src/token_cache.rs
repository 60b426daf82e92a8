//! The decrypted access tokens of recently used accounts, so that publishing a post needs no
//! read of the account row and no decryption when the caller already knows the account's state.
//!
//! An entry is the access token of one account at one `token_version`, with what the vault
//! checks before handing a token out: the token's expiry, the app it was issued to
//! (environment, client id) and the account's status when it was stored. It serves
//! [`Vault::call_known`](crate::Vault::call_known) only, and only when the caller's
//! [`KnownAccount`] names that exact version and a usable status.
//!
//! **Invalidation rule.** Every change of an account's tokens bumps `token_version` in the
//! database (refresh, reconnect, disconnect). A caller passes the version it read in the same
//! statement that claimed its work, so a refresh by another process is seen at the next claim:
//! the version differs, the cache misses, and the vault reloads the row (and refills the entry).
//! Changes of status that keep the version (`needs_reauth` after a refused refresh or a refused
//! fresh token) reach callers through the status read by the same claim, which
//! [`KnownAccount`] carries; a status other than usable always takes the full path, whose errors
//! carry the stored reason. Changes made by this process update or drop the entry at once
//! (refresh, a 401 on the cached token, `needs_reauth`, disconnect, reconnect), so the next
//! claim's version finds it current.
//!
//! What the cache does not see: an interrupted refresh's marker (`refresh_started_at`), which
//! the full path treats as a reason to refresh. The background sweep settles those, and a token
//! that Pinterest stopped honouring meanwhile answers 401, which refreshes and retries.
//!
//! **Memory.** At most [`CAPACITY`] entries (a few hundred bytes each). When full, the least
//! recently used eighth is dropped in one pass, so eviction costs O(1) per insert amortised
//! and a process serving more accounts than that only pays a reload for the cold ones.
//!
//! Tokens stay in [`AccessToken`]: zeroed on drop, redacted in `Debug`. The cache's own `Debug`
//! shows how many entries it holds, nothing else.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use pinline_pinterest::AccessToken;

use crate::AccountStatus;

/// The most accounts whose tokens are kept at once: 10,000 active accounts fit with room.
pub const CAPACITY: usize = 16_384;

/// What a caller read of an account in the statement that claimed its work, and passes to
/// [`Vault::call_known`](crate::Vault::call_known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAccount {
    /// The account's `token_version` as the claim read it.
    pub token_version: i64,
    /// The account's status as the claim read it.
    pub status: AccountStatus,
}

impl KnownAccount {
    /// From a claim's columns: the token version and the stored status name.
    pub fn new(token_version: i64, status: &str) -> KnownAccount {
        KnownAccount {
            token_version,
            status: AccountStatus::parse(status),
        }
    }

    /// Whether the status lets a token be used without looking at the row again.
    pub(crate) fn usable(&self) -> bool {
        matches!(
            self.status,
            AccountStatus::Active | AccountStatus::Refreshing
        )
    }
}

/// One account's cached token and the inputs of the checks made before using it.
pub(crate) struct Entry {
    pub version: i64,
    pub token: AccessToken,
    /// Unix ms.
    pub access_expires_at: i64,
    pub environment: String,
    pub client_id: String,
    pub status: AccountStatus,
    /// The cache's clock when the entry was last used, for eviction.
    last_used: u64,
}

impl Entry {
    pub fn new(
        version: i64,
        token: AccessToken,
        access_expires_at: i64,
        environment: String,
        client_id: String,
        status: AccountStatus,
    ) -> Entry {
        Entry {
            version,
            token,
            access_expires_at,
            environment,
            client_id,
            status,
            last_used: 0,
        }
    }
}

/// The token cache (see the module doc).
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Counts uses; an entry's `last_used` is this counter's value at its last use.
    tick: u64,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.len())
            .finish()
    }
}

/// What a hit hands back: the token, and the inputs of the vault's checks.
pub(crate) struct Hit {
    pub token: AccessToken,
    pub access_expires_at: i64,
    pub environment: String,
    pub client_id: String,
    pub status: AccountStatus,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (every change is one
        // insert or remove), so a poisoned lock is used as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entry of `account_id` if it holds exactly `version`.
    pub fn get(&self, account_id: &str, version: i64) -> Option<Hit> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let entry = state.entries.get_mut(account_id)?;
        if entry.version != version {
            return None;
        }
        entry.last_used = tick;
        Some(Hit {
            token: entry.token.clone(),
            access_expires_at: entry.access_expires_at,
            environment: entry.environment.clone(),
            client_id: entry.client_id.clone(),
            status: entry.status,
        })
    }

    /// Stores `entry` for `account_id`, unless the entry there is of a newer version (a slower
    /// caller finishing after a refresh must not put back the older token).
    pub fn put(&self, account_id: &str, mut entry: Entry) {
        let mut state = self.lock();
        if state
            .entries
            .get(account_id)
            .is_some_and(|current| current.version > entry.version)
        {
            return;
        }
        state.tick += 1;
        entry.last_used = state.tick;
        if state.entries.len() >= CAPACITY && !state.entries.contains_key(account_id) {
            evict_least_recently_used(&mut state.entries);
        }
        state.entries.insert(account_id.to_owned(), entry);
    }

    /// Drops the entry of `account_id`; with `version`, only if it holds that version.
    pub fn forget(&self, account_id: &str, version: Option<i64>) {
        let mut state = self.lock();
        if version.is_none_or(|version| {
            state
                .entries
                .get(account_id)
                .is_some_and(|entry| entry.version == version)
        }) {
            state.entries.remove(account_id);
        }
    }

    /// How many accounts have an entry.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

/// Drops the least recently used eighth of a full map in one pass.
fn evict_least_recently_used(entries: &mut HashMap<String, Entry>) {
    let mut uses: Vec<u64> = entries.values().map(|entry| entry.last_used).collect();
    let cut = uses.len() / 8;
    let (_, threshold, _) = uses.select_nth_unstable(cut);
    let threshold = *threshold;
    entries.retain(|_, entry| entry.last_used > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: i64) -> Entry {
        Entry::new(
            version,
            AccessToken::new(format!("pina_{version}")),
            1_000,
            "production".into(),
            "app".into(),
            AccountStatus::Active,
        )
    }

    #[test]
    fn a_hit_needs_the_exact_version() {
        let cache = TokenCache::default();
        cache.put("a", entry(3));
        assert!(cache.get("a", 3).is_some());
        assert!(cache.get("a", 4).is_none());
        assert!(cache.get("a", 2).is_none());
        assert!(cache.get("b", 3).is_none());
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = TokenCache::default();
        cache.put("a", entry(5));
        cache.put("a", entry(4));
        assert!(cache.get("a", 5).is_some());
        cache.put("a", entry(6));
        assert!(cache.get("a", 6).is_some());
    }

    #[test]
    fn forgetting_a_version_spares_a_newer_entry() {
        let cache = TokenCache::default();
        cache.put("a", entry(5));
        cache.forget("a", Some(4));
        assert!(cache.get("a", 5).is_some());
        cache.forget("a", Some(5));
        assert!(cache.get("a", 5).is_none());
        cache.put("a", entry(6));
        cache.forget("a", None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used() {
        let cache = TokenCache::default();
        for i in 0..CAPACITY {
            cache.put(&format!("account-{i}"), entry(1));
        }
        assert_eq!(cache.len(), CAPACITY);
        // The oldest entry is used again, so it survives the next eviction.
        assert!(cache.get("account-0", 1).is_some());
        cache.put("newcomer", entry(1));
        assert!(cache.len() <= CAPACITY);
        assert!(cache.len() > CAPACITY * 3 / 4);
        assert!(cache.get("account-0", 1).is_some());
        assert!(cache.get("account-1", 1).is_none());
        assert!(cache.get("newcomer", 1).is_some());
    }

    #[test]
    fn debug_shows_no_token() {
        let cache = TokenCache::default();
        cache.put("a", entry(1));
        let shown = format!("{cache:?}");
        assert!(!shown.contains("pina_"), "{shown}");
        assert!(shown.contains("entries: 1"), "{shown}");
    }
}
