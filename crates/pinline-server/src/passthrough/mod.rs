//! The Pinterest passthrough, `ANY /pinterest/v5/{path}`: other tools call Pinterest through
//! pinline with a pinline API key instead of a copy of an account's token, so pinline stays the
//! one place that holds, refreshes and spends each account's credentials.
//!
//! A call is answered by pinline itself, without reaching Pinterest, when:
//! - its bearer is a Pinterest token (`pina_…`, `pinr_…`) rather than a pinline key, or no key;
//! - it names its own target (an absolute URI, an override header);
//! - its path is `/oauth/…`, or not an organic operation of Pinterest's API
//!   ([`allow_list`]), or the key lacks `pinterest:read` / `pinterest:write` for it;
//! - its account (`X-Pinline-Account`) is not the key's profile's, or must be reconnected
//!   (Pinterest's 401 with the account's state in `X-Pinline-Account-State`);
//! - its body is over the limit, or its `Idempotency-Key` was already used;
//! - the account's budget lent to tools is spent: a local 429 with `Retry-After` (see
//!   [`pinline_queue::Pacer::try_acquire_lent`]; a call never waits more than a short bound).
//!
//! Otherwise it goes to the account's own Pinterest (the configured environment, never the
//! caller's choice) through the guarded outbound client, with the account's current token, and
//! Pinterest's status, headers (less hop-by-hop ones) and body come back. Pinterest's rate-limit
//! headers and 429s feed the pacer the publisher uses. A 401 "authentication failed" (code 2,
//! and nothing else) refreshes the token by compare-and-swap on the version the call used and
//! sends the call once more: Pinterest refused it before doing anything, so even a write is safe
//! to send again. Nothing else is ever sent twice, whatever its outcome.
//!
//! Every call made with a valid key leaves one audit row (no token, no body).

mod allow_list;
mod headers;
mod idempotency;
mod metrics;
mod refusal;

use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use pinline_pinterest::facts::{
    ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, RateLimitCategory, error_code,
};
use pinline_pinterest::{AccessToken, RateLimitInfo};
use pinline_store::{AccountRow, AuditRow};
use pinline_vault::VaultError;

pub use metrics::CredentialMetrics;
pub use refusal::{ACCOUNT_STATE_HEADER, Refusal};

use crate::auth::{Caller, authenticate};
use crate::extract::Id;
use crate::key_scopes::KeyScope;
use crate::state::AppState;

/// The header naming the account a call is for.
pub const ACCOUNT_HEADER: &str = "x-pinline-account";

/// The mount point; the rest of the path is Pinterest's, below `/v5`.
pub const MOUNT: &str = "/pinterest/v5";

/// How the credential path behaves.
#[derive(Debug, Clone)]
pub struct CredentialSettings {
    /// Whether `POST /v1/accounts/{id}/access-token` hands out tokens (off unless enabled).
    pub token_endpoint: bool,
    /// Access tokens one API key may take per minute.
    pub tokens_per_key_per_minute: u32,
    /// The part of each account's Pinterest budget never lent to tools, in [0, 1].
    pub reserved_share: f64,
    /// The longest a passthrough call waits for budget before it is answered 429.
    pub max_budget_wait: Duration,
    /// The largest request body forwarded, and the largest answer relayed.
    pub body_limit: usize,
}

impl Default for CredentialSettings {
    fn default() -> Self {
        CredentialSettings {
            token_endpoint: false,
            tokens_per_key_per_minute: 10,
            reserved_share: pinline_queue::DEFAULT_RESERVED,
            max_budget_wait: Duration::from_millis(250),
            // Pinterest takes base64 images in a pin's JSON; 32 MiB covers its own limits.
            body_limit: 32 * 1024 * 1024,
        }
    }
}

/// The credential path's state: settings, the guarded HTTP client, counters and the per-key
/// limit of the token endpoint.
#[derive(Debug)]
pub struct CredentialPath {
    pub settings: CredentialSettings,
    http: Option<reqwest::Client>,
    guard: pinline_outbound::Guard,
    pub metrics: CredentialMetrics,
    pub(crate) token_limiter: TokenLimiter,
}

