//! [`Queue`]: the store's post functions with this process's clock, lease owner and policy
//! filled in, so that a worker loop (and the API) cannot pass the wrong "now" or owner.
//!
//! Published completions are written by *group commit*: a worker that finds no batch being
//! written writes its own completion together with every other one waiting, in one transaction
//! ([`Store::complete_published_many`]); completions that arrive meanwhile wait for that write
//! and go together in the next one. A lone completion is written at once, and batches grow only
//! while the database is busy, so nobody waits for a timer.

use std::sync::Arc;
use std::time::Duration;

use pinline_core::clock::SharedClock;
use pinline_pinterest::ErrorClass;
use pinline_store::{
    ClaimRequest, ClaimedPost, Completion, InsertOutcome, NewAccountEvent, NewPost, PublishedPost,
    Store, StoreError,
};
use pinline_vault::events::kind as vault_kind;
use tokio::sync::oneshot;

use crate::classify::Decision;
use crate::retry::{RetryPolicy, random_jitter};

/// How this process takes work from the queue.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// This process's lease-owner name; unique per process (a UUID is a good choice).
    pub owner: String,
    /// How long a claim lasts before another worker may take the post over.
    pub lease: Duration,
    /// Posts per claim.
    pub batch: i64,
    /// Posts per account per claim (fairness).
    pub per_account_batch: i64,
    /// The least time between two posts of one account, for this process: the interval of
    /// the account's Pinterest write budget ([`crate::PacerSettings::spacing`]). An account a
    /// claim took n posts of is not claimed again for n times this, so its posts wait in the
    /// queue, not in a worker slot. Zero: accounts only take turns.
    pub account_spacing: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl QueueSettings {
    /// Defaults for `owner`: 60 s leases, up to 128 posts per claim (a worker asks only for its
    /// free slots; with hundreds in flight, fewer claims fill them), 4 per account.
    pub fn new(owner: impl Into<String>) -> QueueSettings {
        QueueSettings {
            owner: owner.into(),
            lease: Duration::from_secs(60),
            batch: 128,
            per_account_batch: 4,
            account_spacing: Duration::ZERO,
            retry: RetryPolicy::default(),
        }
    }
}

/// The post queue as one process sees it. Clones share everything, their batches of published
/// completions included.
#[derive(Debug, Clone)]
pub struct Queue {
    store: Store,
    clock: SharedClock,
    settings: QueueSettings,
    published: Arc<PublishedBatch>,
}

/// At most this many published completions go in one transaction.
const MAX_PUBLISHED_BATCH: usize = 256;

