//! What an API key may do. A key carries a set of scopes (`posts:read`, `posts:write`, …); every
//! `/v1` handler names the scopes it needs in its type ([`crate::auth::Scoped`]), so a route
//! cannot be added without deciding who may call it, and the OpenAPI document states the same
//! scopes per operation (a test holds the two together).
//!
//! A key created without `--scope` has every scope, as keys had before scopes existed; its
//! stored list is empty (`NULL`), so scopes added later are granted to it too.

use std::fmt;
use std::str::FromStr;

/// One permission of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    AccountsRead,
    AccountsWrite,
    PostsRead,
    PostsWrite,
    DraftsRead,
    DraftsWrite,
    WebhooksRead,
    WebhooksWrite,
    /// Reading Pinterest through the passthrough (`org_read`, `org_analytics` operations).
    PinterestRead,
    /// Writing to Pinterest through the passthrough (`org_write` operations).
    PinterestWrite,
    /// Taking an account's raw access token (`POST /v1/accounts/{id}/access-token`).
    TokenRead,
}

impl KeyScope {
    /// Every scope, in documentation order.
    pub const ALL: [KeyScope; 11] = [
        KeyScope::AccountsRead,
        KeyScope::AccountsWrite,
        KeyScope::PostsRead,
        KeyScope::PostsWrite,
        KeyScope::DraftsRead,
        KeyScope::DraftsWrite,
        KeyScope::WebhooksRead,
        KeyScope::WebhooksWrite,
        KeyScope::PinterestRead,
        KeyScope::PinterestWrite,
        KeyScope::TokenRead,
    ];

    /// The name used in keys, the CLI, errors and the OpenAPI document.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::AccountsRead => "accounts:read",
            KeyScope::AccountsWrite => "accounts:write",
            KeyScope::PostsRead => "posts:read",
            KeyScope::PostsWrite => "posts:write",
            KeyScope::DraftsRead => "drafts:read",
            KeyScope::DraftsWrite => "drafts:write",
            KeyScope::WebhooksRead => "webhooks:read",
            KeyScope::WebhooksWrite => "webhooks:write",
            KeyScope::PinterestRead => "pinterest:read",
            KeyScope::PinterestWrite => "pinterest:write",
            KeyScope::TokenRead => "token:read",
        }
    }

    /// Every scope's name, comma-separated (for messages).
    pub fn names() -> String {
        KeyScope::ALL.map(KeyScope::as_str).join(", ")
    }
}

impl fmt::Display for KeyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown API key scope `{0}`; the scopes are {names}", names = KeyScope::names())]
pub struct UnknownScope(pub String);

impl FromStr for KeyScope {
    type Err = UnknownScope;

    fn from_str(name: &str) -> Result<KeyScope, UnknownScope> {
        KeyScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name)
            .ok_or_else(|| UnknownScope(name.to_owned()))
    }
}

/// The scopes of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScopes {
    /// A key created without `--scope`: everything, now and later.
    Every,
    /// Only these.
    Only(Vec<KeyScope>),
}

impl KeyScopes {
    /// Reads the stored form: `None` (or nothing) is every scope. A stored name this version
    /// does not know grants nothing (a newer version wrote it); it is never read as more.
    pub fn from_stored(stored: Option<&str>) -> KeyScopes {
        match stored.map(str::trim).filter(|s| !s.is_empty()) {
            None => KeyScopes::Every,
            Some(list) => KeyScopes::Only(
                list.split(',')
                    .filter_map(|name| name.trim().parse().ok())
                    .collect(),
            ),
        }
    }

    /// The stored form: `None` for every scope.
    pub fn to_stored(&self) -> Option<String> {
        match self {
            KeyScopes::Every => None,
            KeyScopes::Only(scopes) => {
                let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                Some(names.join(","))
            }
        }
    }

    /// True when the key may use `scope`.
    pub fn allows(&self, scope: KeyScope) -> bool {
        match self {
            KeyScopes::Every => true,
            KeyScopes::Only(scopes) => scopes.contains(&scope),
        }
    }

    /// For people: `every scope`, or the names.
    pub fn describe(&self) -> String {
        match self {
            KeyScopes::Every => "every scope".to_owned(),
            KeyScopes::Only(scopes) => scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_named() {
        for scope in KeyScope::ALL {
            assert_eq!(scope.as_str().parse::<KeyScope>(), Ok(scope));
        }
        let error = "posts:delete".parse::<KeyScope>().expect_err("unknown");
        assert!(error.to_string().contains("posts:delete"));
        assert!(error.to_string().contains("posts:write"));
    }

    #[test]
    fn stored_lists_read_back_and_unknown_names_grant_nothing() {
        assert_eq!(KeyScopes::from_stored(None), KeyScopes::Every);
        assert_eq!(KeyScopes::from_stored(Some("")), KeyScopes::Every);
        let only = KeyScopes::Only(vec![KeyScope::PostsWrite, KeyScope::PostsRead]);
        let stored = only.to_stored().expect("a list");
        assert_eq!(stored, "posts:read,posts:write");
        let read = KeyScopes::from_stored(Some(&stored));
        assert!(read.allows(KeyScope::PostsRead) && read.allows(KeyScope::PostsWrite));
        assert!(!read.allows(KeyScope::AccountsRead));
        let future = KeyScopes::from_stored(Some("posts:read,teams:admin"));
        assert!(future.allows(KeyScope::PostsRead));
        assert!(!future.allows(KeyScope::WebhooksWrite));
    }
}
