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
//! Claims are fair across accounts: each claim takes at most `per_account_limit` posts of one
//! account, and interleaves accounts (every account's oldest due post first, then every
//! account's second, …), so one account's backlog of thousands cannot starve another's single
//! post. On PostgreSQL the candidates are ranked first and then locked with
//! `FOR UPDATE SKIP LOCKED` (PostgreSQL does not allow row locks on a query with window
//! functions, but it does on a query over a CTE that has them), so replicas never claim the same
//! post; on SQLite the `BEGIN IMMEDIATE` write transaction serializes claimers.
//!
//! **Invariant:** a post's status is `publishing` exactly while some worker holds (or held, until
//! the lease expires) a claim on it; every other transition out of `publishing` goes through a
//! fenced completion or a takeover claim that bumps the fence.

use std::collections::BTreeMap;

use crate::sql::{with_pool, write_tx};
use crate::{Backend, Store, StoreError};

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
    /// reconnecting) instead of `queued`, so no worker can claim it in between.
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

/// How a fenced completion leaves the post.
struct Finish<'a> {
    status: &'static str,
    outcome: &'static str,
    pin_id: Option<&'a str>,
    pin_url: Option<&'a str>,
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
                next_attempt_at, idempotency_key, request_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                CASE WHEN $16 IS NULL THEN 'queued' ELSE 'held' END, $16, $12, $13, $14, $15,
                $15)
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
                Some(post) => InsertOutcome::Created(post),
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

    /// Claims up to `limit` due posts for `owner` until `now + lease_ms`: queued posts whose
    /// `next_attempt_at` has come, and posts whose previous owner's lease expired (taken over,
    /// the old attempt recorded as `fenced_out`). At most `per_account_limit` posts per account,
    /// accounts interleaved, oldest `next_attempt_at` first within each account. Each claimed
    /// post gets a new fence and an attempt row; all of it is committed before this returns.
    pub async fn claim_due_posts(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
        per_account_limit: i64,
    ) -> Result<Vec<ClaimedPost>, StoreError> {
        if limit <= 0 || per_account_limit <= 0 {
            return Ok(Vec::new());
        }
        // Ranked candidates are over-fetched so that, on PostgreSQL, a claimer whose first
        // choices are locked by another replica skips on to the next ones in the same query.
        let candidates = limit.saturating_mul(4);
        let mut select = String::from(
            "WITH due AS (
                SELECT id, next_attempt_at, ROW_NUMBER() OVER (
                    PARTITION BY account_id ORDER BY next_attempt_at, id) AS account_rank
                FROM posts
                WHERE (status = 'queued' AND next_attempt_at <= $1)
                   OR (status = 'publishing' AND lease_until < $1)
             ), picked AS (
                SELECT id, account_rank, next_attempt_at FROM due
                WHERE account_rank <= $2
                ORDER BY account_rank, next_attempt_at, id
                LIMIT $3
             )
             SELECT p.id, p.status FROM posts p JOIN picked ON picked.id = p.id
             WHERE (p.status = 'queued' AND p.next_attempt_at <= $1)
                OR (p.status = 'publishing' AND p.lease_until < $1)
             ORDER BY picked.account_rank, picked.next_attempt_at, p.id
             LIMIT $4",
        );
        if self.backend() == Backend::Postgres {
            // Locks the rows as they are produced, after the sort and before the limit; rows
            // another claimer holds are skipped, and rows it claimed and committed meanwhile
            // fail the re-checked WHERE.
            select.push_str(" FOR UPDATE OF p SKIP LOCKED");
        }
        let claim = format!(
            "UPDATE posts SET status = 'publishing', lease_owner = $2, lease_until = $3,
                fence = fence + 1, attempts = attempts + 1,
                first_attempt_at = COALESCE(first_attempt_at, $4), updated_at = $4
             WHERE id = $1
             RETURNING {COLUMNS}"
        );
        let claimed = write_tx!(self, tx => {
            let picked: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(select.as_str()))
                .bind(now)
                .bind(per_account_limit)
                .bind(candidates)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let mut claimed = Vec::with_capacity(picked.len());
            for (id, status) in picked {
                let taken_over = status == PostRow::PUBLISHING;
                if taken_over {
                    sqlx::query(
                        "UPDATE post_attempts SET finished_at = $2, outcome = 'fenced_out'
                         WHERE post_id = $1 AND finished_at IS NULL",
                    )
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                let post: PostRow = sqlx::query_as(sqlx::AssertSqlSafe(claim.as_str()))
                    .bind(&id)
                    .bind(owner)
                    .bind(now.saturating_add(lease_ms))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO post_attempts (post_id, attempt, fence, lease_owner, started_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&id)
                .bind(post.attempts)
                .bind(post.fence)
                .bind(owner)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                claimed.push(ClaimedPost { fence: post.fence, post, taken_over });
            }
            claimed
        });
        Ok(claimed)
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
        let outcome = if adopted {
            PostAttemptRow::ADOPTED
        } else {
            PostAttemptRow::PUBLISHED
        };
        let finish = Finish {
            status: PostRow::PUBLISHED,
            outcome,
            pin_id: Some(pin_id),
            pin_url,
            next_attempt_at: None,
            held_reason: None,
            error_class: None,
            error_message: None,
        };
        self.finish_attempt(id, owner, fence, &finish, now).await
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
            pin_id: None,
            pin_url: None,
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
            pin_id: None,
            pin_url: None,
            next_attempt_at: None,
            held_reason: None,
            error_class: Some(error_class),
            error_message: Some(error_message),
        };
        self.finish_attempt(id, owner, fence, &finish, now).await
    }

    /// Holds the post because its account cannot publish; it waits for the account's release.
    pub async fn hold_post(
        &self,
        id: &str,
        owner: &str,
        fence: i64,
        reason: &str,
        now: i64,
    ) -> Result<Completion, StoreError> {
        let finish = Finish {
            status: PostRow::HELD,
            outcome: PostAttemptRow::HELD,
            pin_id: None,
            pin_url: None,
            next_attempt_at: None,
            held_reason: Some(reason),
            error_class: None,
            error_message: None,
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
            let updated = sqlx::query(
                "UPDATE posts SET status = $4, pin_id = COALESCE($5, pin_id),
                    pin_url = COALESCE($6, pin_url),
                    next_attempt_at = COALESCE($7, next_attempt_at), held_reason = $8,
                    last_error_class = COALESCE($9, last_error_class),
                    last_error_message = COALESCE($10, last_error_message),
                    published_at = CASE WHEN $4 = 'published' THEN $11 ELSE published_at END,
                    canary = CASE WHEN $4 = 'held' THEN FALSE ELSE canary END,
                    lease_owner = NULL, lease_until = NULL, updated_at = $11
                 WHERE id = $1 AND fence = $2 AND lease_owner = $3 AND status = 'publishing'",
            )
            .bind(id)
            .bind(fence)
            .bind(owner)
            .bind(finish.status)
            .bind(finish.pin_id)
            .bind(finish.pin_url)
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
                sqlx::query(
                    "UPDATE post_attempts SET finished_at = $3, outcome = $4, error_class = $5,
                        error_message = $6
                     WHERE post_id = $1 AND fence = $2",
                )
                .bind(id)
                .bind(fence)
                .bind(now)
                .bind(finish.outcome)
                .bind(finish.error_class)
                .bind(finish.error_message)
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

    /// Holds every queued post of an account (it needs reconnecting). Returns how many.
    pub async fn hold_account_posts(
        &self,
        account_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let held = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE posts SET status = 'held', held_reason = $2, updated_at = $3
                 WHERE account_id = $1 AND status = 'queued'",
            )
            .bind(account_id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(held)
    }

    /// After a reconnect: releases the account's oldest held post as a canary (queued, due now)
    /// and keeps the rest held until it publishes. A canary already queued or publishing is
    /// returned instead of releasing another. `None` when nothing is held.
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
            match in_flight {
                Some(id) => Some(id),
                None => {
                    let oldest: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM posts WHERE account_id = $1 AND status = 'held'
                         ORDER BY next_attempt_at, created_at, id LIMIT 1",
                    )
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(id) = &oldest {
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
                    oldest
                }
            }
        });
        Ok(canary)
    }

    /// Releases every held post of an account (after its canary published). Returns how many.
    /// Posts keep their `next_attempt_at`, so scheduled posts still wait for their time.
    pub async fn release_account_posts(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let released = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE posts SET status = 'queued', held_reason = NULL, updated_at = $2
                 WHERE account_id = $1 AND status = 'held'",
            )
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
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
