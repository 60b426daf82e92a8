//! The world one scenario runs in: a sandbox on 127.0.0.1, a fresh database (a SQLite file in a
//! temp dir, or a PostgreSQL schema dropped at the end), a vault with accounts connected through
//! the sandbox's auto-approving consent page, and helpers to queue posts and build publishers.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pinline_core::cipher::KeyRing;
use pinline_core::clock::{Clock, OffsetClock, SharedClock};
use pinline_core::master_key::MasterKey;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_pinterest::{
    AuthorizationCode, BoardCreate, ClientId, ClientSecret, Environment, PinterestClient,
};
use pinline_queue::{
    Pacer, PacerSettings, Publisher, PublisherSettings, Queue, QueueSettings, Rate, RetryPolicy,
};
use pinline_sandbox::{SandboxConfig, SandboxHandle};
use pinline_store::testing::TestDatabase;
use pinline_store::{InsertOutcome, NewPost, PostFilter, PostRow, Store};
use pinline_vault::{Vault, VaultSettings};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BackendKind;

/// A fresh database for one scenario, removed when dropped.
#[derive(Debug)]
pub enum BenchDatabase {
    /// From `pinline_store::testing` (SQLite temp dir, or a schema on `PINLINE_TEST_POSTGRES_URL`).
    Test(TestDatabase),
    /// A schema on a server named by `--postgres-url`.
    Schema(OwnSchema),
    /// A PostgreSQL database of its own, for figures PostgreSQL keeps per database.
    Database(OwnDatabase),
}

impl BenchDatabase {
    /// A fresh database of `kind`; `postgres_url` overrides the test server. `Ok(None)` when
    /// PostgreSQL is not reachable at the default address (the caller reports it skipped).
    pub async fn fresh(kind: BackendKind, postgres_url: Option<&str>) -> Result<Option<Self>> {
        match (kind, postgres_url) {
            (BackendKind::Sqlite, _) => Ok(Some(BenchDatabase::Test(TestDatabase::sqlite().await))),
            (BackendKind::Postgres, None) => {
                Ok(TestDatabase::postgres().await.map(BenchDatabase::Test))
            }
            (BackendKind::Postgres, Some(url)) => {
                Ok(Some(BenchDatabase::Schema(OwnSchema::create(url).await?)))
            }
        }
    }

    /// A fresh PostgreSQL *database* (not a schema) on `postgres_url` or the test server, so
    /// that `pg_stat_database` counts this database's traffic alone. `Ok(None)` when the default
    /// server is not reachable.
    pub async fn own_postgres_database(postgres_url: Option<&str>) -> Result<Option<Self>> {
        let admin_url = match postgres_url {
            Some(url) => url.to_owned(),
            None => std::env::var("PINLINE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| pinline_store::testing::DEFAULT_TEST_POSTGRES_URL.to_owned()),
        };
        match PgConnection::connect(&admin_url).await {
            Ok(conn) => {
                let _ = conn.close().await;
            }
            Err(_) if postgres_url.is_none() => return Ok(None),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("connecting to PostgreSQL at {admin_url}"));
            }
        }
        Ok(Some(BenchDatabase::Database(
            OwnDatabase::create(&admin_url).await?,
        )))
    }

    pub fn store(&self) -> &Store {
        match self {
            BenchDatabase::Test(db) => &db.store,
            BenchDatabase::Schema(db) => &db.store,
            BenchDatabase::Database(db) => &db.store,
        }
    }

    /// A URL that reaches the same database (for the raw-SQL baselines).
    pub fn url(&self) -> &str {
        match self {
            BenchDatabase::Test(db) => &db.url,
            BenchDatabase::Schema(db) => &db.url,
            BenchDatabase::Database(db) => &db.url,
        }
    }

    /// The PostgreSQL server's own database to reach it by, and this database's name, when it
    /// is a database of its own.
    pub fn own_database(&self) -> Option<(&str, &str)> {
        match self {
            BenchDatabase::Database(db) => Some((&db.admin_url, &db.name)),
            _ => None,
        }
    }
}

/// A PostgreSQL database created for one scenario and dropped with the value.
#[derive(Debug)]
pub struct OwnDatabase {
    store: Store,
    url: String,
    admin_url: String,
    name: String,
}

