//! `GET /oauth/callback`: where Pinterest sends the person back. It answers with a short HTML
//! page either way: what was connected, or why nothing was (and that no code was exchanged).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use pinline_pinterest::AuthorizationCode;
use pinline_vault::VaultError;
use serde::Deserialize;

use crate::state::AppState;

/// The callback's query. Everything is optional so a malformed callback still gets a page.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl std::fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code is a credential until it is exchanged.
        f.debug_struct("CallbackQuery")
            .field("code", &self.code.as_ref().map(|_| "[REDACTED]"))
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

fn page(status: StatusCode, title: &str, body: &str) -> impl IntoResponse {
    let title = html_escape::encode_text(title);
    let body = html_escape::encode_text(body);
    (
        status,
        Html(format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{title} · pinline</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;\
             padding:0 1rem;line-height:1.5}}</style></head>\
             <body><h1>{title}</h1><p>{body}</p></body></html>\n"
        )),
    )
}

/// `GET /oauth/callback?code=…&state=…` (or `error=…&state=…`).
pub async fn oauth_callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> impl IntoResponse {
    let Some(oauth_state) = query.state.as_deref().filter(|s| !s.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "This link is missing its state parameter, so it did not come from a connect started in pinline. Start the connection again.",
        )
        .into_response();
    };
    let code = query
        .code
        .filter(|code| !code.is_empty())
        .map(AuthorizationCode::new);
    if code.is_none() && query.error.is_none() {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "Pinterest sent neither an authorization code nor an error. Start the connection again.",
        )
        .into_response();
    }
    match state
        .vault()
        .complete_connect(oauth_state, code, query.error.as_deref())
        .await
    {
        Ok(connected) => {
            let mut message = format!(
                "Pinterest account @{} is {}connected to pinline. You can close this window.",
                connected.account.username,
                if connected.reconnected { "re" } else { "" }
            );
            if !connected.missing_scopes.is_empty() {
                message.push_str(&format!(
                    " Note: Pinterest did not grant {}; publishing that needs them will be refused until you reconnect and approve them.",
                    connected.missing_scopes.join(", ")
                ));
            }
            page(StatusCode::OK, "Connected", &message).into_response()
        }
        Err(error @ VaultError::ConnectRejected(_)) => {
            tracing::warn!(event = "account.connect_rejected", error = %error, "OAuth callback refused");
            page(StatusCode::BAD_REQUEST, "Not connected", &error.to_string()).into_response()
        }
        Err(error) => {
            tracing::warn!(event = "account.connect_failed", error = %error, "OAuth callback failed");
            let status = match error.class() {
                pinline_pinterest::ErrorClass::Transient => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_GATEWAY,
            };
            page(
                status,
                "Not connected",
                &format!("{error}. Start the connection again."),
            )
            .into_response()
        }
    }
}
