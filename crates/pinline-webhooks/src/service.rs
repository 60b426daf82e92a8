//! The webhooks service: registering endpoints, turning events into durable deliveries, and the
//! worker that delivers them.
//!
//! Deliveries live in the database, not in memory: an event is committed (one delivery per
//! matching webhook, in one transaction) before [`Webhooks::emit`] returns, and the worker
//! leases due deliveries from the store, so any replica can deliver any event, and a restart
//! loses nothing. The price is at-least-once delivery: a worker that dies after the receiver
//! answered but before the attempt is recorded delivers again once the lease expires.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinline_core::cipher::{KeyRing, Resealed};
use pinline_core::clock::SharedClock;
use pinline_outbound::{Guard, OutboundError};
use pinline_store::{
    EventDelivery, PendingAccountEvent, PendingPostEvent, Store, WebhookAttemptResult,
    WebhookDeliveryRow, WebhookRow,
};
use rand::Rng;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

use crate::metrics::DeliveryMetrics;
use crate::{RetryPolicy, WebhookError, WebhookSecret, events, signature};

/// Header naming the event (`post.published`, …).
pub const EVENT_HEADER: &str = "Pinline-Event";
/// Header carrying the delivery id, stable across the retries of one delivery.
pub const DELIVERY_HEADER: &str = "Pinline-Delivery";

/// The most webhooks one profile may register: every event is fanned out to each of them, so the
/// cap bounds what one event costs.
pub const MAX_WEBHOOKS_PER_PROFILE: i64 = 25;
/// How long a rotated-out secret keeps signing beside the new one.
pub const SECRET_GRACE: Duration = Duration::from_secs(24 * 3600);

/// How many post events, and how many account events, one [`Webhooks::dispatch_outbox`] call
/// takes.
const OUTBOX_BATCH: i64 = 200;
/// How many deliveries one [`Webhooks::deliver_due`] call claims and sends concurrently.
const CLAIM_BATCH: i64 = 32;
/// How often the worker looks for due retries when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// An event that was committed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedEvent {
    /// The event's id (the payload's `id`), the same in every delivery of it.
    pub event_id: String,
    /// One delivery per webhook that wanted the event; empty when nobody listens.
    pub delivery_ids: Vec<String>,
}

/// Webhook management, event emission and delivery. Cheap to clone; clones share one wake-up
/// signal, so an `emit` on any clone wakes a [`run`](Webhooks::run) loop on another.
#[derive(Debug, Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    key_ring: Arc<KeyRing>,
    clock: SharedClock,
    guard: Guard,
    http: reqwest::Client,
    policy: RetryPolicy,
    wake: Notify,
    metrics: DeliveryMetrics,
}

/// A change to a webhook, for [`Webhooks::update`]; `None` keeps a field.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookUpdate<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [&'a str]>,
    pub enabled: Option<bool>,
    pub rotate_secret: bool,
}

/// How one HTTP attempt ended.
struct AttemptOutcome {
    status_code: Option<i64>,
    error: Option<String>,
}

