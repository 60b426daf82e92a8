//! [`Queue`]: the store's post functions with this process's clock, lease owner and policy
//! filled in, so that a worker loop (and the API) cannot pass the wrong "now" or owner.

use std::time::Duration;

use pinline_store::{ClaimedPost, Completion, InsertOutcome, NewPost, Store, StoreError};
use pinline_vault::clock::SharedClock;

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
    /// Retries.
    pub retry: RetryPolicy,
}

impl QueueSettings {
    /// Defaults for `owner`: 60 s leases, 32 posts per claim, 4 per account.
    pub fn new(owner: impl Into<String>) -> QueueSettings {
        QueueSettings {
            owner: owner.into(),
            lease: Duration::from_secs(60),
            batch: 32,
            per_account_batch: 4,
            retry: RetryPolicy::default(),
        }
    }
}

/// The post queue as one process sees it.
#[derive(Debug, Clone)]
pub struct Queue {
    store: Store,
    clock: SharedClock,
    settings: QueueSettings,
}

impl Queue {
    /// A queue over `store`, reading time from `clock`.
    pub fn new(store: Store, clock: SharedClock, settings: QueueSettings) -> Queue {
        Queue {
            store,
            clock,
            settings,
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
            .claim_due_posts(
                &self.settings.owner,
                self.now_ms(),
                self.settings.lease.as_millis() as i64,
                limit.min(self.settings.batch),
                self.settings.per_account_batch,
            )
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

    /// Records a claimed post as published (or its pin as adopted).
    pub async fn published(
        &self,
        claim: &ClaimedPost,
        pin_id: &str,
        pin_url: Option<&str>,
        adopted: bool,
    ) -> Result<Completion, StoreError> {
        self.store
            .complete_published(
                &claim.post.id,
                &self.settings.owner,
                claim.fence,
                pin_id,
                pin_url,
                adopted,
                self.now_ms(),
            )
            .await
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
                self.store
                    .schedule_retry(id, owner, fence, *at, class.as_str(), message, now)
                    .await
            }
            Decision::Fail { class, message } => {
                self.store
                    .fail_post(id, owner, fence, class.as_str(), message, now)
                    .await
            }
            Decision::Hold { reason } => {
                let held = self.store.hold_post(id, owner, fence, reason, now).await?;
                if held.is_applied() {
                    self.store
                        .hold_account_posts(&claim.post.account_id, reason, now)
                        .await?;
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

    /// Holds an account's queued posts (it needs reconnecting).
    pub async fn hold_account(&self, account_id: &str, reason: &str) -> Result<u64, StoreError> {
        self.store
            .hold_account_posts(account_id, reason, self.now_ms())
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
