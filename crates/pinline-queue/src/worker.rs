//! The publishing worker: claims due posts and gets them live on Pinterest, exactly once, at the
//! pace Pinterest allows.
//!
//! For each claimed post, [`Publisher`]:
//!
//! 1. reads the account: one that `needs_reauth` or is `disconnected` holds the post (and the
//!    account's other queued posts) without calling Pinterest;
//! 2. when an earlier attempt's outcome is unknown (`outcome_unknown_since`, or a takeover of an
//!    expired lease), lists the board's newest pins and *adopts* the one this post created, if
//!    any ([`find_pin_to_adopt`]); nothing is sent again then;
//! 3. waits for the [`Pacer`] (per Pinterest user and rate-limit category), checks that it still
//!    holds the post's lease (extending it after a long wait), and creates the pin through
//!    [`Vault::call`] (token, and one refresh-and-retry on a 401); the answer's rate-limit headers
//!    correct the pacer;
//! 4. records the result with a fenced completion: published, or the [`Decision`] for the error
//!    (retry, fail, hold, or unknown outcome). A worker whose fence was lost writes nothing and
//!    logs `post.fenced_out`;
//! 5. after a reconnect (`account.connected`), releases one canary post of the account; when the
//!    canary publishes, the account's other held posts go back to the queue. A canary that fails
//!    for a reason of its own (validation, not found) hands the role to the next held post.
//!
//! Every published, failed and held post is broadcast as a [`PostEvent`] ([`Publisher::subscribe`])
//! for webhooks, and logged under the same name.
//!
//! [`Publisher::run`] keeps up to `concurrency` posts in flight (a post holds its slot while it is
//! checked, paced and sent, and frees it before its result is recorded), and claims beside them
//! as slots free up (ahead of them while a backlog drains fast). Published results are written in
//! batches by the [`Queue`].
//!
//! A claim that finds nothing is never followed straight by another. The worker then asks the
//! store when the next claim can find work ([`Store::next_claim_due`]: the soonest queued post or
//! expiring lease, a read of two index ends) and sleeps until that time, or until
//! [`Publisher::wake`] (a post was accepted, a canary released), or at most `idle_poll` (work that
//! another process queued or scheduled without telling this one). An idle worker therefore costs
//! one such read per `idle_poll`, plus the held-post sweep every
//! [`PublisherSettings::held_sweep`]; a post accepted
//! for now starts as soon as its wake-up is seen, and a scheduled one at its time.
//! [`Publisher::stats`] counts the claims and due checks, so that a loop that spins shows.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pinline_core::outbox::OutboxHint;
use pinline_core::trace::TARGET as TRACE;
use pinline_pinterest::facts::{RateLimitCategory, operations};
use pinline_pinterest::{ErrorClass, PinCreate, PinMediaSource, PinterestError, Refusal};
use pinline_store::{ClaimedPost, Completion, PostRow, Store, StoreError};
use pinline_vault::events::VaultEvent;
use pinline_vault::events::kind as vault_kind;
use pinline_vault::{AccountStatus, KnownAccount, Vault, VaultError};
use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use crate::adopt::{PostFingerprint, find_pin_to_adopt, pin_created_at_ms};
use crate::classify::{Decision, decide_vault};
use crate::metrics::PublisherMetrics;
use crate::pacing::Pacer;
use crate::queue::Queue;
use crate::retry::random_jitter;

/// Post event names, as used in logs and webhooks.
pub mod post_kind {
    pub const PUBLISHED: &str = "post.published";
    pub const FAILED: &str = "post.failed";
    pub const HELD: &str = "post.held";
}

/// One post event, for webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostEvent {
    /// One of [`post_kind`].
    pub kind: &'static str,
    pub profile_id: String,
    pub account_id: String,
    pub post_id: String,
    pub pin_id: Option<String>,
    pub pin_url: Option<String>,
    /// True when the pin was found on the board after an attempt with an unknown outcome.
    pub adopted: bool,
    /// The failure class (`validation`, `not_found`, …) of a failed post.
    pub error_class: Option<String>,
    /// Why it failed or is held, for people.
    pub message: Option<String>,
}

/// Tunables of the worker.
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// Posts in flight at once in this process.
    pub concurrency: usize,
    /// The longest an idle worker sleeps before it looks at the queue again. It otherwise
    /// sleeps until the next due time it knows of or a [`Publisher::wake`], so this only bounds
    /// how late it sees work that another process queued without waking it (a bulk import,
    /// another replica's posts after that replica stopped).
    pub idle_poll: Duration,
    /// At most this many pages of the board's newest pins are searched before re-sending an
    /// unknown-outcome create. The search walks back until it reaches pins older than the first
    /// attempt; a board that grew by more than this since then makes the search inconclusive and
    /// the post fails (class `unknown`) rather than risking a second pin.
    pub adopt_pages: u32,
    /// Pins per page of that search (Pinterest allows up to 250).
    pub adopt_page_size: u32,
    /// Clock skew tolerated between pinline and Pinterest when matching a pin's `created_at`
    /// (Pinterest's times have whole seconds).
    pub adopt_skew: Duration,
    /// A post whose user's pacer says to wait longer than this (a `Retry-After`, an exhausted
    /// window until its reset) goes back to the queue until then instead of holding a slot.
    pub max_pacer_wait: Duration,
    /// While posts fall due one by one (the last claim found some, but fewer than it asked
    /// for), the next claim starts at least this long after the last one: each claim then
    /// takes what fell due meanwhile, not the one post due this millisecond. A claim costs the
    /// same handful of statements for 1 post or 100, so this bounds the statements per post
    /// under a steady schedule, at the price of at most this much lag. It does not hold back a
    /// claim after a wake-up (a post accepted for now), nor while a backlog drains (the last
    /// claim came back full, or took as many of one account's posts as a claim may).
    pub claim_gap: Duration,
    /// How often the run loop looks for usable accounts whose held posts were never released
    /// (a reconnect whose event went elsewhere, a configuration fixed by a restart): one read of
    /// the (few) held posts, idle or not.
    pub held_sweep: Duration,
}

