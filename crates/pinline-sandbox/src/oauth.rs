//! OAuth 2.0 as Pinterest runs it: the consent page (`GET`/`POST /oauth/`), the token endpoint
//! (`POST /v5/oauth/token`: `authorization_code` with optional PKCE S256, and `refresh_token` with
//! rotation) and revocation (`POST /v5/oauth/token/revoke`, for system users' tokens only).
//!
//! Strictness is the point. Codes are single-use and bound to the client, the exact redirect URI,
//! the scopes and the PKCE challenge; a replayed code revokes every token issued from it (RFC 6749
//! §4.1.2, OAuth 2.1 §4.1.3). A refresh rotates the refresh token; presenting a rotated one again
//! (outside the configured grace) is reuse: it is counted and revokes the whole token family, the
//! refresh-token replay detection OAuth 2.1 §4.3.1 recommends. An app configured as created
//! before 25 September 2025 gets legacy refresh tokens (365 days, never rotated or renewed) from
//! an exchange without `continuous_refresh=true`. Token and code values are never logged.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use pinline_pinterest::facts::{
    LEGACY_REFRESH_TOKEN_LIFETIME_SECS, Scope, format_scope_list, parse_scope_list,
};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::app::AppState;
use crate::errors::ApiError;
use crate::state::{AuthCode, Id, Lifetimes, RefreshStatus, TokenPair, random_token};

// ---------------------------------------------------------------------------------------------
// Consent page
// ---------------------------------------------------------------------------------------------

/// The authorization request's parameters, as received.
#[derive(Debug, Default)]
struct AuthorizeRequest {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

impl AuthorizeRequest {
    fn from_params(params: &HashMap<String, String>) -> Self {
        let get = |name: &str| params.get(name).cloned();
        AuthorizeRequest {
            client_id: get("client_id").unwrap_or_default(),
            redirect_uri: get("redirect_uri").unwrap_or_default(),
            response_type: get("response_type").unwrap_or_default(),
            scope: get("scope"),
            state: get("state"),
            code_challenge: get("code_challenge").filter(|s| !s.is_empty()),
            code_challenge_method: get("code_challenge_method").filter(|s| !s.is_empty()),
        }
    }

    /// The request's parameters to carry through the form, in a fixed order.
    fn hidden_fields(&self) -> Vec<(&'static str, &str)> {
        let mut fields = vec![
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("response_type", self.response_type.as_str()),
        ];
        for (name, value) in [
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
        ] {
            if let Some(value) = value {
                fields.push((name, value.as_str()));
            }
        }
        fields
    }
}

/// A validated authorization request.
#[derive(Debug)]
struct Authorization {
    scopes: Vec<Scope>,
    code_challenge: Option<String>,
}

/// Why an authorization request is refused.
enum Refusal {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page(String),
    /// Tell the client through its redirect URI (`error=…`).
    Redirect(Box<Response>),
}

fn params_of(raw: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in pairs {
                    query.append_pair(name, value);
                }
            }
            // 302 Found, as Pinterest's authorize endpoint answers.
            (
                StatusCode::FOUND,
                [(header::LOCATION, url.as_str().to_owned())],
            )
                .into_response()
        }
        Err(_) => error_page("The redirect URI is not a valid URL.").into_response(),
    }
}

fn redirect_error(request: &AuthorizeRequest, error: &str, description: &str) -> Refusal {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = &request.state {
        pairs.push(("state", state.as_str()));
    }
    Refusal::Redirect(Box::new(redirect_with(&request.redirect_uri, &pairs)))
}

fn redirect_uri_allowed(app: &AppState, redirect_uri: &str) -> bool {
    if !app.config.redirect_uris.is_empty() {
        return app
            .config
            .redirect_uris
            .iter()
            .any(|uri| uri == redirect_uri);
    }
    matches!(
        url::Url::parse(redirect_uri),
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host()
    )
}