impl Webhooks {
    /// A service over `store`, sealing secrets with `key_ring`, reaching receivers only where
    /// `guard` allows. Registration checks a URL against the guard without resolving it;
    /// every delivery checks it again and connects only to addresses the guard resolved and
    /// checked at that moment (see `pinline_outbound`). Redirects are never followed: a
    /// redirected POST counts as a failure, not as a delivery to wherever it pointed.
    pub fn new(
        store: Store,
        key_ring: Arc<KeyRing>,
        clock: SharedClock,
        guard: Guard,
        policy: RetryPolicy,
    ) -> Result<Webhooks, WebhookError> {
        let http = guard
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| WebhookError::Setup(error.to_string()))?;
        Ok(Webhooks {
            inner: Arc::new(Inner {
                store,
                key_ring,
                clock,
                guard,
                http,
                policy,
                wake: Notify::new(),
                metrics: DeliveryMetrics::default(),
            }),
        })
    }

    /// What delivery counts for Prometheus.
    pub fn metrics(&self) -> &DeliveryMetrics {
        &self.inner.metrics
    }

    /// The retry policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// Registers a webhook for a profile. `events` are event names (see [`events`]) or `*`.
    /// Returns the stored row and the signing secret, which is shown to the user now and never
    /// again (only its sealed form is kept).
    pub async fn create(
        &self,
        profile_id: &str,
        url: &str,
        events: &[&str],
    ) -> Result<(WebhookRow, WebhookSecret), WebhookError> {
        let url = parse_url(url)?;
        self.vet_target(&url)?;
        let events = parse_events(events)?;
        let id = uuid::Uuid::now_v7().to_string();
        let secret = WebhookSecret::generate();
        let secret_sealed = self.inner.key_ring.seal(
            &WebhookSecret::associated_data(&id),
            secret.expose_secret().as_bytes(),
        );
        let row = WebhookRow {
            id,
            profile_id: profile_id.to_owned(),
            url,
            secret_sealed,
            events,
            created_at: self.inner.clock.now_ms(),
            disabled_at: None,
            disabled_reason: None,
            failed_in_a_row: 0,
            previous_secret_sealed: None,
            previous_secret_until: None,
        };
        if !self
            .inner
            .store
            .create_webhook(&row, MAX_WEBHOOKS_PER_PROFILE)
            .await?
        {
            return Err(WebhookError::TooMany {
                limit: MAX_WEBHOOKS_PER_PROFILE,
            });
        }
        tracing::info!(webhook = %row.id, profile = %row.profile_id, events = %row.events, "webhook created");
        Ok((row, secret))
    }

    /// Changes a webhook of a profile: its URL (checked as at registration), its events, whether
    /// it is enabled (enabling forgets past failures, and what waited is sent), and, with
    /// `rotate_secret`, a new signing secret, returned now and never again, while the old one
    /// keeps signing beside it for [`SECRET_GRACE`]. `None` for another profile's webhook.
    pub async fn update(
        &self,
        profile_id: &str,
        webhook_id: &str,
        update: WebhookUpdate<'_>,
    ) -> Result<Option<(WebhookRow, Option<WebhookSecret>)>, WebhookError> {
        let inner = &self.inner;
        let url = match update.url {
            Some(url) => {
                let url = parse_url(url)?;
                self.vet_target(&url)?;
                Some(url)
            }
            None => None,
        };
        let events = update.events.map(parse_events).transpose()?;
        let now = inner.clock.now_ms();
        let secret = update.rotate_secret.then(WebhookSecret::generate);
        let changes = pinline_store::WebhookChanges {
            url,
            events,
            enabled: update.enabled,
            new_secret_sealed: secret.as_ref().map(|secret| {
                inner.key_ring.seal(
                    &WebhookSecret::associated_data(webhook_id),
                    secret.expose_secret().as_bytes(),
                )
            }),
            previous_until: secret.as_ref().map(|_| now + millis(SECRET_GRACE)),
        };
        let Some(row) = inner
            .store
            .update_webhook(profile_id, webhook_id, &changes, now)
            .await?
        else {
            return Ok(None);
        };
        if update.enabled == Some(true) {
            inner.wake.notify_one();
        }
        tracing::info!(webhook = %row.id, profile = %row.profile_id, rotated = secret.is_some(), enabled = row.disabled_at.is_none(), "webhook changed");
        Ok(Some((row, secret)))
    }

    /// Sends one delivery of a profile's webhook again, from its first attempt, now. `None`
    /// when there is no such delivery.
    pub async fn redeliver(
        &self,
        profile_id: &str,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<Option<WebhookDeliveryRow>, WebhookError> {
        let row = self
            .inner
            .store
            .redeliver_webhook_delivery(
                profile_id,
                webhook_id,
                delivery_id,
                self.inner.clock.now_ms(),
            )
            .await?;
        if row.is_some() {
            self.inner.wake.notify_one();
        }
        Ok(row)
    }

    /// Refuses a receiver the guard would refuse at delivery, without resolving its name (a
    /// name that resolves to a private address is refused at each delivery instead). A
    /// reserved name that never resolves is accepted: it is how tests and examples say
    /// "nobody listens".
    fn vet_target(&self, url: &str) -> Result<(), WebhookError> {
        let parsed = url::Url::parse(url).map_err(|error| WebhookError::InvalidUrl {
            reason: format!("not an absolute URL ({error})"),
        })?;
        match self.inner.guard.vet_url(&parsed) {
            Ok(_) | Err(OutboundError::ReservedName { .. }) => Ok(()),
            Err(
                error @ (OutboundError::BeyondLoopback { .. } | OutboundError::NonPublic { .. }),
            ) => Err(WebhookError::RefusedTarget {
                reason: error.to_string(),
            }),
            Err(error) => Err(WebhookError::InvalidUrl {
                reason: error.to_string(),
            }),
        }
    }

    /// Re-seals every webhook secret sealed under an older master key with the current one,
    /// page by page. A secret no key opens is logged (by webhook id) and skipped.
    pub async fn reseal_old_keys(&self) -> Result<Resealed, WebhookError> {
        const PAGE: i64 = 200;
        let inner = &self.inner;
        let mut done = Resealed::default();
        let mut after = String::new();
        loop {
            let rows = inner
                .store
                .webhooks_sealed_with_other_keys(inner.key_ring.current_key_id(), &after, PAGE)
                .await?;
            let Some(last) = rows.last() else {
                return Ok(done);
            };
            after = last.id.clone();
            for row in rows {
                let aad = WebhookSecret::associated_data(&row.id);
                match inner.key_ring.reseal(&aad, &row.secret_sealed) {
                    Ok(sealed) => {
                        if inner
                            .store
                            .reseal_webhook_secret(&row.id, &row.secret_sealed, &sealed)
                            .await?
                        {
                            done.resealed += 1;
                        }
                    }
                    Err(_) => {
                        tracing::warn!(
                            webhook = %row.id,
                            "no master key opens this webhook's secret; its deliveries will fail until the old key is back in PINLINE_OLD_MASTER_KEYS (or the webhook is recreated)"
                        );
                        done.unreadable += 1;
                    }
                }
            }
        }
    }

    /// A profile's webhooks, oldest first.
    pub async fn list(&self, profile_id: &str) -> Result<Vec<WebhookRow>, WebhookError> {
        Ok(self.inner.store.list_webhooks(profile_id).await?)
    }

    /// One webhook of a profile; `None` for another profile's webhook.
    pub async fn get(
        &self,
        profile_id: &str,
        webhook_id: &str,
    ) -> Result<Option<WebhookRow>, WebhookError> {
        Ok(self.inner.store.get_webhook(profile_id, webhook_id).await?)
    }

    /// Deletes a webhook of a profile with its pending deliveries and its log; false when the
    /// profile has no such webhook.
    pub async fn delete(&self, profile_id: &str, webhook_id: &str) -> Result<bool, WebhookError> {
        Ok(self
            .inner
            .store
            .delete_webhook(profile_id, webhook_id)
            .await?)
    }

    /// Commits `event` for every webhook of the profile that wants it, and wakes the worker.
    ///
    /// The payload is `{"id", "type", "created_at", "data"}`. `data` must hold only ids,
    /// usernames, links and states — never a token or a secret: it is stored in the clear and
    /// sent to a URL the profile chose.
    pub async fn emit(
        &self,
        profile_id: &str,
        event: &str,
        data: serde_json::Value,
    ) -> Result<EmittedEvent, WebhookError> {
        if !events::is_known(event) {
            return Err(WebhookError::UnknownEvent(event.to_owned()));
        }
        let now = self.inner.clock.now_ms();
        let event_id = uuid::Uuid::now_v7().to_string();
        let payload = event_payload(&event_id, event, now, data);
        let delivery_ids = self
            .inner
            .store
            .enqueue_webhook_event(profile_id, event, &payload, now)
            .await?;
        if !delivery_ids.is_empty() {
            self.inner.wake.notify_one();
        }
        tracing::debug!(event, %event_id, deliveries = delivery_ids.len(), "webhook event emitted");
        Ok(EmittedEvent {
            event_id,
            delivery_ids,
        })
    }

    /// Turns pending events of the outbox (post attempts that published, failed or held a post;
    /// account events) into deliveries, oldest first, up to one batch of each; returns how many
    /// events were taken. Any replica may run it at any time: each event is taken by exactly
    /// one transaction, which writes its deliveries. `reconnect_url` gives an account's
    /// reconnect page for account events.
    pub async fn dispatch_outbox(
        &self,
        reconnect_url: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<usize, WebhookError> {
        let store = &self.inner.store;
        let now = self.inner.clock.now_ms();
        let posts = store.pending_post_events(OUTBOX_BATCH).await?;
        let post_events: Vec<(&PendingPostEvent, EventDelivery)> = posts
            .iter()
            .map(|pending| {
                let (event, data) = post_event_data(pending);
                let payload = event_payload(
                    &uuid::Uuid::now_v7().to_string(),
                    event,
                    pending.finished_at,
                    data,
                );
                let delivery = EventDelivery {
                    profile_id: pending.profile_id.clone(),
                    event: event.to_owned(),
                    payload,
                };
                (pending, delivery)
            })
            .collect();
        let from_posts = store.take_post_events(&post_events, now).await?;
        let accounts = store.pending_account_events(OUTBOX_BATCH).await?;
        let account_events: Vec<(&PendingAccountEvent, Option<EventDelivery>)> = accounts
            .iter()
            .map(|pending| {
                // An event no webhook carries only has its mark cleared.
                let delivery = events::is_known(&pending.kind).then(|| {
                    let data = json!({
                        "account_id": pending.account_id,
                        "username": pending.username,
                        "detail": pending.detail,
                        "error_class": pending.error_class,
                        "reconnect_url": reconnect_url(&pending.account_id),
                        // What the embedding app said when it started the connect.
                        "external_id": pending.external_id,
                        "metadata": pending
                            .metadata
                            .as_deref()
                            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok()),
                    });
                    EventDelivery {
                        profile_id: pending.profile_id.clone(),
                        event: pending.kind.clone(),
                        payload: event_payload(
                            &uuid::Uuid::now_v7().to_string(),
                            &pending.kind,
                            pending.created_at,
                            data,
                        ),
                    }
                });
                (pending, delivery)
            })
            .collect();
        let from_accounts = store.take_account_events(&account_events, now).await?;
        let taken = from_posts.taken + from_accounts.taken;
        let queued = !from_posts.deliveries.is_empty() || !from_accounts.deliveries.is_empty();
        if queued {
            self.inner.wake.notify_one();
        }
        Ok(taken)
    }

    /// Claims the deliveries that are due now and attempts each once, concurrently; returns how
    /// many were attempted. A failed attempt is not an error: it is logged and scheduled again.
    /// A database error while recording one attempt is logged, and that delivery is retried
    /// when its lease expires.
    pub async fn deliver_due(&self) -> Result<usize, WebhookError> {
        let policy = &self.inner.policy;
        // The lease outlives the longest possible attempt with a wide margin, so a live worker
        // is never overtaken by another replica on the same delivery.
        let lease_ms = millis(policy.request_timeout.saturating_mul(2)) + 30_000;
        let now = self.inner.clock.now_ms();
        let due = self
            .inner
            .store
            .claim_due_webhook_deliveries(now, lease_ms, CLAIM_BATCH)
            .await?;
        let count = due.len();
        let attempts = due.into_iter().map(|delivery| async move {
            let id = delivery.id.clone();
            if let Err(error) = self.attempt(delivery).await {
                tracing::warn!(delivery = %id, %error, "could not record a webhook attempt");
            }
        });
        futures_util::future::join_all(attempts).await;
        Ok(count)
    }

    /// Delivers due deliveries until `shutdown` completes: at once when [`emit`](Self::emit)
    /// commits something, and otherwise every second for retries that come due. An attempt in
    /// flight when `shutdown` fires is finished and recorded first.
    ///
    /// What wakes it: `emit` (through `wake`), shutdown, and the one-second poll. Only a round
    /// that claimed a full batch is followed by another round without waiting, so an idle
    /// worker makes at most one claim (one short write transaction) a second.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let attempted = match self.deliver_due().await {
                Ok(attempted) => attempted,
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery round failed");
                    0
                }
            };
            if attempted as i64 >= CLAIM_BATCH {
                // More may be due right away; look again unless asked to stop.
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::task::yield_now() => continue,
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    /// One attempt of one claimed delivery, recorded in the log.
    async fn attempt(&self, delivery: WebhookDeliveryRow) -> Result<(), WebhookError> {
        let inner = &self.inner;
        let Some(webhook) = inner
            .store
            .get_webhook(&delivery.profile_id, &delivery.webhook_id)
            .await?
        else {
            // Deleted since the claim; its deliveries went with it.
            return Ok(());
        };
        let at = inner.clock.now_ms();
        let started = Instant::now();
        let aad = WebhookSecret::associated_data(&webhook.id);
        let outcome = match inner.key_ring.open(&aad, &webhook.secret_sealed) {
            Ok(opened) => {
                let mut secrets = vec![WebhookSecret::from_opened(&opened)];
                // During a rotation's grace period the old secret signs too, so receivers can
                // switch over whenever they like.
                if let (Some(previous), Some(until)) = (
                    &webhook.previous_secret_sealed,
                    webhook.previous_secret_until,
                ) && until > at
                    && let Ok(opened) = inner.key_ring.open(&aad, previous)
                {
                    secrets.push(WebhookSecret::from_opened(&opened));
                }
                self.post(&webhook, &delivery, &secrets, at).await
            }
            Err(error) => AttemptOutcome {
                status_code: None,
                error: Some(format!("cannot open the webhook secret: {error}")),
            },
        };
        let duration_ms = millis(started.elapsed());
        let number = u32::try_from(delivery.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let jitter: f64 = rand::rng().random();
        // The delay counts from the attempt's end, so a slow timeout does not eat into it.
        let retry_at = inner.clock.now_ms() + millis(inner.policy.delay(number, jitter));
        let succeeded = outcome.error.is_none();
        // Written now, used only if this attempt gives the delivery up and that disables the
        // webhook: the event then commits with the change that causes it.
        let disabled_event = (!succeeded && number >= inner.policy.max_attempts).then(|| {
            event_payload(
                &uuid::Uuid::now_v7().to_string(),
                events::WEBHOOK_DISABLED,
                at,
                json!({
                    "webhook_id": webhook.id,
                    "reason": format!(
                        "{} deliveries in a row were given up; PATCH /v1/webhooks/{} with {{\"enabled\": true}} turns it back on and sends what waited",
                        inner.policy.disable_after, webhook.id
                    ),
                }),
            )
        });
        let (recorded, disabled) = inner
            .store
            .record_webhook_attempt(&WebhookAttemptResult {
                delivery_id: &delivery.id,
                at,
                status_code: outcome.status_code,
                error: outcome.error.as_deref(),
                duration_ms,
                succeeded,
                retry_at,
                max_attempts: i64::from(inner.policy.max_attempts),
                disable_after: i64::from(inner.policy.disable_after),
                disabled_event_payload: disabled_event.as_deref(),
            })
            .await?;
        if let Some(disabled) = disabled {
            tracing::warn!(
                event = events::WEBHOOK_DISABLED,
                webhook = %disabled.webhook_id,
                profile = %disabled.profile_id,
                failed_in_a_row = disabled.failed_in_a_row,
                "webhook disabled after a run of given-up deliveries"
            );
            inner.wake.notify_one();
        }
        if let Some(row) = recorded {
            let status = row.status.as_str();
            inner.metrics.attempt(status);
            let code = outcome.status_code;
            if succeeded {
                tracing::info!(delivery = %row.id, webhook = %row.webhook_id, event = %row.event, attempt = row.attempts, ?code, "webhook delivered");
            } else {
                let error = outcome.error.as_deref().unwrap_or_default();
                tracing::warn!(delivery = %row.id, webhook = %row.webhook_id, event = %row.event, attempt = row.attempts, ?code, error, status, "webhook attempt failed");
            }
        }
        Ok(())
    }

    /// POSTs the delivery's payload, signed; 2xx is success, anything else a failure.
    async fn post(
        &self,
        webhook: &WebhookRow,
        delivery: &WebhookDeliveryRow,
        secrets: &[WebhookSecret],
        at: i64,
    ) -> AttemptOutcome {
        let target = match url::Url::parse(&webhook.url) {
            Ok(url) => self.inner.guard.check_url(&url).map(|_| url),
            Err(error) => Err(OutboundError::InvalidUrl {
                url: String::new(),
                reason: error.to_string(),
            }),
        };
        let target = match target {
            Ok(target) => target,
            Err(refused) => return refused_outcome(webhook, &refused),
        };
        let body = delivery.payload.clone();
        let signature = signature::sign_all(
            secrets.iter().map(WebhookSecret::expose_secret),
            at.div_euclid(1000),
            body.as_bytes(),
        );
        let timeout = self.inner.policy.request_timeout;
        let sent = self
            .inner
            .http
            .post(target)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, &delivery.event)
            .header(DELIVERY_HEADER, &delivery.id)
            .header(signature::HEADER, signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                AttemptOutcome {
                    status_code: Some(i64::from(status.as_u16())),
                    error: (!status.is_success())
                        .then(|| format!("receiver answered HTTP {}", status.as_u16())),
                }
            }
            Err(error) => match OutboundError::in_request_error(&error) {
                Some(refused) => refused_outcome(webhook, refused),
                None => AttemptOutcome {
                    status_code: None,
                    error: Some(describe(&error, timeout)),
                },
            },
        }
    }
}