/// Published completions waiting to be written, and the turn to write them.
#[derive(Debug, Default)]
struct PublishedBatch {
    waiting: parking_lot::Mutex<Vec<WaitingCompletion>>,
    /// Held while a batch is being written.
    writing: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct WaitingCompletion {
    post: PublishedPost,
    /// `None` when the batch failed as a whole: the waiter writes its completion alone, which
    /// reports its own error.
    done: oneshot::Sender<Option<Completion>>,
}

impl Queue {
    /// A queue over `store`, reading time from `clock`.
    pub fn new(store: Store, clock: SharedClock, settings: QueueSettings) -> Queue {
        Queue {
            store,
            clock,
            settings,
            published: Arc::default(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// The current time, unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Queues a post; committed before this returns.
    pub async fn submit(&self, post: &NewPost) -> Result<InsertOutcome, StoreError> {
        self.store.insert_post(post, self.now_ms()).await
    }

    /// Claims the next batch of due posts, fairly across accounts.
    pub async fn claim(&self) -> Result<Vec<ClaimedPost>, StoreError> {
        self.claim_up_to(self.settings.batch).await
    }

    /// Claims at most `limit` due posts (never more than the configured batch), fairly across
    /// accounts: a worker with only a few free slots takes only that many.
    pub async fn claim_up_to(&self, limit: i64) -> Result<Vec<ClaimedPost>, StoreError> {
        self.store
            .claim(&ClaimRequest {
                owner: &self.settings.owner,
                now: self.now_ms(),
                lease_ms: self.settings.lease.as_millis() as i64,
                limit: limit.min(self.settings.batch),
                per_account_limit: self.settings.per_account_batch,
                account_spacing_ms: self.settings.account_spacing.as_millis() as i64,
            })
            .await
    }

    /// Records that the claimed post's create may have happened (a takeover), so that every
    /// later attempt searches the board first, even if this one fails before it can.
    pub async fn mark_outcome_unknown(
        &self,
        claim: &ClaimedPost,
    ) -> Result<Completion, StoreError> {
        self.store
            .mark_outcome_unknown(
                &claim.post.id,
                &self.settings.owner,
                claim.fence,
                self.now_ms(),
            )
            .await
    }

    /// Records a claimed post as published (or its pin as adopted). Written together with the
    /// other completions waiting at the same time (see the module documentation); committed
    /// before this returns.
    pub async fn published(
        &self,
        claim: &ClaimedPost,
        pin_id: &str,
        pin_url: Option<&str>,
        adopted: bool,
    ) -> Result<Completion, StoreError> {
        let post = PublishedPost {
            id: claim.post.id.clone(),
            fence: claim.fence,
            pin_id: pin_id.to_owned(),
            pin_url: pin_url.map(str::to_owned),
            adopted,
            published_at: self.now_ms(),
        };
        let (done, mut result) = oneshot::channel();
        self.published.waiting.lock().push(WaitingCompletion {
            post: post.clone(),
            done,
        });
        let outcome = {
            let _turn = self.published.writing.lock().await;
            loop {
                match result.try_recv() {
                    Ok(outcome) => break outcome,
                    // A writer that took this completion was dropped mid-write.
                    Err(oneshot::error::TryRecvError::Closed) => break None,
                    Err(oneshot::error::TryRecvError::Empty) => {
                        if !self.write_published().await {
                            break None;
                        }
                    }
                }
            }
        };
        match outcome {
            Some(completion) => Ok(completion),
            None => {
                self.store
                    .complete_published(
                        &post.id,
                        &self.settings.owner,
                        post.fence,
                        &post.pin_id,
                        post.pin_url.as_deref(),
                        post.adopted,
                        post.published_at,
                    )
                    .await
            }
        }
    }

    /// Writes the oldest waiting completions in one transaction and tells their waiters; false
    /// when none was waiting. The caller holds the writing turn.
    async fn write_published(&self) -> bool {
        let batch: Vec<WaitingCompletion> = {
            let mut waiting = self.published.waiting.lock();
            let take = waiting.len().min(MAX_PUBLISHED_BATCH);
            waiting.drain(..take).collect()
        };
        if batch.is_empty() {
            return false;
        }
        let posts: Vec<PublishedPost> = batch.iter().map(|w| w.post.clone()).collect();
        match self
            .store
            .complete_published_many(&self.settings.owner, &posts)
            .await
        {
            Ok(completions) => {
                for (waiting, completion) in batch.into_iter().zip(completions) {
                    // A waiter that is gone needs no answer: its completion is written.
                    let _ = waiting.done.send(Some(completion));
                }
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    posts = posts.len(),
                    "writing a batch of published posts failed; writing them one by one"
                );
                for waiting in batch {
                    let _ = waiting.done.send(None);
                }
            }
        }
        true
    }

    /// Extends the lease of a claimed post by another lease period from now.
    pub async fn extend(&self, claim: &ClaimedPost) -> Result<Completion, StoreError> {
        let until = self.now_ms() + self.settings.lease.as_millis() as i64;
        self.store
            .extend_lease(&claim.post.id, &self.settings.owner, claim.fence, until)
            .await
    }

    /// Applies a [`Decision`] to a claimed post. `Hold` also holds the account's other queued
    /// posts; `Unknown` records the unknown outcome and queues the post for a reconciling attempt
    /// after a backoff (which searches the board before sending anything).
    pub async fn apply(
        &self,
        claim: &ClaimedPost,
        decision: &Decision,
    ) -> Result<Completion, StoreError> {
        let (id, owner, fence, now) = (
            claim.post.id.as_str(),
            self.settings.owner.as_str(),
            claim.fence,
            self.now_ms(),
        );
        match decision {
            Decision::Retry { at, class, message } => {
                if *class == ErrorClass::RateLimited {
                    // The account's budget is spent until then: none of its posts is claimed
                    // before, rather than each being claimed only to come back here.
                    self.store
                        .defer_account(&claim.post.account_id, *at)
                        .await?;
                }
                self.store
                    .schedule_retry(id, owner, fence, *at, class.as_str(), message, now)
                    .await
            }
            Decision::Fail { class, message } => {
                self.store
                    .fail_post(id, owner, fence, class.as_str(), message, now)
                    .await
            }
            Decision::Hold { class, message } => {
                let class_name = class.as_str();
                let held = self
                    .store
                    .hold_post(id, owner, fence, class_name, message, now)
                    .await?;
                if held.is_applied() {
                    let account_id = claim.post.account_id.as_str();
                    self.store
                        .hold_account_posts(account_id, class_name, message, now)
                        .await?;
                    if *class == ErrorClass::CredentialMismatch {
                        self.mark_credential_mismatch(account_id, message).await?;
                    }
                }
                Ok(held)
            }
            Decision::Unknown { message } => {
                if !self
                    .store
                    .mark_outcome_unknown(id, owner, fence, now)
                    .await?
                    .is_applied()
                {
                    return Ok(Completion::Fenced);
                }
                let attempts = u32::try_from(claim.post.attempts).unwrap_or(u32::MAX);
                let delay = self.settings.retry.backoff(attempts, random_jitter());
                let at = now + delay.as_millis() as i64;
                self.store
                    .schedule_retry(id, owner, fence, at, "unknown", message, now)
                    .await
            }
        }
    }

    /// Holds an account's queued posts (it needs reconnecting), with the class of the cause.
    pub async fn hold_account(
        &self,
        account_id: &str,
        class: ErrorClass,
        reason: &str,
    ) -> Result<u64, StoreError> {
        self.store
            .hold_account_posts(account_id, class.as_str(), reason, self.now_ms())
            .await
    }

    /// Marks the account's credential as issued for another app or environment than the
    /// configured one: its last error, and one `account.credential_mismatch` event per spell
    /// (see [`Store::mark_credential_mismatch`]). Returns whether this call set the mark.
    pub async fn mark_credential_mismatch(
        &self,
        account_id: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        let event = NewAccountEvent {
            kind: vault_kind::CREDENTIAL_MISMATCH,
            detail: message,
            error_class: Some(ErrorClass::CredentialMismatch.as_str()),
        };
        self.store
            .mark_credential_mismatch(account_id, message, &[event], self.now_ms())
            .await
    }

    /// After a reconnect: releases one canary post of the account.
    pub async fn release_canary(&self, account_id: &str) -> Result<Option<String>, StoreError> {
        self.store
            .release_account_posts_with_canary(account_id, self.now_ms())
            .await
    }

    /// After the canary published: releases the account's other held posts.
    pub async fn release_account(&self, account_id: &str) -> Result<u64, StoreError> {
        self.store
            .release_account_posts(account_id, self.now_ms())
            .await
    }
}