impl OwnDatabase {
    async fn create(admin_url: &str) -> Result<OwnDatabase> {
        let mut admin = PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        let name = format!("pinline_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .context("creating the benchmark database")?;
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url).context("PostgreSQL URL")?;
        url.set_path(&name);
        let url = url.to_string();
        let options = PgConnectOptions::from_str(&url).context("PostgreSQL URL")?;
        let store = Store::open_postgres(options).await?;
        let own = OwnDatabase {
            store,
            url,
            admin_url: admin_url.to_owned(),
            name,
        };
        own.store.migrate().await?;
        Ok(own)
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let (admin_url, name, store) = (
            self.admin_url.clone(),
            self.name.clone(),
            self.store.clone(),
        );
        // As for `OwnSchema`: clean up on a thread of its own, outside the runtime.
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                store.close().await;
                // Dropping a database takes seconds; not worth the driver's slow-statement
                // warning.
                let options = PgConnectOptions::from_str(&admin_url)?.disable_statement_logging();
                let mut admin = PgConnection::connect_with(&options).await?;
                // FORCE: a killed `pinline serve` may leave a connection behind for a moment.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(error)) = cleaned {
            eprintln!(
                "could not drop the benchmark database {}: {error}",
                self.name
            );
        }
    }
}

/// A schema of its own on a server given by URL, dropped with the value. (Mirrors
/// `pinline_store::testing::TestDatabase::postgres`, which reads its server from the
/// environment only.)
#[derive(Debug)]
pub struct OwnSchema {
    store: Store,
    url: String,
    admin_url: String,
    schema: String,
}

impl OwnSchema {
    async fn create(admin_url: &str) -> Result<OwnSchema> {
        let mut admin = PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        let schema = format!("pinline_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .context("creating the benchmark schema")?;
        let _ = admin.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        let options = PgConnectOptions::from_str(&url).context("PostgreSQL URL")?;
        let store = Store::open_postgres(options).await?;
        let own = OwnSchema {
            store,
            url,
            admin_url: admin_url.to_owned(),
            schema,
        };
        own.store.migrate().await?;
        Ok(own)
    }
}

impl Drop for OwnSchema {
    fn drop(&mut self) {
        let (admin_url, schema, store) = (
            self.admin_url.clone(),
            self.schema.clone(),
            self.store.clone(),
        );
        // Drop may run inside the runtime, which cannot be blocked on: clean up on a thread.
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                store.close().await;
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut admin)
                .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(error)) = cleaned {
            eprintln!(
                "could not drop the benchmark schema {}: {error}",
                self.schema
            );
        }
    }
}

/// One connected account with a board.
#[derive(Debug, Clone)]
pub struct BenchAccount {
    pub id: String,
    /// The sandbox username it was connected as.
    pub username: String,
    pub pinterest_user_id: String,
    pub board_id: String,
}

/// Sandbox + database + vault + one profile.
#[derive(Debug)]
pub struct Env {
    pub sandbox: SandboxHandle,
    pub db: BenchDatabase,
    pub clock: Arc<OffsetClock>,
    pub vault: Vault,
    pub http: reqwest::Client,
    pub profile_id: String,
    pub keys: Arc<KeyRing>,
}

/// A long lease: a benchmark never wants a takeover (and the board search that follows).
const LEASE: Duration = Duration::from_secs(600);

impl Env {
    /// Starts a sandbox with `rates` (none: unthrottled) and a vault over `db`; `public_url` is
    /// where OAuth callbacks would land.
    pub async fn start(
        db: BenchDatabase,
        rates: Vec<(RateLimitCategory, pinline_sandbox::Rate)>,
        public_url: &str,
    ) -> Result<Env> {
        Env::start_with_key(db, rates, public_url, &MasterKey::generate()).await
    }

    /// [`Env::start`] with a given master key, for scenarios whose `pinline serve` children
    /// must read the tokens this vault seals.
    pub async fn start_with_key(
        db: BenchDatabase,
        rates: Vec<(RateLimitCategory, pinline_sandbox::Rate)>,
        public_url: &str,
        master_key: &MasterKey,
    ) -> Result<Env> {
        let config = SandboxConfig {
            rates,
            ..SandboxConfig::default()
        };
        Env::start_with_sandbox(db, config, public_url, master_key).await
    }