/// Whether `challenge` has the shape of an S256 challenge: base64url of a SHA-256 digest.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_authorization(
    app: &AppState,
    request: &AuthorizeRequest,
) -> Result<Authorization, Refusal> {
    if request.client_id != app.config.client_id {
        return Err(Refusal::Page(
            "Unknown client_id: this app is not registered with the sandbox.".to_owned(),
        ));
    }
    if !redirect_uri_allowed(app, &request.redirect_uri) {
        return Err(Refusal::Page(
            "The redirect_uri is not registered for this app.".to_owned(),
        ));
    }
    if request.response_type != "code" {
        return Err(redirect_error(
            request,
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let scopes = match request.scope.as_deref().map(parse_scope_list) {
        Some(Ok(scopes)) if !scopes.is_empty() => scopes,
        Some(Err(error)) => {
            return Err(redirect_error(request, "invalid_scope", &error.to_string()));
        }
        _ => {
            return Err(redirect_error(
                request,
                "invalid_scope",
                "scope is required",
            ));
        }
    };
    let code_challenge = match (
        request.code_challenge.as_deref(),
        request.code_challenge_method.as_deref(),
    ) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(redirect_error(
                request,
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier",
            ));
        }
        _ => {
            return Err(redirect_error(
                request,
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            ));
        }
    };
    Ok(Authorization {
        scopes,
        code_challenge,
    })
}

fn error_page(message: &str) -> (StatusCode, Html<String>) {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization error — pinline sandbox</title></head>\n<body><h1>Authorization error</h1>\n<p class=\"error\">{}</p>\n</body></html>\n",
            html_escape::encode_text(message)
        )),
    )
}

fn consent_page(
    app: &AppState,
    request: &AuthorizeRequest,
    authorization: &Authorization,
) -> Html<String> {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    let mut hidden = String::new();
    for (name, value) in request.hidden_fields() {
        hidden.push_str(&format!(
            "    <input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            attr(value)
        ));
    }
    let scopes: String = authorization
        .scopes
        .iter()
        .map(|scope| format!("    <li><code>{}</code></li>\n", text(scope.as_str())))
        .collect();
    let users: Vec<(Id, String)> = app
        .read()
        .users
        .values()
        .map(|user| (user.id, user.username.clone()))
        .collect();
    let chooser = if users.is_empty() {
        "    <label for=\"new_username\">No sandbox users yet. Create one:</label>\n    <input type=\"text\" id=\"new_username\" name=\"new_username\" value=\"sandbox-user\" required>\n".to_owned()
    } else {
        let options: String = users
            .iter()
            .enumerate()
            .map(|(index, (id, username))| {
                format!(
                    "      <option value=\"{id}\"{}>{}</option>\n",
                    if index == 0 { " selected" } else { "" },
                    text(username)
                )
            })
            .collect();
        format!(
            "    <label for=\"user_id\">Sign in as</label>\n    <select id=\"user_id\" name=\"user_id\">\n{options}    </select>\n"
        )
    };
    Html(format!(
        "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>Authorize app {client} — pinline sandbox</title></head>
<body>
  <h1>Authorize app {client}?</h1>
  <p>This is the pinline sandbox standing in for Pinterest. The app asks for:</p>
  <ul>
{scopes}  </ul>
  <form method=\"post\" action=\"/oauth/\">
{hidden}{chooser}    <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>
    <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>
  </form>
</body>
</html>
",
        client = text(&request.client_id),
    ))
}

/// Issues a code for `user` and redirects to the client with it.
fn approve(
    app: &AppState,
    request: &AuthorizeRequest,
    authorization: Authorization,
    user: Id,
) -> Response {
    let code = random_token("");
    let now = app.now();
    {
        let mut state = app.write();
        let grant = state.next_id();
        state.codes.insert(
            code.clone(),
            AuthCode {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                user,
                scopes: authorization.scopes,
                code_challenge: authorization.code_challenge,
                expires_at: now + app.config.code_lifetime_secs,
                used: false,
                grant,
            },
        );
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        pairs.push(("state", state.as_str()));
    }
    redirect_with(&request.redirect_uri, &pairs)
}

/// Finds a user by name, creating an ordinary one if needed (system users are made through the
/// control API only, as Pinterest does not create them at sign-in either).
fn user_named(app: &AppState, username: &str) -> Result<Id, String> {
    let now = app.now();
    let mut state = app.write();
    if let Some(id) = state.usernames.get(username.trim()) {
        return Ok(*id);
    }
    state
        .create_user(username, false, now)
        .map(|user| user.id)
        .map_err(|_| "Usernames are 1–30 letters, digits, '_', '-' or '.'.".to_owned())
}

