//! `/mcp`: pinline's MCP server over the Streamable HTTP transport (see `pinline_mcp`). Its
//! tools send their requests to this process's own router, in process, with the MCP request's
//! `Authorization`: so the key, its profile and its scopes are checked exactly as for the API.
//! The endpoint itself wants a valid API key too, so a session is never opened for nobody.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;

use crate::auth::authenticate;
use crate::state::AppState;

/// The `/mcp` routes over `api` (the rest of the app), answering `Host`s of loopback and of the
/// public URL.
pub fn router(state: &AppState, api: Router, document: &OpenApi) -> Router<AppState> {
    let document = serde_json::to_value(document).unwrap_or_default();
    let mut hosts = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(public) = url::Url::parse(&state.vault().settings().public_url)
        && let Some(host) = public.host_str()
    {
        hosts.push(host.to_owned());
        if let Some(port) = public.port() {
            hosts.push(format!("{host}:{port}"));
        }
    }
    match pinline_mcp::http_service(api, &document, hosts) {
        Ok(service) => {
            Router::new()
                .nest_service("/mcp", service)
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    require_api_key,
                ))
        }
        Err(error) => {
            // The document is this build's own: a mismatch is a bug, reported, not served.
            tracing::error!(%error, "the MCP server could not be set up; /mcp is not served");
            Router::new()
        }
    }
}

/// Middleware: a valid API key before any MCP exchange.
async fn require_api_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(refusal) = authenticate(&parts, &state).await {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
