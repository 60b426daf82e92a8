//! How a claimed post's attempt ends. Every completion is a conditional update on the post's id,
//! fence and lease owner together, so a worker that was taken over gets
//! [`Completion::Fenced`] and writes nothing. Published completions also come in batches: one
//! transaction for many posts (one statement per backend), each still fenced on its own.

use std::collections::HashSet;

use crate::claim::TOUCH_POST_ACCOUNT;
use crate::posts::{Completion, PostAttemptRow, PostRow, PublishedPost, placeholders};
use crate::sql::write_tx;
use crate::store::Pools;
use crate::{Store, StoreError};

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
}

fn fenced_unless(applied: bool) -> Completion {
    if applied {
        Completion::Applied
    } else {
        Completion::Fenced
    }
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
