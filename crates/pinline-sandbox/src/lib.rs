//! A Pinterest API v5 stand-in that runs on loopback: the consent page and token endpoint (codes,
//! PKCE S256, refresh rotation, revocation), the boards/sections/pins/media operations pinline
//! uses with Pinterest's scopes and error bodies, per-user rate limits (per category, and
//! optionally Pinterest's universal limit across categories), seeded fault injection, a movable
//! clock and a control API. It is as strict as Pinterest on purpose: a lenient stand-in would let
//! tests pass where production fails.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pinline_sandbox::SandboxError> {
//! let sandbox = pinline_sandbox::spawn(
//!     pinline_sandbox::SandboxConfig::default(),
//!     "127.0.0.1:0".parse().expect("address"),
//! )
//! .await?;
//! println!("Pinterest API at {}/v5", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Module map: [`config`] and [`clock`] are public; `state` is the in-memory model, `auth` the
//! gate every `/v5` request passes (faults, bearer token, rate limit, scopes), `oauth` the
//! authorization server, `resources` the Pinterest objects, `control` the `/_sandbox` API,
//! `uploads` the media upload target, `faults`, `ratelimit` and `persist`
//! what their names say, and `errors` the Pinterest error body.

mod app;
mod auth;
pub mod clock;
pub mod config;
mod control;
mod errors;
pub mod faults;
mod oauth;
mod persist;
mod ratelimit;
mod resources;
mod state;
mod uploads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use clock::SandboxClock;
pub use config::{
    InvalidRate, Latency, Rate, RefreshTokenPolicy, STANDARD_UNIVERSAL_RATE, SandboxConfig,
    TRIAL_UNIVERSAL_RATE, parse_category_rate,
};
pub use faults::{FaultKind, FaultRule, FaultSet};
pub use state::{RECENT_TOKEN_REQUESTS, Stats, TokenRequestSeen, TokenRequestStats};

use app::{AppState, Shared};

/// How often dirty state is saved to `--state FILE`.
const SAVE_INTERVAL: Duration = Duration::from_secs(2);

/// What can go wrong starting, running or stopping a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unusable (for example an empty client id).
    #[error("invalid sandbox configuration: {0}")]
    InvalidConfig(String),
    /// The state file could not be read or written.
    #[error("state file {path}: {source}")]
    StateIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but is not a sandbox state.
    #[error("state file {path} is not valid sandbox state: {source}")]
    StateCorrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// State could not be serialized.
    #[error("could not encode sandbox state: {0}")]
    StateEncode(#[source] serde_json::Error),
}

/// A running sandbox. Dropping it stops the server (without the final save; call
/// [`SandboxHandle::shutdown`] for that).
#[derive(Debug)]
pub struct SandboxHandle {
    addr: SocketAddr,
    shared: AppState,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    server: Option<tokio::task::JoinHandle<()>>,
    saver: Option<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    /// The bound address (useful after binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without `/v5` (clients append it, as with `https://api.pinterest.com`).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The consent page URL (`PINTEREST_OAUTH_URL` for a gateway talking to this sandbox).
    pub fn oauth_url(&self) -> String {
        format!("{}/oauth/", self.shared.base_url)
    }

    /// How many live pins carry each link (pins without a link are left out): a post published
    /// exactly once has exactly one pin with its link.
    pub fn pin_links(&self) -> std::collections::HashMap<String, u64> {
        let state = self.shared.read();
        let mut links = std::collections::HashMap::new();
        for pin in state.pins.values() {
            if let Some(link) = &pin.link {
                *links.entry(link.clone()).or_insert(0) += 1;
            }
        }
        links
    }

    /// A snapshot of the counters served at `/_sandbox/stats`.
    pub fn stats(&self) -> Stats {
        self.shared.read().stats.clone()
    }

    /// The sandbox clock; advancing it expires codes and tokens.
    pub fn clock(&self) -> &SandboxClock {
        &self.shared.clock
    }

    /// The configuration the sandbox runs with.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// Stops accepting connections, lets in-flight requests finish, and saves state if a state
    /// file is configured.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        if let Some(saver) = self.saver.take() {
            saver.abort();
        }
        if let Some(server) = self.server.take() {
            // Idle keep-alive connections close at once on graceful shutdown; a client holding a
            // request open is given a moment, then cut off.
            let mut server = server;
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
        let shared = self.shared.clone();
        match tokio::task::spawn_blocking(move || save_now(&shared)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not save sandbox state at shutdown"),
            Err(error) => tracing::warn!(%error, "sandbox state save task failed"),
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(saver) = self.saver.take() {
            saver.abort();
        }
        // The server task ends by itself once its connections drain; the listener is closed
        // as soon as the stop signal is seen.
    }
}

