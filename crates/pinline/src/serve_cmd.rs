//! `pinline serve`: the API server with its background work, until Ctrl-C or SIGTERM.
//!
//! [`start`] wires pinline together (store, vault, webhooks, publisher, API, background work) on
//! a bound listener; `serve` and `demo` both run it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use pinline_core::cipher::KeyRing;
use pinline_core::clock::{SharedClock, SystemClock};
use pinline_outbound::Guard;
use pinline_pinterest::PinterestClient;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_queue::{Pacer, PacerSettings, Publisher, PublisherSettings, Queue, QueueSettings};
use pinline_server::{AppState, ConnectionLimits, background};
use pinline_store::{DatabaseLocation, Store};
use pinline_vault::{Vault, VaultSettings};
use pinline_webhooks::{RetryPolicy, Webhooks};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{PinterestApp, ServeArgs};

/// Everything [`start`] needs.
#[derive(Debug)]
pub struct ServerSetup {
    pub app: PinterestApp,
    pub public_url: String,
    pub location: DatabaseLocation,
    pub keys: Arc<KeyRing>,
    pub pacing: PacerSettings,
    pub lease: std::time::Duration,
    /// Posts in flight to Pinterest at once ([`PublisherSettings::concurrency`]).
    pub in_flight: usize,
    pub drafter: pinline_drafts::Drafter,
    /// Whether webhooks may be delivered to private and loopback addresses.
    pub allow_private_targets: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The header-read timeout and the cap on open connections.
    pub limits: ConnectionLimits,
    /// The bearer token `/metrics` wants, if any.
    pub metrics_token: Option<String>,
    /// Where connects may send people back.
    pub connect_return_urls: Vec<url::Url>,
    /// The Pinterest passthrough and the token endpoint.
    pub credential: pinline_server::passthrough::CredentialSettings,
    /// Where account alerts go by email and chat (none: only tracked).
    pub alerts: pinline_alerts::AlertSettings,
}

/// A running pinline: API server plus background work.
#[derive(Debug)]
pub struct RunningServer {
    pub bound: SocketAddr,
    pub store: Store,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    tasks: JoinSet<()>,
}

impl RunningServer {
    /// Stops accepting requests, lets those in flight and the background work finish, and closes
    /// the database.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.server
            .await
            .context("server task")?
            .context("while serving")?;
        while self.tasks.join_next().await.is_some() {}
        self.store.close().await;
        Ok(())
    }
}

/// How replicas sharing a PostgreSQL database wake each other.
#[derive(Debug, Clone, Copy)]
pub struct WakeOptions {
    /// Send a `NOTIFY` hint when a post due now is accepted, and listen for other replicas'
    /// (see `pinline_store::wakeup`). Nothing on SQLite.
    pub pg_notify: bool,
}

impl Default for WakeOptions {
    fn default() -> Self {
        WakeOptions { pg_notify: true }
    }
}

