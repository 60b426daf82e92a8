//! Reading the queue: one post, a page of a profile's posts, a post's attempts, and the two
//! questions the worker and `/metrics` ask of the whole table (when is the next claim due, how
//! many posts are in each status). Reads never open a write transaction.

use std::collections::BTreeMap;

use crate::posts::rows::ATTEMPT_COLUMNS;
use crate::posts::{COLUMNS, PostAttemptRow, PostCursor, PostFilter, PostPage, PostRow};
use crate::sql::with_pool;
use crate::store::Pools;
use crate::{Store, StoreError};

impl Store {
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
