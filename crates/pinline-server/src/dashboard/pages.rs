//! The dashboard's handlers and the view models their templates render.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use pinline_pinterest::ErrorClass;
use pinline_store::{PostFilter, PostRow};
use pinline_vault::{Account, AccountStatus};
use serde::Deserialize;

use super::format::{day_and_time, plain_error, relative, time_left, timestamp};
use super::session::{
    self, SESSION_COOKIE, SESSION_LIFETIME_MS, SIGNIN_COOKIE, constant_time_eq, cookie_value,
    random_token, set_cookie,
};
use super::{Dashboard, PageError, SignedIn, render};
use crate::api_keys::hash_api_key;

/// How long the sign-in form stays valid.
const SIGNIN_FORM_LIFETIME_SECS: i64 = 3600;
/// How far back the queue page looks.
const QUEUE_LOOKBACK_MS: i64 = 14 * 86_400_000;
/// Posts the queue page shows at most.
const QUEUE_MAX_POSTS: usize = 1000;
/// Held posts listed under one account at most.
const HELD_SHOWN: i64 = 50;

/// What the page header needs: the active tab and the CSRF token for sign-out.
#[derive(Debug)]
pub(super) struct Chrome {
    pub(super) active: &'static str,
    pub(super) csrf: String,
}

impl Chrome {
    pub(super) fn new(active: &'static str, signed_in: &SignedIn) -> Chrome {
        Chrome {
            active,
            csrf: signed_in.session.csrf_token.clone(),
        }
    }
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub(super) fn csrf_of(form: &Result<Form<CsrfForm>, FormRejection>) -> Option<&str> {
    form.as_ref()
        .ok()
        .and_then(|Form(form)| form.csrf.as_deref())
}

/// A path to return to after sign-in: local, and plain enough to need no escaping.
pub fn safe_next(next: &str) -> Option<&str> {
    let plain = next
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    (next.starts_with('/') && !next.starts_with("//") && plain && next != "/signin").then_some(next)
}

/// `GET /` → the dashboard (which sends people who are not signed in to sign in).
pub async fn root() -> Redirect {
    Redirect::to("/dashboard")
}

// ----- Sign-in and sign-out ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/signin.html")]
struct SigninPage {
    error: Option<String>,
    signin_token: String,
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form, bound to this browser by a cookie holding the same random token (so
/// another site cannot sign a person in under its own key).
fn signin_page(
    dashboard: &Dashboard,
    status: StatusCode,
    error: Option<String>,
    next: &str,
) -> Response {
    let token = random_token();
    let page = SigninPage {
        error,
        signin_token: token.clone(),
        next: safe_next(next).unwrap_or("/dashboard").to_owned(),
    };
    let mut response = (status, render(&page)).into_response();
    append_cookie(
        &mut response,
        &set_cookie(
            SIGNIN_COOKIE,
            &token,
            SIGNIN_FORM_LIFETIME_SECS,
            dashboard.secure_cookies(),
        ),
    );
    response
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// `GET /signin`.
pub async fn signin_form(
    State(dashboard): State<Dashboard>,
    Query(query): Query<NextQuery>,
) -> Response {
    signin_page(
        &dashboard,
        StatusCode::OK,
        None,
        query.next.as_deref().unwrap_or("/dashboard"),
    )
}

#[derive(Deserialize)]
pub struct SigninForm {
    api_key: Option<String>,
    signin_token: Option<String>,
    next: Option<String>,
}

/// `POST /signin`: checks the key like the API does, then starts a session.
pub async fn signin(
    State(dashboard): State<Dashboard>,
    peer: crate::lockout::Peer,
    headers: HeaderMap,
    form: Result<Form<SigninForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Ok(signin_page(
            &dashboard,
            StatusCode::BAD_REQUEST,
            Some("The form was incomplete; enter your API key again.".into()),
            "/dashboard",
        ));
    };
    let next = form.next.as_deref().unwrap_or("/dashboard");
    let cookie = headers
        .get(COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|header| cookie_value(header, SIGNIN_COOKIE));
    let bound = matches!(
        (cookie, form.signin_token.as_deref()),
        (Some(cookie), Some(token)) if constant_time_eq(cookie, token)
    );
    if !bound {
        return Ok(signin_page(
            &dashboard,
            StatusCode::FORBIDDEN,
            Some(
                "The sign-in form expired or came from elsewhere; enter your API key again.".into(),
            ),
            next,
        ));
    }
    // A locked-out address is answered before any lookup, whatever key it sends now.
    let now = dashboard.app.now_ms();
    let client = match dashboard.app.lockout().admit(&peer, now) {
        Ok(client) => client,
        Err(wait_secs) => {
            let mut page = signin_page(
                &dashboard,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many wrong API keys from this address; try again in {wait_secs} seconds."
                )),
                next,
            );
            if let Ok(value) = wait_secs.to_string().parse() {
                page.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            return Ok(page);
        }
    };
    let key = form.api_key.as_deref().map(str::trim).unwrap_or_default();
    let key_hash = hash_api_key(key);
    let row = if key.is_empty() {
        None
    } else {
        dashboard.app.store().api_key_by_hash(&key_hash).await?
    };
    let Some(row) = row else {
        if let Some(address) = client {
            dashboard.app.lockout().fail(address, now);
        }
        return Ok(signin_page(
            &dashboard,
            StatusCode::UNAUTHORIZED,
            Some("That API key is unknown or revoked.".into()),
            next,
        ));
    };
    let token = session::create(
        dashboard.app.store(),
        row.profile_id,
        row.id,
        dashboard.app.now_ms(),
    )
    .await?;
    let secure = dashboard.secure_cookies();
    let mut response = Redirect::to(safe_next(next).unwrap_or("/dashboard")).into_response();
    append_cookie(
        &mut response,
        &set_cookie(SESSION_COOKIE, &token, SESSION_LIFETIME_MS / 1000, secure),
    );
    append_cookie(&mut response, &set_cookie(SIGNIN_COOKIE, "", 0, secure));
    Ok(response)
}

/// `POST /signout`.
pub async fn signout(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(csrf_of(&form))?;
    session::remove(dashboard.app.store(), &signed_in.token).await?;
    let mut response = Redirect::to("/signin").into_response();
    append_cookie(
        &mut response,
        &set_cookie(SESSION_COOKIE, "", 0, dashboard.secure_cookies()),
    );
    Ok(response)
}

// ----- Accounts ------------------------------------------------------------------------------

/// A post in a list.
#[derive(Debug)]
struct PostLine {
    id: String,
    title: String,
    status: String,
    /// `HH:MM` UTC of its scheduled (or creation) time.
    time: String,
    /// The same time, relative, with the RFC 3339 stamp.
    when: String,
    account: String,
    board: String,
    attempts: i64,
    error: Option<String>,
    note: String,
}

fn post_title(post: &PostRow) -> String {
    post.title
        .clone()
        .filter(|title| !title.trim().is_empty())
        .or_else(|| {
            post.description
                .as_deref()
                .map(|d| d.chars().take(60).collect())
        })
        .unwrap_or_else(|| "(untitled)".to_owned())
}

fn scheduled_at(post: &PostRow) -> i64 {
    post.publish_at.unwrap_or(post.created_at)
}

fn post_error(post: &PostRow) -> Option<String> {
    if post.status == PostRow::PUBLISHED || post.status == PostRow::CANCELED {
        return None;
    }
    post.last_error_class.as_deref().map(|class| {
        plain_error(
            class,
            post.last_error_message.as_deref().unwrap_or_default(),
        )
    })
}

fn post_line(post: &PostRow, usernames: &HashMap<String, String>, now: i64) -> PostLine {
    let at = scheduled_at(post);
    let (_, time) = day_and_time(at);
    let note = match post.status.as_str() {
        PostRow::HELD => post
            .held_reason
            .clone()
            .unwrap_or_else(|| "waiting for the account to be reconnected".into()),
        PostRow::PUBLISHED => format!(
            "published {}",
            post.published_at
                .map(|at| relative(at, now))
                .unwrap_or_default()
        ),
        PostRow::QUEUED if post.publish_at.is_some_and(|at| at > now) => "scheduled".into(),
        PostRow::QUEUED => "due; waiting for a worker".into(),
        _ => String::new(),
    };
    PostLine {
        id: post.id.clone(),
        title: post_title(post),
        status: post.status.clone(),
        time,
        when: format!("{} · {}", relative(at, now), timestamp(Some(at))),
        account: usernames
            .get(&post.account_id)
            .map(|name| format!("@{name}"))
            .unwrap_or_else(|| post.account_id.clone()),
        board: post.board_id.clone(),
        attempts: post.attempts,
        error: post_error(post),
        note,
    }
}

#[derive(Debug)]
struct AccountView {
    id: String,
    username: String,
    status: &'static str,
    health: Option<String>,
    environment: String,
    client_id: String,
    pinterest_user_id: String,
    access_left: String,
    access_at: String,
    refresh_left: String,
    refresh_at: String,
    /// Which refresh token, in words.
    refresh_kind: &'static str,
    last_refresh: String,
    scopes: String,
    last_error: Option<String>,
    /// The embedding app's id for the person behind the account, and its metadata as JSON.
    external: Option<String>,
    held: Vec<PostLine>,
}

fn account_health(account: &Account) -> Option<String> {
    let reason = account.status_reason.as_deref();
    let mismatch = account
        .last_error
        .as_ref()
        .filter(|error| error.class == ErrorClass::CredentialMismatch.as_str());
    match account.status {
        AccountStatus::Active | AccountStatus::Refreshing if mismatch.is_some() => Some(format!(
            "This account cannot publish from this pinline: {}. Its posts are held, not lost, with no attempts, and publish once the configuration matches or the account is reconnected under the configured app.",
            mismatch
                .map(|e| e.message.trim_end_matches('.'))
                .unwrap_or_default()
        )),
        AccountStatus::Active => None,
        AccountStatus::Refreshing => Some("A token refresh is in progress.".into()),
        AccountStatus::NeedsReauth => Some(format!(
            "This account must be reconnected before it can publish{}. Its posts are held, not lost, and publish after the reconnect.",
            reason
                .map(|r| format!(": {}", r.trim_end_matches('.')))
                .unwrap_or_default()
        )),
        AccountStatus::Disconnected => Some(
            "This account was disconnected and its tokens erased; reconnect it to publish again."
                .into(),
        ),
    }
}

#[derive(Template)]
#[template(path = "dashboard/accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    now: NowView,
    accounts: Vec<AccountView>,
}

/// The numbers a person checks first: what waits, what this process did since it started,
/// and what webhooks still owe. The same figures `/metrics` serves.
struct NowView {
    queued: i64,
    publishing: i64,
    held: i64,
    published: u64,
    failed: u64,
    retried: u64,
    mean_lag: String,
    webhook_backlog: i64,
}

impl NowView {
    async fn read(app: &crate::state::AppState) -> Result<NowView, pinline_store::StoreError> {
        let store = app.store();
        let totals = app.publisher().metrics().totals();
        Ok(NowView {
            queued: store.count_posts_with_status(PostRow::QUEUED).await?,
            publishing: store.count_posts_with_status(PostRow::PUBLISHING).await?,
            held: store.count_posts_with_status(PostRow::HELD).await?,
            published: totals.published,
            failed: totals.failed,
            retried: totals.retried,
            mean_lag: totals
                .mean_lag_secs
                .map_or_else(|| "–".to_owned(), |secs| format!("{secs:.2} s")),
            webhook_backlog: store.count_pending_deliveries().await?,
        })
    }
}

/// `GET /dashboard`: the profile's accounts and their health.
pub async fn accounts_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let now = app.now_ms();
    let accounts = app.vault().accounts(signed_in.profile_id()).await?;
    let usernames: HashMap<String, String> = accounts
        .iter()
        .map(|a| (a.id.clone(), a.username.clone()))
        .collect();
    let mut views = Vec::with_capacity(accounts.len());
    let links = app.store().account_links(signed_in.profile_id()).await?;
    for account in &accounts {
        let external = links
            .iter()
            .find(|link| link.account_id == account.id)
            .and_then(|link| match (&link.external_id, &link.metadata) {
                (None, None) => None,
                (id, metadata) => Some(format!(
                    "{}{}",
                    id.as_deref().unwrap_or("–"),
                    metadata
                        .as_deref()
                        .map(|m| format!(" · {m}"))
                        .unwrap_or_default()
                )),
            });
        let filter = PostFilter {
            status: Some(PostRow::HELD.to_owned()),
            account_id: Some(account.id.clone()),
            ..PostFilter::default()
        };
        let held = app
            .store()
            .list_posts(signed_in.profile_id(), &filter, None, HELD_SHOWN)
            .await?
            .posts;
        views.push(AccountView {
            id: account.id.clone(),
            username: account.username.clone(),
            status: account.status.as_str(),
            health: account_health(account),
            environment: account.environment.clone(),
            client_id: account.client_id.clone(),
            pinterest_user_id: account.pinterest_user_id.clone(),
            access_left: time_left(account.access_expires_at_ms, now),
            access_at: timestamp(account.access_expires_at_ms),
            refresh_left: time_left(account.refresh_expires_at_ms, now),
            refresh_at: timestamp(account.refresh_expires_at_ms),
            refresh_kind: match account
                .refresh_token_kind
                .as_deref()
                .and_then(pinline_store::RefreshTokenKind::parse)
            {
                Some(pinline_store::RefreshTokenKind::Continuous) => {
                    "continuous: renewed by every refresh"
                }
                Some(pinline_store::RefreshTokenKind::Legacy) => {
                    "legacy: a hard end a year after the connect; reconnect before it"
                }
                None => "kind not known",
            },
            last_refresh: account
                .last_refresh_at_ms
                .map(|at| format!("{} ({})", relative(at, now), timestamp(Some(at))))
                .unwrap_or_else(|| "never (tokens from the connect)".into()),
            scopes: if account.scopes.is_empty() {
                "none".into()
            } else {
                account.scopes.join(", ")
            },
            last_error: account.last_error.as_ref().map(|error| {
                let words = plain_error(&error.class, &error.message);
                match error.at_ms {
                    Some(at) => format!("{words} ({})", relative(at, now)),
                    None => words,
                }
            }),
            external,
            held: held.iter().map(|p| post_line(p, &usernames, now)).collect(),
        });
    }
    Ok(render(&AccountsPage {
        chrome: Chrome::new("accounts", &signed_in),
        now: NowView::read(app).await?,
        accounts: views,
    }))
}

