//! `TestApp`: the server, the sandbox, two profiles with keys, a browser-like HTTP client that
//! does not follow redirects, and a log capture shared by the whole test binary.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pinline_core::cipher::KeyRing;
use pinline_core::clock::OffsetClock;
use pinline_core::master_key::MasterKey;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_pinterest::{ClientId, ClientSecret, Environment, PinterestClient};
use pinline_queue::{
    Pacer, PacerSettings, Publisher, PublisherSettings, Queue, QueueSettings, Rate,
};
use pinline_sandbox::{SandboxConfig, SandboxHandle};
use pinline_server::{AppState, ConnectionLimits, api_keys, background};
use pinline_store::testing::TestDatabase;
use pinline_vault::{Vault, VaultSettings};
use pinline_webhooks::{RetryPolicy, Webhooks};
use serde_json::{Value, json};
use tokio::sync::watch;

/// Every log line any test in this binary produced, at debug level.
pub fn captured_logs() -> String {
    let buffer = log_buffer();
    let bytes = buffer.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&bytes).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=warn,hyper=info,reqwest=info,h2=info")
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct TestApp {
    pub base_url: String,
    pub sandbox: SandboxHandle,
    pub db: TestDatabase,
    pub http: reqwest::Client,
    pub clock: OffsetClock,
    /// The app's publisher (its counters show how often it looked at the queue).
    pub publisher: Publisher,
    pub key_alpha: String,
    pub key_beta: String,
    shutdown: watch::Sender<bool>,
    /// Background tasks; aborted when the app is dropped.
    _tasks: tokio::task::JoinSet<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

pub async fn spawn_app(db: TestDatabase) -> TestApp {
    spawn_app_configured(db, AppOptions::default()).await
}

/// [`spawn_app`] with its own connection limits (a short header-read timeout, say).
pub async fn spawn_app_with(db: TestDatabase, limits: ConnectionLimits) -> TestApp {
    spawn_app_configured(
        db,
        AppOptions {
            limits,
            ..AppOptions::default()
        },
    )
    .await
}

/// [`spawn_app`] with its own publisher settings (a held-post sweep played faster, say).
pub async fn spawn_app_publishing(db: TestDatabase, publishing: PublisherSettings) -> TestApp {
    spawn_app_configured(
        db,
        AppOptions {
            publishing,
            ..AppOptions::default()
        },
    )
    .await
}

/// What a test may set of the app it starts.
#[derive(Debug, Default)]
pub struct AppOptions {
    pub limits: ConnectionLimits,
    pub publishing: PublisherSettings,
    /// The bearer token `/metrics` wants.
    pub metrics_token: Option<String>,
    /// Where connects may send people back.
    pub connect_return_urls: Vec<url::Url>,
    /// The publisher's pacing, when not the default of these tests.
    pub pacing: Option<PacerSettings>,
    /// The Pinterest passthrough and the token endpoint.
    pub credential: pinline_server::passthrough::CredentialSettings,
}

pub async fn spawn_app_configured(db: TestDatabase, options: AppOptions) -> TestApp {
    let AppOptions {
        limits,
        publishing,
        metrics_token,
        connect_return_urls,
        pacing: custom_pacing,
        credential,
    } = options;
    log_buffer();
    // Nothing a test does may leave the machine.
    pinline_outbound::restrict_to_loopback();
    let sandbox = pinline_sandbox::spawn(
        SandboxConfig::default(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sandbox");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let keys = Arc::new(KeyRing::new(&MasterKey::generate(), &[]));
    let clock = OffsetClock::new();
    let config = sandbox.config();
    let client = PinterestClient::new(
        Environment::custom(&sandbox.base_url(), &sandbox.oauth_url()).expect("env"),
        ClientId::new(config.client_id.clone()),
        ClientSecret::new(config.client_secret.clone()),
    )
    .expect("client");
    let mut settings = VaultSettings::new(&base_url);
    settings.transient_backoff = Duration::from_millis(5);
    let vault = Vault::new(
        db.store.clone(),
        keys.clone(),
        Arc::new(clock.clone()),
        client,
        settings,
    );
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let webhooks = Webhooks::new(
        db.store.clone(),
        keys,
        Arc::new(clock.clone()),
        // Receivers in tests listen on loopback, a private target; nothing may go further.
        pinline_outbound::Guard::new("webhook delivery", true),
        policy,
    )
    .expect("webhooks");
    let shared_clock: pinline_core::clock::SharedClock = Arc::new(clock.clone());
    let mut pacing = PacerSettings::default();
    pacing
        .rates
        .insert(RateLimitCategory::OrgWrite, Rate::per_second(1000));
    let pacing = custom_pacing.unwrap_or(pacing);
    let publisher = Publisher::new(
        Queue::new(
            db.store.clone(),
            shared_clock.clone(),
            QueueSettings::new(uuid_like()),
        ),
        vault.clone(),
        Arc::new(Pacer::new(pacing, shared_clock.clone())),
        db.store.clone(),
        publishing,
    );
    // Test pages are served on loopback, which production drafting refuses.
    let drafter = pinline_drafts::Drafter::new(
        pinline_drafts::DraftSettings {
            fetch: pinline_drafts::FetchPolicy {
                allow_private: true,
                ..pinline_drafts::FetchPolicy::default()
            },
            ..pinline_drafts::DraftSettings::default()
        },
        Arc::new(pinline_drafts::RuleGenerator),
    );
    let state = AppState::new(
        db.store.clone(),
        vault.clone(),
        webhooks.clone(),
        publisher.clone(),
        shared_clock,
    )
    .with_drafter(drafter)
    // As `pinline serve` does: on PostgreSQL, posts due now are hinted to other replicas.
    .with_posts_due_hints(db.store.posts_due_hints(true))
    .with_connect_return_urls(connect_return_urls)
    .with_credential_settings(credential);
    let state = match &metrics_token {
        Some(token) => state.with_metrics_token(token),
        None => state,
    };
    let (shutdown, stopped) = watch::channel(false);
    let mut server_stop = stopped.clone();
    tokio::spawn(pinline_server::serve(
        listener,
        pinline_server::router(state),
        limits,
        async move {
            let _ = server_stop.wait_for(|s| *s).await;
        },
    ));
    let tasks = background::spawn_all(vault, webhooks, publisher.clone(), stopped);
    let key_alpha = api_keys::create_api_key(&db.store, "alpha", "test", 0)
        .await
        .expect("key")
        .key;
    let key_beta = api_keys::create_api_key(&db.store, "beta", "test", 0)
        .await
        .expect("key")
        .key;
    TestApp {
        base_url,
        sandbox,
        db,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http"),
        clock,
        publisher,
        key_alpha,
        key_beta,
        shutdown,
        _tasks: tasks,
    }
}

/// What a webhook receiver got: each request's headers and body.
pub type Received = Arc<Mutex<Vec<(axum::http::HeaderMap, axum::body::Bytes)>>>;

/// A webhook receiver on 127.0.0.1: its URL and what it received.
pub async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((headers, body));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received)
}

/// The event types a receiver got, in order.
pub fn received_types(received: &Received) -> Vec<String> {
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|(_, body)| {
            let payload: Value = serde_json::from_slice(body).ok()?;
            payload["type"].as_str().map(str::to_owned)
        })
        .collect()
}