impl CredentialPath {
    pub fn new(settings: CredentialSettings) -> CredentialPath {
        // The account's Pinterest is the operator's configuration (the local sandbox in tests),
        // so private addresses are allowed, as for the publisher's client; the process's reach
        // still applies.
        let guard = pinline_outbound::Guard::new("Pinterest passthrough", true);
        let mut builder = reqwest::Client::builder().dns_resolver(guard.resolver());
        if guard.reach() == pinline_outbound::Reach::LoopbackOnly {
            builder = builder.no_proxy();
        }
        let http = builder
            .timeout(pinline_pinterest::client::REQUEST_TIMEOUT)
            .connect_timeout(pinline_pinterest::client::CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pinline/", env!("CARGO_PKG_VERSION")))
            .build()
            .inspect_err(|error| {
                tracing::error!(error = %error, "the passthrough's HTTP client could not be built")
            })
            .ok();
        CredentialPath {
            token_limiter: TokenLimiter::new(settings.tokens_per_key_per_minute),
            settings,
            http,
            guard,
            metrics: CredentialMetrics::default(),
        }
    }
}

/// A fixed one-minute window per API key.
#[derive(Debug)]
pub(crate) struct TokenLimiter {
    per_minute: u32,
    windows: parking_lot::Mutex<std::collections::HashMap<String, (i64, u32)>>,
}

impl TokenLimiter {
    fn new(per_minute: u32) -> TokenLimiter {
        TokenLimiter {
            per_minute,
            windows: Default::default(),
        }
    }

    /// Counts one request of `key_id` at `now_ms`; the seconds to wait when over the limit.
    pub(crate) fn admit(&self, key_id: &str, now_ms: i64) -> Result<(), u64> {
        let minute = now_ms.div_euclid(60_000);
        let mut windows = self.windows.lock();
        windows.retain(|_, (window, _)| *window >= minute);
        let (window, count) = windows.entry(key_id.to_owned()).or_insert((minute, 0));
        if *window != minute {
            *window = minute;
            *count = 0;
        }
        if *count >= self.per_minute {
            let left_ms = (minute + 1) * 60_000 - now_ms;
            return Err(u64::try_from((left_ms + 999) / 1000).unwrap_or(60).max(1));
        }
        *count += 1;
        Ok(())
    }
}

/// What the audit row of a call says, filled in as the call goes.
#[derive(Debug, Default)]
struct Trail {
    caller: Option<Caller>,
    account_id: Option<String>,
    route: Option<&'static str>,
    category: Option<RateLimitCategory>,
    upstream_status: Option<u16>,
    request_id: Option<String>,
    refreshed: bool,
    retried: bool,
    token_version: Option<i64>,
}

/// `ANY /pinterest/v5/{*path}`.
pub async fn forward(State(state): State<AppState>, request: Request) -> Response {
    let started = Instant::now();
    let at = state.now_ms();
    let method = request.method().clone();
    let (parts, body) = request.into_parts();
    let mut trail = Trail::default();
    let (response, outcome) = match run(&state, &parts, body, &mut trail).await {
        Ok(response) => (response, "forwarded"),
        Err(refusal) => {
            let outcome = refusal.code;
            (refusal.into_response(), outcome)
        }
    };
    let category = trail.category.map_or("none", RateLimitCategory::as_str);
    state.credential().metrics.call(category, outcome);
    if let Some(caller) = &trail.caller {
        let row = AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            profile_id: caller.profile_id.clone(),
            api_key_id: caller.key_id.clone(),
            account_id: trail.account_id.clone(),
            kind: AuditRow::PASSTHROUGH.to_owned(),
            method: method.as_str().to_owned(),
            route: trail.route.unwrap_or("(refused)").to_owned(),
            category: trail.category.map(|c| c.as_str().to_owned()),
            status: i64::from(response.status().as_u16()),
            upstream_status: trail.upstream_status.map(i64::from),
            outcome: outcome.to_owned(),
            pinterest_request_id: trail.request_id.clone(),
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            refreshed: trail.refreshed,
            retried: trail.retried,
            token_version: trail.token_version,
        };
        if let Err(error) = state.store().insert_audit(&row).await {
            tracing::warn!(error = %error, "could not record a passthrough call in the audit trail");
        }
    }
    response
}