/// `GET /oauth/`: the consent page, or with `auto_approve` an immediate redirect.
pub async fn get_consent(State(app): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let params = params_of(raw.unwrap_or_default().as_bytes());
    let request = AuthorizeRequest::from_params(&params);
    let authorization = match check_authorization(&app, &request) {
        Ok(authorization) => authorization,
        Err(Refusal::Page(message)) => return error_page(&message).into_response(),
        Err(Refusal::Redirect(response)) => return *response,
    };
    if app.config.auto_approve {
        let wanted = params.get("sandbox_user").cloned().or_else(|| {
            app.read()
                .users
                .values()
                .next()
                .map(|user| user.username.clone())
        });
        let user = match user_named(&app, wanted.as_deref().unwrap_or("sandbox-user")) {
            Ok(user) => user,
            Err(message) => return error_page(&message).into_response(),
        };
        return approve(&app, &request, authorization, user);
    }
    consent_page(&app, &request, &authorization).into_response()
}

/// `POST /oauth/`: the user's decision. Every parameter is checked again: hidden fields are
/// client input like any other.
pub async fn post_consent(State(app): State<AppState>, body: Bytes) -> Response {
    let params = params_of(&body);
    let request = AuthorizeRequest::from_params(&params);
    let authorization = match check_authorization(&app, &request) {
        Ok(authorization) => authorization,
        Err(Refusal::Page(message)) => return error_page(&message).into_response(),
        Err(Refusal::Redirect(response)) => return *response,
    };
    match params.get("decision").map(String::as_str) {
        Some("approve") => {}
        Some("deny") => {
            let mut pairs = vec![("error", "access_denied")];
            if let Some(state) = &request.state {
                pairs.push(("state", state.as_str()));
            }
            return redirect_with(&request.redirect_uri, &pairs);
        }
        _ => return error_page("Choose Approve or Deny.").into_response(),
    }
    let user = if let Some(id) = params.get("user_id").filter(|s| !s.is_empty()) {
        match id.parse::<Id>() {
            Ok(id) if app.read().users.contains_key(&id) => id,
            _ => return error_page("Unknown sandbox user.").into_response(),
        }
    } else if let Some(username) = params.get("new_username").filter(|s| !s.trim().is_empty()) {
        match user_named(&app, username) {
            Ok(id) => id,
            Err(message) => return error_page(&message).into_response(),
        }
    } else {
        return error_page("Choose a sandbox user.").into_response();
    };
    approve(&app, &request, authorization, user)
}

// ---------------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------------

/// A token-endpoint refusal: 400 code 1 with the OAuth error name leading the message.
fn grant_error(error: &str, description: &str) -> Response {
    ApiError::invalid(format!("{error}: {description}")).into_response()
}

fn client_authentication_failed() -> Response {
    let mut response = ApiError::authentication_failed().into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"pinline sandbox\""),
    );
    response
}

/// Checks HTTP Basic client credentials against the configured app.
fn client_authenticated(app: &AppState, headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return false;
    };
    // RFC 6749 §2.3.1: credentials are form-urlencoded before Basic encoding.
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    constant_time_eq(unescape(id).as_bytes(), app.config.client_id.as_bytes())
        && constant_time_eq(
            unescape(secret).as_bytes(),
            app.config.client_secret.as_bytes(),
        )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

fn token_response(pair: &TokenPair, response_type: &str) -> Response {
    Json(json!({
        "access_token": pair.access_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "scope": format_scope_list(&pair.scopes),
        "refresh_token": pair.refresh_token,
        "refresh_token_expires_in": pair.refresh_token_expires_in,
        "refresh_token_expires_at": pair.refresh_token_expires_at,
        "response_type": response_type,
    }))
    .into_response()
}

/// `POST /v5/oauth/token`.
pub async fn post_token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !client_authenticated(&app, &headers) {
        return client_authentication_failed();
    }
    if !is_form(&headers) {
        return grant_error(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let params = params_of(&body);
    match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            app.write().stats.token_requests.authorization_code += 1;
            exchange_code(&app, &params)
        }
        Some("refresh_token") => {
            app.write().stats.token_requests.refresh_token += 1;
            refresh(&app, &params)
        }
        Some(_) => grant_error(
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ),
        None => grant_error("invalid_request", "grant_type is required"),
    }
}