impl Default for PublisherSettings {
    fn default() -> Self {
        PublisherSettings {
            concurrency: 16,
            idle_poll: Duration::from_secs(5),
            adopt_pages: 40,
            adopt_page_size: 250,
            adopt_skew: Duration::from_secs(10),
            max_pacer_wait: Duration::from_secs(5),
            claim_gap: Duration::from_millis(10),
            held_sweep: Duration::from_secs(5),
        }
    }
}

/// What a worker has done to find work since it was built ([`Publisher::stats`]). An idle
/// worker's figures grow by about one due check per `idle_poll` and no claims; a loop that spins
/// shows as claims (or due checks) by the thousand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PublisherStats {
    /// Claims attempted ([`Store::claim_due_posts`], by `run` and `run_once`).
    pub claims: u64,
    /// Claims that found no post.
    pub empty_claims: u64,
    /// Look-ups of the next due time ([`Store::next_claim_due`]).
    pub due_checks: u64,
    /// Runs of the held-post sweep (every [`PublisherSettings::held_sweep`]).
    pub held_sweeps: u64,
}

/// How one claimed post ended in this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Created and recorded.
    Published,
    /// Found on the board from an earlier attempt and recorded.
    Adopted,
    /// Back in the queue for a later attempt.
    Retry,
    /// The create's outcome is unknown; the next attempt searches the board first.
    Unknown,
    /// Given up.
    Failed,
    /// Held until the account is reconnected.
    Held,
    /// The lease was lost; nothing was written.
    FencedOut,
    /// The database failed; the post stays claimed until its lease expires and is then taken
    /// over (with a board search).
    Error,
}

/// The publishing worker of one process. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    queue: Queue,
    vault: Vault,
    pacer: Arc<Pacer>,
    store: Store,
    settings: PublisherSettings,
    permits: Arc<Semaphore>,
    wake: Notify,
    /// Signalled whenever a slot is freed, so that [`Publisher::run`] starts the next post.
    slot_freed: Notify,
    /// Slots freed so far: how fast slots turn over, to size the claims made ahead.
    slots_freed: AtomicU64,
    /// Claims made, claims that found nothing, and due checks, since the worker was built.
    claims: AtomicU64,
    empty_claims: AtomicU64,
    due_checks: AtomicU64,
    held_sweeps: AtomicU64,
    metrics: PublisherMetrics,
    events: broadcast::Sender<PostEvent>,
    /// Given with every event: the webhook outbox's dispatcher reads the event's row (written
    /// with the completion) when woken.
    outbox_hint: OutboxHint,
}

impl Inner {
    /// Counts a claim in [`PublisherStats`]; a failed claim found nothing too.
    fn count_claim(&self, claimed: &Result<Vec<ClaimedPost>, StoreError>, took: Duration) {
        let found = claimed.as_ref().map_or(0, Vec::len);
        self.metrics.claim(found, took);
        let claims = self.claims.fetch_add(1, Ordering::Relaxed) + 1;
        let empty_claims = if found == 0 {
            self.empty_claims.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.empty_claims.load(Ordering::Relaxed)
        };
        // For benchmarks of a `pinline serve` process, which read its log.
        tracing::debug!(event = "post.claim", found, claims, empty_claims);
    }
}

/// One of the worker's `concurrency` slots, held while a post is being attempted (paced, sent
/// to Pinterest) and freed before its result is recorded: recording only waits for the
/// database, and the next post can use the slot meanwhile.
struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.inner.slots_freed.fetch_add(1, Ordering::Relaxed);
        self.inner.slot_freed.notify_one();
    }
}

/// What an attempt came to, recorded after its slot is freed.
enum Step {
    /// The pin exists (created now, or adopted from an earlier attempt).
    Published { pin_id: String, adopted: bool },
    /// The attempt failed; the decision says what happens to the post.
    Decided(Decision),
    /// Nothing to record (the lease was lost).
    Done(Outcome),
}

/// A claim running in its own task, so that it holds the database (on SQLite, the writer slot)
/// only while it runs, whatever [`Publisher::run`] is awaiting meanwhile. Aborted if dropped
/// unfinished (its transaction rolls back), like a claim awaited in place.
struct ClaimTask(JoinHandle<Result<Vec<ClaimedPost>, StoreError>>);

impl Drop for ClaimTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Publisher {
    /// A worker taking posts from `queue`, publishing through `vault`, paced by `pacer`.
    pub fn new(
        queue: Queue,
        vault: Vault,
        pacer: Arc<Pacer>,
        store: Store,
        settings: PublisherSettings,
    ) -> Publisher {
        let (events, _) = broadcast::channel(4096);
        let concurrency = settings.concurrency.max(1);
        Publisher {
            inner: Arc::new(Inner {
                queue,
                vault,
                pacer,
                store,
                settings,
                permits: Arc::new(Semaphore::new(concurrency)),
                wake: Notify::new(),
                slot_freed: Notify::new(),
                slots_freed: AtomicU64::new(0),
                claims: AtomicU64::new(0),
                empty_claims: AtomicU64::new(0),
                due_checks: AtomicU64::new(0),
                held_sweeps: AtomicU64::new(0),
                metrics: PublisherMetrics::default(),
                events,
                outbox_hint: OutboxHint::default(),
            }),
        }
    }