async fn run(
    state: &AppState,
    parts: &Parts,
    body: Body,
    trail: &mut Trail,
) -> Result<Response, Refusal> {
    if !matches!(
        parts.method,
        Method::GET | Method::POST | Method::PATCH | Method::DELETE
    ) {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Pinterest's API uses GET, POST, PATCH and DELETE only",
        ));
    }
    // The target is the account's Pinterest; a request naming another is refused, not mended.
    if parts.uri.authority().is_some() || parts.uri.scheme().is_some() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "target_override",
            "send the request with a path, not an absolute URI: pinline chooses where it goes",
        ));
    }
    if let Some(name) = headers::override_in(&parts.headers) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "target_override",
            format!("the `{name}` header is refused: pinline chooses where a call goes"),
        )
        .about(name));
    }
    refuse_pinterest_tokens(&parts.headers)?;
    let (caller, scopes) = authenticate(parts, state).await?;
    trail.caller = Some(caller.clone());

    let path = parts
        .uri
        .path()
        .strip_prefix(MOUNT)
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or("/");
    let route = allow_list::find(&parts.method, path).map_err(|refused| match refused {
        allow_list::NotAllowed::OAuth => Refusal::new(
            StatusCode::FORBIDDEN,
            "oauth_refused",
            "Pinterest's OAuth endpoints are not forwarded: pinline alone holds and refreshes the account's tokens",
        ),
        allow_list::NotAllowed::Path => Refusal::new(
            StatusCode::FORBIDDEN,
            "path_not_allowed",
            "only Pinterest's organic operations (rate-limit categories org_read, org_analytics and org_write) are forwarded, and this path is not one of them",
        ),
        allow_list::NotAllowed::Method => Refusal::new(
            StatusCode::FORBIDDEN,
            "path_not_allowed",
            format!("Pinterest's API does not take {} on this path", parts.method),
        ),
    })?;
    trail.route = Some(route.template);
    trail.category = Some(route.category);
    let account = account_of(state, &caller, &parts.headers).await?;
    trail.account_id = Some(account.id.clone());
    let needed = match route.category {
        RateLimitCategory::OrgWrite => KeyScope::PinterestWrite,
        _ => KeyScope::PinterestRead,
    };
    if !scopes.allows(needed) {
        return Err(Refusal {
            pinterest_code: error_code::MISSING_SCOPES,
            ..Refusal::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!(
                    "this API key lacks the `{needed}` scope this call needs (it has {}); create a key that has it: `pinline keys create --scope {needed}`",
                    scopes.describe()
                ),
            )
        });
    }

    if let Some(state_name) = unusable_state(&account.status) {
        return Err(Refusal::account_unusable(
            state_name,
            format!(
                "Authentication failed: the account is {state_name} in pinline; reconnect it there"
            ),
        ));
    }

    let limit = state.credential().settings.body_limit;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than the passthrough forwards ({limit} bytes)"),
        )
    })?;

    let idempotency = match route.operation_id {
        "pins/create" => {
            idempotency::Claim::take(state, &account.id, &parts.headers, &body).await?
        }
        _ => None,
    };
    let idempotency = match idempotency {
        Some(idempotency::Taken::Replay(response)) => return Ok(response),
        Some(idempotency::Taken::Claimed(claim)) => Some(claim),
        None => None,
    };

    let sent = send_with_budget(state, parts, path, &route, &account, body, trail).await;
    match idempotency {
        Some(claim) => claim.finish(state, sent).await,
        None => sent.map(Answer::into_response).map_err(Refusal::from),
    }
}

/// A Pinterest token sent as the bearer: refused before any lookup, and never forwarded.
fn refuse_pinterest_tokens(headers: &HeaderMap) -> Result<(), Refusal> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .map(|(_, token)| token.trim());
    match bearer {
        Some(token)
            if token.starts_with(ACCESS_TOKEN_PREFIX) || token.starts_with(REFRESH_TOKEN_PREFIX) =>
        {
            Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "pinterest_token_refused",
                "this is a Pinterest token, not a pinline API key: send a pinline key (`pinline keys create --scope pinterest:read`) and pinline uses the account's own token",
            )
            .about("Authorization"))
        }
        _ => Ok(()),
    }
}

