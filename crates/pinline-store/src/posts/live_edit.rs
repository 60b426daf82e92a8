//! Edits of a pin already live: each try is an attempt row of its post (opened before the call
//! to Pinterest, closed with its outcome), and the post's copy changes only once Pinterest took
//! the edit. A post is edited live only while it is `published`.
//!
//! An edit's attempt takes the next fence of its post, as a claim would: attempts stay keyed
//! by `(post_id, fence)`, and a published post is never claimed again, so nothing else moves
//! that number.

use crate::posts::{COLUMNS, PostAttemptRow, PostChanges, PostRow};
use crate::sql::write_tx;
use crate::{Store, StoreError};

/// Who holds an edit's attempt (the column a worker's id fills for a publish).
pub const LIVE_EDIT_OWNER: &str = "live-edit";

impl Store {
    /// Opens an attempt row for one try at editing the live pin of post `id`: `None` when the
    /// post is not in this profile or not `published`.
    pub async fn start_live_edit(
        &self,
        profile_id: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<PostAttemptRow>, StoreError> {
        let attempt = write_tx!(self, tx => {
            let fence: Option<i64> = sqlx::query_scalar(
                "UPDATE posts SET fence = fence + 1
                 WHERE id = $1 AND profile_id = $2 AND status = 'published'
                 RETURNING fence",
            )
            .bind(id)
            .bind(profile_id)
            .fetch_optional(&mut *tx)
            .await?;
            match fence {
                None => None,
                Some(fence) => {
                    let row: PostAttemptRow = sqlx::query_as(
                        "INSERT INTO post_attempts (post_id, attempt, fence, lease_owner, started_at)
                         SELECT $1, COUNT(*) + 1, $2, $3, $4 FROM post_attempts WHERE post_id = $1
                         RETURNING post_id, attempt, fence, lease_owner, started_at, finished_at,
                            outcome, error_class, error_message",
                    )
                    .bind(id)
                    .bind(fence)
                    .bind(LIVE_EDIT_OWNER)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(row)
                }
            }
        });
        Ok(attempt)
    }

    /// Closes an edit's attempt with `outcome` (one of [`PostAttemptRow::EDITED`],
    /// [`PostAttemptRow::EDIT_RETRY`], [`PostAttemptRow::EDIT_FAILED`]) and, when it is
    /// `edited`, writes the changed copy onto the post. The post as it is afterwards (`None`
    /// if it is gone).
    pub async fn finish_live_edit(
        &self,
        attempt: &PostAttemptRow,
        outcome: &str,
        error: Option<(&str, &str)>,
        changes: &PostChanges,
        now: i64,
    ) -> Result<Option<PostRow>, StoreError> {
        let edited = outcome == PostAttemptRow::EDITED;
        let update = format!(
            "UPDATE posts SET title = CASE WHEN $2 THEN COALESCE($3, title) ELSE title END,
                description = CASE WHEN $2 THEN COALESCE($4, description) ELSE description END,
                link = CASE WHEN $2 THEN COALESCE($5, link) ELSE link END,
                alt_text = CASE WHEN $2 THEN COALESCE($6, alt_text) ELSE alt_text END,
                updated_at = $7
             WHERE id = $1
             RETURNING {COLUMNS}"
        );
        let post = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE post_attempts SET finished_at = $3, outcome = $4, error_class = $5,
                    error_message = $6
                 WHERE post_id = $1 AND fence = $2",
            )
            .bind(&attempt.post_id)
            .bind(attempt.fence)
            .bind(now)
            .bind(outcome)
            .bind(error.map(|(class, _)| class))
            .bind(error.map(|(_, message)| message))
            .execute(&mut *tx)
            .await?;
            let post: Option<PostRow> = sqlx::query_as(sqlx::AssertSqlSafe(update.as_str()))
                .bind(&attempt.post_id)
                .bind(edited)
                .bind(changes.title.as_deref())
                .bind(changes.description.as_deref())
                .bind(changes.link.as_deref())
                .bind(changes.alt_text.as_deref())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            post
        });
        Ok(post)
    }
}
