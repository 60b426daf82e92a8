//! What happens to a post after its pin exists: deleting the pin through pinline.

use crate::posts::{COLUMNS, PostRow};
use crate::sql::write_tx;
use crate::{Store, StoreError};

impl Store {
    /// Marks a published post `deleted` after its pin was deleted at Pinterest; `None` when the
    /// post is not a published post of this profile.
    pub async fn mark_post_pin_deleted(
        &self,
        profile_id: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<PostRow>, StoreError> {
        let sql = format!(
            "UPDATE posts SET status = '{}', updated_at = $3
             WHERE id = $1 AND profile_id = $2 AND status = '{}'
             RETURNING {COLUMNS}",
            PostRow::DELETED,
            PostRow::PUBLISHED
        );
        let row = write_tx!(self, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(profile_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
        });
        Ok(row)
    }
}