/// The account the call is for, in the caller's profile: the one `X-Pinline-Account` names,
/// or the key's only account when the key is bound to one and the header is absent. A key bound
/// to some accounts reaches only those.
async fn account_of(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<AccountRow, Refusal> {
    let store_error = |error| Refusal::from(crate::error::ApiError::from(error));
    let bound = state
        .store()
        .api_key_accounts(&caller.key_id)
        .await
        .map_err(store_error)?;
    let named = match headers.get(ACCOUNT_HEADER) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|value| Id::parse(value.trim()))
            .map(String::from)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_header",
                    "`X-Pinline-Account` is not an account id",
                )
                .about("X-Pinline-Account")
            })?,
        None => match bound.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "account_required",
                    "name the account with the `X-Pinline-Account` header (its pinline id, from GET /v1/accounts)",
                )
                .about("X-Pinline-Account"));
            }
        },
    };
    if !bound.is_empty() && !bound.contains(&named) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "account_not_bound",
            "this API key is bound to other accounts; create a key for this one (`pinline keys create --account ID`)",
        )
        .about("X-Pinline-Account"));
    }
    state
        .store()
        .account(&caller.profile_id, &named)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such account in this key's profile",
            )
            .about("X-Pinline-Account")
        })
}

/// The state name of an account whose tokens cannot be used now.
fn unusable_state(status: &str) -> Option<&'static str> {
    match status {
        "needs_reauth" => Some("needs_reauth"),
        "disconnected" => Some("disconnected"),
        _ => None,
    }
}

/// Pinterest's answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = headers::to_caller(&self.headers);
        response
    }
}

/// Why a forwarded call has no answer from Pinterest.
#[derive(Debug)]
pub(crate) enum Unanswered {
    /// Refused before anything was sent.
    Refused(Refusal),
    /// Sent, and no answer came back (a timeout, a reset): it may or may not have happened.
    Unknown(Refusal),
}

impl From<Refusal> for Unanswered {
    fn from(refusal: Refusal) -> Unanswered {
        Unanswered::Refused(refusal)
    }
}

impl Unanswered {
    fn into_refusal(self) -> Refusal {
        match self {
            Unanswered::Refused(refusal) | Unanswered::Unknown(refusal) => refusal,
        }
    }
}

/// Takes a permit, then sends; a 401 "authentication failed" refreshes and sends once more.
async fn send_with_budget(
    state: &AppState,
    parts: &Parts,
    path: &str,
    route: &allow_list::Route,
    account: &AccountRow,
    body: Bytes,
    trail: &mut Trail,
) -> Result<Answer, Unanswered> {
    take_permit(state, &account.pinterest_user_id, route.category).await?;
    let grant = state
        .vault()
        .access_token(&account.id)
        .await
        .map_err(refusal_of_vault)?;
    trail.refreshed = grant.version != account.token_version;
    trail.token_version = Some(grant.version);
    let answer = send(
        state,
        parts,
        path,
        route,
        account,
        &grant.token,
        body.clone(),
        trail,
    )
    .await?;
    if !(answer.status == StatusCode::UNAUTHORIZED && is_authentication_failure(&answer.body)) {
        return Ok(answer);
    }
    tracing::info!(
        event = "passthrough.unauthorized",
        account_id = %account.id,
        "Pinterest refused the account's token; refreshing and sending once more"
    );
    let again = state
        .vault()
        .refresh_from(&account.id, grant.version)
        .await
        .map_err(refusal_of_vault)?;
    state.credential().metrics.refreshed();
    trail.refreshed = true;
    trail.retried = true;
    trail.token_version = Some(again.version);
    send(
        state,
        parts,
        path,
        route,
        account,
        &again.token,
        body,
        trail,
    )
    .await
}

/// Waits for a permit of the part of the account's budget lent to tools, at most the bound.
async fn take_permit(
    state: &AppState,
    user: &str,
    category: RateLimitCategory,
) -> Result<(), Refusal> {
    let pacer = state.publisher().pacer();
    let bound = state.credential().settings.max_budget_wait;
    let deadline = Instant::now() + bound;
    loop {
        match pacer.try_acquire_lent(user, category) {
            Ok(()) => return Ok(()),
            Err(wait) if Instant::now() + wait <= deadline => tokio::time::sleep(wait).await,
            Err(wait) => {
                return Err(Refusal {
                    retry_after_secs: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                    ..Refusal::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "budget_exhausted",
                        format!(
                            "the part of this account's {category} budget lent to tools is spent (the rest is kept for scheduled posts); try again after Retry-After seconds"
                        ),
                    )
                });
            }
        }
    }
}

