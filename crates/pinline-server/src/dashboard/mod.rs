//! The dashboard: server-rendered pages for people, next to the `/v1` API for apps.
//!
//! A person signs in with an API key and sees that key's profile: its Pinterest accounts and
//! their health (with Connect and Reconnect buttons that run the OAuth flow), each account's
//! week as a calendar of slots and posts (with reschedule), the queue of posts by day, each
//! post with its attempts, and webhooks with their delivery log. Reading works
//! without JavaScript; the pages load nothing from elsewhere and carry their CSS inline.
//!
//! Sessions and CSRF are described in [`session`]: an HttpOnly, SameSite=Lax cookie names a
//! session kept in the database (so every replica honours it), and every form carries the
//! session's CSRF token, compared in constant time. Templates are askama's, checked at compile
//! time and HTML-escaped.

mod audit;
mod calendar;
mod drafts;
mod format;
mod pages;
mod session;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;
use session::{SESSION_COOKIE, Session, constant_time_eq, cookie_value};

/// What the dashboard's handlers share: the application.
#[derive(Debug, Clone)]
pub struct Dashboard {
    app: AppState,
}

impl Dashboard {
    /// Cookies get `Secure` when pinline's public URL is HTTPS.
    fn secure_cookies(&self) -> bool {
        self.app
            .vault()
            .settings()
            .public_url
            .starts_with("https://")
    }
}

/// The dashboard's routes.
pub fn router<S>(app: AppState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let dashboard = Dashboard { app };
    Router::new()
        .route("/", get(pages::root))
        .route("/signin", get(pages::signin_form).post(pages::signin))
        .route("/signout", post(pages::signout))
        .route("/dashboard", get(pages::accounts_page))
        .route("/dashboard/connect", post(pages::connect_account))
        .route(
            "/dashboard/accounts/{account_id}/reconnect",
            post(pages::reconnect_account),
        )
        .route(
            "/accounts/{account_id}/reconnect",
            get(pages::reconnect_link),
        )
        .route(
            "/dashboard/accounts/{account_id}/calendar",
            get(calendar::calendar_page),
        )
        .route(
            "/dashboard/accounts/{account_id}/slots",
            post(calendar::save_schedule),
        )
        .route(
            "/dashboard/accounts/{account_id}/campaign",
            post(calendar::start_campaign),
        )
        .route(
            "/dashboard/posts/{post_id}/reschedule",
            post(calendar::reschedule_post),
        )
        .route("/dashboard/posts", get(pages::posts_page))
        .route("/dashboard/posts/{post_id}", get(pages::post_page))
        .route("/dashboard/webhooks", get(pages::webhooks_page))
        .route("/dashboard/audit", get(audit::audit_page))
        .route(
            "/dashboard/drafts",
            get(drafts::drafts_page).post(drafts::create_drafts),
        )
        .route(
            "/dashboard/drafts/{draft_id}/image",
            get(drafts::draft_image),
        )
        .route(
            "/dashboard/drafts/{draft_id}/publish",
            post(drafts::publish_draft),
        )
        .layer(axum::middleware::map_response(page_headers))
        .with_state(dashboard)
}

/// Pages are private and never framed; they load nothing but their inline CSS.
async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

/// A form a signed-in person sends: it carries the session's CSRF token.
trait SessionForm {
    fn csrf(&self) -> Option<&str>;
}

/// A signed-in person: their session, checked against a live API key.
#[derive(Debug)]
pub struct SignedIn {
    session: Session,
    /// The cookie's token, to end the session on sign-out.
    token: String,
}

impl SignedIn {
    /// The profile everything shown is scoped to.
    fn profile_id(&self) -> &str {
        &self.session.profile_id
    }

    /// The API key the person signed in with.
    fn key_id(&self) -> &str {
        &self.session.key_id
    }

    /// Refuses a form whose CSRF token is missing or is not this session's.
    fn check_csrf(&self, presented: Option<&str>) -> Result<(), PageError> {
        match presented {
            Some(token) if constant_time_eq(token, &self.session.csrf_token) => Ok(()),
            _ => Err(PageError::forbidden(
                "This form is out of date or did not come from this dashboard. Go back, reload the page and try again.",
            )),
        }
    }

    /// A form this session sent: parsed, its CSRF token checked. A form that does not parse is
    /// checked too (as having no token), so a forged one is a 403 whatever its fields.
    fn checked_form<T: SessionForm>(
        &self,
        form: Result<axum::Form<T>, axum::extract::rejection::FormRejection>,
    ) -> Result<T, PageError> {
        let Ok(axum::Form(form)) = form else {
            self.check_csrf(None)?;
            return Err(PageError::bad_request(
                "The form was incomplete; try again.",
            ));
        };
        self.check_csrf(form.csrf())?;
        Ok(form)
    }
}

impl FromRequestParts<Dashboard> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        dashboard: &Dashboard,
    ) -> Result<Self, Response> {
        let token = parts
            .headers
            .get(COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|header| cookie_value(header, SESSION_COOKIE))
            .map(str::to_owned);
        let Some(token) = token else {
            return Err(to_signin(parts));
        };
        // An expired session, or one whose key was revoked since sign-in, is no session.
        match session::get(dashboard.app.store(), &token, dashboard.app.now_ms()).await {
            Ok(Some(session)) => Ok(SignedIn { session, token }),
            Ok(None) => Err(to_signin(parts)),
            Err(error) => Err(PageError::from(ApiError::from(error)).into_response()),
        }
    }
}

/// To the sign-in page, coming back here afterwards when this was a page (GET).
fn to_signin(parts: &Parts) -> Response {
    let path = parts.uri.path();
    if parts.method == Method::GET && pages::safe_next(path).is_some() {
        Redirect::to(&format!("/signin?next={path}")).into_response()
    } else {
        Redirect::to("/signin").into_response()
    }
}

/// Renders a template, or a plain 500 if it cannot be rendered.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "dashboard template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// An error shown as a page.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl PageError {
    fn bad_request(message: &str) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            message: message.to_owned(),
        }
    }

    fn forbidden(message: &str) -> PageError {
        PageError {
            status: StatusCode::FORBIDDEN,
            message: message.to_owned(),
        }
    }

    /// The same answer whether the thing does not exist or belongs to another profile.
    fn not_found(what: &str) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            message: format!("There is no such {what} in this profile."),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> PageError {
        PageError {
            status: error.status,
            message: error.message,
        }
    }
}

impl From<pinline_store::StoreError> for PageError {
    fn from(error: pinline_store::StoreError) -> PageError {
        ApiError::from(error).into()
    }
}

impl From<pinline_vault::VaultError> for PageError {
    fn from(error: pinline_vault::VaultError) -> PageError {
        ApiError::from(error).into()
    }
}

impl From<pinline_webhooks::WebhookError> for PageError {
    fn from(error: pinline_webhooks::WebhookError) -> PageError {
        ApiError::from(error).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
            status if status.is_client_error() => "Not possible",
            _ => "Something went wrong",
        };
        let page = ErrorPage {
            title,
            message: &self.message,
        };
        (self.status, render(&page)).into_response()
    }
}