/// Opens the database and serves pinline on `listener`.
pub async fn start(
    setup: ServerSetup,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<RunningServer> {
    start_with(setup, listener, WakeOptions::default()).await
}

/// [`start`] with explicit [`WakeOptions`].
pub async fn start_with(
    setup: ServerSetup,
    listener: tokio::net::TcpListener,
    wake: WakeOptions,
) -> anyhow::Result<RunningServer> {
    let ServerSetup {
        app,
        public_url,
        location,
        keys,
        pacing,
        lease,
        in_flight,
        drafter,
        allow_private_targets,
        trusted_proxies,
        limits,
        metrics_token,
        connect_return_urls,
        credential,
        alerts,
    } = setup;
    let store = Store::open(&location)
        .await
        .with_context(|| format!("while opening the database at {location}"))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let client = PinterestClient::new(app.environment, app.client_id, app.client_secret)
        .context("while setting up the Pinterest client")?;
    let vault = Vault::new(
        store.clone(),
        keys.clone(),
        clock.clone(),
        client,
        VaultSettings::new(&public_url),
    );
    let webhooks = Webhooks::new(
        store.clone(),
        keys,
        clock.clone(),
        Guard::new("webhook delivery", allow_private_targets),
        RetryPolicy::default(),
    )
    .context("while setting up webhook deliveries")?;
    let publisher = Publisher::new(
        Queue::new(
            store.clone(),
            clock.clone(),
            QueueSettings {
                lease: lease.max(std::time::Duration::from_secs(1)),
                account_spacing: pacing.spacing(RateLimitCategory::OrgWrite),
                ..QueueSettings::new(uuid::Uuid::new_v4().to_string())
            },
        ),
        vault.clone(),
        Arc::new(Pacer::new(pacing, clock.clone())),
        store.clone(),
        PublisherSettings {
            concurrency: in_flight.max(1),
            ..PublisherSettings::default()
        },
    );
    let state = AppState::new(
        store.clone(),
        vault.clone(),
        webhooks.clone(),
        publisher.clone(),
        clock.clone(),
    )
    .with_drafter(drafter)
    .with_trusted_proxies(trusted_proxies)
    .with_posts_due_hints(store.posts_due_hints(wake.pg_notify))
    .with_connect_return_urls(connect_return_urls)
    .with_credential_settings(credential);
    let state = match &metrics_token {
        Some(token) => state.with_metrics_token(token),
        None => state,
    };
    let alerts = pinline_alerts::Alerts::new(
        store.clone(),
        clock.clone(),
        alerts.clone(),
        pinline_alerts::Channels::new(&alerts, Guard::new("alerts", allow_private_targets))
            .context("while setting up alerts")?,
    );
    let (stop, stopped) = watch::channel(false);
    let mut tasks = background::spawn_all(vault, webhooks, publisher.clone(), stopped.clone());
    let alerting = stopped.clone();
    tasks.spawn(async move { alerts.run(alerting).await });
    tasks.spawn(pinline_server::cooldowns::share_cooldowns(
        store.clone(),
        publisher.pacer().clone(),
        clock.clone(),
        stopped.clone(),
    ));
    if wake.pg_notify {
        tasks.spawn(background::wake_on_posts_due(
            store.clone(),
            publisher,
            stopped.clone(),
        ));
    }
    let bound = listener
        .local_addr()
        .context("while reading the bound address")?;
    let mut server_stopped = stopped;
    let server = pinline_server::serve(
        listener,
        pinline_server::router(state),
        limits,
        async move {
            let _ = server_stopped.wait_for(|s| *s).await;
        },
    );
    let server = tokio::spawn(server);
    Ok(RunningServer {
        bound,
        store,
        stop,
        server,
        tasks,
    })
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    args.outbound.apply();
    let setup = ServerSetup {
        app: args.pinterest.app()?,
        public_url: args.public_url()?,
        location: args.data.database()?,
        keys: args.data.key_ring()?,
        pacing: args.pacing()?,
        lease: std::time::Duration::from_secs(args.lease_secs),
        in_flight: usize::from(args.in_flight),
        drafter: args.drafts.drafter(args.outbound.allow_private_targets)?,
        allow_private_targets: args.outbound.allow_private_targets,
        trusted_proxies: args.trusted_proxies.clone(),
        limits: ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout_secs),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        },
        metrics_token: args.metrics_token.clone(),
        connect_return_urls: args.connect_return_urls.clone(),
        credential: args.credential_settings()?,
        alerts: args.alerts.settings(&args.public_url()?)?,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("while listening on {} (PINLINE_LISTEN)", args.listen))?;
    let (public_url, location) = (setup.public_url.clone(), setup.location.to_string());
    let wake = WakeOptions {
        pg_notify: args.pg_notify,
    };
    let running = start_with(setup, listener, wake).await?;
    eprintln!(
        "pinline is serving on http://{} (public URL {public_url}, database {location})",
        running.bound
    );
    shutdown_signal().await;
    eprintln!("stopping: finishing requests in flight…");
    running.shutdown().await
}

/// Ctrl-C, or SIGTERM on Unix (what process managers send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