/// A delivery the guard would not send. The operator's log gets the rule and the host; the
/// delivery log, which the profile reads, gets only the class.
fn refused_outcome(webhook: &WebhookRow, refused: &OutboundError) -> AttemptOutcome {
    tracing::warn!(webhook = %webhook.id, reason = %refused, "webhook delivery not sent");
    AttemptOutcome {
        status_code: None,
        error: Some(refused.class().to_owned()),
    }
}

/// A transport error as a coarse class: the delivery log is read by whoever registered the
/// webhook, and the socket's own words (refused, reset, which TLS alert) would make pinline a
/// scanner of whatever network it runs in. Never the URL either, which may carry a receiver's
/// own token in its query string.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if error.is_connect() {
        "could not connect to the receiver".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the receiver's answer could not be read".to_owned()
    } else {
        "the request to the receiver failed".to_owned()
    }
}

/// Checks a webhook URL: absolute, http or https, with a host and without credentials (which
/// would end up in logs and in the dashboard).
fn parse_url(text: &str) -> Result<String, WebhookError> {
    let invalid = |reason: &str| WebhookError::InvalidUrl {
        reason: reason.to_owned(),
    };
    let url = url::Url::parse(text.trim())
        .map_err(|error| invalid(&format!("not an absolute URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "the URL must not contain credentials; the signature authenticates pinline",
        ));
    }
    Ok(url.to_string())
}