/// RFC 7636 §4.1: 43–128 unreserved characters.
fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn exchange_code(app: &AppState, params: &HashMap<String, String>) -> Response {
    let Some(code) = params.get("code").filter(|s| !s.is_empty()) else {
        return grant_error("invalid_request", "code is required");
    };
    let Some(redirect_uri) = params.get("redirect_uri").filter(|s| !s.is_empty()) else {
        return grant_error("invalid_request", "redirect_uri is required");
    };
    let verifier = params.get("code_verifier");
    let now = app.now();
    let lifetimes = app.lifetimes();
    let mut state = app.write();
    let Some(record) = state.codes.get_mut(code.as_str()) else {
        return grant_error("invalid_grant", "the authorization code is invalid");
    };
    if record.used {
        // A replayed code: whoever holds it may be an attacker, so everything issued from it dies.
        let grant = record.grant;
        state.revoke_grant(grant);
        return grant_error(
            "invalid_grant",
            "the authorization code has already been used",
        );
    }
    // Any attempt consumes the code, so a wrong verifier cannot be retried.
    record.used = true;
    let record = record.clone();
    if record.client_id != app.config.client_id {
        return grant_error("invalid_grant", "the code was issued to another client");
    }
    if record.expires_at <= now {
        return grant_error("invalid_grant", "the authorization code has expired");
    }
    if &record.redirect_uri != redirect_uri {
        return grant_error(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        );
    }
    match (&record.code_challenge, verifier) {
        (None, None) => {}
        (Some(_), None) => return grant_error("invalid_grant", "code_verifier is required"),
        (None, Some(_)) => {
            return grant_error(
                "invalid_grant",
                "code_verifier sent but the authorization had no code_challenge",
            );
        }
        (Some(challenge), Some(verifier)) => {
            if !is_valid_verifier(verifier)
                || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
            {
                return grant_error(
                    "invalid_grant",
                    "code_verifier does not match the challenge",
                );
            }
        }
    }
    let client_id = app.config.client_id.clone();
    let continuous = params.get("continuous_refresh").map(String::as_str) == Some("true");
    let legacy = app.refresh_tokens.lock().issues_legacy(continuous);
    state.stats.token_requests.continuous_refresh += u64::from(continuous);
    state.stats.token_requests.legacy_issued += u64::from(legacy);
    let lifetimes = if legacy {
        Lifetimes {
            refresh_secs: LEGACY_REFRESH_TOKEN_LIFETIME_SECS,
            legacy: true,
            ..lifetimes
        }
    } else {
        lifetimes
    };
    let pair = state.issue_tokens(
        record.user,
        &client_id,
        record.scopes.clone(),
        record.grant,
        now,
        lifetimes,
    );
    drop(state);
    tracing::debug!(user = record.user, legacy, "authorization code exchanged");
    token_response(&pair, "authorization_code")
}

fn refresh(app: &AppState, params: &HashMap<String, String>) -> Response {
    let Some(token) = params.get("refresh_token").filter(|s| !s.is_empty()) else {
        return grant_error("invalid_request", "refresh_token is required");
    };
    let now = app.now();
    let lifetimes = app.lifetimes();
    let grace = app.config.refresh_reuse_grace_secs;
    let mut state = app.write();
    let Some(record) = state.refresh_tokens.get(token.as_str()).cloned() else {
        return grant_error("invalid_grant", "the refresh token is invalid");
    };
    // Every refusal below is of this user's token: counted per user, so a client's reaction to
    // a refusal can be told apart from one to a failure that refused nothing.
    let refused = |state: &mut crate::state::State| {
        *state
            .stats
            .refresh_refused_by_user
            .entry(record.user.to_string())
            .or_default() += 1;
    };
    if record.client_id != app.config.client_id {
        refused(&mut state);
        return grant_error(
            "invalid_grant",
            "the refresh token was issued to another client",
        );
    }
    match record.status {
        RefreshStatus::Active => {}
        RefreshStatus::Rotated { at } if grace > 0 && now - at <= grace => {}
        RefreshStatus::Rotated { .. } => {
            refused(&mut state);
            state.stats.refresh_token_reuse += 1;
            state.revoke_grant(record.grant);
            tracing::debug!(user = record.user, "rotated refresh token reused");
            return grant_error(
                "invalid_grant",
                "the refresh token has already been used; all tokens of this grant are revoked",
            );
        }
        RefreshStatus::Revoked => {
            refused(&mut state);
            state.stats.refresh_token_reuse += 1;
            return grant_error("invalid_grant", "the refresh token has been revoked");
        }
    }
    if record.expires_at <= now {
        refused(&mut state);
        return grant_error("invalid_grant", "the refresh token has expired");
    }
    let scopes = match params.get("scope").filter(|s| !s.trim().is_empty()) {
        None => record.scopes.clone(),
        Some(requested) => match parse_scope_list(requested) {
            Ok(requested) if requested.iter().all(|s| record.scopes.contains(s)) => requested,
            Ok(_) => {
                refused(&mut state);
                return grant_error(
                    "invalid_scope",
                    "a refresh may only narrow the granted scopes",
                );
            }
            Err(error) => {
                refused(&mut state);
                return grant_error("invalid_scope", &error.to_string());
            }
        },
    };
    if record.legacy {
        // A legacy refresh token is not rotated and not renewed: the same token comes back,
        // still ending where the connect put it.
        let pair = state.issue_legacy_refresh(token, &record, scopes, now, lifetimes);
        drop(state);
        return token_response(&pair, "refresh_token");
    }
    if let Some(old) = state.refresh_tokens.get_mut(token.as_str())
        && old.status == RefreshStatus::Active
    {
        old.status = RefreshStatus::Rotated { at: now };
    }
    let pair = state.issue_tokens(
        record.user,
        &record.client_id,
        scopes,
        record.grant,
        now,
        lifetimes,
    );
    drop(state);
    token_response(&pair, "refresh_token")
}

