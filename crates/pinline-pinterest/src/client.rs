//! The typed Pinterest API v5 client.
//!
//! [`PinterestClient`] is cheap to clone (one `Arc`) and holds the HTTP client, the
//! [`Environment`] and the app's credentials. Every call:
//! * is built from the operation table in [`crate::facts::operations`], so method, path, and the
//!   operation id used in logs and errors cannot drift from what the sandbox serves;
//! * validates path ids (digits only) and request limits first, refusing hopeless requests
//!   before they spend rate budget ([`crate::Refusal`]);
//! * runs in a `tracing` span named `pinterest` with the operation id; tokens, request bodies and
//!   upload parameters are never recorded;
//! * returns the value together with the response's [`RateLimitInfo`] ([`Response`]), because
//!   the queue paces from Pinterest's headers, and errors carry them too.
//!
//! The token endpoint uses HTTP Basic client authentication with a form-encoded body (the
//! spec's `basic` security scheme; RFC 6749 §2.3.1), user calls a bearer token (RFC 6750).
//!
//! Request building is separate from sending (the `*_request` methods return a
//! [`reqwest::Request`]), so what goes on the wire is unit-tested here without a server; the
//! calls themselves are tested against the sandbox in `crates/pinline-sandbox/tests`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::multipart::{Form, Part};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use url::Url;

use crate::environment::Environment;
use crate::error::{ApiError, PinterestError, Refusal, scrub};
use crate::facts::{self, Operation, Scope, format_scope_list, operations};
use crate::models::{
    AnalyticsReport, Board, BoardCreate, BoardPrivacyFilter, BoardSection, BoardUpdate, Media,
    MediaType, MediaUpload, MediaUploadCreate, Page, Pin, PinCreate, PinUpdate, TokenResponse,
    TokenTypeHint, UserAccount,
};
use crate::oauth::{Authorization, begin_authorization};
use crate::ratelimit::RateLimitInfo;
use crate::secret::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, PkceVerifier, RefreshToken,
};

/// Whole-request timeout for API calls: generous for Pinterest, short enough that a stuck
/// connection does not hold a queue worker for long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connection timeout. A connect failure proves nothing was sent, so it is kept apart.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout for media uploads, which carry whole videos.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Smallest and largest `page_size` the list endpoints accept.
pub const PAGE_SIZE_RANGE: std::ops::RangeInclusive<u32> = 1..=250;
/// The id used in logs and errors for the upload to the media host, which is not a Pinterest
/// API operation and so is not in the operation table.
pub const MEDIA_UPLOAD_OPERATION: &str = "media/upload";

/// A successful answer: the decoded value and what the response said about rate limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<T> {
    /// The decoded body.
    pub value: T,
    /// The rate-limit headers.
    pub rate_limit: RateLimitInfo,
    /// The HTTP status (200, 201 or 204).
    pub status: u16,
}

impl<T> Response<T> {
    /// The value, dropping the rate-limit information.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// A token to revoke; its kind becomes the `token_type_hint`.
#[derive(Debug, Clone, Copy)]
pub enum RevocableToken<'a> {
    /// An access token.
    Access(&'a AccessToken),
    /// A refresh token.
    Refresh(&'a RefreshToken),
}

impl<'a> From<&'a AccessToken> for RevocableToken<'a> {
    fn from(token: &'a AccessToken) -> Self {
        RevocableToken::Access(token)
    }
}

impl<'a> From<&'a RefreshToken> for RevocableToken<'a> {
    fn from(token: &'a RefreshToken) -> Self {
        RevocableToken::Refresh(token)
    }
}

impl RevocableToken<'_> {
    fn parts(&self) -> (&str, TokenTypeHint) {
        match self {
            RevocableToken::Access(token) => (token.expose_secret(), TokenTypeHint::AccessToken),
            RevocableToken::Refresh(token) => (token.expose_secret(), TokenTypeHint::RefreshToken),
        }
    }
}

/// A Pinterest API v5 client for one app in one environment.
#[derive(Clone)]
pub struct PinterestClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    environment: Environment,
    client_id: ClientId,
    client_secret: ClientSecret,
}

impl fmt::Debug for PinterestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinterestClient")
            .field("environment", &self.inner.environment.as_str())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .finish_non_exhaustive()
    }
}

impl PinterestClient {
    /// A client with pinline's HTTP settings: timeouts as above, no redirects (the API does
    /// not redirect, and a redirect must not carry credentials elsewhere), rustls.
    pub fn new(
        environment: Environment,
        client_id: ClientId,
        client_secret: ClientSecret,
    ) -> Result<Self, PinterestError> {
        // Pinterest's host is the operator's choice (the sandbox in tests), so private addresses
        // are fine; the process's reach still applies, so a test or demo run can never call
        // the real Pinterest. System proxies stay honoured outside such runs: an operator may
        // need one to reach Pinterest at all.
        let guard = pinline_outbound::Guard::new("Pinterest API request", true);
        let mut builder = reqwest::Client::builder().dns_resolver(guard.resolver());
        if guard.reach() == pinline_outbound::Reach::LoopbackOnly {
            builder = builder.no_proxy();
        }
        let http = builder
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pinline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(PinterestError::Setup)?;
        Ok(Self::with_http_client(
            http,
            environment,
            client_id,
            client_secret,
        ))
    }