    /// Subscribes to post events (`post.published`, `post.failed`, `post.held`). A subscriber
    /// that falls more than 4,096 events behind misses some (webhooks are made from the recorded rows, see
    /// [`Publisher::outbox_hint`]).
    pub fn subscribe(&self) -> broadcast::Receiver<PostEvent> {
        self.inner.events.subscribe()
    }

    /// The hint this worker gives with every post event, for the webhook outbox's dispatcher
    /// (the events themselves are rows written with the completions; see [`OutboxHint`]).
    pub fn outbox_hint(&self) -> OutboxHint {
        self.inner.outbox_hint.clone()
    }

    /// Makes [`Publisher::run`] look for due posts now (after a post was accepted).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Claims and due checks so far (relaxed counters: exact once the worker is idle).
    pub fn stats(&self) -> PublisherStats {
        PublisherStats {
            claims: self.inner.claims.load(Ordering::Relaxed),
            empty_claims: self.inner.empty_claims.load(Ordering::Relaxed),
            due_checks: self.inner.due_checks.load(Ordering::Relaxed),
            held_sweeps: self.inner.held_sweeps.load(Ordering::Relaxed),
        }
    }

    /// What this publisher counts for Prometheus.
    pub fn metrics(&self) -> &PublisherMetrics {
        &self.inner.metrics
    }

