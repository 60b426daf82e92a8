//! The durable post queue: posts, their claims by workers, and the attempt log.
//!
//! A post is committed by [`Store::insert_post`] before the API acknowledges it. Workers take due
//! posts with [`Store::claim_due_posts`], which gives each claimed post a lease (a time, not a
//! lock) and a new *fence*: a number that grows by one on every claim. Every completion
//! ([`Store::complete_published`], [`Store::schedule_retry`], [`Store::fail_post`],
//! [`Store::hold_post`], …) is a conditional update on `id`, `fence` and `lease_owner` together,
//! so a worker that stalled past its lease and was taken over cannot overwrite the new owner's
//! result: it gets [`Completion::Fenced`] and nothing is written.
//!
//! Claims ([`Store::claim_due_posts`]) are fair across accounts and cost O(k · log n) for k
//! posts: they go through the account ready queue described in `claim.rs`, which every change
//! below that queues a post, or moves one earlier, keeps up to date in the same transaction.
//!
//! Published completions can be written in batches ([`Store::complete_published_many`]): one
//! transaction for many posts, each still fenced on its own.
//!
//! **Invariant:** a post's status is `publishing` exactly while some worker holds (or held, until
//! the lease expires) a claim on it; every other transition out of `publishing` goes through a
//! fenced completion or a takeover claim that bumps the fence.

use std::collections::{BTreeMap, HashSet};

use crate::claim::{TOUCH_ACCOUNT, TOUCH_ACCOUNT_FROM_STATUS, TOUCH_POST_ACCOUNT};
use crate::sql::{with_pool, write_tx};
use crate::store::Pools;
use crate::{Store, StoreError};

/// Inside a write transaction `$tx`: every held post of `$account` goes back to the queue (its
/// ready-queue time lowered first, as every transition that queues posts does); evaluates to how
/// many. A macro for the same reason as `write_tx`: the body runs on either backend's
/// transaction type.
macro_rules! release_held_posts {
    ($tx:ident, $account:expr, $now:expr) => {{
        sqlx::query(TOUCH_ACCOUNT_FROM_STATUS)
            .bind($account)
            .bind(PostRow::HELD)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "UPDATE posts SET status = 'queued', held_reason = NULL, updated_at = $2
             WHERE account_id = $1 AND status = 'held'",
        )
        .bind($account)
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    }};
}

/// One post row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostRow {
    /// A UUID v7, so ids sort by creation time.
    pub id: String,
    pub profile_id: String,
    pub account_id: String,
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// Pinterest's `media_source` object, as JSON text.
    pub media: String,
    /// When the post should go live; `None` means as soon as possible.
    pub publish_at: Option<i64>,
    /// One of the `PostRow::*` status constants.
    pub status: String,
    pub held_reason: Option<String>,
    /// True for the one post released first after an account was reconnected.
    pub canary: bool,
    /// Claims so far (1 during the first attempt).
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// When the post was first claimed: pins created before it cannot be this post's.
    pub first_attempt_at: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    /// Grows by one on every claim; completions must present the current value.
    pub fence: i64,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub pin_id: Option<String>,
    pub pin_url: Option<String>,
    /// Set when a create request was sent but its result is unknown: search the board for the
    /// pin before sending again.
    pub outcome_unknown_since: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
}

impl PostRow {
    /// Waiting for `next_attempt_at`.
    pub const QUEUED: &'static str = "queued";
    /// Claimed by a worker until `lease_until`.
    pub const PUBLISHING: &'static str = "publishing";
    /// Live on Pinterest; `pin_id` is set.
    pub const PUBLISHED: &'static str = "published";
    /// Given up: the request is wrong, or retries ran out.
    pub const FAILED: &'static str = "failed";
    /// Paused because its account cannot publish (needs reconnecting); nothing is lost.
    pub const HELD: &'static str = "held";
    /// Canceled by a user before it was published.
    pub const CANCELED: &'static str = "canceled";
    /// Published, then its pin was deleted at Pinterest through pinline.
    pub const DELETED: &'static str = "deleted";
}

/// One claim of a post and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostAttemptRow {
    pub post_id: String,
    /// 1 for the first claim.
    pub attempt: i64,
    pub fence: i64,
    pub lease_owner: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// One of the `PostAttemptRow::*` outcome constants, `None` while running.
    pub outcome: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

