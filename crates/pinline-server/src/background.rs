//! The work a running server does besides answering requests: settling refreshes a stopped
//! process left in flight, renewing tokens before they expire (idle accounts included), alerting
//! on refresh tokens that could not be renewed, re-sealing tokens and webhook secrets after a key
//! rotation, delivering webhooks, and fanning the webhook outbox out into deliveries.
//!
//! None of them runs in a loop without waiting. What each costs a server with nothing to do:
//!
//! * the publisher ([`Publisher::run`]): one look-up of the next due post per idle poll (5 s by
//!   default) and one held-post sweep every 5 s; it claims only when woken, when a post falls
//!   due, or after a claim that found posts;
//! * webhook delivery ([`Webhooks::run`]): one claim a second, at once on a new event;
//! * the refresher (`refresh_loop`): four sweeps every [`REFRESH_SWEEP`];
//! * the webhook outbox (`dispatch_outbox`): two indexed reads every [`OUTBOX_SWEEP`], at once
//!   on an event of this process;
//! * re-sealing after a key rotation: once per start;
//! * the posts-due listener ([`wake_on_posts_due`], PostgreSQL only): one idle connection,
//!   outside the pool, that wakes the publisher when another replica hints that posts are due.

use std::time::Duration;

use pinline_core::outbox::OutboxHint;
use pinline_queue::Publisher;
use pinline_store::Store;
use pinline_vault::Vault;
use pinline_webhooks::Webhooks;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How often the refresher looks for accounts to renew.
pub const REFRESH_SWEEP: Duration = Duration::from_secs(60);

/// Starts every background task; they stop when `shutdown` turns true.
pub fn spawn_all(
    vault: Vault,
    webhooks: Webhooks,
    publisher: Publisher,
    shutdown: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(dispatch_outbox(
        vault.outbox_hint(),
        publisher.outbox_hint(),
        vault.clone(),
        webhooks.clone(),
        shutdown.clone(),
    ));
    let publishing = shutdown.clone();
    tasks.spawn(async move { publisher.run(publishing).await });
    tasks.spawn(reseal_old_keys(vault.clone(), webhooks.clone()));
    tasks.spawn(refresh_loop(vault, shutdown.clone()));
    let mut stop = shutdown;
    tasks.spawn(async move {
        webhooks
            .run(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await;
    });
    tasks
}

/// Wakes `publisher` whenever another replica hints that posts are due, and whenever the
/// listener reconnects (hints sent while it was away are lost), until `shutdown` turns true.
/// Returns at once on SQLite, where this process's own wake-ups are all there is.
pub async fn wake_on_posts_due(
    store: Store,
    publisher: Publisher,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(listener) = store.listen_for_posts_due().await else {
        return;
    };
    listener
        .run(move |_| publisher.wake(), async move {
            let _ = shutdown.wait_for(|stopped| *stopped).await;
        })
        .await;
}

/// How often the webhook outbox is looked at when no event of this process wakes it: the bound
/// on how late another replica's events (or events left by a stopped process) are fanned out.
pub const OUTBOX_SWEEP: Duration = Duration::from_secs(5);

/// The webhook outbox → webhook deliveries. Events are rows (see `pinline_store::outbox`),
/// written with the change that caused them; this task fans them out. It runs at once when
/// this process's vault or publisher hints at an event (hints coalesce, so memory stays flat
/// however far this falls behind), every [`OUTBOX_SWEEP`] otherwise (two indexed reads when
/// idle), and once more at shutdown.
async fn dispatch_outbox(
    account_events: OutboxHint,
    post_events: OutboxHint,
    vault: Vault,
    webhooks: Webhooks,
    mut shutdown: watch::Receiver<bool>,
) {
    let reconnect_url = |account_id: &str| vault.reconnect_url(account_id);
    let dispatch = || async {
        loop {
            match webhooks.dispatch_outbox(&reconnect_url).await {
                // A full batch: more may be waiting.
                Ok(taken) if taken > 0 => continue,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "could not fan out webhook events; retrying at the next sweep");
                    return;
                }
            }
        }
    };
    loop {
        dispatch().await;
        tokio::select! {
            _ = shutdown.wait_for(|stopped| *stopped) => break,
            () = account_events.notified() => {}
            () = post_events.notified() => {}
            () = tokio::time::sleep(OUTBOX_SWEEP) => {}
        }
    }
    dispatch().await;
}

/// After a key rotation: re-seals account tokens and webhook secrets still sealed under an
/// older master key, once per start. Every replica may run it; the writes are compare-and-swap.
async fn reseal_old_keys(vault: Vault, webhooks: Webhooks) {
    let (tokens, secrets) = (
        vault.reseal_old_keys().await,
        webhooks.reseal_old_keys().await,
    );
    let unreadable = match (&tokens, &secrets) {
        (Ok(tokens), Ok(secrets)) => {
            if tokens.resealed + secrets.resealed > 0 {
                tracing::info!(
                    accounts = tokens.resealed,
                    webhooks = secrets.resealed,
                    "re-sealed under the current master key"
                );
            }
            tokens.unreadable + secrets.unreadable
        }
        _ => {
            if let Err(error) = &tokens {
                tracing::warn!(error = %error, "re-sealing account tokens failed");
            }
            if let Err(error) = &secrets {
                tracing::warn!(error = %error, "re-sealing webhook secrets failed");
            }
            return;
        }
    };
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "some sealed values open with no key held; keep every old key in PINLINE_OLD_MASTER_KEYS until this count is 0"
        );
    } else {
        tracing::info!("every sealed value is under the current master key");
    }
}

/// Renews tokens: each sweep settles refreshes a stopped process left in flight (any replica's,
/// not only this one's from before a restart), then renews the accounts that are due.
///
/// Woken only by its timer (every [`REFRESH_SWEEP`]) or shutdown: idle, four short sweeps a
/// minute.
async fn refresh_loop(vault: Vault, mut shutdown: watch::Receiver<bool>) {
    loop {
        match vault.recover_interrupted_refreshes().await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(
                count,
                "found refreshes interrupted by a stopped process; settled them"
            ),
            Err(error) => {
                tracing::warn!(error = %error, "checking for interrupted refreshes failed");
            }
        }
        match vault.refresh_due_accounts().await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "renewed tokens"),
            Err(error) => tracing::warn!(error = %error, "token renewal sweep failed"),
        }
        if let Err(error) = vault.alert_expiring_tokens().await {
            tracing::warn!(error = %error, "expiry alert sweep failed");
        }
        if let Err(error) = vault.forget_old_connect_links().await {
            tracing::warn!(error = %error, "forgetting old connect links failed");
        }
        tokio::select! {
            _ = shutdown.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(REFRESH_SWEEP) => {}
        }
    }
}