/// One request to Pinterest.
#[expect(clippy::too_many_arguments, reason = "one call's parts, passed once")]
async fn send(
    state: &AppState,
    parts: &Parts,
    path: &str,
    route: &allow_list::Route,
    account: &AccountRow,
    token: &AccessToken,
    body: Bytes,
    trail: &mut Trail,
) -> Result<Answer, Unanswered> {
    let credential = state.credential();
    let Some(http) = &credential.http else {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the passthrough's HTTP client could not be built; the server log has the details",
        )
        .into());
    };
    let mut url = state.vault().client().environment().endpoint(path);
    url.set_query(parts.uri.query());
    if let Err(error) = credential.guard.check_url(&url) {
        tracing::warn!(error = %error, "the account's Pinterest is out of reach");
        return Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "pinterest_unreachable",
            "the account's Pinterest is out of this server's reach",
        )
        .into());
    }
    let mut request = http
        .request(parts.method.clone(), url)
        .headers(headers::to_pinterest(&parts.headers))
        .bearer_auth(token.expose_secret());
    if !body.is_empty() {
        request = request.body(body);
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let timed_out = error.is_timeout();
            tracing::warn!(
                account_id = %account.id,
                timed_out,
                "a passthrough call to Pinterest got no answer"
            );
            let refusal = if timed_out {
                Refusal::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "pinterest_timeout",
                    "Pinterest did not answer in time; the call may or may not have happened, and pinline did not send it again",
                )
            } else {
                Refusal::new(
                    StatusCode::BAD_GATEWAY,
                    "pinterest_unreachable",
                    "Pinterest could not be reached or dropped the connection; the call may or may not have happened, and pinline did not send it again",
                )
            };
            return Err(if error.is_connect() {
                Unanswered::Refused(refusal)
            } else {
                Unanswered::Unknown(refusal)
            });
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    trail.upstream_status = Some(status.as_u16());
    trail.request_id = headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(|id| id.chars().take(128).collect());
    let info = RateLimitInfo::from_headers(&headers, SystemTime::now());
    state
        .publisher()
        .pacer()
        .observe(&account.pinterest_user_id, route.category, &info);
    if status == StatusCode::TOO_MANY_REQUESTS {
        credential.metrics.upstream_rate_limited();
    }
    let limit = credential.settings.body_limit;
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= limit => body.extend_from_slice(&chunk),
            Ok(Some(_)) => {
                return Err(Unanswered::Unknown(Refusal::new(
                    StatusCode::BAD_GATEWAY,
                    "pinterest_answer_too_large",
                    "Pinterest's answer is larger than the passthrough relays",
                )));
            }
            Ok(None) => break,
            Err(_) => {
                return Err(Unanswered::Unknown(Refusal::new(
                    StatusCode::BAD_GATEWAY,
                    "pinterest_unreachable",
                    "Pinterest's answer broke off; the call may or may not have happened, and pinline did not send it again",
                )));
            }
        }
    }
    Ok(Answer {
        status,
        headers,
        body: Bytes::from(body),
    })
}

/// True for Pinterest's "authentication failed" (code 2): an expired or revoked token, which a
/// refresh may cure. Missing scopes (3), not authorized (7) and not permitted (29) are not.
fn is_authentication_failure(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("code").and_then(serde_json::Value::as_i64))
        == Some(error_code::AUTHENTICATION_FAILED)
}

/// The answer for a vault failure: Pinterest's 401 with the account's state when the account
/// must be reconnected, the API's mapping otherwise.
fn refusal_of_vault(error: VaultError) -> Unanswered {
    let refusal = match &error {
        VaultError::NeedsReauth { .. } => Refusal::account_unusable(
            "needs_reauth",
            "Authentication failed: the account must be reconnected in pinline",
        ),
        VaultError::Disconnected => Refusal::account_unusable(
            "disconnected",
            "Authentication failed: the account was disconnected in pinline",
        ),
        _ => Refusal::from(crate::error::ApiError::from(error)),
    };
    Unanswered::Refused(refusal)
}

impl From<Unanswered> for Refusal {
    fn from(unanswered: Unanswered) -> Refusal {
        unanswered.into_refusal()
    }
}

/// Sets the header that says an answer was replayed from an `Idempotency-Key`.
fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert("idempotency-replayed", HeaderValue::from_static("true"));
}
