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
mod error;
mod extract;
mod post_input;
mod routes;
mod state;

use axum::Router;
use axum::routing::{get, post};

pub use auth::Caller;
pub use error::ApiError;
pub use state::AppState;

/// The whole router.
pub fn router(state: AppState) -> Router {
    use routes::{accounts, callback, health, posts, webhooks};
    let v1 = Router::new()
        .route("/accounts", get(accounts::list_accounts))
        .route("/accounts/connect", post(accounts::connect_account))
        .route(
            "/accounts/{account_id}",
            get(accounts::get_account).delete(accounts::delete_account),
        )
        .route(
            "/accounts/{account_id}/refresh",
            post(accounts::refresh_account),
        )
        .route(
            "/accounts/{account_id}/boards",
            get(accounts::list_boards).post(accounts::create_board),
        )
        .route("/posts", get(posts::list_posts).post(posts::create_post))
        .route("/posts/batch", post(posts::create_posts_batch))
        .route(
            "/posts/{post_id}",
            get(posts::get_post)
                .patch(posts::patch_post)
                .delete(posts::delete_post),
        )
        .route(
            "/webhooks",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/webhooks/{webhook_id}",
            get(webhooks::get_webhook).delete(webhooks::delete_webhook),
        )
        .route(
            "/webhooks/{webhook_id}/deliveries",
            get(webhooks::list_deliveries),
        )
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint",
            )
        });
    Router::new()
        .nest("/v1", v1)
        .route("/oauth/callback", get(callback::oauth_callback))
        .route("/healthz", get(health::healthz))
        .merge(dashboard::router(state.clone()))
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
