//! `TestApp` for the browser test: the server (with its publisher and background work), the
//! sandbox and a per-test database, as in `tests/api/support.rs` (copied, trimmed: the two
//! test binaries evolve separately).

use std::sync::Arc;
use std::time::Duration;

use pinline_pinterest::facts::RateLimitCategory;
use pinline_pinterest::{ClientId, ClientSecret, Environment, PinterestClient};
use pinline_queue::{
    Pacer, PacerSettings, Publisher, PublisherSettings, Queue, QueueSettings, Rate,
};
use pinline_sandbox::{SandboxConfig, SandboxHandle};
use pinline_server::{AppState, api_keys, background};
use pinline_store::testing::TestDatabase;
use pinline_vault::cipher::KeyRing;
use pinline_vault::clock::OffsetClock;
use pinline_vault::master_key::MasterKey;
use pinline_vault::{Vault, VaultSettings};
use pinline_webhooks::{RetryPolicy, Webhooks};
use serde_json::Value;
use tokio::sync::watch;

pub struct TestApp {
    pub base_url: String,
    pub sandbox: SandboxHandle,
    pub db: TestDatabase,
    pub http: reqwest::Client,
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
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("webhook client"),
        policy,
    );
    let shared_clock: pinline_vault::clock::SharedClock = Arc::new(clock.clone());
    let mut pacing = PacerSettings::default();
    pacing
        .rates
        .insert(RateLimitCategory::OrgWrite, Rate::per_second(1000));
    let publisher = Publisher::new(
        Queue::new(
            db.store.clone(),
            shared_clock.clone(),
            QueueSettings::new(uuid_like()),
        ),
        vault.clone(),
        Arc::new(Pacer::new(pacing, shared_clock.clone())),
        db.store.clone(),
        PublisherSettings::default(),
    );
    // The drafts step serves its page on loopback, which production drafting refuses.
    let drafter = pinline_drafts::Drafter::new(
        pinline_drafts::DraftSettings {
            fetch: pinline_drafts::FetchPolicy {
                allow_private: true,
                ..pinline_drafts::FetchPolicy::default()
            },
            ..pinline_drafts::DraftSettings::default()
        },
        std::sync::Arc::new(pinline_drafts::RuleGenerator),
    );
    let state = AppState::new(
        db.store.clone(),
        vault.clone(),
        webhooks.clone(),
        publisher.clone(),
        shared_clock,
    )
    .with_drafter(drafter);
    let (shutdown, stopped) = watch::channel(false);
    let mut server_stop = stopped.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, pinline_server::router(state))
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await;
    });
    let tasks = background::spawn_all(vault, webhooks, publisher, stopped);
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
        key_alpha,
        key_beta,
        shutdown,
        _tasks: tasks,
    }
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
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "browser-worker-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
