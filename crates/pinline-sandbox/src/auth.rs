//! The gate every `/v5` operation passes: the configured latency, fault injection, bearer-token
//! authentication, per-user rate limits, the operation's base scopes, and the response headers
//! Pinterest adds (`x-ratelimit-category`, `x-ratelimit-limit`, `x-ratelimit-remaining`).
//!
//! Order matters and follows Pinterest: an unauthenticated request is refused (401) before it can
//! spend anyone's budget; an authenticated one is counted against its owner's budget (429) before
//! its scopes are checked (403). Scopes that depend on the target (the `_secret` counterparts for
//! secret boards) are checked by the handler through [`Caller`], since only it knows the target.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pinline_pinterest::facts::{Method, Operation, Scope, operations};

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::faults::FaultAction;
use crate::ratelimit::Decision;
use crate::state::{Id, RECENT_TOKEN_REQUESTS, TokenRequestSeen};

/// The authenticated caller of a bearer-token operation, put in the request extensions by
/// [`gate`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Id,
    pub scopes: Vec<Scope>,
    pub operation: Operation,
}

impl Caller {
    /// True when the token may see secret boards and their pins for this operation (it holds the
    /// `_secret` counterpart of every scope the operation needs).
    pub fn sees_secret(&self) -> bool {
        self.operation.missing_scopes(&self.scopes, true).is_empty()
    }

    /// Refuses with 403 code 3 unless the token holds every scope the operation needs on this
    /// target (`secret`: a secret board or a pin on one).
    pub fn require(&self, secret: bool) -> ApiResult<()> {
        let missing = self.operation.missing_scopes(&self.scopes, secret);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::missing_scopes(&missing))
        }
    }
}

/// Finds the facts-table operation for a matched route.
pub fn operation_for(method: &axum::http::Method, matched: &str) -> Option<Operation> {
    let path = matched.strip_prefix("/v5").unwrap_or(matched);
    let method = match *method {
        axum::http::Method::GET => Method::Get,
        axum::http::Method::POST => Method::Post,
        axum::http::Method::PATCH => Method::Patch,
        axum::http::Method::DELETE => Method::Delete,
        _ => return None,
    };
    operations::ALL
        .iter()
        .find(|op| op.method == method && op.path == path)
        .copied()
}

/// Middleware for every matched `/v5` route.
pub async fn gate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let operation = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|matched| operation_for(request.method(), matched.as_str()));
    // Inside the nested `/v5` router the URI has lost its prefix; fault rules match full paths.
    let path = request.extensions().get::<OriginalUri>().map_or_else(
        || request.uri().path().to_owned(),
        |uri| uri.path().to_owned(),
    );
    tracing::debug!(method = %request.method(), %path, "sandbox request");

    let plan = app.faults.decide(operation.as_ref(), &path);
    {
        // Counters only: not worth marking the state dirty for a save.
        let mut state = app.read();
        state.stats.requests_total += 1;
        state.stats.faults_injected += plan.fired;
        if operation.is_some_and(|op| op.id == operations::OAUTH_TOKEN.id) {
            state.stats.token_endpoint_requests += 1;
            let recent = &mut state.stats.recent_token_requests;
            if recent.len() >= RECENT_TOKEN_REQUESTS {
                recent.pop_front();
            }
            recent.push_back(TokenRequestSeen {
                // Absent when the router is served without connection info (`router()`).
                peer: request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|info| info.0.to_string()),
                held_ms: plan.delay.as_millis() as u64,
            });
        }
    }
    // The configured response time, then any fault's hold: a timer each, so a thread is never
    // blocked however many requests wait.
    let wait = app
        .config
        .latency
        .sample(&mut rand::rng())
        .saturating_add(plan.delay);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }

    let mut limit_headers: Option<(u32, u32)> = None;
    let mut response = match plan.action {
        Some(FaultAction::Error {
            status,
            code,
            message,
        }) => ApiError::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            code,
            message,
        )
        .into_response(),
        Some(FaultAction::RateLimit { retry_after_secs }) => {
            let mut response = ApiError::rate_limited().into_response();
            set_header(
                response.headers_mut(),
                header::RETRY_AFTER.as_str(),
                retry_after_secs,
            );
            set_header(response.headers_mut(), "x-ratelimit-remaining", 0);
            set_header(
                response.headers_mut(),
                "x-ratelimit-reset",
                retry_after_secs,
            );
            response
        }
        action => {
            let drop_after = action == Some(FaultAction::DropAfterCreate);
            let admitted = match operation {
                Some(op) if !op.uses_client_credentials() => {
                    admit(&app, &request, op, &mut limit_headers)
                }
                _ => Ok(None),
            };
            match admitted {
                Err(response) => *response,
                Ok(caller) => {
                    if let Some(caller) = caller {
                        request.extensions_mut().insert(caller);
                    }
                    let response = next.run(request).await;
                    if drop_after && response.status().is_success() {
                        dropped_connection(response)
                    } else {
                        response
                    }
                }
            }
        }
    };

    let headers = response.headers_mut();
    if let Some(op) = operation {
        headers.insert(
            "x-ratelimit-category",
            HeaderValue::from_static(op.category.as_str()),
        );
    }
    if let Some((limit, remaining)) = limit_headers {
        set_header(headers, "x-ratelimit-limit", limit);
        if !headers.contains_key("x-ratelimit-remaining") {
            set_header(headers, "x-ratelimit-remaining", remaining);
        }
    }
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        app.read().stats.responses_429 += 1;
    }
    response
}

