//! `Authorization: Bearer <API key>` → the caller's profile and what the key may do. Every
//! `/v1` handler takes a [`Scoped`] caller naming the scopes it needs (a marker of [`need`]), so
//! an endpoint can forget neither to scope its data to the key's profile nor to say who may
//! call it: [`Caller`] alone is not an extractor.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::api_keys::hash_api_key;
use crate::error::ApiError;
use crate::key_scopes::{KeyScope, KeyScopes};
use crate::lockout::Peer;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub profile_id: String,
    pub key_id: String,
}

/// The scopes a handler needs, as a type: one marker per permission a route asks for.
pub trait Needs: Send + Sync + 'static {
    /// Every scope the key must have.
    const SCOPES: &'static [KeyScope];
}

/// The markers handlers name in [`Scoped`].
pub mod need {
    use super::{KeyScope, Needs};

    macro_rules! needs {
        ($($(#[$doc:meta])* $name:ident => [$($scope:ident),+];)+) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Needs for $name {
                const SCOPES: &'static [KeyScope] = &[$(KeyScope::$scope),+];
            }
        )+};
    }

    needs! {
        /// Reading accounts and their boards.
        AccountsRead => [AccountsRead];
        /// Connecting, refreshing and disconnecting accounts, creating boards.
        AccountsWrite => [AccountsWrite];
        /// Reading posts.
        PostsRead => [PostsRead];
        /// Creating, editing and canceling posts, deleting their pins.
        PostsWrite => [PostsWrite];
        /// Reading drafts.
        DraftsRead => [DraftsRead];
        /// Creating, editing and deleting drafts.
        DraftsWrite => [DraftsWrite];
        /// Publishing a draft: it changes the draft and creates a post.
        DraftsPublish => [DraftsWrite, PostsWrite];
        /// Reading webhooks and their deliveries.
        WebhooksRead => [WebhooksRead];
        /// Creating, changing and deleting webhooks, redelivering.
        WebhooksWrite => [WebhooksWrite];
        /// Taking an account's access token.
        TokenRead => [TokenRead];
    }
}

/// A caller whose key has every scope `N` needs. Derefs to the [`Caller`].
#[derive(Debug, Clone)]
pub struct Scoped<N> {
    caller: Caller,
    need: PhantomData<N>,
}

impl<N> Deref for Scoped<N> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<N: Needs> FromRequestParts<AppState> for Scoped<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (caller, scopes) = authenticate(parts, state).await?;
        if let Some(missing) = N::SCOPES.iter().find(|scope| !scopes.allows(**scope)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!(
                    "this API key lacks the `{missing}` scope (it has {}); create a key that has it: `pinline keys create --scope {missing}`",
                    scopes.describe()
                ),
            ));
        }
        Ok(Scoped {
            caller,
            need: PhantomData,
        })
    }
}

/// How fresh an API key's `last_used_at` is kept.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

const HOW_TO: &str = "send `Authorization: Bearer <API key>`; create a key with `pinline keys create --profile NAME`";

/// Finds the key's row: the caller and the key's scopes.
pub(crate) async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<(Caller, KeyScopes), ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized(format!("missing API key: {HOW_TO}")))?;
    let key = header
        .to_str()
        .ok()
        // RFC 9110 §11.1: the scheme name is case-insensitive (`bearer` works too).
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, key)| key.trim())
        .filter(|key| !key.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(format!("malformed Authorization header: {HOW_TO}"))
        })?;
    // A locked-out address is answered before any lookup, whatever key it sends now.
    let now = state.now_ms();
    let client = state
        .lockout()
        .admit(&Peer::from_parts(parts), now)
        .map_err(ApiError::locked_out)?;
    let Some(row) = state.store().api_key_by_hash(&hash_api_key(key)).await? else {
        if let Some(address) = client {
            state.lockout().fail(address, now);
        }
        return Err(ApiError::unauthorized("unknown or revoked API key"));
    };
    // "Last used" to the minute, written off the request's path: a write per request would
    // queue every API call behind SQLite's single writer.
    if row
        .last_used_at
        .is_none_or(|used| now - used > LAST_USED_RESOLUTION_MS)
    {
        let (store, key_id) = (state.store().clone(), row.id.clone());
        tokio::spawn(async move {
            if let Err(error) = store.touch_api_key(&key_id, now).await {
                tracing::warn!(key_id, error = %error, "could not record an API key's last use");
            }
        });
    }
    let scopes = KeyScopes::from_stored(row.scopes.as_deref());
    Ok((
        Caller {
            profile_id: row.profile_id,
            key_id: row.id,
        },
        scopes,
    ))
}
