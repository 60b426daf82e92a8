//! The shared application state every handler sees, and the router that ties the Pinterest paths
//! (`/v5/…`), the consent page (`/oauth/`) and the control API (`/_sandbox/…`) together.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use parking_lot::{Mutex, MutexGuard};

use crate::clock::SandboxClock;
use crate::config::{RefreshTokenPolicy, SandboxConfig};
use crate::errors::ApiError;
use crate::faults::Faults;
use crate::ratelimit::RateLimiter;
use crate::state::{Lifetimes, State};
use crate::{auth, control, oauth, resources};

/// Everything shared by the handlers of one sandbox.
#[derive(Debug)]
pub struct Shared {
    pub config: SandboxConfig,
    pub clock: Arc<SandboxClock>,
    state: Mutex<State>,
    pub limiter: RateLimiter,
    pub faults: Faults,
    /// `http://127.0.0.1:PORT`, used to build upload and image URLs that point back at us.
    pub base_url: String,
    /// Set by every mutation, cleared by the periodic save.
    pub dirty: AtomicBool,
    /// Which refresh tokens code exchanges get: the configured policy, changeable through the
    /// control API (`POST /_sandbox/app`) as an app's settings can change.
    pub refresh_tokens: Mutex<RefreshTokenPolicy>,
    /// Held for a whole save (snapshot and file write), so saves never overlap: a slower, older
    /// snapshot can never be renamed over a newer one, and shutdown waits for a save in flight.
    pub save_lock: Mutex<()>,
}

/// The state handlers extract.
pub type AppState = Arc<Shared>;

impl Shared {
    pub fn new(
        config: SandboxConfig,
        clock: Arc<SandboxClock>,
        state: State,
        base_url: String,
    ) -> Self {
        Shared {
            limiter: RateLimiter::new(&config.rates, config.universal_rate),
            faults: Faults::new(config.seed),
            refresh_tokens: Mutex::new(config.refresh_tokens),
            config,
            clock,
            state: Mutex::new(state),
            base_url,
            dirty: AtomicBool::new(false),
            save_lock: Mutex::new(()),
        }
    }

    /// Locks the model for reading. Keep the guard short: never hold it across an `.await`.
    pub fn read(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Locks the model for a change and marks it dirty for the next save.
    pub fn write(&self) -> MutexGuard<'_, State> {
        let guard = self.state.lock();
        // Marked while holding the lock: a save that clears the flag and then takes the lock is
        // guaranteed to see this change, so no change is ever left unsaved with the flag clear.
        self.dirty.store(true, Ordering::Release);
        guard
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access_secs: self.config.access_token_lifetime_secs,
            refresh_secs: self.config.refresh_token_lifetime_secs,
            legacy: false,
        }
    }
}

/// Builds the whole router over `state`.
pub fn router(state: AppState) -> Router {
    let v5 = resources::routes()
        .route("/oauth/token", post(oauth::post_token))
        .route("/oauth/token/revoke", post(oauth::post_revoke))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::gate,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/v5", v5)
        .route("/oauth/", get(oauth::get_consent).post(oauth::post_consent))
        .route("/oauth", get(oauth::get_consent).post(oauth::post_consent))
        .nest("/_sandbox", control::routes())
        // Base64 images and uploaded videos can be large; Pinterest accepts them, so must we.
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, 404, "Not found.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        405,
        "Method not allowed.",
    )
}