/// Checks an event filter and renders it as stored: `*`, or known names joined by commas.
fn parse_events(names: &[&str]) -> Result<String, WebhookError> {
    let mut kept: Vec<&str> = Vec::new();
    for name in names.iter().map(|name| name.trim()) {
        if name == events::WILDCARD {
            return Ok(events::WILDCARD.to_owned());
        }
        if !events::is_known(name) {
            return Err(WebhookError::UnknownEvent(name.to_owned()));
        }
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    if kept.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    Ok(kept.join(","))
}

/// A post event's name and data, from the attempt that caused it.
fn post_event_data(pending: &PendingPostEvent) -> (&'static str, serde_json::Value) {
    let (event, adopted) = match pending.outcome.as_str() {
        "failed" => (events::POST_FAILED, false),
        "held" => (events::POST_HELD, false),
        "adopted" => (events::POST_PUBLISHED, true),
        _ => (events::POST_PUBLISHED, false),
    };
    let published = event == events::POST_PUBLISHED;
    let error_class = match event {
        // A hold is always the account's credentials.
        events::POST_HELD => Some("auth".to_owned()),
        _ => pending.error_class.clone(),
    };
    let data = json!({
        "post_id": pending.post_id,
        "account_id": pending.account_id,
        "pin_id": published.then(|| pending.pin_id.clone()).flatten(),
        "pin_url": published.then(|| pending.pin_url.clone()).flatten(),
        "adopted": adopted,
        "error_class": error_class,
        "message": (!published).then(|| pending.error_message.clone()).flatten(),
    });
    (event, data)
}

/// The body of one event: `{"id", "type", "created_at", "data"}` as compact JSON, with
/// `created_at` in RFC 3339 (UTC, millisecond precision).
pub fn event_payload(
    event_id: &str,
    event: &str,
    created_at_ms: i64,
    data: serde_json::Value,
) -> String {
    json!({
        "id": event_id,
        "type": event,
        "created_at": rfc3339(created_at_ms),
        "data": data,
    })
    .to_string()
}

fn rfc3339(unix_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_plain_http_or_https() {
        assert_eq!(
            parse_url(" https://hooks.example.test/pinline?x=1 ").expect("https"),
            "https://hooks.example.test/pinline?x=1"
        );
        assert!(parse_url("http://127.0.0.1:9000/hook").is_ok());
        for bad in [
            "ftp://example.test/",
            "hooks.example.test/pinline",
            "",
            "https://user:pass@example.test/",
            "mailto:ops@example.test",
        ] {
            assert!(
                matches!(parse_url(bad), Err(WebhookError::InvalidUrl { .. })),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn event_filters_are_known_names_or_the_wildcard() {
        assert_eq!(parse_events(&["*"]).expect("wildcard"), "*");
        assert_eq!(
            parse_events(&["post.published", "post.failed", "post.published"]).expect("names"),
            "post.published,post.failed"
        );
        assert_eq!(
            parse_events(&["post.published", "*"]).expect("wildcard wins"),
            "*"
        );
        assert!(matches!(parse_events(&[]), Err(WebhookError::NoEvents)));
        assert!(matches!(
            parse_events(&["post.publish"]),
            Err(WebhookError::UnknownEvent(name)) if name == "post.publish"
        ));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
