//! API keys: `pl_` followed by 256 random bits in base64url. Only the SHA-256 of a key is
//! stored (a key has enough entropy that a fast hash is safe), with its first characters kept
//! as a non-secret prefix so people can tell their keys apart.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pinline_store::{ApiKeyRow, Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::key_scopes::KeyScopes;

const KEY_PREFIX: &str = "pl_";
const SHOWN_PREFIX_LEN: usize = 10;

/// A freshly created API key: shown once, never stored.
pub struct NewApiKey {
    pub key: String,
    pub row: ApiKeyRow,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

/// The stored form of a key.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key with every scope for the profile named `profile_name` (creating the profile
/// if needed).
pub async fn create_api_key(
    store: &Store,
    profile_name: &str,
    key_name: &str,
    now_ms: i64,
) -> Result<NewApiKey, StoreError> {
    create_scoped_api_key(store, profile_name, key_name, &KeyScopes::Every, now_ms).await
}

/// Creates a key that may do only what `scopes` allow.
pub async fn create_scoped_api_key(
    store: &Store,
    profile_name: &str,
    key_name: &str,
    scopes: &KeyScopes,
    now_ms: i64,
) -> Result<NewApiKey, StoreError> {
    let profile = store
        .profile_by_name_or_create(profile_name, &uuid::Uuid::now_v7().to_string(), now_ms)
        .await?;
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
    let row = ApiKeyRow {
        id: uuid::Uuid::now_v7().to_string(),
        profile_id: profile.id,
        name: key_name.to_owned(),
        key_prefix: key[..SHOWN_PREFIX_LEN].to_owned(),
        created_at: now_ms,
        last_used_at: None,
        revoked_at: None,
        scopes: scopes.to_stored(),
    };
    store.insert_api_key(&row, &hash_api_key(&key)).await?;
    Ok(NewApiKey { key, row })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_hide_the_key() {
        let hash = hash_api_key("pl_example");
        assert_eq!(hash, hash_api_key("pl_example"));
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("example"));
    }
}
