//! pinline's HTTP server: the `/v1` API for apps (API keys scoped to profiles), the OAuth
//! callback, health, and the background work a running server does (token renewal, webhook
//! delivery, turning account events into webhooks).
//!
//! Only this crate knows HTTP handlers; it calls the vault and webhooks services and never
//! touches SQL itself.

pub mod api_keys;
mod auth;
pub mod background;
mod boards;
mod dashboard;
mod docs;
mod error;
mod extract;
mod lockout;
pub mod openapi;
mod post_input;
mod routes;
mod state;

use axum::Router;

pub use auth::Caller;
pub use error::ApiError;
pub use lockout::{Lockout, Peer};
pub use state::AppState;

/// The whole router: the documented API (`/v1`, the OAuth callback, `/healthz`), its
/// description (`/openapi.json`, `/docs`) and the dashboard.
pub fn router(state: AppState) -> Router {
    let (api, document) = openapi::api_router().split_for_parts();
    let reference = docs::Reference::new(&document);
    Router::new()
        .merge(api)
        .merge(reference.router())
        .merge(dashboard::router(state.clone()))
        .layer(axum::middleware::map_response(error::json_error_shape))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                // The path only: query strings carry OAuth codes and states.
                |request: &axum::http::Request<_>| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                },
            ),
        )
        .with_state(state)
}