    /// A client over a given HTTP client (shared connection pools, test settings).
    pub fn with_http_client(
        http: reqwest::Client,
        environment: Environment,
        client_id: ClientId,
        client_secret: ClientSecret,
    ) -> Self {
        PinterestClient {
            inner: Arc::new(Inner {
                http,
                environment,
                client_id,
                client_secret,
            }),
        }
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.inner.environment
    }

    /// The app's client id.
    pub fn client_id(&self) -> &ClientId {
        &self.inner.client_id
    }

    /// Refuses a credential stored for another environment, before it is ever sent: a sandbox
    /// token must not reach production (nor the other way round).
    pub fn ensure_environment(&self, credential: &Environment) -> Result<(), PinterestError> {
        if self.inner.environment.accepts_credentials_of(credential) {
            return Ok(());
        }
        Err(PinterestError::refused(
            "credential check",
            Refusal::EnvironmentMismatch {
                credential: credential.as_str().into_owned(),
                client: self.inner.environment.as_str().into_owned(),
            },
        ))
    }

    /// Starts an authorization on this environment's authorize page (see [`crate::oauth`]).
    pub fn begin_authorization(&self, redirect_uri: &str, scopes: &[Scope]) -> Authorization {
        begin_authorization(
            &self.inner.environment.oauth_url(),
            &self.inner.client_id,
            redirect_uri,
            scopes,
        )
    }

    // ----- Token endpoint -------------------------------------------------------------------

    /// Exchanges an authorization code (`grant_type=authorization_code`), with the PKCE
    /// verifier when the authorization used one. It asks for a continuous refresh token
    /// (`continuous_refresh=true`): an app created before 25 September 2025 that does not gets
    /// the legacy one, which ends 365 days after the connect and cannot be renewed.
    pub async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<Response<TokenResponse>, PinterestError> {
        let request = self.exchange_code_request(code, redirect_uri, verifier)?;
        self.execute(&operations::OAUTH_TOKEN, request).await
    }