/// `POST /dashboard/connect`: starts connecting a new account and sends the person to
/// Pinterest's consent page.
pub async fn connect_account(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(csrf_of(&form))?;
    start_connect(&dashboard, signed_in.profile_id()).await
}

/// `POST /dashboard/accounts/{id}/reconnect`: the same flow for an existing account (Pinterest
/// returns the same user, and the vault reconnects it).
pub async fn reconnect_account(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(csrf_of(&form))?;
    reconnect(&dashboard, &signed_in, &account_id).await
}

/// `GET /accounts/{id}/reconnect`: the link in `account.needs_reauth` events and alerts. Signing
/// in comes first when needed; then straight to Pinterest's consent page. A GET because it is
/// followed from an email or a chat message; all it can do is show the person a consent page.
pub async fn reconnect_link(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
) -> Result<Response, PageError> {
    reconnect(&dashboard, &signed_in, &account_id).await
}

async fn reconnect(
    dashboard: &Dashboard,
    signed_in: &SignedIn,
    account_id: &str,
) -> Result<Response, PageError> {
    dashboard
        .app
        .vault()
        .account(signed_in.profile_id(), account_id)
        .await
        .map_err(|_| PageError::not_found("account"))?;
    start_connect(dashboard, signed_in.profile_id()).await
}