    /// The pacer the worker publishes under, shared with whatever else calls Pinterest for the
    /// same accounts (the passthrough), so that one budget covers every caller; the rate meter
    /// reads it.
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.inner.pacer
    }

    /// The queue the worker takes posts from.
    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }

    /// The settings in force.
    pub fn settings(&self) -> &PublisherSettings {
        &self.inner.settings
    }

    /// Claims one batch and processes it, at most `concurrency` posts at a time; returns how
    /// many posts were handled.
    pub async fn run_once(&self) -> usize {
        let started = std::time::Instant::now();
        let claimed = self.inner.queue.claim().await;
        self.inner.count_claim(&claimed, started.elapsed());
        let claims = match claimed {
            Ok(claims) => claims,
            Err(error) => {
                tracing::error!(event = "post.claim_failed", %error, "claiming posts failed");
                return 0;
            }
        };
        let handled = claims.len();
        let mut tasks = JoinSet::new();
        for claim in claims {
            let Ok(permit) = self.inner.permits.clone().acquire_owned().await else {
                break;
            };
            let slot = self.slot(permit);
            let publisher = self.clone();
            tasks.spawn(async move { publisher.process_in_slot(claim, Some(slot)).await });
        }
        while tasks.join_next().await.is_some() {}
        handled
    }

    /// Publishes until `shutdown` turns true (or its sender is dropped), then finishes the
    /// posts it has claimed. Also releases canaries after reconnects.
    ///
    /// Claims run beside the posts in flight: each claim asks for the free slots plus as many
    /// posts as slots were freed while the previous claim was running, so that under load a
    /// claimed post is waiting whenever a slot frees up, while a worker whose posts wait for
    /// the pacer (slots turning over slowly) claims no more than its free slots, keeping other
    /// accounts' new posts from queueing behind them here. While posts fall due one by one,
    /// claims are at least `claim_gap` apart, so that each takes what fell due meanwhile.
    ///
    /// What wakes it: a claim coming back, a slot freed, [`Publisher::wake`], an account event,
    /// shutdown, and one timer. After a claim that found nothing it claims again only when woken
    /// or when a due check ([`Store::next_claim_due`]) says a post has fallen due since; the
    /// timer is set to that due time, to the next held-post sweep, or to `idle_poll`, whichever
    /// comes first. A post that was due before the empty claim (it went to another process) is
    /// looked at again after [`DUE_RECHECK`], not claimed at once. Idle, the worker runs at most
    /// one due check per `idle_poll` and one sweep per [`PublisherSettings::held_sweep`].
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut vault_events = Some(self.inner.vault.subscribe());
        // Posts written by something other than the store (a bulk load, a restore) are brought
        // into the claim's ready queue; it only ever lowers, so replicas may do it at once.
        match self.inner.store.rebuild_claim_index().await {
            Ok(0) => {}
            Ok(repaired) => tracing::info!(
                event = "post.claim_index_repaired",
                accounts = repaired,
                "accounts with queued posts were missing from the ready queue"
            ),
            Err(error) => tracing::warn!(%error, "checking the claim's ready queue failed"),
        }
        // Accounts reconnected while no worker was listening. Only accounts that have held posts
        // are visited (one query): a start with thousands of accounts must not begin with a
        // write per account while posts fall due.
        self.release_missed_reconnects().await;
        let concurrency = self.inner.settings.concurrency.max(1);
        let batch = usize::try_from(self.inner.queue.settings().batch.max(1)).unwrap_or(1);
        let idle_poll = self.inner.settings.idle_poll.max(Duration::from_millis(1));
        // While the last claim found posts, claim again once this many slots are free.
        let refill_at = concurrency.div_ceil(2);
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut ready: VecDeque<ClaimedPost> = VecDeque::new();
        let mut claiming: Option<ClaimTask> = None;
        // What the claim in flight asked for, and the freed-slot count when it started.
        let mut asked = 0usize;
        let mut freed_before = 0u64;
        // Posts to claim beyond the free slots.
        let mut ahead = 0usize;
        // The last claim came back full: more posts are probably due.
        let mut more_due = false;
        // The last claim found posts: more may be due (a claim takes only a few per account).
        let mut found_some = false;
        // Claim at the next chance: at start, after a wake-up, or when a due check said so.
        let mut claim_now = true;
        // Look up the next due time before going to sleep (after an empty claim, or when a post
        // finished while idle, since it may have been rescheduled).
        let mut check_due = false;
        // The due check was asked for by the timer (not straight after an empty claim), so a
        // post found due is claimed.
        let mut claim_if_due = false;
        // When the last claim started, unix ms by the queue's clock.
        let mut last_claim_at = i64::MIN;
        // The earliest start of a claim that only follows posts falling due one by one.
        let claim_gap = self.inner.settings.claim_gap;
        let per_account =
            usize::try_from(self.inner.queue.settings().per_account_batch.max(1)).unwrap_or(1);
        let mut gap_until = tokio::time::Instant::now();
        let mut next_look = tokio::time::Instant::now() + idle_poll;
        let mut next_held_sweep = tokio::time::Instant::now() + self.inner.settings.held_sweep;
        let mut stopping = false;
        loop {
            if !stopping && *shutdown.borrow() {
                stopping = true;
            }
            // Events can be missed (another replica handled the reconnect and stopped before
            // releasing, or a hold landed after the release): every few seconds, accounts that
            // are usable again but still have held posts get their canary.
            if !stopping && tokio::time::Instant::now() >= next_held_sweep {
                next_held_sweep = tokio::time::Instant::now() + self.inner.settings.held_sweep;
                self.release_missed_reconnects().await;
            }
            while tasks.try_join_next().is_some() {
                // A post that went back to the queue (a retry) may now be the next due.
                check_due |= !found_some;
            }
            while !ready.is_empty() {
                let Ok(permit) = self.inner.permits.clone().try_acquire_owned() else {
                    break;
                };
                let Some(claim) = ready.pop_front() else {
                    break;
                };
                let slot = self.slot(permit);
                let publisher = self.clone();
                tasks.spawn(async move { publisher.process_in_slot(claim, Some(slot)).await });
            }
            if stopping && claiming.is_none() && ready.is_empty() {
                break;
            }
            if !stopping && claiming.is_none() {
                let free = self.inner.permits.available_permits();
                let want = (free + ahead).saturating_sub(ready.len()).min(batch);
                let trickle = found_some && free >= refill_at;
                let gap_passed = tokio::time::Instant::now() >= gap_until;
                if want > 0 && (claim_now || more_due || (trickle && gap_passed)) {
                    claim_now = false;
                    check_due = false;
                    gap_until = tokio::time::Instant::now() + claim_gap;
                    asked = want;
                    freed_before = self.inner.slots_freed.load(Ordering::Relaxed);
                    // No later than the claim's own "now": what was due by then, it saw.
                    last_claim_at = self.inner.queue.now_ms();
                    let inner = self.inner.clone();
                    claiming = Some(ClaimTask(tokio::spawn(async move {
                        let started = std::time::Instant::now();
                        let claimed = inner.queue.claim_up_to(want as i64).await;
                        inner.count_claim(&claimed, started.elapsed());
                        claimed
                    })));
                } else if check_due {
                    check_due = false;
                    // Taken, not read: if the claim this leads to finds nothing, the due check
                    // after it must not lead to another claim at once.
                    let timer_asked = std::mem::take(&mut claim_if_due);
                    let now = tokio::time::Instant::now();
                    next_look = now + idle_poll;
                    match self.next_claim_due().await {
                        Ok(Some(due)) => {
                            let now_ms = self.inner.queue.now_ms();
                            if due > now_ms {
                                let wait = Duration::from_millis((due - now_ms) as u64);
                                next_look = now + wait.min(idle_poll);
                            } else if timer_asked || due > last_claim_at {
                                // Due now, and it was not yet when the last claim ran.
                                claim_now = true;
                                continue;
                            } else {
                                // Due already when the claim just before found nothing: another
                                // process is taking it, or holds its row. Look again shortly
                                // rather than claim straight away.
                                next_look = now + DUE_RECHECK.min(idle_poll);
                            }
                        }
                        Ok(None) => {}
                        Err(error) => {
                            tracing::warn!(%error, "looking up the next due post failed");
                        }
                    }
                }
            }
            // (Stopping, the sweep no longer runs: its time must not wake the loop again and
            // again while the last posts finish.)
            let mut wake_at = if stopping {
                next_look
            } else {
                next_look.min(next_held_sweep)
            };
            if !stopping
                && claiming.is_none()
                && found_some
                && tokio::time::Instant::now() < gap_until
            {
                // Posts are falling due one by one: claim again when the gap has passed.
                wake_at = wake_at.min(gap_until);
            }
            let look = tokio::time::sleep_until(wake_at);
            tokio::select! {
                changed = shutdown.changed(), if !stopping => {
                    if changed.is_err() {
                        stopping = true;
                    }
                }
                claimed = next_claim(&mut claiming) => {
                    claiming = None;
                    match claimed {
                        Ok(claims) => {
                            found_some = !claims.is_empty();
                            // Full, or an account gave as many as one claim takes of it:
                            // more are probably due now, so no gap before the next claim.
                            more_due = found_some
                                && (claims.len() >= asked
                                    || an_account_was_capped(&claims, per_account));
                            let freed = self.inner.slots_freed.load(Ordering::Relaxed);
                            ahead = if more_due {
                                usize::try_from(freed - freed_before).unwrap_or(batch).min(batch)
                            } else {
                                0
                            };
                            check_due = !found_some;
                            claim_if_due = false;
                            ready.extend(claims);
                        }
                        Err(error) => {
                            (found_some, more_due, ahead) = (false, false, 0);
                            // Not a due check at once: the database may be down; try again
                            // after the idle poll.
                            next_look = tokio::time::Instant::now() + idle_poll;
                            tracing::error!(event = "post.claim_failed", %error, "claiming posts failed");
                        }
                    }
                }
                () = self.inner.slot_freed.notified() => {}
                () = self.inner.wake.notified() => claim_now = true,
                () = look => {
                    if tokio::time::Instant::now() >= next_look {
                        check_due = true;
                        claim_if_due = true;
                        next_look = tokio::time::Instant::now() + idle_poll;
                    }
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                    // A post that went back to the queue (a retry) may now be the next due.
                    if !found_some {
                        check_due = true;
                    }
                }
                event = recv_event(&mut vault_events), if !stopping => match event {
                    Ok(event) => self.on_vault_event(&event).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "missed account events; checking every account");
                        self.release_missed_reconnects().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => vault_events = None,
                },
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// [`Store::next_claim_due`], counted.
    async fn next_claim_due(&self) -> Result<Option<i64>, StoreError> {
        self.inner.due_checks.fetch_add(1, Ordering::Relaxed);
        self.inner.store.next_claim_due().await
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        Slot {
            permit: Some(permit),
            inner: self.inner.clone(),
        }
    }

    /// Reacts to an account event: a (re)connected account with held posts gets its canary; an
    /// account that needs reconnecting (or was disconnected) has its queued posts held at once.
    pub async fn on_vault_event(&self, event: &VaultEvent) {
        match event.kind {
            vault_kind::CONNECTED => self.release_canary(&event.account_id).await,
            vault_kind::NEEDS_REAUTH | vault_kind::DISCONNECTED => {
                let reason = format!("{}: {}", event.kind, event.detail);
                let class = event
                    .error_class
                    .as_deref()
                    .and_then(ErrorClass::parse)
                    .unwrap_or(ErrorClass::Auth);
                match self
                    .inner
                    .queue
                    .hold_account(&event.account_id, class, &reason)
                    .await
                {
                    Ok(held) if held > 0 => tracing::info!(
                        event = "post.account_held",
                        account_id = %event.account_id,
                        held,
                        "the account must be reconnected; its queued posts wait"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "holding the account's posts failed"),
                }
            }
            _ => {}
        }
    }

    async fn release_canary(&self, account_id: &str) {
        match self.inner.queue.release_canary(account_id).await {
            Ok(Some(post_id)) => {
                tracing::info!(
                    event = "post.canary_released",
                    account_id,
                    post_id,
                    "account usable again: one canary post goes first"
                );
                self.wake();
            }
            // Nothing held, or the held posts all went back to the queue (the account's canary
            // had already published): those may be due now.
            Ok(None) => self.wake(),
            Err(error) => {
                tracing::error!(account_id, %error, "releasing a canary post failed");
            }
        }
    }

    /// Releases a canary for each usable account that still has held posts and no canary.
    ///
    /// "Usable" is the status (`active`, `refreshing`) and what the vault can do with the
    /// account here: its credential was issued for the configured app and environment, and a
    /// configured master key opens its tokens. An account that fails that check keeps its posts
    /// held with no attempt, however often this runs: releasing them would only hold them
    /// again, one attempt and one `post.held` webhook per sweep, without end. A credential
    /// mismatch found here is marked on the account (once); the mark is cleared when the
    /// check passes again (the configuration was fixed).
    async fn release_missed_reconnects(&self) {
        self.inner.held_sweeps.fetch_add(1, Ordering::Relaxed);
        let accounts = match self.inner.store.usable_accounts_with_held_posts().await {
            Ok(accounts) => accounts,
            Err(error) => {
                tracing::warn!(%error, "looking for held posts to release failed");
                return;
            }
        };
        let mismatch = ErrorClass::CredentialMismatch.as_str();
        for (account_id, last_error) in accounts {
            let marked = last_error.as_deref() == Some(mismatch);
            match self.inner.vault.check_usable_here(&account_id).await {
                Ok(()) => {
                    if marked
                        && let Err(error) = self
                            .inner
                            .store
                            .clear_credential_mismatch(&account_id, self.inner.queue.now_ms())
                            .await
                    {
                        tracing::warn!(account_id, %error, "clearing a credential mismatch failed");
                    }
                    self.release_canary(&account_id).await;
                }
                // Marked already: nothing to write, so a standing mismatch costs this sweep one
                // read of the account and no write.
                Err(VaultError::CredentialMismatch { .. }) if marked => {}
                Err(error @ VaultError::CredentialMismatch { .. }) => {
                    match self
                        .inner
                        .queue
                        .mark_credential_mismatch(&account_id, &error.to_string())
                        .await
                    {
                        Ok(true) => self.inner.outbox_hint.notify(),
                        Ok(false) => {}
                        Err(error) => {
                            tracing::warn!(account_id, %error, "marking a credential mismatch failed");
                        }
                    }
                }
                Err(error) => tracing::debug!(
                    account_id,
                    %error,
                    "held posts stay held: the account is still not usable here"
                ),
            }
        }
    }

    /// Processes one claimed post to its end in this worker.
    pub async fn process(&self, claim: ClaimedPost) -> Outcome {
        self.process_in_slot(claim, None).await
    }

    /// Attempts the post holding `slot`, frees the slot, then records the result. The spans
    /// (`post.publish` around `post.claim`, `post.create` and `post.complete`) continue the
    /// trace the post's acceptance started.
    async fn process_in_slot(&self, claim: ClaimedPost, slot: Option<Slot>) -> Outcome {
        let span = tracing::info_span!(
            target: TRACE,
            "post.publish",
            post.id = %claim.post.id,
            post.attempt = claim.post.attempts,
            post.outcome = tracing::field::Empty,
        );
        pinline_core::trace::continue_from(&span, claim.post.trace_parent.as_deref());
        let outcome = async {
            let step = self
                .attempt(&claim)
                .instrument(tracing::info_span!(target: TRACE, "post.claim"))
                .await;
            drop(slot);
            async {
                match step {
                    Ok(Step::Published { pin_id, adopted }) => {
                        self.complete_published(&claim, &pin_id, adopted).await
                    }
                    Ok(Step::Decided(decision)) => self.finish(&claim, decision).await,
                    Ok(Step::Done(outcome)) => Ok(outcome),
                    Err(error) => Err(error),
                }
            }
            .instrument(tracing::info_span!(target: TRACE, "post.complete"))
            .await
        }
        .instrument(span.clone())
        .await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(
                    event = "post.worker_error",
                    post_id = %claim.post.id,
                    %error,
                    "the database failed; the post is taken over when its lease expires"
                );
                Outcome::Error
            }
        };
        span.record("post.outcome", tracing::field::debug(&outcome));
        outcome
    }

    /// Everything up to the result: account check, board search, pacing, the create. Writes
    /// only what must be written before Pinterest is called (the unknown-outcome mark, a lease
    /// extension); the result itself is recorded by the caller.
    async fn attempt(&self, claim: &ClaimedPost) -> Result<Step, StoreError> {
        let post = &claim.post;
        let mut lease = LeaseClock::start(claim, self.inner.queue.now_ms());
        // The claim read the account in the same statement.
        let Some(account) = &claim.account else {
            let decision = Decision::Fail {
                class: ErrorClass::NotFound,
                message: "the post's account no longer exists".into(),
            };
            return Ok(Step::Decided(decision));
        };
        match AccountStatus::parse(&account.status) {
            AccountStatus::NeedsReauth => {
                let message = account.status_reason.clone().unwrap_or_else(|| {
                    "Pinterest refused the stored tokens; reconnect the account".into()
                });
                return Ok(Step::Decided(Decision::Hold {
                    class: ErrorClass::Auth,
                    message,
                }));
            }
            AccountStatus::Disconnected => {
                let message = "the account is disconnected; connect it again".to_owned();
                return Ok(Step::Decided(Decision::Hold {
                    class: ErrorClass::Auth,
                    message,
                }));
            }
            AccountStatus::Active | AccountStatus::Refreshing => {}
        }
        let user = account.pinterest_user_id.as_str();
        let pin = match pin_create(post) {
            Ok(pin) => pin,
            Err(message) => {
                let decision = Decision::Fail {
                    class: ErrorClass::Validation,
                    message,
                };
                return Ok(Step::Decided(decision));
            }
        };

        if claim.taken_over || post.outcome_unknown_since.is_some() {
            if post.outcome_unknown_since.is_none()
                && !self
                    .inner
                    .queue
                    .mark_outcome_unknown(claim)
                    .await?
                    .is_applied()
            {
                return Ok(Step::Done(self.fenced_out(claim)));
            }
            match self.find_existing_pin(claim, user).await {
                Ok(Search::Found(pin_id)) => {
                    return Ok(Step::Published {
                        pin_id,
                        adopted: true,
                    });
                }
                Ok(Search::Inconclusive { searched }) => {
                    let decision = Decision::Fail {
                        class: ErrorClass::Unknown,
                        message: format!(
                            "an earlier attempt may have created this pin, but the board gained \
                             more than {searched} pins since then and the search stopped there; \
                             check the board before posting it again"
                        ),
                    };
                    return Ok(Step::Decided(decision));
                }
                Ok(Search::NotFound) => {
                    tracing::info!(
                        event = "post.reconcile_not_found",
                        post_id = %post.id,
                        "no pin of an earlier attempt on the board; creating it"
                    );
                }
                Err(error) => {
                    // Without the search nothing may be sent: the post waits for another try.
                    let decision = self.decision_for(claim, &error);
                    return Ok(Step::Decided(decision));
                }
            }
        }

        let paced = self
            .inner
            .pacer
            .acquire_within(
                user,
                RateLimitCategory::OrgWrite,
                self.inner.settings.max_pacer_wait,
            )
            .await;
        if let Err(wait) = paced {
            // Blocked by Pinterest's answer (Retry-After, an exhausted window): the post keeps
            // its place in the queue rather than a worker slot.
            self.inner.metrics.budget_deferral();
            let decision = Decision::Retry {
                at: self.inner.queue.now_ms() + wait.as_millis() as i64,
                class: ErrorClass::RateLimited,
                message: format!(
                    "waiting {} s for the account's Pinterest rate limit to reset",
                    wait.as_secs()
                ),
            };
            return Ok(Step::Decided(decision));
        }
        if !self.keep_lease(claim, &mut lease).await? {
            return Ok(Step::Done(self.fenced_out(claim)));
        }
        let request = &pin;
        // Getting the token may take a refresh; the create must still leave while the lease
        // holds, or a worker that lost the post could publish it after its new owner did.
        let queue = &self.inner.queue;
        let send_by = lease.until - queue.settings().lease.as_millis() as i64 / 6;
        // The claim read the account's token version: a token cached at that version is the
        // current one, and no database read is needed for it.
        let known = KnownAccount::new(account.token_version, &account.status);
        let result = self
            .inner
            .vault
            .call_known(&post.account_id, known, move |client, token| async move {
                if queue.now_ms() >= send_by {
                    return Err(PinterestError::refused(
                        operations::PINS_CREATE.id,
                        Refusal::DeadlinePassed,
                    ));
                }
                client.create_pin(&token, request).await
            })
            .instrument(tracing::info_span!(target: TRACE, "post.create"))
            .await;
        match result {
            Ok(response) => {
                self.inner
                    .pacer
                    .observe(user, RateLimitCategory::OrgWrite, &response.rate_limit);
                Ok(Step::Published {
                    pin_id: response.value.id,
                    adopted: false,
                })
            }
            Err(error) => {
                self.observe_error(user, RateLimitCategory::OrgWrite, &error);
                Ok(Step::Decided(self.decision_for(claim, &error)))
            }
        }
    }

    /// Walks the board's pins, newest first, back to the first attempt (less the skew), for the
    /// pin an earlier attempt created.
    async fn find_existing_pin(
        &self,
        claim: &ClaimedPost,
        user: &str,
    ) -> Result<Search, VaultError> {
        let Some(fingerprint) = PostFingerprint::from_post(&claim.post) else {
            return Ok(Search::NotFound);
        };
        let skew = self.inner.settings.adopt_skew;
        let not_before = fingerprint
            .first_attempt_at
            .saturating_sub(skew.as_millis() as i64);
        let board_id = claim.post.board_id.as_str();
        let page_size = self.inner.settings.adopt_page_size.clamp(1, 250);
        let mut bookmark: Option<String> = None;
        let mut searched = 0usize;
        for _ in 0..self.inner.settings.adopt_pages.max(1) {
            self.inner
                .pacer
                .acquire(user, RateLimitCategory::OrgRead)
                .await;
            let cursor = bookmark.as_deref();
            let result = self
                .inner
                .vault
                .call(&claim.post.account_id, move |client, token| async move {
                    client
                        .list_board_pins(&token, board_id, cursor, Some(page_size))
                        .await
                })
                .await;
            let page = match result {
                Ok(response) => {
                    self.inner.pacer.observe(
                        user,
                        RateLimitCategory::OrgRead,
                        &response.rate_limit,
                    );
                    response.value
                }
                Err(error) => {
                    self.observe_error(user, RateLimitCategory::OrgRead, &error);
                    return Err(error);
                }
            };
            if let Some(pin) = find_pin_to_adopt(&fingerprint, &page.items, skew) {
                return Ok(Search::Found(pin.id.clone()));
            }
            searched += page.items.len();
            // Newest first: once a page reaches pins older than the first attempt, stop.
            let reached_older = page
                .items
                .last()
                .and_then(pin_created_at_ms)
                .is_some_and(|created_at| created_at < not_before);
            match page.bookmark {
                Some(next) if !reached_older && !page.items.is_empty() => bookmark = Some(next),
                _ => return Ok(Search::NotFound),
            }
        }
        Ok(Search::Inconclusive { searched })
    }

    fn observe_error(&self, user: &str, category: RateLimitCategory, error: &VaultError) {
        if let VaultError::Pinterest(error) = error {
            if error.status() == Some(429) {
                self.inner.metrics.pinterest_rate_limited();
            }
            if let Some(info) = error.rate_limit() {
                self.inner.pacer.observe(user, category, info);
            }
        }
    }

    fn decision_for(&self, claim: &ClaimedPost, error: &VaultError) -> Decision {
        let attempts = u32::try_from(claim.post.attempts).unwrap_or(u32::MAX);
        decide_vault(
            error,
            attempts,
            &self.inner.queue.settings().retry,
            self.inner.queue.now_ms(),
            random_jitter(),
        )
    }

    /// Extends the lease when a third of it has passed since it was taken or last extended
    /// (a long wait for the pacer); false when the post is no longer ours.
    async fn keep_lease(
        &self,
        claim: &ClaimedPost,
        lease: &mut LeaseClock,
    ) -> Result<bool, StoreError> {
        let period = self.inner.queue.settings().lease.as_millis() as i64;
        let now = self.inner.queue.now_ms();
        if lease.until - now > period * 2 / 3 {
            return Ok(true);
        }
        let extended = self.inner.queue.extend(claim).await?.is_applied();
        lease.until = now + period;
        Ok(extended)
    }

    async fn complete_published(
        &self,
        claim: &ClaimedPost,
        pin_id: &str,
        adopted: bool,
    ) -> Result<Outcome, StoreError> {
        let pin_url = format!("https://www.pinterest.com/pin/{pin_id}/");
        let completion = self
            .inner
            .queue
            .published(claim, pin_id, Some(&pin_url), adopted)
            .await?;
        if completion == Completion::Fenced {
            tracing::warn!(
                event = "post.fenced_out",
                post_id = %claim.post.id,
                pin_id,
                "published, but the lease was lost; the new owner adopts the pin"
            );
            return Ok(Outcome::FencedOut);
        }
        let post = &claim.post;
        let metrics = &self.inner.metrics;
        metrics.attempt(
            if adopted {
                Outcome::Adopted
            } else {
                Outcome::Published
            },
            None,
        );
        metrics.published(self.inner.queue.now_ms() - post.publish_at.unwrap_or(post.created_at));
        tracing::info!(
            event = post_kind::PUBLISHED,
            post_id = %post.id,
            account_id = %post.account_id,
            pin_id,
            adopted,
            attempts = post.attempts,
            "post published"
        );
        self.emit(PostEvent {
            pin_id: Some(pin_id.to_owned()),
            pin_url: Some(pin_url),
            adopted,
            ..PostEvent::new(post_kind::PUBLISHED, post)
        });
        if post.canary {
            match self.inner.queue.release_account(&post.account_id).await {
                Ok(released) => {
                    tracing::info!(
                        event = "post.canary_published",
                        account_id = %post.account_id,
                        released,
                        "canary published; the account's held posts resume"
                    );
                    self.wake();
                }
                Err(error) => {
                    tracing::error!(%error, "releasing the account's held posts failed");
                }
            }
        }
        Ok(if adopted {
            Outcome::Adopted
        } else {
            Outcome::Published
        })
    }

    async fn finish(&self, claim: &ClaimedPost, decision: Decision) -> Result<Outcome, StoreError> {
        let completion = self.inner.queue.apply(claim, &decision).await?;
        if completion == Completion::Fenced {
            return Ok(self.fenced_out(claim));
        }
        let post = &claim.post;
        let (outcome, class) = match &decision {
            Decision::Retry { class, .. } => (Outcome::Retry, Some(*class)),
            Decision::Unknown { .. } => (Outcome::Unknown, Some(ErrorClass::Unknown)),
            Decision::Fail { class, .. } => (Outcome::Failed, Some(*class)),
            Decision::Hold { class, .. } => (Outcome::Held, Some(*class)),
        };
        self.inner.metrics.attempt(outcome, class);
        Ok(match decision {
            Decision::Retry { at, class, message } => {
                tracing::info!(
                    event = "post.retry",
                    post_id = %post.id,
                    error_class = class.as_str(),
                    retry_in_ms = at - self.inner.queue.now_ms(),
                    %message,
                    "attempt failed; retrying later"
                );
                Outcome::Retry
            }
            Decision::Unknown { message } => {
                tracing::warn!(
                    event = "post.outcome_unknown",
                    post_id = %post.id,
                    %message,
                    "the create may have happened; the board is searched before the next attempt"
                );
                Outcome::Unknown
            }
            Decision::Fail { class, message } => {
                tracing::warn!(
                    event = post_kind::FAILED,
                    post_id = %post.id,
                    error_class = class.as_str(),
                    %message,
                    "post failed"
                );
                self.emit(PostEvent {
                    error_class: Some(class.as_str().to_owned()),
                    message: Some(message),
                    ..PostEvent::new(post_kind::FAILED, post)
                });
                if post.canary {
                    // The post's own fault, not the account's: the next held post is the canary.
                    self.release_canary(&post.account_id).await;
                }
                Outcome::Failed
            }
            Decision::Hold { class, message } => {
                tracing::warn!(
                    event = post_kind::HELD,
                    post_id = %post.id,
                    account_id = %post.account_id,
                    error_class = class.as_str(),
                    %message,
                    "post held until the account can publish again"
                );
                self.emit(PostEvent {
                    error_class: Some(class.as_str().to_owned()),
                    message: Some(message),
                    ..PostEvent::new(post_kind::HELD, post)
                });
                Outcome::Held
            }
        })
    }

    fn fenced_out(&self, claim: &ClaimedPost) -> Outcome {
        tracing::warn!(
            event = "post.fenced_out",
            post_id = %claim.post.id,
            fence = claim.fence,
            "the lease was lost to another worker; nothing written"
        );
        Outcome::FencedOut
    }

    fn emit(&self, event: PostEvent) {
        self.inner.outbox_hint.notify();
        // No subscriber is fine: the store holds the truth.
        let _ = self.inner.events.send(event);
    }
}

