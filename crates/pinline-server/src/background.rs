//! The work a running server does besides answering requests: settling refreshes a stopped
//! process left in flight, renewing tokens before they expire (idle accounts included), alerting
//! on refresh tokens that could not be renewed, re-sealing tokens and webhook secrets after a key
//! rotation, delivering webhooks, and turning account events into webhook events.
//!
//! None of them runs in a loop without waiting. What each costs a server with nothing to do:
//!
//! * the publisher ([`Publisher::run`]): one look-up of the next due post per idle poll (5 s by
//!   default) and one held-post sweep every 5 s; it claims only when woken, when a post falls
//!   due, or after a claim that found posts;
//! * webhook delivery ([`Webhooks::run`]): one claim a second, at once on a new event;
//! * the refresher (`refresh_loop`): four sweeps every [`REFRESH_SWEEP`];
//! * the event forwarders: nothing; they wait for an event or shutdown;
//! * re-sealing after a key rotation: once per start.

use std::time::Duration;

use pinline_queue::{PostEvent, Publisher};
use pinline_vault::Vault;
use pinline_vault::events::VaultEvent;
use pinline_webhooks::Webhooks;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
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
    tasks.spawn(forward(
        vault.outbox(),
        webhooks.clone(),
        shutdown.clone(),
        account_webhook,
    ));
    tasks.spawn(forward(
        publisher.outbox(),
        webhooks.clone(),
        shutdown.clone(),
        post_webhook,
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

/// Events from an outbox → webhook deliveries, via `to_webhook` (the profile, the event name and
/// its data; `None` for events no webhook carries). Woken only by an event or shutdown. The outbox is lossless: however far this
/// falls behind, every event is queued as a webhook delivery, and at shutdown what is left in it
/// is queued before the task ends.
async fn forward<T>(
    mut events: mpsc::UnboundedReceiver<T>,
    webhooks: Webhooks,
    mut shutdown: watch::Receiver<bool>,
    to_webhook: fn(T) -> Option<(String, &'static str, Value)>,
) {
    let emit = |event: T| {
        let webhooks = &webhooks;
        async move {
            let Some((profile_id, kind, data)) = to_webhook(event) else {
                return;
            };
            if let Err(error) = webhooks.emit(&profile_id, kind, data).await {
                tracing::warn!(error = %error, event = kind, "could not queue a webhook");
            }
        }
    };
    loop {
        let event = tokio::select! {
            _ = shutdown.wait_for(|stopped| *stopped) => None,
            event = events.recv() => Some(event),
        };
        match event {
            Some(Some(event)) => emit(event).await,
            Some(None) => return,
            // Stopping: queue what is already in the outbox, then end.
            None => {
                events.close();
                while let Some(event) = events.recv().await {
                    emit(event).await;
                }
                return;
            }
        }
    }
}

/// An account event as a webhook for the account's profile.
fn account_webhook(event: VaultEvent) -> Option<(String, &'static str, Value)> {
    pinline_webhooks::events::is_known(event.kind).then(|| {
        let data = json!({
            "account_id": event.account_id,
            "username": event.username,
            "detail": event.detail,
            "error_class": event.error_class,
            "reconnect_url": event.reconnect_url,
        });
        (event.profile_id, event.kind, data)
    })
}

/// A post event as a webhook for the post's profile.
fn post_webhook(event: PostEvent) -> Option<(String, &'static str, Value)> {
    let data = json!({
        "post_id": event.post_id,
        "account_id": event.account_id,
        "pin_id": event.pin_id,
        "pin_url": event.pin_url,
        "adopted": event.adopted,
        "error_class": event.error_class,
        "message": event.message,
    });
    Some((event.profile_id, event.kind, data))
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