async fn start_connect(dashboard: &Dashboard, profile_id: &str) -> Result<Response, PageError> {
    let start = dashboard
        .app
        .vault()
        .begin_connect(profile_id, None)
        .await?;
    Ok(Redirect::to(start.authorize_url.as_str()).into_response())
}

// ----- Queue ---------------------------------------------------------------------------------

#[derive(Debug)]
struct DayGroup {
    label: String,
    posts: Vec<PostLine>,
}

#[derive(Template)]
#[template(path = "dashboard/posts.html")]
struct PostsPage {
    chrome: Chrome,
    since: String,
    summary: String,
    days: Vec<DayGroup>,
}

/// `GET /dashboard/posts`: scheduled and recent posts, grouped by day.
pub async fn posts_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let now = app.now_ms();
    let since = now - QUEUE_LOOKBACK_MS;
    let usernames: HashMap<String, String> = app
        .vault()
        .accounts(signed_in.profile_id())
        .await?
        .into_iter()
        .map(|a| (a.id, a.username))
        .collect();
    let filter = PostFilter {
        from: Some(since),
        ..PostFilter::default()
    };
    let mut posts = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .list_posts(signed_in.profile_id(), &filter, cursor.as_ref(), 200)
            .await?;
        posts.extend(page.posts);
        cursor = page.next;
        if cursor.is_none() || posts.len() >= QUEUE_MAX_POSTS {
            break;
        }
    }
    posts.truncate(QUEUE_MAX_POSTS);
    posts.sort_by_key(|post| (scheduled_at(post), post.id.clone()));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for post in &posts {
        *counts.entry(post.status.as_str()).or_default() += 1;
    }
    let summary = if counts.is_empty() {
        String::new()
    } else {
        counts
            .iter()
            .map(|(status, count)| format!("{count} {status}"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let (today, _) = day_and_time(now);
    let mut days: Vec<DayGroup> = Vec::new();
    for post in &posts {
        let (day, _) = day_and_time(scheduled_at(post));
        let label = if day == today {
            format!("{day} (today)")
        } else {
            day
        };
        match days.last_mut() {
            Some(group) if group.label == label => {}
            _ => days.push(DayGroup {
                label,
                posts: Vec::new(),
            }),
        }
        if let Some(group) = days.last_mut() {
            group.posts.push(post_line(post, &usernames, now));
        }
    }
    Ok(render(&PostsPage {
        chrome: Chrome::new("posts", &signed_in),
        since: day_and_time(since).0,
        summary,
        days,
    }))
}

#[derive(Debug)]
struct AttemptLine {
    number: i64,
    started: String,
    finished: String,
    outcome: String,
    worker: String,
    error: String,
}

#[derive(Template)]
#[template(path = "dashboard/post.html")]
struct PostPage {
    chrome: Chrome,
    post: PostLine,
    fields: Vec<(&'static str, String)>,
    pin_url: Option<String>,
    attempts: Vec<AttemptLine>,
}

/// `GET /dashboard/posts/{id}`: one post of the profile and its attempts.
pub async fn post_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(post_id): Path<String>,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let now = app.now_ms();
    let post = app
        .store()
        .post(signed_in.profile_id(), &post_id)
        .await?
        .ok_or_else(|| PageError::not_found("post"))?;
    let usernames: HashMap<String, String> = app
        .vault()
        .accounts(signed_in.profile_id())
        .await?
        .into_iter()
        .map(|a| (a.id, a.username))
        .collect();
    let attempts = app.store().post_attempts(&post.id).await?;
    let line = post_line(&post, &usernames, now);
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    let when = |at: Option<i64>| {
        at.map(|at| format!("{} ({})", timestamp(Some(at)), relative(at, now)))
            .unwrap_or_default()
    };
    let fields = vec![
        ("Id", post.id.clone()),
        ("Account", line.account.clone()),
        ("Board", post.board_id.clone()),
        ("Board section", optional(&post.board_section_id)),
        ("Description", optional(&post.description)),
        ("Link", optional(&post.link)),
        ("Alt text", optional(&post.alt_text)),
        ("Media", media_summary(&post.media)),
        (
            "Publish at",
            post.publish_at
                .map(|at| when(Some(at)))
                .unwrap_or_else(|| "as soon as possible".into()),
        ),
        ("Held because", optional(&post.held_reason)),
        ("Created", when(Some(post.created_at))),
        ("Updated", when(Some(post.updated_at))),
        ("Published", when(post.published_at)),
        ("Attempts", post.attempts.to_string()),
        (
            "Canary",
            if post.canary {
                "yes: the first post after a reconnect".into()
            } else {
                "no".into()
            },
        ),
    ];
    let attempts = attempts
        .iter()
        .map(|attempt| AttemptLine {
            number: attempt.attempt,
            started: timestamp(Some(attempt.started_at)),
            finished: timestamp(attempt.finished_at),
            outcome: attempt.outcome.clone().unwrap_or_else(|| "running".into()),
            worker: attempt.lease_owner.clone(),
            error: attempt
                .error_class
                .as_deref()
                .map(|class| {
                    plain_error(class, attempt.error_message.as_deref().unwrap_or_default())
                })
                .unwrap_or_default(),
        })
        .collect();
    Ok(render(&PostPage {
        chrome: Chrome::new("posts", &signed_in),
        pin_url: post.pin_url.clone(),
        post: line,
        fields: fields.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        attempts,
    }))
}

// ----- Webhooks ------------------------------------------------------------------------------

#[derive(Debug)]
struct WebhookLine {
    id: String,
    url: String,
    events: String,
    created: String,
    state: String,
}

#[derive(Debug)]
struct DeliveryLine {
    event: String,
    webhook: String,
    status: String,
    attempts: i64,
    last_response: String,
    created: String,
    settled: String,
}

#[derive(Template)]
#[template(path = "dashboard/webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    webhooks: Vec<WebhookLine>,
    deliveries: Vec<DeliveryLine>,
}

/// `GET /dashboard/webhooks`: the profile's webhooks and the latest deliveries.
pub async fn webhooks_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let now = app.now_ms();
    let webhooks = app.webhooks().list(signed_in.profile_id()).await?;
    let deliveries = app
        .store()
        .list_webhook_deliveries(signed_in.profile_id(), None, 100)
        .await?;
    let webhooks = webhooks
        .iter()
        .map(|hook| WebhookLine {
            id: hook.id.clone(),
            url: hook.url.clone(),
            events: hook.events.replace(',', ", "),
            created: timestamp(Some(hook.created_at)),
            state: match hook.disabled_at {
                Some(at) => format!("disabled {}", relative(at, now)),
                None => "active".into(),
            },
        })
        .collect();
    let deliveries = deliveries
        .iter()
        .map(|delivery| DeliveryLine {
            event: delivery.event.clone(),
            webhook: delivery.webhook_id.clone(),
            status: delivery.status.clone(),
            attempts: delivery.attempts,
            last_response: match (&delivery.last_status_code, &delivery.last_error) {
                (Some(code), Some(error)) if error.contains(&format!("HTTP {code}")) => {
                    error.clone()
                }
                (Some(code), Some(error)) => format!("HTTP {code}: {error}"),
                (Some(code), None) => format!("HTTP {code}"),
                (None, Some(error)) => error.clone(),
                (None, None) => String::new(),
            },
            created: format!(
                "{} ({})",
                timestamp(Some(delivery.created_at)),
                relative(delivery.created_at, now)
            ),
            settled: match delivery.delivered_at {
                Some(at) => format!("delivered {}", relative(at, now)),
                None if delivery.status == "pending" => {
                    format!("next try {}", relative(delivery.next_attempt_at, now))
                }
                None => String::new(),
            },
        })
        .collect();
    Ok(render(&WebhooksPage {
        chrome: Chrome::new("webhooks", &signed_in),
        webhooks,
        deliveries,
    }))
}

/// A post's media for people: URLs as they are, inline images by type and size (the base64
/// text itself is of no use on a page).
fn media_summary(media: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(media) else {
        return media.to_owned();
    };
    let mut shorten = |item: &mut serde_json::Value| {
        if let Some(data) = item.get("data").and_then(|d| d.as_str()) {
            let kib = data.len() * 3 / 4 / 1024;
            item["data"] = serde_json::Value::String(format!("[inline image, {kib} KiB]"));
        }
    };
    shorten(&mut value);
    if let Some(items) = value.get_mut("items").and_then(|i| i.as_array_mut()) {
        items.iter_mut().for_each(&mut shorten);
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_paths_are_returned_to() {
        assert_eq!(safe_next("/dashboard"), Some("/dashboard"));
        assert_eq!(
            safe_next("/accounts/01a2-b3/reconnect"),
            Some("/accounts/01a2-b3/reconnect")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/signin",
            "/a?b=c",
            "/a\"><script>",
            "dashboard",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }
}