impl PostEvent {
    fn new(kind: &'static str, post: &PostRow) -> PostEvent {
        PostEvent {
            kind,
            profile_id: post.profile_id.clone(),
            account_id: post.account_id.clone(),
            post_id: post.id.clone(),
            pin_id: None,
            pin_url: None,
            adopted: false,
            error_class: None,
            message: None,
        }
    }
}

/// What a board search for an earlier attempt's pin found.
enum Search {
    Found(String),
    /// The search reached pins older than the first attempt (or the board's end) without a match.
    NotFound,
    /// The page limit ran out before the search reached the first attempt.
    Inconclusive {
        searched: usize,
    },
}

/// Until when this worker's lease on a post runs, unix ms.
struct LeaseClock {
    until: i64,
}

impl LeaseClock {
    fn start(claim: &ClaimedPost, now: i64) -> LeaseClock {
        LeaseClock {
            until: claim.post.lease_until.unwrap_or(now),
        }
    }
}

/// How soon a worker looks again when a due check finds a post that was already due when a claim
/// found nothing (another process took it, or holds its row): soon, but never a claim straight
/// away.
pub const DUE_RECHECK: Duration = Duration::from_millis(250);

/// The result of the claim in flight; never ready when there is none.
/// True when some account has `per_account` or more posts in `claims`: the claim took as many
/// of its posts as one claim may, so more of them may be due.
fn an_account_was_capped(claims: &[ClaimedPost], per_account: usize) -> bool {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    claims.iter().any(|claim| {
        let count = counts.entry(claim.post.account_id.as_str()).or_insert(0);
        *count += 1;
        *count >= per_account
    })
}

async fn next_claim(claiming: &mut Option<ClaimTask>) -> Result<Vec<ClaimedPost>, String> {
    match claiming {
        Some(ClaimTask(task)) => match task.await {
            Ok(claimed) => claimed.map_err(|error| error.to_string()),
            Err(error) => Err(format!("the claim task failed: {error}")),
        },
        None => std::future::pending().await,
    }
}

async fn recv_event(
    events: &mut Option<broadcast::Receiver<VaultEvent>>,
) -> Result<VaultEvent, broadcast::error::RecvError> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// The create request of a stored post.
pub fn pin_create(post: &PostRow) -> Result<PinCreate, String> {
    let media: PinMediaSource = serde_json::from_str(&post.media)
        .map_err(|error| format!("the post's media is not a Pinterest media_source: {error}"))?;
    let mut pin = PinCreate::new(post.board_id.clone(), media);
    pin.board_section_id = post.board_section_id.clone();
    pin.title = post.title.clone();
    pin.description = post.description.clone();
    pin.link = post.link.clone();
    pin.alt_text = post.alt_text.clone();
    Ok(pin)
}
