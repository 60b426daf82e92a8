//! `pinline serve`: the API server with its background work, until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use pinline_pinterest::PinterestClient;
use pinline_queue::{Pacer, Publisher, PublisherSettings, Queue, QueueSettings};
use pinline_server::{AppState, background};
use pinline_store::Store;
use pinline_vault::clock::{SharedClock, SystemClock};
use pinline_vault::{Vault, VaultSettings};
use pinline_webhooks::{RetryPolicy, Webhooks};
use tokio::sync::watch;

use crate::config::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let app = args.pinterest.app()?;
    let public_url = args.public_url()?;
    let location = args.data.database()?;
    let keys = args.data.key_ring()?;
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
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("while setting up the webhook client")?,
        RetryPolicy::default(),
    );
    let publisher = Publisher::new(
        Queue::new(
            store.clone(),
            clock.clone(),
            QueueSettings {
                lease: std::time::Duration::from_secs(args.lease_secs.max(1)),
                ..QueueSettings::new(uuid::Uuid::new_v4().to_string())
            },
        ),
        vault.clone(),
        Arc::new(Pacer::new(args.pacing()?, clock.clone())),
        store.clone(),
        PublisherSettings::default(),
    );
    let state = AppState::new(
        store.clone(),
        vault.clone(),
        webhooks.clone(),
        publisher.clone(),
        clock,
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("while listening on {} (PINLINE_LISTEN)", args.listen))?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = background::spawn_all(vault, webhooks, publisher, stopped.clone());
    let bound = listener
        .local_addr()
        .context("while reading the bound address")?;
    eprintln!(
        "pinline is serving on http://{bound} (public URL {public_url}, database {location})"
    );
    let mut server_stopped = stopped;
    let server =
        axum::serve(listener, pinline_server::router(state)).with_graceful_shutdown(async move {
            let _ = server_stopped.wait_for(|s| *s).await;
        });
    let server = tokio::spawn(async move { server.await });
    shutdown_signal().await;
    eprintln!("stopping: finishing requests in flight…");
    let _ = stop.send(true);
    server
        .await
        .context("server task")?
        .context("while serving")?;
    while tasks.join_next().await.is_some() {}
    store.close().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (what process managers send).
async fn shutdown_signal() {
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
