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
mod body;
mod carousel;
pub mod cooldowns;
mod dashboard;
mod docs;
mod edge;
mod error;
mod extract;
pub mod key_scopes;
mod lockout;
mod mcp;
mod metrics;
pub mod openapi;
pub mod passthrough;
mod post_input;
mod routes;
mod schemas;
mod section_names;
pub mod serve;
mod state;
mod text;

use axum::Router;

pub use auth::Caller;
pub use error::ApiError;
pub use lockout::{Lockout, Peer};
pub use serve::{ConnectionLimits, serve};
pub use state::AppState;

/// The routes outside the OpenAPI document, by method and path: the document itself and its
/// page (`docs.rs`), the metrics (routed below) and the dashboard (`dashboard/mod.rs`). A route added there is listed here
/// too, so that the suite checks its headers and error shape with every other route's.
pub const UNDOCUMENTED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", "/dashboard"),
    ("POST", "/dashboard/connect"),
    ("POST", "/dashboard/accounts/{account_id}/reconnect"),
    ("GET", "/accounts/{account_id}/reconnect"),
    ("GET", "/dashboard/accounts/{account_id}/calendar"),
    ("POST", "/dashboard/accounts/{account_id}/slots"),
    ("POST", "/dashboard/accounts/{account_id}/campaign"),
    ("POST", "/dashboard/posts/{post_id}/reschedule"),
    ("GET", "/dashboard/posts"),
    ("GET", "/dashboard/posts/{post_id}"),
    ("GET", "/dashboard/webhooks"),
    ("GET", "/dashboard/audit"),
    ("GET", "/dashboard/drafts"),
    ("POST", "/dashboard/drafts"),
    ("GET", "/dashboard/drafts/{draft_id}/image"),
    ("POST", "/dashboard/drafts/{draft_id}/publish"),
    ("GET", "/pinterest/v5/{*path}"),
    ("POST", "/pinterest/v5/{*path}"),
    ("PATCH", "/pinterest/v5/{*path}"),
    ("DELETE", "/pinterest/v5/{*path}"),
];

/// The whole router: the documented API (`/v1`, the OAuth callback, `/healthz`), its
/// description (`/openapi.json`, `/docs`), the metrics, the dashboard, and the MCP server at
/// `/mcp`, whose tools call all of that in process.
pub fn router(state: AppState) -> Router {
    // The app without `/mcp` is what the MCP tools send their requests to; the app served has
    // `/mcp` inside the same layers (edge checks, error shape, headers, metrics).
    let (api, document) = app(&state, Router::new());
    let mcp = mcp::router(&state, api, &document);
    app(&state, mcp).0
}

/// Every route but `/mcp`, plus `extra`, with the layers every answer goes through.
fn app(state: &AppState, extra: Router<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    let (api, document) = openapi::api_router().split_for_parts();
    let reference = docs::Reference::new(&document);
    let routes = Router::new()
        .merge(api)
        .merge(reference.router())
        .merge(dashboard::router(state.clone()))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .route(
            "/pinterest/v5/{*path}",
            axum::routing::any(passthrough::forward),
        )
        .merge(extra)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_requests,
        ))
        .layer(axum::middleware::from_fn(edge::refuse_hostile_requests))
        .layer(axum::middleware::map_response(error::json_error_shape));
    let app = edge::with_response_headers(routes)
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
        .with_state(state.clone());
    (app, document)
}

#[cfg(test)]
mod tests {
    use super::UNDOCUMENTED_ROUTES;

    /// The paths routed in a source file: every string literal that opens a `.route(` call.
    fn routed_paths(source: &str) -> Vec<String> {
        source
            .split(".route(")
            .skip(1)
            .filter_map(|call| {
                let call = call.trim_start();
                let rest = call.strip_prefix('"')?;
                Some(rest[..rest.find('"')?].to_owned())
            })
            .collect()
    }

    #[test]
    fn the_table_of_undocumented_routes_lists_every_one() {
        let mut routed = routed_paths(include_str!("dashboard/mod.rs"));
        routed.extend(routed_paths(include_str!("docs.rs")));
        // This file's routes, above the tests (whose own text names `.route(`).
        let here = include_str!("lib.rs");
        routed.extend(routed_paths(
            here.split("#[cfg(test)]").next().unwrap_or(here),
        ));
        routed.sort();
        routed.dedup();
        let mut listed: Vec<String> = UNDOCUMENTED_ROUTES
            .iter()
            .map(|(_, path)| (*path).to_owned())
            .collect();
        listed.sort();
        listed.dedup();
        assert_eq!(routed, listed);
    }
}