impl PostAttemptRow {
    /// The pin was created by this attempt.
    pub const PUBLISHED: &'static str = "published";
    /// Failed transiently; the post went back to the queue.
    pub const RETRY: &'static str = "retry";
    /// Failed for good.
    pub const FAILED: &'static str = "failed";
    /// The account cannot publish; the post is held.
    pub const HELD: &'static str = "held";
    /// The pin from an earlier attempt with an unknown outcome was found and adopted.
    pub const ADOPTED: &'static str = "adopted";
    /// The lease expired and another worker took the post over.
    pub const FENCED_OUT: &'static str = "fenced_out";
}

/// A post to queue.
#[derive(Debug, Clone, Default)]
pub struct NewPost {
    pub profile_id: String,
    pub account_id: String,
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// Pinterest's `media_source` object, as JSON text.
    pub media: String,
    pub publish_at: Option<i64>,
    /// The client's `Idempotency-Key`, unique per profile.
    pub idempotency_key: Option<String>,
    /// A hash of the request body, to tell a replay from a different request under the same key.
    pub request_hash: Option<String>,
    /// When set, the post is committed `held` with this reason (its account needs
    /// reconnecting) instead of `queued`, so no worker can claim it in between. The reason is
    /// also its last error, of class `auth`: a held post says why wherever it is shown.
    pub held_reason: Option<String>,
}

/// What [`Store::insert_post`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new post was committed.
    Created(PostRow),
    /// The idempotency key was used before with the same request: this is that post.
    Existing(PostRow),
    /// The idempotency key was used before with a different request.
    Conflict,
}

/// A post a worker now owns, with the fence its completions must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPost {
    pub post: PostRow,
    pub fence: i64,
    /// True when the post was taken over from a worker whose lease expired: that worker may have
    /// sent the create request, so the board must be searched before sending again.
    pub taken_over: bool,
    /// The post's account as the claim found it (read by the claim itself, so that a worker
    /// need not read the account again before pacing or holding the post); `None` when the
    /// account no longer exists.
    pub account: Option<ClaimedAccount>,
}

/// What a claim reads of a claimed post's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedAccount {
    pub pinterest_user_id: String,
    /// The account's status (`active`, `needs_reauth`, …) when the post was claimed.
    pub status: String,
    /// Why it has that status (why it needs reconnecting).
    pub status_reason: Option<String>,
    /// The version of the account's tokens when the post was claimed: a token cached at this
    /// version is still the current one.
    pub token_version: i64,
}

/// One post a worker published, for [`Store::complete_published_many`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPost {
    pub id: String,
    /// The fence the worker claimed the post with.
    pub fence: i64,
    pub pin_id: String,
    pub pin_url: Option<String>,
    /// True when the pin was found on the board after an attempt with an unknown outcome.
    pub adopted: bool,
    /// When the pin was created (or found), unix ms: the post's `published_at`.
    pub published_at: i64,
}

/// Whether a fenced write landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a fenced-out worker must stop working on the post"]
pub enum Completion {
    /// Written.
    Applied,
    /// The post is no longer ours (another claim, a cancel, or already completed): nothing was
    /// written.
    Fenced,
}

impl Completion {
    /// True when the write landed.
    pub fn is_applied(self) -> bool {
        self == Completion::Applied
    }
}

/// Filters for [`Store::list_posts`]; `None` matches everything. `from`/`to` bound the post's
/// scheduled time (`publish_at`, or `created_at` when it has none), `to` exclusive.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub status: Option<String>,
    pub account_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Where a page of [`Store::list_posts`] ended: the last post's `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostCursor {
    pub created_at: i64,
    pub id: String,
}

/// One page of posts, oldest first, and the cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPage {
    pub posts: Vec<PostRow>,
    pub next: Option<PostCursor>,
}

/// Edits to a post that has not started publishing; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PostChanges {
    pub board_id: Option<String>,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    pub media: Option<String>,
    /// A new schedule; also moves `next_attempt_at`.
    pub publish_at: Option<i64>,
}

/// What a cancel or an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostChange {
    /// Done; the post as it is now.
    Changed(PostRow),
    /// No such post in this profile.
    NotFound,
    /// The post's status does not allow it (the row says which).
    NotAllowed(PostRow),
}

