//! `GET /oauth/callback`: where Pinterest sends the person back. It answers with a short HTML
//! page either way: what was connected, or why nothing was (and that no code was exchanged).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use pinline_pinterest::AuthorizationCode;
use pinline_vault::{ConnectRejection, Connected, VaultError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::state::AppState;

/// The callback's query. Everything is optional so a malformed callback still gets a page.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code Pinterest issued (exchanged at most once).
    code: Option<String>,
    /// The `state` pinline put in the authorize URL.
    state: Option<String>,
    /// Pinterest's error when the person declined or the request was refused.
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
#[utoipa::path(
    get,
    path = "/oauth/callback",
    operation_id = "oauth_callback",
    tag = "accounts",
    summary = "Finish connecting an account (Pinterest's redirect)",
    description = "Where Pinterest sends the person after the consent page of an `authorize_url` \
from `POST /v1/accounts/connect`; apps do not call it themselves. It answers with a short HTML \
page saying what was connected, or why nothing was. A replayed or forged callback exchanges \
nothing.",
    params(CallbackQuery),
    responses(
        (status = 200, description = "The account is connected (or reconnected).", content_type = "text/html", body = String),
        (status = 400, description = "Not connected: the link is incomplete, expired, already used, or the person declined.", content_type = "text/html", body = String),
        (status = 303, description = "A connect started with `return_to`: back to it, with `pinline_outcome`, `pinline_account_id` and `pinline_error` in the query."),
        (status = 409, description = "Not connected: the link was started for another Pinterest app or environment than pinline runs with now.", content_type = "text/html", body = String),
        (status = 502, description = "Not connected: Pinterest refused or answered in an unexpected way.", content_type = "text/html", body = String),
        (status = 503, description = "Not connected: Pinterest or the database is not answering.", content_type = "text/html", body = String),
    ),
)]
pub async fn oauth_callback(
    State(state): State<AppState>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> impl IntoResponse {
    // A query that cannot be read (a repeated parameter, say) still gets a page, not plain text.
    let Ok(Query(query)) = query else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "This link is malformed, so it did not come from Pinterest. Start the connection again.",
        )
        .into_response();
    };
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
    // An embedding app's connect sends the person back to it, whatever the outcome.
    let return_to = state
        .vault()
        .connect_return_to(oauth_state)
        .await
        .ok()
        .flatten();
    let outcome = state
        .vault()
        .complete_connect(oauth_state, code, query.error.as_deref())
        .await;
    if let Some(return_to) = return_to {
        return send_back(&return_to, &outcome).into_response();
    }
    match outcome {
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
        // The link was started under another app or environment than pinline runs with now
        // (the configuration changed in between): its code belongs to that app, so it is not
        // sent anywhere, and no account came of it.
        Err(VaultError::CredentialMismatch { stored, configured }) => {
            tracing::warn!(
                event = "account.connect_rejected",
                %stored,
                %configured,
                "OAuth callback for another app or environment refused"
            );
            page(
                StatusCode::CONFLICT,
                "Not connected",
                &format!(
                    "This connect link was started for {stored}, but pinline now runs with \
                     {configured}, so nothing was connected. Start the connection again from \
                     pinline; if the other app or environment is the right one, fix pinline's \
                     configuration first (PINTEREST_CLIENT_ID, PINTEREST_API_URL)."
                ),
            )
            .into_response()
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

/// The redirect to an embedding app's `return_to`, with the outcome in its query:
/// `pinline_outcome` (`connected`, `reconnected`, `denied`, `failed`), `pinline_account_id` on
/// success and `pinline_error` (pinline's error code) on failure. The URL was checked against
/// the allow-list when the connect started.
fn send_back(return_to: &str, outcome: &Result<Connected, VaultError>) -> Response {
    let Ok(mut url) = url::Url::parse(return_to) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "The link to go back to is not valid. Start the connection again.",
        )
        .into_response();
    };
    {
        let mut query = url.query_pairs_mut();
        match outcome {
            Ok(connected) => {
                let word = if connected.reconnected {
                    "reconnected"
                } else {
                    "connected"
                };
                query
                    .append_pair("pinline_outcome", word)
                    .append_pair("pinline_account_id", &connected.account.id);
            }
            Err(VaultError::ConnectRejected(ConnectRejection::AccessDenied)) => {
                query
                    .append_pair("pinline_outcome", "denied")
                    .append_pair("pinline_error", "access_denied");
            }
            Err(error) => {
                tracing::warn!(event = "account.connect_failed", %error, "OAuth callback failed; sending the person back");
                // A refused link says so; anything else by its class (`credential_mismatch`,
                // `transient`, `auth`, …).
                let code = match error {
                    VaultError::ConnectRejected(_) => "connect_rejected",
                    other => other.class().as_str(),
                };
                query
                    .append_pair("pinline_outcome", "failed")
                    .append_pair("pinline_error", code);
            }
        }
    }
    Redirect::to(url.as_str()).into_response()
}