/// Saves state now if a state file is configured and something changed.
fn save_now(shared: &Shared) -> Result<(), SandboxError> {
    let Some(path) = &shared.config.state_file else {
        return Ok(());
    };
    let _one_save_at_a_time = shared.save_lock.lock();
    if !shared.dirty.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    let bytes = persist::encode(&shared.read())?;
    persist::write_atomically(path, &bytes).inspect_err(|_| {
        shared.dirty.store(true, Ordering::Release);
    })
}

/// Starts a sandbox on `listen` (port 0 picks a free port) and serves it in a tokio task.
pub async fn spawn(
    config: SandboxConfig,
    listen: SocketAddr,
) -> Result<SandboxHandle, SandboxError> {
    config.validate().map_err(SandboxError::InvalidConfig)?;
    let state = match &config.state_file {
        Some(path) => persist::load(path)?.unwrap_or_default(),
        None => state::State::default(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: listen,
        source,
    })?;
    let base_url = format!("http://{addr}");
    let shared = Arc::new(Shared::new(
        config,
        Arc::new(SandboxClock::new()),
        state,
        base_url,
    ));

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let app = app::router(shared.clone());
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        };
        // With each connection's peer address, so the stats can say where the last token
        // request came from.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(%error, "sandbox server stopped with an error");
        }
    });

    let saver = shared.config.state_file.as_ref().map(|_| {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(SAVE_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stop_rx.wait_for(|stop| *stop) => break,
                }
                let shared = shared.clone();
                let result = tokio::task::spawn_blocking(move || save_now(&shared)).await;
                if let Ok(Err(error)) = result {
                    tracing::warn!(%error, "could not save sandbox state");
                }
            }
        })
    });

    tracing::debug!(%addr, "sandbox listening");
    Ok(SandboxHandle {
        addr,
        shared,
        stop: Some(stop_tx),
        server: Some(server),
        saver,
    })
}

/// What `pinline sandbox` prints at start: the app credentials it accepts (the sandbox's own fake
/// credentials; printing them is the point) and where everything is.
pub fn startup_banner(handle: &SandboxHandle, config: &SandboxConfig) -> String {
    let base = handle.base_url();
    let mut banner = format!(
        "pinline sandbox: a Pinterest API v5 stand-in\n\
         \n  API base URL     {base}   (PINTEREST_API_URL; paths under /v5)\n\
         \x20 consent page     {base}/oauth/   (PINTEREST_OAUTH_URL)\n\
         \x20 control API      {base}/_sandbox/   (users, tokens, faults, clock, stats)\n\
         \n  client id        {}   (PINTEREST_CLIENT_ID)\n\
         \x20 client secret    {}   (PINTEREST_CLIENT_SECRET)\n",
        config.client_id, config.client_secret,
    );
    if config.redirect_uris.is_empty() {
        banner.push_str("  redirect URIs    any http(s) URI (none registered)\n");
    } else {
        for uri in &config.redirect_uris {
            banner.push_str(&format!("  redirect URI     {uri}\n"));
        }
    }
    banner.push_str(&format!(
        "  lifetimes        access token {}s, refresh token {}s, code {}s; refresh reuse grace {}s\n",
        config.access_token_lifetime_secs,
        config.refresh_token_lifetime_secs,
        config.code_lifetime_secs,
        config.refresh_reuse_grace_secs,
    ));
    if config.auto_approve {
        banner.push_str("  consent          auto-approved\n");
    }
    if config.trial {
        banner.push_str("  app tier         Trial (pins/create is refused with code 29)\n");
    }
    match config.universal_rate {
        Some(rate) => banner.push_str(&format!(
            "  rate limit       {rate} per user across all requests (Pinterest's universal limit)\n"
        )),
        None => banner.push_str("  rate limit       no universal limit\n"),
    }
    for (category, rate) in &config.rates {
        banner.push_str(&format!(
            "  rate limit       {category} = {rate} per user\n"
        ));
    }
    banner.push_str(&format!(
        "  media uploads    processing for {}s on the sandbox clock\n",
        config.media_processing_secs
    ));
    if !config.latency.is_zero() {
        banner.push_str(&format!(
            "  latency          {} on every API request\n",
            config.latency
        ));
    }
    if let Some(path) = &config.state_file {
        banner.push_str(&format!("  state file       {}\n", path.display()));
    }
    banner.push_str(&format!("  fault seed       {}\n", config.seed));
    banner
}

/// The sandbox's router over fresh state, for embedding in another server or testing with
/// `tower::ServiceExt::oneshot`. `base_url` is where it will be reachable (used in upload URLs).
pub fn router(config: SandboxConfig, base_url: &str) -> axum::Router {
    let shared = Arc::new(Shared::new(
        config,
        Arc::new(SandboxClock::new()),
        state::State::default(),
        base_url.trim_end_matches('/').to_owned(),
    ));
    app::router(shared)
}
