//! What the API writes into the queue: a new post (idempotent on its key, committed before it is
//! acknowledged), an edit, and a cancel. Each changes a post only in the statuses that allow it,
//! decided in the statement's `WHERE`, and keeps the account ready queue in step in the same
//! transaction.

use crate::claim::{TOUCH_ACCOUNT, TOUCH_POST_ACCOUNT};
use crate::posts::{
    Bookings, COLUMNS, InsertOutcome, NewPost, PlacedTime, PostChange, PostChanges, PostRow,
};
use crate::schedules::ScheduleRow;
use crate::sql::write_tx;
use crate::{Store, StoreError};

/// Inserts `$new` as a new post with `$publish_at` and `$placement` inside transaction `$tx`,
/// honouring its idempotency key; evaluates to the [`InsertOutcome`]. A macro rather than a
/// function for the same reason as `write_tx`: the body runs on either backend's transaction.
macro_rules! insert_row {
    ($tx:ident, $new:expr, $publish_at:expr, $placement:expr, $now:expr) => {{
        let new: &NewPost = $new;
        let publish_at: Option<i64> = $publish_at;
        let placement: Option<&str> = $placement;
        let now: i64 = $now;
        let insert = format!(
            "INSERT INTO posts (id, profile_id, account_id, board_id, board_section_id, title,
                description, link, alt_text, media, publish_at, status, held_reason,
                last_error_class, last_error_message,
                next_attempt_at, idempotency_key, request_hash, created_at, updated_at,
                placement, requested_publish_at, image_key, trace_parent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                CASE WHEN $16 IS NULL THEN 'queued' ELSE 'held' END, $16,
                CASE WHEN $16 IS NULL THEN NULL ELSE 'auth' END, $16,
                $12, $13, $14, $15, $15, $17, $18, $19, $20)
             ON CONFLICT (profile_id, idempotency_key) WHERE idempotency_key IS NOT NULL
             DO NOTHING
             RETURNING {COLUMNS}"
        );
        let existing =
            format!("SELECT {COLUMNS} FROM posts WHERE profile_id = $1 AND idempotency_key = $2");
        let created: Option<PostRow> = sqlx::query_as(sqlx::AssertSqlSafe(insert.as_str()))
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&new.profile_id)
            .bind(&new.account_id)
            .bind(&new.board_id)
            .bind(&new.board_section_id)
            .bind(&new.title)
            .bind(&new.description)
            .bind(&new.link)
            .bind(&new.alt_text)
            .bind(&new.media)
            .bind(publish_at)
            .bind(publish_at.unwrap_or(now))
            .bind(&new.idempotency_key)
            .bind(&new.request_hash)
            .bind(now)
            .bind(&new.held_reason)
            .bind(placement)
            .bind(placement.and(new.publish_at))
            .bind(&new.image_key)
            .bind(&new.trace_parent)
            .fetch_optional(&mut *$tx)
            .await?;
        match created {
            Some(post) => {
                if post.status == PostRow::QUEUED {
                    sqlx::query(TOUCH_ACCOUNT)
                        .bind(&post.account_id)
                        .bind(post.next_attempt_at)
                        .execute(&mut *$tx)
                        .await?;
                }
                InsertOutcome::Created(post)
            }
            None => {
                let post: PostRow = sqlx::query_as(sqlx::AssertSqlSafe(existing.as_str()))
                    .bind(&new.profile_id)
                    .bind(&new.idempotency_key)
                    .fetch_one(&mut *$tx)
                    .await?;
                if post.request_hash == new.request_hash {
                    InsertOutcome::Existing(post)
                } else {
                    InsertOutcome::Conflict
                }
            }
        }
    }};
}

/// Takes the account's schedule row for the rest of the transaction (a no-op update is a row
/// lock on PostgreSQL; SQLite's write transaction already excludes other writers) and reads it.
const LOCK_SCHEDULE: &str = "UPDATE account_schedules SET updated_at = updated_at
     WHERE account_id = $1 RETURNING account_id, time_zone, slots, spacing_secs, updated_at";

/// The times of the account's posts still to publish, after `$2`.
pub(crate) const BOOKED: &str = "SELECT publish_at FROM posts
     WHERE account_id = $1 AND status IN ('queued', 'held', 'publishing')
       AND publish_at IS NOT NULL AND publish_at > $2";

/// When the account's live and published posts with link `$2` or image `$3` go (or went) live,
/// from `$4` on.
const SAME_CONTENT: &str = "SELECT COALESCE(published_at, publish_at, created_at) FROM posts
     WHERE account_id = $1 AND status IN ('queued', 'held', 'publishing', 'published')
       AND (link = $2 OR image_key = $3)
       AND COALESCE(published_at, publish_at, created_at) > $4";

impl Store {
    /// Queues a post at the time it gives, honouring its idempotency key: the same key with the
    /// same request hash returns the existing post, with another hash `Conflict`. Committed
    /// before it returns.
    pub async fn insert_post(&self, new: &NewPost, now: i64) -> Result<InsertOutcome, StoreError> {
        let outcome = write_tx!(self, tx => {
            insert_row!(tx, new, new.publish_at, None, now)
        });
        Ok(outcome)
    }

    /// Queues a post where its account's schedule puts it, in one transaction: the schedule row
    /// is locked, what `place` needs is read under that lock (the booked times when
    /// `next_slot`, the same content's times when the schedule has a spacing rule), and the
    /// post is inserted at the time `place` chose. Two placements for one account therefore
    /// take turns, on one replica or many, and never book one slot twice. `place` gets `None`
    /// when the account has no schedule; its error is handed back with nothing written.
    pub async fn insert_post_placed<E>(
        &self,
        new: &NewPost,
        now: i64,
        next_slot: bool,
        place: impl FnOnce(Option<&ScheduleRow>, &Bookings) -> Result<PlacedTime, E>,
    ) -> Result<Result<InsertOutcome, E>, StoreError> {
        let outcome = write_tx!(self, tx => {
            let schedule: Option<ScheduleRow> = sqlx::query_as(LOCK_SCHEDULE)
                .bind(&new.account_id)
                .fetch_optional(&mut *tx)
                .await?;
            let mut bookings = Bookings::default();
            if let Some(schedule) = &schedule {
                if next_slot {
                    bookings.booked = sqlx::query_scalar(BOOKED)
                        .bind(&new.account_id)
                        .bind(now)
                        .fetch_all(&mut *tx)
                        .await?;
                }
                if schedule.spacing_secs > 0 && (new.link.is_some() || new.image_key.is_some()) {
                    bookings.same_content = sqlx::query_scalar(SAME_CONTENT)
                        .bind(&new.account_id)
                        .bind(&new.link)
                        .bind(&new.image_key)
                        .bind(now - schedule.spacing_secs * 1000)
                        .fetch_all(&mut *tx)
                        .await?;
                }
            }
            match place(schedule.as_ref(), &bookings) {
                Err(error) => Err(error),
                Ok(placed) => Ok(insert_row!(tx, new, placed.publish_at, placed.placement, now)),
            }
        });
        Ok(outcome)
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
                next_attempt_at = COALESCE($10, next_attempt_at), updated_at = $11,
                placement = CASE WHEN $10 IS NULL THEN placement END,
                requested_publish_at = CASE WHEN $10 IS NULL THEN requested_publish_at END
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
}