/// `POST /v5/oauth/token/revoke`. The spec: "Only tokens issued for system users are currently
/// supported", with 403 code 29 for a client that may not revoke the token. So a token of an
/// ordinary user is refused and keeps working; such a user's access ends only when they remove
/// the app (`POST /_sandbox/users/{id}/revoke`) or the tokens expire. Unknown tokens answer 200,
/// as RFC 7009 §2.2 asks: there is no user to judge them by, and nothing to revoke.
pub async fn post_revoke(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !client_authenticated(&app, &headers) {
        return client_authentication_failed();
    }
    if !is_form(&headers) {
        return grant_error(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let params = params_of(&body);
    let Some(token) = params.get("token").filter(|s| !s.is_empty()) else {
        return grant_error("invalid_request", "token is required");
    };
    if let Some(hint) = params.get("token_type_hint")
        && hint != "access_token"
        && hint != "refresh_token"
    {
        return grant_error(
            "unsupported_token_type",
            "token_type_hint must be access_token or refresh_token",
        );
    }
    // Judged under a read lock, so a refused request does not mark the state for saving.
    let revocation = {
        let state = app.read();
        let target = if let Some(access) = state.access_tokens.get(token.as_str()) {
            Some((access.user, Revocation::Access))
        } else {
            state
                .refresh_tokens
                .get(token.as_str())
                .map(|refresh| (refresh.user, Revocation::Grant(refresh.grant)))
        };
        let Some((user, revocation)) = target else {
            return StatusCode::OK.into_response();
        };
        if !state.is_system_user(user) {
            tracing::debug!(user, "revocation refused: not a system user's token");
            return ApiError::not_permitted().into_response();
        }
        revocation
    };
    let mut state = app.write();
    match revocation {
        Revocation::Access => {
            if let Some(access) = state.access_tokens.get_mut(token.as_str()) {
                access.revoked = true;
            }
        }
        // RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of its grant.
        Revocation::Grant(grant) => state.revoke_grant(grant),
    }
    StatusCode::OK.into_response()
}

/// What revoking a presented token takes down.
enum Revocation {
    /// That access token only.
    Access,
    /// The whole grant the refresh token belongs to.
    Grant(Id),
}

/// Mints a token pair without the consent page (control API); counted as `tokens_minted`.
pub fn mint_tokens(app: &AppState, user: Id, scopes: Vec<Scope>) -> Response {
    let now = app.now();
    let lifetimes = app.lifetimes();
    let client_id = app.config.client_id.clone();
    let mut state = app.write();
    let grant = state.next_id();
    state.stats.tokens_minted += 1;
    let pair = state.issue_tokens(user, &client_id, scopes, grant, now, lifetimes);
    drop(state);
    let mut response = token_response(&pair, "authorization_code");
    *response.status_mut() = StatusCode::CREATED;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_valid_verifier(verifier));
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_valid_verifier("short"));
    }
}