    /// [`Env::start_with_key`] with the sandbox configured by `config` (its consent page always
    /// approves at once: the environment connects its accounts through it).
    pub async fn start_with_sandbox(
        db: BenchDatabase,
        config: SandboxConfig,
        public_url: &str,
        master_key: &MasterKey,
    ) -> Result<Env> {
        let config = SandboxConfig {
            auto_approve: true,
            ..config
        };
        let sandbox = pinline_sandbox::spawn(config, loopback()).await?;
        let keys = Arc::new(KeyRing::new(master_key, &[]));
        let clock = Arc::new(OffsetClock::new());
        let client = PinterestClient::new(
            Environment::custom(&sandbox.base_url(), &sandbox.oauth_url())?,
            ClientId::new(sandbox.config().client_id.clone()),
            ClientSecret::new(sandbox.config().client_secret.clone()),
        )?;
        let mut settings = VaultSettings::new(public_url);
        settings.transient_backoff = Duration::from_millis(5);
        let store = db.store().clone();
        let vault = Vault::new(store.clone(), keys.clone(), clock.clone(), client, settings);
        let profile = store
            .profile_by_name_or_create("bench", &uuid::Uuid::now_v7().to_string(), 0)
            .await?;
        Ok(Env {
            sandbox,
            db,
            clock,
            vault,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            profile_id: profile.id,
            keys,
        })
    }

    pub fn store(&self) -> &Store {
        self.db.store()
    }

    pub fn shared_clock(&self) -> SharedClock {
        self.clock.clone()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Connects `count` sandbox users (`{prefix}0`, `{prefix}1`, …) through the consent page and
    /// creates a board for each.
    pub async fn accounts(&self, prefix: &str, count: usize) -> Result<Vec<BenchAccount>> {
        let mut accounts = Vec::with_capacity(count);
        for i in 0..count {
            accounts.push(self.connect(&format!("{prefix}{i}")).await?);
        }
        Ok(accounts)
    }

    /// Connects `count` sandbox users like [`Env::accounts`], `parallel` at a time (for the
    /// scenarios with thousands of accounts).
    pub async fn accounts_parallel(
        &self,
        prefix: &str,
        count: usize,
        parallel: usize,
    ) -> Result<Vec<BenchAccount>> {
        let mut accounts = Vec::with_capacity(count);
        let mut next = 0;
        while next < count {
            let end = (next + parallel.max(1)).min(count);
            let connects = (next..end).map(|i| {
                let name = format!("{prefix}{i}");
                async move { self.connect(&name).await }
            });
            for account in futures_util::future::join_all(connects).await {
                accounts.push(account?);
            }
            next = end;
        }
        Ok(accounts)
    }

    /// Connects one sandbox user as a person would (the sandbox approves at once) and creates a
    /// board for it.
    pub async fn connect(&self, username: &str) -> Result<BenchAccount> {
        let start = self.vault.begin_connect(&self.profile_id, None).await?;
        let mut url = start.authorize_url.clone();
        url.query_pairs_mut().append_pair("sandbox_user", username);
        let reply = self.http.get(url).send().await?;
        if !reply.status().is_redirection() {
            bail!("the sandbox did not approve: {}", reply.status());
        }
        let location = reply
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("no Location on the consent redirect")?;
        let location = url::Url::parse(location)?;
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .with_context(|| format!("no `{name}` in the callback"))
        };
        let connected = self
            .vault
            .complete_connect(
                &param("state")?,
                Some(AuthorizationCode::new(param("code")?)),
                None,
            )
            .await?;
        let account = connected.account;
        let board = BoardCreate::new(format!("Bench {username}"));
        let board = &board;
        let board_id = self
            .vault
            .call(&account.id, move |client, token| async move {
                client.create_board(&token, board).await
            })
            .await?
            .value
            .id;
        Ok(BenchAccount {
            id: account.id,
            username: username.to_owned(),
            pinterest_user_id: account.pinterest_user_id,
            board_id,
        })
    }

    /// A fresh access token for `user`, minted by the sandbox's control API (for the bare
    /// baselines, which call the sandbox without pinline).
    pub async fn mint_token(&self, user: &str) -> Result<String> {
        let minted: Value = self
            .http
            .post(format!(
                "{}/_sandbox/users/{user}/tokens",
                self.sandbox.base_url()
            ))
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        minted["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token in the minted pair")
    }

    /// Queues `count` posts round-robin over `accounts`, through the store, `parallel` inserts at
    /// a time.
    pub async fn queue_posts(
        &self,
        accounts: &[BenchAccount],
        count: usize,
        tag: &str,
        parallel: usize,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(count);
        let mut next = 0;
        while next < count {
            let end = (next + parallel.max(1)).min(count);
            let inserts = (next..end).map(|i| {
                let account = &accounts[i % accounts.len()];
                let title = format!("{tag} {i}");
                async move { self.queue_post(account, &title).await }
            });
            for id in futures_util::future::join_all(inserts).await {
                ids.push(id?);
            }
            next = end;
        }
        Ok(ids)
    }

