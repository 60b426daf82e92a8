//! Pin drafts: the copy and the prepared image made from one idea, kept until a person edits,
//! publishes or deletes them. The image lives in the row (a JPEG of at most about a megabyte),
//! so a draft is whole or absent, never half-written.

use crate::sql::{with_pool, write_tx};
use crate::{Store, StoreError};

/// Columns of a draft without its image.
const COLUMNS: &str = "id, profile_id, idea_id, variant, status, title, description, alt_text, \
                       link, keywords, source, generator, image_width, image_height, crop, post_id, \
                       created_at, updated_at";

/// A stored draft, without its image bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DraftRow {
    pub id: String,
    pub profile_id: String,
    /// Shared by the drafts made from one idea.
    pub idea_id: String,
    /// 0, 1, … within the idea.
    pub variant: i64,
    /// [`DraftRow::DRAFT`] or [`DraftRow::PUBLISHED`].
    pub status: String,
    pub title: String,
    pub description: String,
    pub alt_text: String,
    pub link: Option<String>,
    /// A JSON array of strings.
    pub keywords: String,
    /// A JSON object: what the draft was made from.
    pub source: String,
    /// A JSON object: who wrote the copy.
    pub generator: String,
    pub image_width: i64,
    pub image_height: i64,
    /// A JSON object: the crop of the source image.
    pub crop: String,
    /// The post made from this draft, once published.
    pub post_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DraftRow {
    /// Editable and publishable.
    pub const DRAFT: &'static str = "draft";
    /// Turned into a post.
    pub const PUBLISHED: &'static str = "published";
}

/// A draft to store, with its image.
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub row: DraftRow,
    pub image_jpeg: Vec<u8>,
}

/// Changes to a draft's copy; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DraftEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub alt_text: Option<String>,
    /// `Some(None)` clears the link.
    pub link: Option<Option<String>>,
    /// A JSON array of strings.
    pub keywords: Option<String>,
}

/// Why a draft could not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftChange {
    Changed(DraftRow),
    NotFound,
    /// It was published already; its post is what changes now.
    Published(DraftRow),
}

impl Store {
    /// Stores the drafts of one idea together: all of them or none.
    pub async fn insert_drafts(&self, drafts: &[NewDraft]) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            for draft in drafts {
                let row = &draft.row;
                sqlx::query(
                    "INSERT INTO drafts (id, profile_id, idea_id, variant, status, title,
                         description, alt_text, link, keywords, source, generator, image_jpeg,
                         image_width, image_height, crop, post_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                         $16, $17, $18, $19)",
                )
                .bind(&row.id)
                .bind(&row.profile_id)
                .bind(&row.idea_id)
                .bind(row.variant)
                .bind(&row.status)
                .bind(&row.title)
                .bind(&row.description)
                .bind(&row.alt_text)
                .bind(&row.link)
                .bind(&row.keywords)
                .bind(&row.source)
                .bind(&row.generator)
                .bind(&draft.image_jpeg)
                .bind(row.image_width)
                .bind(row.image_height)
                .bind(&row.crop)
                .bind(&row.post_id)
                .bind(row.created_at)
                .bind(row.updated_at)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// A profile's draft.
    pub async fn draft(&self, profile_id: &str, id: &str) -> Result<Option<DraftRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM drafts WHERE id = $1 AND profile_id = $2");
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(profile_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// A profile's draft's JPEG.
    pub async fn draft_image(
        &self,
        profile_id: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let image: Option<(Vec<u8>,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT image_jpeg FROM drafts WHERE id = $1 AND profile_id = $2")
                .bind(id)
                .bind(profile_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(image.map(|(bytes,)| bytes))
    }

    /// A profile's drafts, newest first: at most `limit`, older than `before` (a
    /// `(created_at, id)` cursor) when given.
    pub async fn drafts(
        &self,
        profile_id: &str,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<DraftRow>, StoreError> {
        let rows = match before {
            Some((at, id)) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM drafts
                     WHERE profile_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
                     ORDER BY created_at DESC, id DESC LIMIT $4"
                );
                with_pool!(self, pool => {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(profile_id)
                        .bind(at)
                        .bind(id)
                        .bind(limit)
                        .fetch_all(pool)
                        .await?
                })
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM drafts WHERE profile_id = $1
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                );
                with_pool!(self, pool => {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(profile_id)
                        .bind(limit)
                        .fetch_all(pool)
                        .await?
                })
            }
        };
        Ok(rows)
    }

    /// Changes a draft's copy while it is still a draft.
    pub async fn edit_draft(
        &self,
        profile_id: &str,
        id: &str,
        edit: &DraftEdit,
        now: i64,
    ) -> Result<DraftChange, StoreError> {
        let link_given = edit.link.is_some();
        let link = edit.link.clone().flatten();
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE drafts SET
                     title = COALESCE($3, title),
                     description = COALESCE($4, description),
                     alt_text = COALESCE($5, alt_text),
                     link = CASE WHEN $6 THEN $7 ELSE link END,
                     keywords = COALESCE($8, keywords),
                     updated_at = $9
                 WHERE id = $1 AND profile_id = $2 AND status = 'draft'",
            )
            .bind(id)
            .bind(profile_id)
            .bind(&edit.title)
            .bind(&edit.description)
            .bind(&edit.alt_text)
            .bind(link_given)
            .bind(&link)
            .bind(&edit.keywords)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(match self.draft(profile_id, id).await? {
            None => DraftChange::NotFound,
            Some(row) if updated > 0 => DraftChange::Changed(row),
            Some(row) => DraftChange::Published(row),
        })
    }

    /// Records that a draft became the post `post_id`; false when it was not a draft any more
    /// (published by someone else meanwhile) or does not exist.
    pub async fn mark_draft_published(
        &self,
        profile_id: &str,
        id: &str,
        post_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = write_tx!(self, tx => {
            sqlx::query(
                "UPDATE drafts SET status = 'published', post_id = $3, updated_at = $4
                 WHERE id = $1 AND profile_id = $2 AND status = 'draft'",
            )
            .bind(id)
            .bind(profile_id)
            .bind(post_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(updated > 0)
    }

    /// Deletes a profile's draft (a published one too: its post stays); false when absent.
    pub async fn delete_draft(&self, profile_id: &str, id: &str) -> Result<bool, StoreError> {
        let deleted = write_tx!(self, tx => {
            sqlx::query("DELETE FROM drafts WHERE id = $1 AND profile_id = $2")
                .bind(id)
                .bind(profile_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(deleted > 0)
    }
}