/// A reply read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl TestApp {
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API call");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, text, json }
    }

    pub async fn sandbox_control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_sandbox{path}", self.sandbox.base_url()))
            .json(&body)
            .send()
            .await
            .expect("control");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    pub async fn sandbox_stats(&self) -> Value {
        self.http
            .get(format!("{}/_sandbox/stats", self.sandbox.base_url()))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json")
    }

    /// Connect through the API, the sandbox's consent page and our callback, as a person would.
    /// Returns the callback URL (for replay tests) and the callback page's text.
    pub async fn connect_via_browser(&self, key: &str, username: &str) -> (String, u16, String) {
        self.connect_with(key, username, None).await
    }

    /// As [`TestApp::connect_via_browser`], asking for `scopes` when given.
    pub async fn connect_with(
        &self,
        key: &str,
        username: &str,
        scopes: Option<Value>,
    ) -> (String, u16, String) {
        // Create the sandbox user unless it exists already (a reconnect).
        let created = self
            .http
            .post(format!("{}/_sandbox/users", self.sandbox.base_url()))
            .json(&json!({ "username": username }))
            .send()
            .await
            .expect("create a sandbox user");
        assert!(
            created.status().is_success() || created.status().as_u16() == 409,
            "sandbox user: {}",
            created.status()
        );
        let started = self
            .start_connect(key, scopes.map(|scopes| json!({ "scopes": scopes })))
            .await;
        assert_eq!(started.status, 201, "{}", started.text);
        let authorize_url = started.json["authorize_url"]
            .as_str()
            .expect("authorize_url")
            .to_owned();
        let callback = self.consent(&authorize_url, username, true).await;
        let landed = self.http.get(&callback).send().await.expect("callback");
        let status = landed.status().as_u16();
        let text = landed.text().await.expect("callback page");
        (callback, status, text)
    }

    /// `POST /v1/accounts/connect` with `body` for `key`'s profile.
    pub async fn start_connect(&self, key: &str, body: Option<Value>) -> Reply {
        self.api(
            reqwest::Method::POST,
            "/v1/accounts/connect",
            Some(key),
            body,
        )
        .await
    }

    /// On the sandbox's consent page of `authorize_url`, picks `username` and approves (or
    /// denies); returns the callback URL Pinterest sends the person to.
    pub async fn consent(&self, authorize_url: &str, username: &str, approve: bool) -> String {
        let page = self
            .http
            .get(authorize_url)
            .send()
            .await
            .expect("consent")
            .text()
            .await
            .expect("html");
        let mut form: Vec<(String, String)> = page
            .split("<input")
            .skip(1)
            .filter(|tag| tag.contains("type=\"hidden\""))
            .filter_map(|tag| {
                let name = attribute(tag, "name")?;
                let value = attribute(tag, "value")?;
                Some((
                    name.to_owned(),
                    html_escape::decode_html_entities(value).into_owned(),
                ))
            })
            .collect();
        // Choose the user by name among the options.
        let user_id = page
            .split("<option")
            .skip(1)
            .find(|tag| tag.contains(&format!(">{username}<")))
            .and_then(|tag| attribute(tag, "value"))
            .expect("the user among the options")
            .to_owned();
        form.push(("user_id".into(), user_id));
        form.push((
            "decision".into(),
            if approve { "approve" } else { "deny" }.into(),
        ));
        let decision = self
            .http
            .post(format!("{}/oauth/", self.sandbox.base_url()))
            .form(&form)
            .send()
            .await
            .expect("decision");
        let callback = decision
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("redirect to the callback")
            .to_owned();
        assert!(
            callback.starts_with(&format!("{}/oauth/callback?", self.base_url)),
            "{callback}"
        );
        callback
    }

    /// Connects `username` for `key` and returns the account JSON.
    pub async fn connected_account(&self, key: &str, username: &str) -> Value {
        let (_, status, text) = self.connect_via_browser(key, username).await;
        assert_eq!(status, 200, "{text}");
        let accounts = self
            .api(reqwest::Method::GET, "/v1/accounts", Some(key), None)
            .await;
        accounts.json["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|a| a["username"] == json!(username))
                    .cloned()
            })
            .expect("the connected account is listed")
    }
}