pub(crate) const COLUMNS: &str = "id, profile_id, account_id, board_id, board_section_id, title, \
    description, link, alt_text, media, publish_at, status, held_reason, canary, attempts, \
    next_attempt_at, first_attempt_at, lease_owner, lease_until, fence, idempotency_key, \
    request_hash, pin_id, pin_url, outcome_unknown_since, last_error_class, last_error_message, \
    created_at, updated_at, published_at";

const ATTEMPT_COLUMNS: &str = "post_id, attempt, fence, lease_owner, started_at, finished_at, \
    outcome, error_class, error_message";

/// How a fenced completion other than a publish leaves the post (publishes go through
/// [`Store::complete_published_many`]).
struct Finish<'a> {
    status: &'static str,
    outcome: &'static str,
    next_attempt_at: Option<i64>,
    held_reason: Option<&'a str>,
    error_class: Option<&'a str>,
    error_message: Option<&'a str>,
}

impl Store {
    /// Queues a post, honouring its idempotency key: the same key with the same request hash
    /// returns the existing post, with another hash `Conflict`. Committed before it returns.
    pub async fn insert_post(&self, new: &NewPost, now: i64) -> Result<InsertOutcome, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let insert = format!(
            "INSERT INTO posts (id, profile_id, account_id, board_id, board_section_id, title,
                description, link, alt_text, media, publish_at, status, held_reason,
                last_error_class, last_error_message,
                next_attempt_at, idempotency_key, request_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                CASE WHEN $16 IS NULL THEN 'queued' ELSE 'held' END, $16,
                CASE WHEN $16 IS NULL THEN NULL ELSE 'auth' END, $16,
                $12, $13, $14, $15, $15)
             ON CONFLICT (profile_id, idempotency_key) WHERE idempotency_key IS NOT NULL
             DO NOTHING
             RETURNING {COLUMNS}"
        );
        let existing =
            format!("SELECT {COLUMNS} FROM posts WHERE profile_id = $1 AND idempotency_key = $2");
        let outcome = write_tx!(self, tx => {
            let created: Option<PostRow> = sqlx::query_as(sqlx::AssertSqlSafe(insert.as_str()))
                .bind(&id)
                .bind(&new.profile_id)
                .bind(&new.account_id)
                .bind(&new.board_id)
                .bind(&new.board_section_id)
                .bind(&new.title)
                .bind(&new.description)
                .bind(&new.link)
                .bind(&new.alt_text)
                .bind(&new.media)
                .bind(new.publish_at)
                .bind(new.publish_at.unwrap_or(now))
                .bind(&new.idempotency_key)
                .bind(&new.request_hash)
                .bind(now)
                .bind(&new.held_reason)
                .fetch_optional(&mut *tx)
                .await?;
            match created {
                Some(post) => {
                    if post.status == PostRow::QUEUED {
                        sqlx::query(TOUCH_ACCOUNT)
                            .bind(&post.account_id)
                            .bind(post.next_attempt_at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    InsertOutcome::Created(post)
                }
                None => {
                    let post: PostRow = sqlx::query_as(sqlx::AssertSqlSafe(existing.as_str()))
                        .bind(&new.profile_id)
                        .bind(&new.idempotency_key)
                        .fetch_one(&mut *tx)
                        .await?;
                    if post.request_hash == new.request_hash {
                        InsertOutcome::Existing(post)
                    } else {
                        InsertOutcome::Conflict
                    }
                }
            }
        });
        Ok(outcome)
    }

    /// Records several posts as published by `owner` in one transaction (a worker's completions
    /// gathered while the previous batch was being written). Each is fenced on its own exactly
    /// as [`Store::complete_published`] is; the answer has one [`Completion`] per input, in
    /// order. A post named twice is applied once; the repeat is `Fenced`.
    pub async fn complete_published_many(
        &self,
        owner: &str,
        posts: &[PublishedPost],
    ) -> Result<Vec<Completion>, StoreError> {
        // A repeat is refused rather than written: the first of each post is the one applied.
        let mut seen = HashSet::new();
        let first: Vec<bool> = posts.iter().map(|p| seen.insert(p.id.as_str())).collect();
        let once: Vec<&PublishedPost> = posts
            .iter()
            .zip(&first)
            .filter_map(|(post, first)| first.then_some(post))
            .collect();
        if once.is_empty() {
            return Ok(Vec::new());
        }
        let applied: HashSet<String> = match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let mut write = Store::sqlite_write(writer).await?;
                let mut applied = HashSet::new();
                // SQLite allows 32,766 bound values per statement; 5 per post.
                for chunk in once.chunks(1_000) {
                    applied.extend(publish_sqlite(&mut write.tx, owner, chunk).await?);
                }
                write.commit().await?;
                applied
            }
            Pools::Postgres(pool) => {
                let mut tx = Store::postgres_write(pool).await?;
                let applied = publish_postgres(&mut tx, owner, &once).await?;
                tx.commit().await?;
                applied
            }
        };
        Ok(first
            .iter()
            .zip(posts)
            .map(|(first, post)| fenced_unless(*first && applied.contains(&post.id)))
            .collect())
    }

    /// Records that the post is live as `pin_id` (created by this attempt, or `adopted`: found
    /// on the board after an attempt with an unknown outcome).
    #[expect(
        clippy::too_many_arguments,
        reason = "the fence triple plus the result; a struct adds nothing"
    )]
    pub async fn complete_published(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        pin_id: &str,
        pin_url: Option<&str>,
        adopted: bool,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let post = PublishedPost {
            id: id.to_owned(),
            fence,
            pin_id: pin_id.to_owned(),
            pin_url: pin_url.map(str::to_owned),
            adopted,
            published_at: now,
        };
        let completions = self.complete_published_many(owner, &[post]).await?;
        Ok(completions.first().copied().unwrap_or(Completion::Fenced))
    }

    /// Puts the post back in the queue until `next_attempt_at`, recording why.
    #[expect(
        clippy::too_many_arguments,
        reason = "the fence triple plus the result; a struct adds nothing"
    )]
    pub async fn schedule_retry(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        next_attempt_at: i64,
        error_class: &str,
        error_message: &str,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let finish = Finish {
            status: PostRow::QUEUED,
            outcome: PostAttemptRow::RETRY,
            next_attempt_at: Some(next_attempt_at),
            held_reason: None,
            error_class: Some(error_class),
            error_message: Some(error_message),
        };
        self.finish_attempt(id, owner, fence, &finish, now).await
    }

    /// Gives up on the post.
    pub async fn fail_post(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        error_class: &str,
        error_message: &str,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let finish = Finish {
            status: PostRow::FAILED,
            outcome: PostAttemptRow::FAILED,
            next_attempt_at: None,
            held_reason: None,
            error_class: Some(error_class),
            error_message: Some(error_message),
        };
        self.finish_attempt(id, owner, fence, &finish, now).await
    }

    /// Holds the post because its account cannot publish; it waits for the account's release.
    /// The class and reason go on the attempt and on the post (its last error), like a
    /// failure's: a held post says why.
    pub async fn hold_post(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        error_class: &str,
        reason: &str,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let finish = Finish {
            status: PostRow::HELD,
            outcome: PostAttemptRow::HELD,
            next_attempt_at: None,
            held_reason: Some(reason),
            error_class: Some(error_class),
            error_message: Some(reason),
        };
        self.finish_attempt(id, owner, fence, &finish, now).await
    }

    async fn finish_attempt(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        finish: &Finish<'_>,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let completion = write_tx!(self, tx => {
            // The account's ready row before the post's (the lock order of `claim.rs`).
            if let (PostRow::QUEUED, Some(at)) = (finish.status, finish.next_attempt_at) {
                sqlx::query(TOUCH_POST_ACCOUNT)
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            let updated = sqlx::query(
                "UPDATE posts SET status = $4,
                    next_attempt_at = COALESCE($5, next_attempt_at), held_reason = $6,
                    last_error_class = COALESCE($7, last_error_class),
                    last_error_message = COALESCE($8, last_error_message),
                    canary = CASE WHEN $4 = 'held' THEN FALSE ELSE canary END,
                    lease_owner = NULL, lease_until = NULL, updated_at = $9
                 WHERE id = $1 AND fence = $2 AND lease_owner = $3 AND status = 'publishing'",
            )
            .bind(id)
            .bind(fence)
            .bind(owner)
            .bind(finish.status)
            .bind(finish.next_attempt_at)
            .bind(finish.held_reason)
            .bind(finish.error_class)
            .bind(finish.error_message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                Completion::Fenced
            } else {
                // A failed or held post is an event for webhooks: marked here, in the same
                // transaction as the change, so it is never lost (see `outbox`). A held post's
                // reason goes with its attempt too, since the post's `held_reason` is cleared on
                // release.
                let event = finish.outcome == PostAttemptRow::FAILED
                    || finish.outcome == PostAttemptRow::HELD;
                sqlx::query(
                    "UPDATE post_attempts SET finished_at = $3, outcome = $4, error_class = $5,
                        error_message = $6, event_pending = $7
                     WHERE post_id = $1 AND fence = $2",
                )
                .bind(id)
                .bind(fence)
                .bind(now)
                .bind(finish.outcome)
                .bind(finish.error_class)
                .bind(finish.error_message)
                .bind(event)
                .execute(&mut *tx)
                .await?;
                Completion::Applied
            }
        });
        Ok(completion)
    }

    /// Records that a create request for the post was sent and its result is unknown (kept from
    /// the first such attempt on). The post stays claimed.
    pub async fn mark_outcome_unknown(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE posts SET outcome_unknown_since = COALESCE(outcome_unknown_since, $4),
                    updated_at = $4
                 WHERE id = $1 AND fence = $2 AND lease_owner = $3 AND status = 'publishing'",
            )
            .bind(id)
            .bind(fence)
            .bind(owner)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(fenced_unless(updated == 1))
    }

    /// Extends the lease of a post the caller still owns (a slow upload, a long search).
    pub async fn extend_lease(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        lease_until: i64,
    ) -> Result<Completion, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE posts SET lease_until = $4
                 WHERE id = $1 AND fence = $2 AND lease_owner = $3 AND status = 'publishing'",
            )
            .bind(id)
            .bind(fence)
            .bind(owner)
            .bind(lease_until)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(fenced_unless(updated == 1))
    }

    /// Holds every queued post of an account (it needs reconnecting, or its credential belongs
    /// to another app), each with the class and reason as its last error. Returns how many.
    pub async fn hold_account_posts(
        &self,
        account_id: &str,
        error_class: &str,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let held = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE posts SET status = 'held', held_reason = $2, last_error_class = $4,
                    last_error_message = $2, updated_at = $3
                 WHERE account_id = $1 AND status = 'queued'",
            )
            .bind(account_id)
            .bind(reason)
            .bind(now)
            .bind(error_class)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(held)
    }

    /// After a reconnect: releases the account's oldest held post as a canary (queued, due now)
    /// and keeps the rest held until it publishes. A canary already queued or publishing is
    /// returned instead of releasing another. `None` when nothing is held, and when the
    /// account's canary already published after its posts were held: then the held posts all go
    /// back to the queue, as [`Store::release_account_posts`] does once the canary publishes.
    /// Without that, a sweep or a second reconnect event arriving between the canary's
    /// completion and that release would send a second canary.
    pub async fn release_account_posts_with_canary(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let canary = write_tx!(self, tx => {
            let in_flight: Option<String> = sqlx::query_scalar(
                "SELECT id FROM posts WHERE account_id = $1 AND canary = TRUE
                    AND status IN ('queued', 'publishing')
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
            let proven: bool = if in_flight.is_some() {
                false
            } else {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM posts c
                        WHERE c.account_id = $1 AND c.canary = TRUE AND c.status = 'published'
                          AND c.published_at >= (SELECT MAX(h.updated_at) FROM posts h
                              WHERE h.account_id = $1 AND h.status = 'held'))",
                )
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?
            };
            match in_flight {
                Some(id) => Some(id),
                None if proven => {
                    release_held_posts!(tx, account_id, now);
                    None
                }
                None => {
                    let oldest: Option<(String, i64)> = sqlx::query_as(
                        "SELECT id, next_attempt_at FROM posts
                         WHERE account_id = $1 AND status = 'held'
                         ORDER BY next_attempt_at, created_at, id LIMIT 1",
                    )
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((id, due)) = &oldest {
                        sqlx::query(TOUCH_ACCOUNT)
                            .bind(account_id)
                            .bind((*due).min(now))
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(
                            "UPDATE posts SET status = 'queued', canary = TRUE, held_reason = NULL,
                                next_attempt_at = CASE WHEN next_attempt_at < $2
                                    THEN next_attempt_at ELSE $2 END,
                                updated_at = $2
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    oldest.map(|(id, _)| id)
                }
            }
        });
        Ok(canary)
    }

    /// Accounts whose status is usable (`active` or `refreshing`) yet still have held posts
    /// and no canary on its way: a reconnect whose release was missed (its event went to a
    /// process that stopped, or arrived out of turn), or an account whose credential does not
    /// fit the configuration. Each with its last error's class. Few rows: held posts are rare.
    pub async fn usable_accounts_with_held_posts(
        &self,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let ids = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT DISTINCT p.account_id, a.last_error_class FROM posts p
                 JOIN accounts a ON a.id = p.account_id
                 WHERE p.status = 'held' AND a.status IN ('active', 'refreshing')
                   AND NOT EXISTS (
                       SELECT 1 FROM posts c WHERE c.account_id = p.account_id
                          AND c.canary = TRUE AND c.status IN ('queued', 'publishing'))",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(ids)
    }

    /// Releases every held post of an account (after its canary published). Returns how many.
    /// Posts keep their `next_attempt_at`, so scheduled posts still wait for their time.
    pub async fn release_account_posts(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let released = write_tx!(self, tx => release_held_posts!(tx, account_id, now));
        Ok(released)
    }

    /// One post of a profile; `None` when it does not exist or belongs to another profile.
    pub async fn post(&self, profile_id: &str, id: &str) -> Result<Option<PostRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM posts WHERE id = $1 AND profile_id = $2");
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(profile_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// One post by id alone, for workers that are not acting for a profile.
    pub async fn post_by_id(&self, id: &str) -> Result<Option<PostRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM posts WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// A post's attempts, first first.
    pub async fn post_attempts(&self, post_id: &str) -> Result<Vec<PostAttemptRow>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM post_attempts WHERE post_id = $1 ORDER BY fence"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(post_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// A page of a profile's posts in `(created_at, id)` order, starting after `cursor`. The
    /// cursor names a position, not a row, so posts added or changed meanwhile never make a
    /// page repeat or skip one that was already there.
    pub async fn list_posts(
        &self,
        profile_id: &str,
        filter: &PostFilter,
        cursor: Option<&PostCursor>,
        limit: i64,
    ) -> Result<PostPage, StoreError> {
        let limit = limit.max(1);
        let sql = format!(
            "SELECT {COLUMNS} FROM posts WHERE profile_id = $1
               AND ($2 IS NULL OR status = $2)
               AND ($3 IS NULL OR account_id = $3)
               AND ($4 IS NULL OR COALESCE(publish_at, created_at) >= $4)
               AND ($5 IS NULL OR COALESCE(publish_at, created_at) < $5)
               AND ($6 IS NULL OR created_at > $6 OR (created_at = $6 AND id > $7))
             ORDER BY created_at, id
             LIMIT $8"
        );
        let mut posts: Vec<PostRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(profile_id)
                .bind(filter.status.as_deref())
                .bind(filter.account_id.as_deref())
                .bind(filter.from)
                .bind(filter.to)
                .bind(cursor.map(|c| c.created_at))
                .bind(cursor.map(|c| c.id.as_str()))
                .bind(limit + 1)
                .fetch_all(pool)
                .await?
        });
        let more = posts.len() as i64 > limit;
        posts.truncate(limit as usize);
        let next = more.then(|| posts.last()).flatten().map(|last| PostCursor {
            created_at: last.created_at,
            id: last.id.clone(),
        });
        Ok(PostPage { posts, next })
    }

    /// Cancels a post that has not been published and is not being published right now
    /// (queued, held or failed). Canceling a canceled post changes nothing and succeeds.
    pub async fn cancel_post(
        &self,
        profile_id: &str,
        id: &str,
        now: i64,
    ) -> Result<PostChange, StoreError> {
        let sql = format!(
            "UPDATE posts SET status = 'canceled', canary = FALSE, updated_at = $3
             WHERE id = $1 AND profile_id = $2 AND status IN ('queued', 'held', 'failed')
             RETURNING {COLUMNS}"
        );
        let canceled: Option<PostRow> = write_tx!(self, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(profile_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
        });
        if let Some(post) = canceled {
            return Ok(PostChange::Changed(post));
        }
        Ok(match self.post(profile_id, id).await? {
            None => PostChange::NotFound,
            Some(post) if post.status == PostRow::CANCELED => PostChange::Changed(post),
            Some(post) => PostChange::NotAllowed(post),
        })
    }

    /// Edits a post while it is `queued` or `held`.
    pub async fn update_post(
        &self,
        profile_id: &str,
        id: &str,
        changes: &PostChanges,
        now: i64,
    ) -> Result<PostChange, StoreError> {
        let sql = format!(
            "UPDATE posts SET board_id = COALESCE($3, board_id),
                board_section_id = COALESCE($4, board_section_id), title = COALESCE($5, title),
                description = COALESCE($6, description), link = COALESCE($7, link),
                alt_text = COALESCE($8, alt_text), media = COALESCE($9, media),
                publish_at = COALESCE($10, publish_at),
                next_attempt_at = COALESCE($10, next_attempt_at), updated_at = $11
             WHERE id = $1 AND profile_id = $2 AND status IN ('queued', 'held')
             RETURNING {COLUMNS}"
        );
        let updated: Option<PostRow> = write_tx!(self, tx => {
            // A new time may be earlier: the account's ready row first (the lock order of
            // `claim.rs`).
            if let Some(at) = changes.publish_at {
                sqlx::query(TOUCH_POST_ACCOUNT)
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(profile_id)
                .bind(changes.board_id.as_deref())
                .bind(changes.board_section_id.as_deref())
                .bind(changes.title.as_deref())
                .bind(changes.description.as_deref())
                .bind(changes.link.as_deref())
                .bind(changes.alt_text.as_deref())
                .bind(changes.media.as_deref())
                .bind(changes.publish_at)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
        });
        if let Some(post) = updated {
            return Ok(PostChange::Changed(post));
        }
        Ok(match self.post(profile_id, id).await? {
            None => PostChange::NotFound,
            Some(post) => PostChange::NotAllowed(post),
        })
    }

    /// The earliest time at which [`Store::claim_due_posts`] may find something: the soonest
    /// `next_at` of the account ready queue, or the soonest `lease_until` of a post being
    /// published (a lease that may run out and be taken over), whichever comes first. `None`
    /// when there is neither. An idle worker sleeps until then instead of claiming.
    ///
    /// Two `MIN`s that each read one end of an index (`account_queue_next`, the partial
    /// `posts_leased`), so the cost does not grow with accounts or the backlog; a read, never a
    /// write transaction. (SQLite is told the indexes: without statistics it could pick others.)
    pub async fn next_claim_due(&self) -> Result<Option<i64>, StoreError> {
        const SQL: &str = "SELECT
                (SELECT MIN(next_at) FROM account_queue {ready} WHERE next_at IS NOT NULL),
                (SELECT MIN(lease_until) FROM posts {leased} WHERE status = 'publishing')";
        let (queued, leased): (Option<i64>, Option<i64>) = match &self.pools {
            Pools::Sqlite { pool, .. } => {
                let sql = SQL
                    .replace("{ready}", "INDEXED BY account_queue_next")
                    .replace("{leased}", "INDEXED BY posts_leased");
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await?
            }
            Pools::Postgres(pool) => {
                let sql = SQL.replace("{ready}", "").replace("{leased}", "");
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(match (queued, leased) {
            (Some(queued), Some(leased)) => Some(queued.min(leased)),
            (queued, leased) => queued.or(leased),
        })
    }

    /// How many posts are in each status (for tests, benchmarks and metrics); statuses with no
    /// posts are absent.
    pub async fn post_counts_by_status(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM posts GROUP BY status")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }
}

fn fenced_unless(applied: bool) -> Completion {
    if applied {
        Completion::Applied
    } else {
        Completion::Fenced
    }
}

/// `$first, $first+1, …`: `count` numbered placeholders, for statements over a batch of rows.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `COLUMNS` with every column qualified by `alias`.
pub(crate) fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(',')
        .map(|column| format!("{alias}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn attempt_outcome(post: &PublishedPost) -> &'static str {
    if post.adopted {
        PostAttemptRow::ADOPTED
    } else {
        PostAttemptRow::PUBLISHED
    }
}

/// The published completions of a batch on SQLite: one statement for the posts, one for their
/// attempts. Returns the ids that were applied.
async fn publish_sqlite(
    tx: &mut sqlx::SqliteConnection,
    owner: &str,
    posts: &[&PublishedPost],
) -> Result<HashSet<String>, StoreError> {
    let rows = (0..posts.len())
        .map(|i| format!("({})", placeholders(2 + i * 5, 5)))
        .collect::<Vec<_>>()
        .join(", ");
    // VALUES columns: column1 id, column2 fence, column3 pin_id, column4 pin_url, column5 at.
    let update = format!(
        "UPDATE posts SET status = 'published', pin_id = v.column3,
            pin_url = COALESCE(v.column4, posts.pin_url), held_reason = NULL,
            published_at = v.column5, lease_owner = NULL, lease_until = NULL,
            updated_at = v.column5
         FROM (VALUES {rows}) AS v
         WHERE posts.id = v.column1 AND posts.fence = v.column2 AND posts.lease_owner = $1
           AND posts.status = 'publishing'
         RETURNING posts.id"
    );
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(update)).bind(owner);
    for post in posts {
        query = query
            .bind(&post.id)
            .bind(post.fence)
            .bind(&post.pin_id)
            .bind(&post.pin_url)
            .bind(post.published_at);
    }
    let applied: HashSet<String> = query.fetch_all(&mut *tx).await?.into_iter().collect();
    let finished: Vec<&PublishedPost> = posts
        .iter()
        .copied()
        .filter(|post| applied.contains(&post.id))
        .collect();
    if !finished.is_empty() {
        let rows = (0..finished.len())
            .map(|i| format!("({})", placeholders(1 + i * 4, 4)))
            .collect::<Vec<_>>()
            .join(", ");
        // VALUES columns: column1 post_id, column2 fence, column3 at, column4 outcome.
        let attempts = format!(
            "UPDATE post_attempts SET finished_at = v.column3, outcome = v.column4,
                error_class = NULL, error_message = NULL, event_pending = TRUE
             FROM (VALUES {rows}) AS v
             WHERE post_attempts.post_id = v.column1 AND post_attempts.fence = v.column2"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(attempts));
        for post in finished {
            query = query
                .bind(&post.id)
                .bind(post.fence)
                .bind(post.published_at)
                .bind(attempt_outcome(post));
        }
        query.execute(&mut *tx).await?;
    }
    Ok(applied)
}

/// The published completions of a batch on PostgreSQL: one statement, the batch passed as
/// arrays. Returns the ids that were applied.
async fn publish_postgres(
    tx: &mut sqlx::PgConnection,
    owner: &str,
    posts: &[&PublishedPost],
) -> Result<HashSet<String>, StoreError> {
    let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
    let fences: Vec<i64> = posts.iter().map(|p| p.fence).collect();
    let pin_ids: Vec<&str> = posts.iter().map(|p| p.pin_id.as_str()).collect();
    let pin_urls: Vec<Option<&str>> = posts.iter().map(|p| p.pin_url.as_deref()).collect();
    let outcomes: Vec<&str> = posts.iter().map(|p| attempt_outcome(p)).collect();
    let times: Vec<i64> = posts.iter().map(|p| p.published_at).collect();
    let applied: Vec<String> = sqlx::query_scalar(
        "WITH input AS (
            SELECT * FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                $7::bigint[]) AS i(id, fence, pin_id, pin_url, outcome, at)
         ), done AS (
            UPDATE posts p SET status = 'published', pin_id = i.pin_id,
                pin_url = COALESCE(i.pin_url, p.pin_url), held_reason = NULL,
                published_at = i.at, lease_owner = NULL, lease_until = NULL, updated_at = i.at
            FROM input i
            WHERE p.id = i.id AND p.fence = i.fence AND p.lease_owner = $1
              AND p.status = 'publishing'
            RETURNING p.id, p.fence, i.outcome, i.at
         ), finished AS (
            UPDATE post_attempts a SET finished_at = done.at, outcome = done.outcome,
                error_class = NULL, error_message = NULL, event_pending = TRUE
            FROM done WHERE a.post_id = done.id AND a.fence = done.fence
         )
         SELECT id FROM done",
    )
    .bind(owner)
    .bind(&ids)
    .bind(&fences)
    .bind(&pin_ids)
    .bind(&pin_urls)
    .bind(&outcomes)
    .bind(&times)
    .fetch_all(&mut *tx)
    .await?;
    Ok(applied.into_iter().collect())
}