    /// Queues one post for `account`; returns its id.
    pub async fn queue_post(&self, account: &BenchAccount, title: &str) -> Result<String> {
        let slug = title.replace(' ', "-");
        let post = NewPost {
            profile_id: self.profile_id.clone(),
            account_id: account.id.clone(),
            board_id: account.board_id.clone(),
            title: Some(title.to_owned()),
            description: Some(format!("About {title}")),
            link: Some(format!("https://shop.example/item/{slug}")),
            media: pin_media(&slug).to_string(),
            ..NewPost::default()
        };
        match self.store().insert_post(&post, self.now_ms()).await? {
            InsertOutcome::Created(row) => Ok(row.id),
            other => bail!("expected a new post, got {other:?}"),
        }
    }

    /// A worker: `concurrency` slots, `org_write` paced at `writes_per_sec` per user.
    pub fn publisher(&self, writes_per_sec: u32, concurrency: usize) -> Publisher {
        let mut queue_settings = QueueSettings::new(format!("bench-{}", uuid::Uuid::new_v4()));
        queue_settings.lease = LEASE;
        queue_settings.retry = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 8,
        };
        let queue = Queue::new(self.store().clone(), self.shared_clock(), queue_settings);
        let pacer = PacerSettings {
            rates: HashMap::from([
                (
                    RateLimitCategory::OrgWrite,
                    Rate::per_second(writes_per_sec),
                ),
                (RateLimitCategory::OrgRead, Rate::per_second(1000)),
            ]),
            default_rate: Rate::per_second(1000),
            share: 1.0,
        };
        let settings = PublisherSettings {
            concurrency,
            idle_poll: Duration::from_millis(50),
            ..PublisherSettings::default()
        };
        Publisher::new(
            queue,
            self.vault.clone(),
            Arc::new(Pacer::new(pacer, self.shared_clock())),
            self.store().clone(),
            settings,
        )
    }

    /// A worker like [`Env::publisher`] whose `org_write` pace is `rate` per user.
    pub fn publisher_with_rate(&self, rate: Rate, concurrency: usize) -> Publisher {
        let publisher = self.publisher(1, concurrency);
        let pacer = PacerSettings {
            rates: HashMap::from([
                (RateLimitCategory::OrgWrite, rate),
                (RateLimitCategory::OrgRead, Rate::per_second(1000)),
            ]),
            default_rate: Rate::per_second(1000),
            share: 1.0,
        };
        Publisher::new(
            publisher.queue().clone(),
            self.vault.clone(),
            Arc::new(Pacer::new(pacer, self.shared_clock())),
            self.store().clone(),
            publisher.settings().clone(),
        )
    }

    /// How many posts have `status`.
    pub async fn count(&self, status: &str) -> Result<i64> {
        let counts = self.store().post_counts_by_status().await?;
        Ok(counts.get(status).copied().unwrap_or(0))
    }

    /// Waits until `target` posts are published, polling every `poll`; false on `deadline`.
    pub async fn wait_published(&self, target: i64, deadline: Instant) -> Result<bool> {
        loop {
            if self.count(PostRow::PUBLISHED).await? >= target {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every post of `account`.
    pub async fn posts_of(&self, account_id: &str) -> Result<Vec<PostRow>> {
        let filter = PostFilter {
            account_id: Some(account_id.to_owned()),
            ..PostFilter::default()
        };
        Ok(self
            .store()
            .list_posts(&self.profile_id, &filter, None, 1_000_000)
            .await?
            .posts)
    }

    /// The sandbox's counters.
    pub fn stats(&self) -> pinline_sandbox::Stats {
        self.sandbox.stats()
    }
}

/// Pinterest's `media_source` for a post's image.
pub fn pin_media(slug: &str) -> Value {
    json!({
        "source_type": "image_url",
        "url": format!("https://cdn.example/{slug}.jpg"),
    })
}

/// A fresh random master key and its text form (64 hex digits) for `PINLINE_MASTER_KEY`.
pub fn master_key_pair() -> Result<(MasterKey, String)> {
    let text = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    Ok((MasterKey::parse(&text)?, text))
}

/// `127.0.0.1:0`.
pub fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A running publisher and the switch that stops it.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn start(publisher: &Publisher) -> Running {
        let (stop, stopped) = watch::channel(false);
        let publisher = publisher.clone();
        let task = tokio::spawn(async move { publisher.run(stopped).await });
        Running { stop, task }
    }

    /// Stops the worker and waits (a bounded time) for the posts in flight.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(10), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