/// Authenticates the bearer token, spends the owner's budget and checks the base scopes.
fn admit(
    app: &AppState,
    request: &Request,
    operation: Operation,
    limit_headers: &mut Option<(u32, u32)>,
) -> Result<Option<Caller>, Box<Response>> {
    let caller = authenticate(app, request.headers(), operation)
        .map_err(|error| Box::new(error.into_response()))?;
    match app
        .limiter
        .check(caller.user, operation.category, Instant::now())
    {
        Decision::Unlimited => {}
        Decision::Allowed { limit, remaining } => *limit_headers = Some((limit, remaining)),
        Decision::Limited {
            limit,
            retry_after,
            reset,
        } => {
            *limit_headers = Some((limit, 0));
            let mut response = ApiError::rate_limited().into_response();
            let headers = response.headers_mut();
            // Whole seconds, rounded up and at least 1, so a client that waits exactly this long
            // is admitted.
            let retry_secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            set_header(headers, header::RETRY_AFTER.as_str(), retry_secs);
            set_header(headers, "x-ratelimit-remaining", 0);
            set_header(
                headers,
                "x-ratelimit-reset",
                reset.as_secs_f64().ceil().max(1.0) as u64,
            );
            return Err(Box::new(response));
        }
    }
    caller
        .require(false)
        .map_err(|error| Box::new(error.into_response()))?;
    Ok(Some(caller))
}

/// Resolves `Authorization: Bearer …` to a live access token.
fn authenticate(app: &AppState, headers: &HeaderMap, operation: Operation) -> ApiResult<Caller> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(ApiError::authentication_failed)?;
    let now = app.now();
    let state = app.read();
    let record = state
        .access_tokens
        .get(token)
        .ok_or_else(ApiError::authentication_failed)?;
    if record.revoked || record.expires_at <= now || !state.users.contains_key(&record.user) {
        return Err(ApiError::authentication_failed());
    }
    Ok(Caller {
        user: record.user,
        scopes: record.scopes.clone(),
        operation,
    })
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, value);
    }
}

/// Replaces the body with one that fails before its first byte. Hyper buffers the status line
/// and headers and polls the body in the same write pass, so the error aborts the connection
/// before anything is flushed: the client sees the connection close with no response at all,
/// exactly like a network drop after the server committed the work.
fn dropped_connection(response: Response) -> Response {
    let (mut parts, _body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other(
            "sandbox fault: connection dropped after create",
        ))
    });
    Response::from_parts(parts, Body::from_stream(failing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_paths_map_to_operations() {
        let op = operation_for(&axum::http::Method::POST, "/v5/pins").expect("known");
        assert_eq!(op.id, "pins/create");
        let op = operation_for(
            &axum::http::Method::PATCH,
            "/v5/boards/{board_id}/sections/{section_id}",
        )
        .expect("known");
        assert_eq!(op.id, "board_sections/update");
        assert!(operation_for(&axum::http::Method::PUT, "/v5/pins").is_none());
    }
}