impl TestApp {
    /// Connects `username` for profile alpha and creates a public board "Recipes" on it:
    /// (account id, board id).
    pub async fn account_with_board(&self, username: &str) -> (String, String) {
        let account = self.connected_account(&self.key_alpha, username).await;
        let id = account["id"].as_str().expect("id").to_owned();
        let board = self
            .api(
                reqwest::Method::POST,
                &format!("/v1/accounts/{id}/boards"),
                Some(&self.key_alpha),
                Some(json!({"name": "Recipes", "privacy": "PUBLIC"})),
            )
            .await;
        assert_eq!(board.status, 201, "{}", board.text);
        (id, board.json["id"].as_str().expect("board id").to_owned())
    }

    /// Revokes the account's tokens at the sandbox, as a person removing the app would.
    pub async fn revoke_at_pinterest(&self, account: &str) {
        let shown = self
            .api(
                reqwest::Method::GET,
                &format!("/v1/accounts/{account}"),
                Some(&self.key_alpha),
                None,
            )
            .await;
        let user = shown.json["pinterest_user_id"]
            .as_str()
            .expect("user")
            .to_owned();
        self.sandbox_control(&format!("/users/{user}/revoke"), json!({}))
            .await;
    }
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// Asserts the API's error shape and returns the code.
pub fn error_code(reply: &Reply) -> &str {
    let error = &reply.json["error"];
    assert!(
        error["message"].is_string(),
        "an error body with a message: {}",
        reply.text
    );
    error["code"].as_str().expect("an error code")
}

/// Waits for `check` to become true, or fails after `deadline`.
pub async fn eventually<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl TestApp {
    /// The app's clock in unix seconds (what webhook signatures are stamped with).
    pub fn clock_secs(&self) -> i64 {
        use pinline_core::clock::Clock;
        self.clock.now_ms() / 1000
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "test-worker-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