    /// Refreshes (`grant_type=refresh_token`), optionally narrowing the scopes. The answer
    /// carries a new refresh token that replaces this one: commit it before using the access
    /// token.
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scopes: Option<&[Scope]>,
    ) -> Result<Response<TokenResponse>, PinterestError> {
        let request = self.refresh_request(refresh_token, scopes)?;
        self.execute(&operations::OAUTH_TOKEN, request).await
    }

    /// Revokes an access or refresh token (`POST /v5/oauth/token/revoke`).
    pub async fn revoke<'a>(
        &self,
        token: impl Into<RevocableToken<'a>>,
    ) -> Result<Response<()>, PinterestError> {
        let request = self.revoke_request(token.into())?;
        self.execute_empty(&operations::TOKEN_REVOKE, request).await
    }

    pub(crate) fn exchange_code_request(
        &self,
        code: &AuthorizationCode,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<reqwest::Request, PinterestError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", redirect_uri),
            ("continuous_refresh", "true"),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier.expose_secret()));
        }
        self.token_request(&operations::OAUTH_TOKEN, &form)
    }

    pub(crate) fn refresh_request(
        &self,
        refresh_token: &RefreshToken,
        scopes: Option<&[Scope]>,
    ) -> Result<reqwest::Request, PinterestError> {
        let scope = scopes.map(format_scope_list);
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        if let Some(scope) = &scope {
            form.push(("scope", scope));
        }
        self.token_request(&operations::OAUTH_TOKEN, &form)
    }

    pub(crate) fn revoke_request(
        &self,
        token: RevocableToken<'_>,
    ) -> Result<reqwest::Request, PinterestError> {
        let (token, hint) = token.parts();
        let form = [("token", token), ("token_type_hint", hint.as_str())];
        self.token_request(&operations::TOKEN_REVOKE, &form)
    }

    fn token_request(
        &self,
        operation: &Operation,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Request, PinterestError> {
        let url = self.inner.environment.endpoint(operation.path);
        let builder = self
            .inner
            .http
            .request(method(operation), url)
            .basic_auth(
                self.inner.client_id.as_str(),
                Some(self.inner.client_secret.expose_secret()),
            )
            .form(form);
        build(operation.id, builder)
    }

    // ----- User account ---------------------------------------------------------------------

    /// The user behind `token` (`GET /v5/user_account`).
    pub async fn user_account(
        &self,
        token: &AccessToken,
    ) -> Result<Response<UserAccount>, PinterestError> {
        let request = self.user_account_request(token)?;
        self.execute(&operations::USER_ACCOUNT_GET, request).await
    }

    pub(crate) fn user_account_request(
        &self,
        token: &AccessToken,
    ) -> Result<reqwest::Request, PinterestError> {
        let operation = &operations::USER_ACCOUNT_GET;
        build(operation.id, self.api(operation, &[], token)?)
    }

    // ----- Boards ---------------------------------------------------------------------------

    /// One page of the user's boards (`GET /v5/boards`).
    pub async fn list_boards(
        &self,
        token: &AccessToken,
        bookmark: Option<&str>,
        page_size: Option<u32>,
        privacy: Option<BoardPrivacyFilter>,
    ) -> Result<Response<Page<Board>>, PinterestError> {
        let request = self.list_boards_request(token, bookmark, page_size, privacy)?;
        self.execute(&operations::BOARDS_LIST, request).await
    }

    pub(crate) fn list_boards_request(
        &self,
        token: &AccessToken,
        bookmark: Option<&str>,
        page_size: Option<u32>,
        privacy: Option<BoardPrivacyFilter>,
    ) -> Result<reqwest::Request, PinterestError> {
        let operation = &operations::BOARDS_LIST;
        let mut query = page_query(operation, bookmark, page_size)?;
        if let Some(privacy) = privacy {
            query.push(("privacy", privacy.as_str().to_owned()));
        }
        build(operation.id, self.api(operation, &[], token)?.query(&query))
    }

    /// One board (`GET /v5/boards/{board_id}`).
    pub async fn get_board(
        &self,
        token: &AccessToken,
        board_id: &str,
    ) -> Result<Response<Board>, PinterestError> {
        let operation = &operations::BOARDS_GET;
        let request = build(
            operation.id,
            self.api(operation, &[("board_id", board_id)], token)?,
        )?;
        self.execute(operation, request).await
    }

    /// Creates a board (`POST /v5/boards`).
    pub async fn create_board(
        &self,
        token: &AccessToken,
        board: &BoardCreate,
    ) -> Result<Response<Board>, PinterestError> {
        let operation = &operations::BOARDS_CREATE;
        let request = build(operation.id, self.api(operation, &[], token)?.json(board))?;
        self.execute(operation, request).await
    }

    /// Changes a board (`PATCH /v5/boards/{board_id}`).
    pub async fn update_board(
        &self,
        token: &AccessToken,
        board_id: &str,
        update: &BoardUpdate,
    ) -> Result<Response<Board>, PinterestError> {
        let operation = &operations::BOARDS_UPDATE;
        let builder = self.api(operation, &[("board_id", board_id)], token)?;
        let request = build(operation.id, builder.json(update))?;
        self.execute(operation, request).await
    }

    /// Deletes a board and its pins (`DELETE /v5/boards/{board_id}`).
    pub async fn delete_board(
        &self,
        token: &AccessToken,
        board_id: &str,
    ) -> Result<Response<()>, PinterestError> {
        let operation = &operations::BOARDS_DELETE;
        let request = build(
            operation.id,
            self.api(operation, &[("board_id", board_id)], token)?,
        )?;
        self.execute_empty(operation, request).await
    }

    /// One page of a board's pins (`GET /v5/boards/{board_id}/pins`).
    pub async fn list_board_pins(
        &self,
        token: &AccessToken,
        board_id: &str,
        bookmark: Option<&str>,
        page_size: Option<u32>,
    ) -> Result<Response<Page<Pin>>, PinterestError> {
        let request = self.list_board_pins_request(token, board_id, bookmark, page_size)?;
        self.execute(&operations::BOARDS_LIST_PINS, request).await
    }

    pub(crate) fn list_board_pins_request(
        &self,
        token: &AccessToken,
        board_id: &str,
        bookmark: Option<&str>,
        page_size: Option<u32>,
    ) -> Result<reqwest::Request, PinterestError> {
        let operation = &operations::BOARDS_LIST_PINS;
        let query = page_query(operation, bookmark, page_size)?;
        let builder = self.api(operation, &[("board_id", board_id)], token)?;
        build(operation.id, builder.query(&query))
    }

    /// One page of a board's sections (`GET /v5/boards/{board_id}/sections`).
    pub async fn list_board_sections(
        &self,
        token: &AccessToken,
        board_id: &str,
        bookmark: Option<&str>,
        page_size: Option<u32>,
    ) -> Result<Response<Page<BoardSection>>, PinterestError> {
        let operation = &operations::BOARD_SECTIONS_LIST;
        let query = page_query(operation, bookmark, page_size)?;
        let builder = self.api(operation, &[("board_id", board_id)], token)?;
        let request = build(operation.id, builder.query(&query))?;
        self.execute(operation, request).await
    }

    /// Creates a board section (`POST /v5/boards/{board_id}/sections`).
    pub async fn create_board_section(
        &self,
        token: &AccessToken,
        board_id: &str,
        name: &str,
    ) -> Result<Response<BoardSection>, PinterestError> {
        let operation = &operations::BOARD_SECTIONS_CREATE;
        check_section_name(operation, name)?;
        let body = BoardSection {
            id: None,
            name: name.to_owned(),
        };
        let builder = self.api(operation, &[("board_id", board_id)], token)?;
        let request = build(operation.id, builder.json(&body))?;
        self.execute(operation, request).await
    }

    /// Renames a board section (`PATCH /v5/boards/{board_id}/sections/{section_id}`).
    pub async fn update_board_section(
        &self,
        token: &AccessToken,
        board_id: &str,
        section_id: &str,
        name: &str,
    ) -> Result<Response<BoardSection>, PinterestError> {
        let operation = &operations::BOARD_SECTIONS_UPDATE;
        check_section_name(operation, name)?;
        let body = BoardSection {
            id: None,
            name: name.to_owned(),
        };
        let builder = self.api(
            operation,
            &[("board_id", board_id), ("section_id", section_id)],
            token,
        )?;
        let request = build(operation.id, builder.json(&body))?;
        self.execute(operation, request).await
    }

    /// Deletes a board section; its pins stay on the board
    /// (`DELETE /v5/boards/{board_id}/sections/{section_id}`).
    pub async fn delete_board_section(
        &self,
        token: &AccessToken,
        board_id: &str,
        section_id: &str,
    ) -> Result<Response<()>, PinterestError> {
        let operation = &operations::BOARD_SECTIONS_DELETE;
        let builder = self.api(
            operation,
            &[("board_id", board_id), ("section_id", section_id)],
            token,
        )?;
        let request = build(operation.id, builder)?;
        self.execute_empty(operation, request).await
    }

    // ----- Analytics ------------------------------------------------------------------------

    /// A pin's daily metrics from `start` to `end` inclusive (`GET /v5/pins/{pin_id}/analytics`,
    /// not split), on the `org_analytics` budget.
    pub async fn pin_analytics(
        &self,
        token: &AccessToken,
        pin_id: &str,
        start: time::Date,
        end: time::Date,
        metrics: &[&str],
    ) -> Result<Response<AnalyticsReport>, PinterestError> {
        let operation = &operations::PINS_ANALYTICS;
        let query = analytics_query(operation, start, end, metrics)?;
        let builder = self.api(operation, &[("pin_id", pin_id)], token)?;
        let request = build(operation.id, builder.query(&query))?;
        self.execute(operation, request).await
    }

    /// The user's daily account metrics from `start` to `end` inclusive
    /// (`GET /v5/user_account/analytics`, not split), on the `org_analytics` budget.
    pub async fn user_account_analytics(
        &self,
        token: &AccessToken,
        start: time::Date,
        end: time::Date,
        metrics: &[&str],
    ) -> Result<Response<AnalyticsReport>, PinterestError> {
        let operation = &operations::USER_ACCOUNT_ANALYTICS;
        let query = analytics_query(operation, start, end, metrics)?;
        let request = build(operation.id, self.api(operation, &[], token)?.query(&query))?;
        self.execute(operation, request).await
    }

    // ----- Pins -----------------------------------------------------------------------------

    /// Creates a pin (`POST /v5/pins`) after checking [`PinCreate::validate`]. When the error
    /// is [`PinterestError::outcome_unknown`], the pin may exist: look for it before retrying.
    pub async fn create_pin(
        &self,
        token: &AccessToken,
        pin: &PinCreate,
    ) -> Result<Response<Pin>, PinterestError> {
        let request = self.create_pin_request(token, pin)?;
        self.execute(&operations::PINS_CREATE, request).await
    }

    pub(crate) fn create_pin_request(
        &self,
        token: &AccessToken,
        pin: &PinCreate,
    ) -> Result<reqwest::Request, PinterestError> {
        let operation = &operations::PINS_CREATE;
        pin.validate()
            .map_err(|reason| PinterestError::refused(operation.id, reason))?;
        build(operation.id, self.api(operation, &[], token)?.json(pin))
    }

    /// One pin (`GET /v5/pins/{pin_id}`).
    pub async fn get_pin(
        &self,
        token: &AccessToken,
        pin_id: &str,
    ) -> Result<Response<Pin>, PinterestError> {
        let operation = &operations::PINS_GET;
        let request = build(
            operation.id,
            self.api(operation, &[("pin_id", pin_id)], token)?,
        )?;
        self.execute(operation, request).await
    }

    /// Changes a pin (`PATCH /v5/pins/{pin_id}`) after checking [`PinUpdate::validate`].
    pub async fn update_pin(
        &self,
        token: &AccessToken,
        pin_id: &str,
        update: &PinUpdate,
    ) -> Result<Response<Pin>, PinterestError> {
        let request = self.update_pin_request(token, pin_id, update)?;
        self.execute(&operations::PINS_UPDATE, request).await
    }

    pub(crate) fn update_pin_request(
        &self,
        token: &AccessToken,
        pin_id: &str,
        update: &PinUpdate,
    ) -> Result<reqwest::Request, PinterestError> {
        let operation = &operations::PINS_UPDATE;
        update
            .validate()
            .map_err(|reason| PinterestError::refused(operation.id, reason))?;
        let builder = self.api(operation, &[("pin_id", pin_id)], token)?;
        build(operation.id, builder.json(update))
    }

    /// Deletes a pin (`DELETE /v5/pins/{pin_id}`).
    pub async fn delete_pin(
        &self,
        token: &AccessToken,
        pin_id: &str,
    ) -> Result<Response<()>, PinterestError> {
        let request = self.delete_pin_request(token, pin_id)?;
        self.execute_empty(&operations::PINS_DELETE, request).await
    }

    pub(crate) fn delete_pin_request(
        &self,
        token: &AccessToken,
        pin_id: &str,
    ) -> Result<reqwest::Request, PinterestError> {
        let operation = &operations::PINS_DELETE;
        build(
            operation.id,
            self.api(operation, &[("pin_id", pin_id)], token)?,
        )
    }

    // ----- Media ----------------------------------------------------------------------------

    /// Registers an upload (`POST /v5/media`); send the file with [`Self::upload_media`].
    pub async fn register_media(
        &self,
        token: &AccessToken,
        media_type: MediaType,
    ) -> Result<Response<MediaUpload>, PinterestError> {
        let operation = &operations::MEDIA_CREATE;
        let body = MediaUploadCreate { media_type };
        let request = build(operation.id, self.api(operation, &[], token)?.json(&body))?;
        self.execute(operation, request).await
    }

    /// A registered upload's status (`GET /v5/media/{media_id}`).
    pub async fn get_media(
        &self,
        token: &AccessToken,
        media_id: &str,
    ) -> Result<Response<Media>, PinterestError> {
        let operation = &operations::MEDIA_GET;
        let request = build(
            operation.id,
            self.api(operation, &[("media_id", media_id)], token)?,
        )?;
        self.execute(operation, request).await
    }

    /// Sends the file of a registered upload: a multipart POST to `upload_url` with every
    /// `upload_parameters` field and then the `file` part, as the storage host requires the
    /// file last. No Pinterest token is sent: the host is not Pinterest, and the signed
    /// parameters are the authorization.
    pub async fn upload_media(
        &self,
        upload: &MediaUpload,
        file: Vec<u8>,
    ) -> Result<Response<()>, PinterestError> {
        let url = Url::parse(&upload.upload_url).map_err(|error| {
            PinterestError::refused(
                MEDIA_UPLOAD_OPERATION,
                Refusal::InvalidRequest(format!("the upload URL is invalid: {error}")),
            )
        })?;
        let form = upload
            .upload_parameters
            .iter()
            .fold(Form::new(), |form, (name, value)| {
                form.text(name.clone(), value.clone())
            })
            .part("file", Part::bytes(file).file_name("media"));
        let builder = self
            .inner
            .http
            .post(url)
            .timeout(UPLOAD_TIMEOUT)
            .multipart(form);
        let request = build(MEDIA_UPLOAD_OPERATION, builder)?;
        let (status, rate_limit, _) = self.send(MEDIA_UPLOAD_OPERATION, true, request).await?;
        Ok(Response {
            value: (),
            rate_limit,
            status,
        })
    }

    // ----- Plumbing -------------------------------------------------------------------------

    /// A bearer-authenticated request for `operation`, with `{name}` path parameters replaced
    /// by validated ids.
    fn api(
        &self,
        operation: &Operation,
        ids: &[(&'static str, &str)],
        token: &AccessToken,
    ) -> Result<reqwest::RequestBuilder, PinterestError> {
        let mut path = operation.path.to_owned();
        for (name, id) in ids {
            if !facts::is_pinterest_id(id) {
                return Err(PinterestError::refused(
                    operation.id,
                    Refusal::InvalidId {
                        field: name,
                        value: id.chars().take(40).collect(),
                    },
                ));
            }
            path = path.replace(&format!("{{{name}}}"), id);
        }
        debug_assert!(!path.contains('{'), "unfilled path parameter in {path}");
        let url = self.inner.environment.endpoint(&path);
        Ok(self
            .inner
            .http
            .request(method(operation), url)
            .bearer_auth(token.expose_secret()))
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        operation: &Operation,
        request: reqwest::Request,
    ) -> Result<Response<T>, PinterestError> {
        let mutating = is_mutating(operation);
        let (status, rate_limit, body) = self.send(operation.id, mutating, request).await?;
        let value = serde_json::from_slice(&body).map_err(|error| PinterestError::Decode {
            operation: operation.id,
            status,
            mutating,
            detail: decode_detail(operation, &error),
        })?;
        Ok(Response {
            value,
            rate_limit,
            status,
        })
    }

    async fn execute_empty(
        &self,
        operation: &Operation,
        request: reqwest::Request,
    ) -> Result<Response<()>, PinterestError> {
        let (status, rate_limit, _) = self
            .send(operation.id, is_mutating(operation), request)
            .await?;
        Ok(Response {
            value: (),
            rate_limit,
            status,
        })
    }

    /// Sends, reads the whole body, and turns a non-success status into an [`ApiError`].
    async fn send(
        &self,
        operation: &'static str,
        mutating: bool,
        request: reqwest::Request,
    ) -> Result<(u16, RateLimitInfo, Vec<u8>), PinterestError> {
        let span = tracing::info_span!(
            "pinterest",
            operation,
            status = tracing::field::Empty,
            remaining = tracing::field::Empty,
        );
        async {
            let transport = |error| PinterestError::transport(operation, mutating, error);
            let response = self.inner.http.execute(request).await.map_err(transport)?;
            let status = response.status();
            let rate_limit = RateLimitInfo::from_headers(response.headers(), SystemTime::now());
            let span = tracing::Span::current();
            span.record("status", status.as_u16());
            if let Some(remaining) = rate_limit.remaining {
                span.record("remaining", remaining);
            }
            let body = response.bytes().await.map_err(transport)?;
            if !status.is_success() {
                let error = ApiError::from_response(
                    operation,
                    mutating,
                    status.as_u16(),
                    &body,
                    rate_limit,
                );
                tracing::debug!(class = %error.class(), code = ?error.code, "Pinterest refused the call");
                return Err(error.into());
            }
            tracing::debug!("Pinterest call succeeded");
            Ok((status.as_u16(), rate_limit, body.to_vec()))
        }
        .instrument(span)
        .await
    }
}

/// A section name within Pinterest's limit, or the refusal.
fn check_section_name(operation: &Operation, name: &str) -> Result<(), PinterestError> {
    let len = name.chars().count();
    if len == 0 || len > facts::board_limits::SECTION_NAME_MAX {
        return Err(PinterestError::refused(
            operation.id,
            Refusal::InvalidField {
                field: "name",
                reason: format!(
                    "{len} characters, 1 to {} allowed",
                    facts::board_limits::SECTION_NAME_MAX
                ),
            },
        ));
    }
    Ok(())
}

/// The query of an analytics call: the dates as `YYYY-MM-DD`, the metrics comma-separated
/// (`explode: false`). A range Pinterest refuses outright (ending before it starts, or longer
/// than its window) is refused here without spending budget.
fn analytics_query(
    operation: &Operation,
    start: time::Date,
    end: time::Date,
    metrics: &[&str],
) -> Result<Vec<(&'static str, String)>, PinterestError> {
    let days = (end - start).whole_days();
    if !(0..=facts::analytics_limits::WINDOW_DAYS).contains(&days) {
        return Err(PinterestError::refused(
            operation.id,
            Refusal::InvalidField {
                field: "end_date",
                reason: format!(
                    "the range must run forwards and span at most {} days",
                    facts::analytics_limits::WINDOW_DAYS
                ),
            },
        ));
    }
    if metrics.is_empty() {
        return Err(PinterestError::refused(
            operation.id,
            Refusal::InvalidField {
                field: "metric_types",
                reason: "at least one metric is needed".to_owned(),
            },
        ));
    }
    Ok(vec![
        ("start_date", iso_date(start)),
        ("end_date", iso_date(end)),
        ("metric_types", metrics.join(",")),
    ])
}

/// A date as `YYYY-MM-DD`.
pub fn iso_date(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn method(operation: &Operation) -> reqwest::Method {
    match operation.method {
        facts::Method::Get => reqwest::Method::GET,
        facts::Method::Post => reqwest::Method::POST,
        facts::Method::Patch => reqwest::Method::PATCH,
        facts::Method::Delete => reqwest::Method::DELETE,
    }
}

fn is_mutating(operation: &Operation) -> bool {
    operation.method != facts::Method::Get
}

fn build(
    operation: &'static str,
    builder: reqwest::RequestBuilder,
) -> Result<reqwest::Request, PinterestError> {
    builder.build().map_err(|error| {
        PinterestError::refused(operation, Refusal::InvalidRequest(error.to_string()))
    })
}

fn page_query(
    operation: &Operation,
    bookmark: Option<&str>,
    page_size: Option<u32>,
) -> Result<Vec<(&'static str, String)>, PinterestError> {
    let mut query = Vec::new();
    if let Some(bookmark) = bookmark {
        query.push(("bookmark", bookmark.to_owned()));
    }
    if let Some(page_size) = page_size {
        if !PAGE_SIZE_RANGE.contains(&page_size) {
            return Err(PinterestError::refused(
                operation.id,
                Refusal::InvalidField {
                    field: "page_size",
                    reason: format!(
                        "{page_size} is outside {}..={}",
                        PAGE_SIZE_RANGE.start(),
                        PAGE_SIZE_RANGE.end()
                    ),
                },
            ));
        }
        query.push(("page_size", page_size.to_string()));
    }
    Ok(query)
}

/// What to say about a body that did not decode. serde's message can quote the offending
/// value, which in a token response may be a token, so for the token endpoint only the kind of
/// failure and its position are kept.
fn decode_detail(operation: &Operation, error: &serde_json::Error) -> String {
    if operation.id == operations::OAUTH_TOKEN.id {
        format!(
            "{:?} error at line {} column {}",
            error.classify(),
            error.line(),
            error.column()
        )
    } else {
        scrub(&error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use base64::Engine as _;
    use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

    use super::*;
    use crate::models::PinMediaSource;

    fn client() -> PinterestClient {
        PinterestClient::new(
            "custom:http://127.0.0.1:9"
                .parse()
                .expect("valid environment"),
            ClientId::new("1484"),
            ClientSecret::new("app-secret"),
        )
        .expect("the HTTP client builds")
    }

    fn token() -> AccessToken {
        AccessToken::new("pina_user")
    }

    fn form(request: &reqwest::Request) -> HashMap<String, String> {
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .expect("a buffered body");
        url::form_urlencoded::parse(body).into_owned().collect()
    }

    fn json(request: &reqwest::Request) -> serde_json::Value {
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .expect("a buffered body");
        serde_json::from_slice(body).expect("a JSON body")
    }

    fn header(request: &reqwest::Request, name: reqwest::header::HeaderName) -> &str {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    fn pairs(entries: &[(&str, &str)]) -> HashMap<String, String> {
        entries
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn code_exchange_uses_basic_auth_and_a_form() {
        let verifier = PkceVerifier::generate();
        let request = client()
            .exchange_code_request(
                &AuthorizationCode::new("the-code"),
                "http://cb/oauth/callback",
                Some(&verifier),
            )
            .expect("builds");
        assert_eq!(request.method(), reqwest::Method::POST);
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v5/oauth/token");
        let basic = base64::engine::general_purpose::STANDARD.encode("1484:app-secret");
        assert_eq!(header(&request, AUTHORIZATION), format!("Basic {basic}"));
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(
            header(&request, CONTENT_TYPE),
            "application/x-www-form-urlencoded"
        );
        assert_eq!(
            form(&request),
            pairs(&[
                ("grant_type", "authorization_code"),
                ("code", "the-code"),
                ("redirect_uri", "http://cb/oauth/callback"),
                ("continuous_refresh", "true"),
                ("code_verifier", verifier.expose_secret()),
            ])
        );
    }

    #[test]
    fn refresh_sends_the_refresh_token_and_optional_scopes() {
        let refresh = RefreshToken::new("pinr_old");
        let narrowed = client()
            .refresh_request(&refresh, Some(&[Scope::PinsRead, Scope::BoardsRead]))
            .expect("builds");
        assert_eq!(
            form(&narrowed),
            pairs(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "pinr_old"),
                ("scope", "pins:read,boards:read"),
            ])
        );
        let plain = client().refresh_request(&refresh, None).expect("builds");
        assert!(!form(&plain).contains_key("scope"));
    }

    #[test]
    fn revocation_names_the_token_type() {
        let access = token();
        let request = client().revoke_request((&access).into()).expect("builds");
        assert_eq!(request.url().path(), "/v5/oauth/token/revoke");
        assert_eq!(
            form(&request),
            pairs(&[("token", "pina_user"), ("token_type_hint", "access_token")])
        );
        let refresh = RefreshToken::new("pinr_x");
        let request = client().revoke_request((&refresh).into()).expect("builds");
        assert_eq!(form(&request)["token_type_hint"], "refresh_token");
    }

    #[test]
    fn user_calls_send_a_bearer_token() {
        let request = client().user_account_request(&token()).expect("builds");
        assert_eq!(request.method(), reqwest::Method::GET);
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v5/user_account");
        assert_eq!(header(&request, AUTHORIZATION), "Bearer pina_user");
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        assert!(request.body().is_none());
    }

    #[test]
    fn list_queries_carry_bookmark_page_size_and_privacy() {
        let request = client()
            .list_boards_request(
                &token(),
                Some("b00k"),
                Some(100),
                Some(BoardPrivacyFilter::PublicAndSecret),
            )
            .expect("builds");
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:9/v5/boards?bookmark=b00k&page_size=100&privacy=PUBLIC_AND_SECRET"
        );
        let request = client()
            .list_board_pins_request(&token(), "549755885175", None, None)
            .expect("builds");
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:9/v5/boards/549755885175/pins"
        );
        let refused = client().list_boards_request(&token(), None, Some(251), None);
        assert!(matches!(
            refused,
            Err(PinterestError::Refused {
                reason: Refusal::InvalidField {
                    field: "page_size",
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn create_pin_sends_json_and_refuses_invalid_pins() {
        let pin = PinCreate::new(
            "123",
            PinMediaSource::ImageUrl {
                url: "https://x/a.jpg".into(),
            },
        );
        let request = client().create_pin_request(&token(), &pin).expect("builds");
        assert_eq!(request.method(), reqwest::Method::POST);
        assert_eq!(request.url().path(), "/v5/pins");
        assert_eq!(header(&request, CONTENT_TYPE), "application/json");
        assert_eq!(json(&request), serde_json::to_value(&pin).expect("encodes"));

        let mut long = pin.clone();
        long.title = Some("t".repeat(101));
        let error = client()
            .create_pin_request(&token(), &long)
            .expect_err("too long a title");
        assert_eq!(error.class(), crate::ErrorClass::Validation);
        assert!(!error.is_retryable());
    }

    #[test]
    fn update_pin_sends_json_and_refuses_invalid_updates() {
        let update = PinUpdate {
            title: Some("Summer salad".into()),
            ..PinUpdate::default()
        };
        let request = client()
            .update_pin_request(&token(), "42", &update)
            .expect("builds");
        assert_eq!(request.method(), reqwest::Method::PATCH);
        assert_eq!(request.url().path(), "/v5/pins/42");
        assert_eq!(header(&request, CONTENT_TYPE), "application/json");
        assert_eq!(json(&request), serde_json::json!({"title": "Summer salad"}));

        for long in [
            PinUpdate {
                title: Some("t".repeat(101)),
                ..PinUpdate::default()
            },
            PinUpdate {
                description: Some("d".repeat(801)),
                ..PinUpdate::default()
            },
            PinUpdate {
                alt_text: Some("a".repeat(501)),
                ..PinUpdate::default()
            },
            PinUpdate {
                link: Some(format!("https://example.invalid/{}", "l".repeat(2040))),
                ..PinUpdate::default()
            },
        ] {
            let error = client()
                .update_pin_request(&token(), "42", &long)
                .expect_err("over a limit");
            assert!(
                matches!(
                    error,
                    PinterestError::Refused {
                        reason: Refusal::InvalidField { .. },
                        ..
                    }
                ),
                "{long:?}: {error}"
            );
            assert_eq!(error.class(), crate::ErrorClass::Validation);
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn analytics_queries_carry_dates_and_metrics_within_the_window() {
        let day =
            |d: u8| time::Date::from_calendar_date(2026, time::Month::March, d).expect("a date");
        let query = analytics_query(
            &operations::PINS_ANALYTICS,
            day(1),
            day(9),
            &["IMPRESSION", "SAVE"],
        )
        .expect("valid");
        assert_eq!(
            query,
            vec![
                ("start_date", "2026-03-01".to_owned()),
                ("end_date", "2026-03-09".to_owned()),
                ("metric_types", "IMPRESSION,SAVE".to_owned()),
            ]
        );
        let backwards = analytics_query(&operations::PINS_ANALYTICS, day(9), day(1), &["SAVE"]);
        assert!(backwards.is_err());
        let too_long = analytics_query(
            &operations::USER_ACCOUNT_ANALYTICS,
            day(1),
            day(1) + time::Duration::days(91),
            &["SAVE"],
        );
        assert!(too_long.is_err());
        assert!(analytics_query(&operations::PINS_ANALYTICS, day(1), day(2), &[]).is_err());
    }

    #[test]
    fn path_ids_must_be_digits() {
        let request = client().delete_pin_request(&token(), "42").expect("builds");
        assert_eq!(request.method(), reqwest::Method::DELETE);
        assert_eq!(request.url().path(), "/v5/pins/42");
        for bad in ["", "../boards", "42?x=1", "4 2"] {
            let error = client()
                .delete_pin_request(&token(), bad)
                .expect_err("refused");
            assert!(
                matches!(
                    error,
                    PinterestError::Refused {
                        reason: Refusal::InvalidId {
                            field: "pin_id",
                            ..
                        },
                        ..
                    }
                ),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn credentials_of_another_environment_are_refused() {
        let client = client();
        assert!(
            client
                .ensure_environment(&client.environment().clone())
                .is_ok()
        );
        let error = client
            .ensure_environment(&Environment::Production)
            .expect_err("production credential on a custom client");
        assert_eq!(error.class(), crate::ErrorClass::CredentialMismatch);
        assert!(error.to_string().contains("production"), "{error}");
    }

    #[test]
    fn the_client_never_prints_its_secret() {
        let printed = format!("{:?}", client());
        assert!(!printed.contains("app-secret"), "{printed}");
        assert!(printed.contains("1484"), "{printed}");
    }

    #[test]
    fn authorization_starts_on_the_environment_authorize_page() {
        let started = client().begin_authorization("http://cb", &[Scope::PinsRead]);
        assert!(
            started
                .url
                .as_str()
                .starts_with("http://127.0.0.1:9/oauth/?client_id=1484&")
        );
    }

    #[test]
    fn token_decode_errors_never_quote_values() {
        let error = serde_json::from_str::<TokenResponse>(
            r#"{"access_token": "pina_S", "expires_in": "pina_S"}"#,
        )
        .expect_err("expires_in is not a number");
        assert!(
            error.to_string().contains("pina_S"),
            "serde quotes values: {error}"
        );
        let detail = decode_detail(&operations::OAUTH_TOKEN, &error);
        assert!(!detail.contains("pina"), "{detail}");
    }
}
