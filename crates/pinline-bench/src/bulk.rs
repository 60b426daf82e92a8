//! The benchmarks' bulk loader: accounts and queued posts written straight into the database with
//! multi-row `INSERT`s, the way an import would, for the scenarios whose sizes (a million posts,
//! a hundred thousand accounts) would take far too long through the API or the store one row at
//! a time. Like `throughput`'s bare SQL baseline, this is the benchmark's own SQL, not the
//! store's: whatever the store keeps beside the rows (its claim bookkeeping) must be rebuilt
//! afterwards, see [`rebuild_claim_bookkeeping`].

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use pinline_store::{DatabaseLocation, Store};
use sqlx::Connection;

/// Rows per `INSERT` statement (PostgreSQL allows 65,535 parameters in one; 9 a row for posts),
/// and statements per transaction.
pub const ROWS_PER_INSERT: usize = 500;
pub const INSERTS_PER_TX: usize = 20;

/// One queued post of a bulk load. It is due (`publish_at` and `next_attempt_at`) at `due_at`.
#[derive(Debug, Clone)]
pub struct BulkPost {
    pub id: String,
    pub account_id: String,
    pub board_id: String,
    pub title: String,
    pub link: String,
    pub media: String,
    pub due_at: i64,
}

/// The scopes of a bulk-loaded account, as the store writes them.
const SCOPES: &str = "boards:read,boards:write,pins:read,pins:write";

/// One connected account of a bulk load: active, with no tokens (the scenarios that load
/// accounts this way never call Pinterest for them).
#[derive(Debug, Clone)]
pub struct BulkAccount {
    pub id: String,
    pub pinterest_user_id: String,
    pub username: String,
    /// A board id for its posts (the board exists nowhere; nothing publishes these posts).
    pub board_id: String,
}

/// The multi-row insert of `rows` posts (9 parameters a row).
pub fn posts_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO posts (id, profile_id, account_id, board_id, title, link, media, publish_at, \
         status, next_attempt_at, created_at, updated_at) VALUES ",
    );
    for row in 0..rows {
        let b = row * 9;
        if row > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 'queued', ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 8,
            b + 9,
            b + 9
        ));
    }
    sql
}

/// The multi-row insert of `rows` accounts (6 parameters a row).
pub fn accounts_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO accounts (id, profile_id, environment, client_id, pinterest_user_id, \
         username, scopes, status, created_at, updated_at) VALUES ",
    );
    for row in 0..rows {
        let b = row * 6;
        if row > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${}, ${}, 'bench', 'bench', ${}, ${}, ${}, 'active', ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 6
        ));
    }
    sql
}

/// Inserts `$count` rows on `$conn` (a PostgreSQL or SQLite connection: the statements are the
/// same, the connection types are not): `$sql(n)` is the statement for `n` rows and `$bind`
/// binds row `$i`'s parameters to the query `$query`.
macro_rules! insert_rows {
    ($conn:expr, $count:expr, $sql:expr, |$query:ident, $i:ident| $bind:expr) => {{
        let full_sql = $sql(ROWS_PER_INSERT);
        let mut next = 0;
        while next < $count {
            let mut tx = $conn.begin().await?;
            for _ in 0..INSERTS_PER_TX {
                let end = (next + ROWS_PER_INSERT).min($count);
                if end == next {
                    break;
                }
                let sql = if end - next == ROWS_PER_INSERT {
                    full_sql.clone()
                } else {
                    $sql(end - next)
                };
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for $i in next..end {
                    let $query = query;
                    query = $bind;
                }
                query.execute(&mut *tx).await?;
                next = end;
            }
            tx.commit().await?;
        }
        let _ = $conn.close().await;
    }};
}

/// Writes `count` queued posts of `profile_id` into the database at `url`; `row(i)` is the
/// `i`-th. Call [`rebuild_claim_bookkeeping`] once every post is written (and moved).
pub async fn insert_posts(
    url: &str,
    profile_id: &str,
    count: usize,
    now: i64,
    row: impl Fn(usize) -> BulkPost,
) -> Result<()> {
    macro_rules! bind_post {
        ($query:ident, $i:ident) => {{
            let post = row($i);
            $query
                .bind(post.id)
                .bind(profile_id.to_owned())
                .bind(post.account_id)
                .bind(post.board_id)
                .bind(post.title)
                .bind(post.link)
                .bind(post.media)
                .bind(post.due_at)
                .bind(now)
        }};
    }
    match DatabaseLocation::parse(url)? {
        DatabaseLocation::Postgres(_) => {
            let mut conn = postgres(url).await?;
            insert_rows!(conn, count, posts_insert_sql, |query, i| bind_post!(
                query, i
            ));
        }
        DatabaseLocation::Sqlite(_) => {
            let mut conn = sqlite(url).await?;
            insert_rows!(conn, count, posts_insert_sql, |query, i| bind_post!(
                query, i
            ));
        }
    }
    Ok(())
}

/// Writes `count` active accounts of `profile_id` (`{prefix}{i}`) and returns them.
pub async fn insert_accounts(
    url: &str,
    profile_id: &str,
    prefix: &str,
    count: usize,
    now: i64,
) -> Result<Vec<BulkAccount>> {
    let accounts: Vec<BulkAccount> = (0..count)
        .map(|i| BulkAccount {
            id: uuid::Uuid::now_v7().to_string(),
            pinterest_user_id: format!("{prefix}-user-{i}"),
            username: format!("{prefix}{i}"),
            board_id: format!("{prefix}-board-{i}"),
        })
        .collect();
    macro_rules! bind_account {
        ($query:ident, $i:ident) => {{
            let account: &BulkAccount = &accounts[$i];
            $query
                .bind(account.id.clone())
                .bind(profile_id.to_owned())
                .bind(account.pinterest_user_id.clone())
                .bind(account.username.clone())
                .bind(SCOPES)
                .bind(now)
        }};
    }
    match DatabaseLocation::parse(url)? {
        DatabaseLocation::Postgres(_) => {
            let mut conn = postgres(url).await?;
            insert_rows!(conn, count, accounts_insert_sql, |query, i| bind_account!(
                query, i
            ));
        }
        DatabaseLocation::Sqlite(_) => {
            let mut conn = sqlite(url).await?;
            insert_rows!(conn, count, accounts_insert_sql, |query, i| bind_account!(
                query, i
            ));
        }
    }
    Ok(accounts)
}

/// Runs one statement (with one `BIGINT` parameter, when given) on the database at `url`.
pub async fn execute(url: &str, sql: &'static str, parameter: Option<i64>) -> Result<()> {
    match DatabaseLocation::parse(url)? {
        DatabaseLocation::Postgres(_) => {
            let mut conn = postgres(url).await?;
            let mut query = sqlx::query(sql);
            if let Some(value) = parameter {
                query = query.bind(value);
            }
            query.execute(&mut conn).await?;
            let _ = conn.close().await;
        }
        DatabaseLocation::Sqlite(_) => {
            let mut conn = sqlite(url).await?;
            let mut query = sqlx::query(sql);
            if let Some(value) = parameter {
                query = query.bind(value);
            }
            query.execute(&mut conn).await?;
            let _ = conn.close().await;
        }
    }
    Ok(())
}

/// After rows were written behind the store's back: brings their accounts into the claim's
/// ready queue (which the store's own writes keep up to date, and this loader bypasses), and on
/// PostgreSQL gathers the planner's statistics. A server that took these posts through its API
/// would have analyzed the tables as they grew (autovacuum); right after a bulk load the planner
/// still sees them as just created, and the first claims run on plans made for empty tables
/// (measured: the first seconds of a 100,000-post schedule published 4 s late).
pub async fn rebuild_claim_bookkeeping(store: &Store, url: &str) -> Result<()> {
    store
        .rebuild_claim_index()
        .await
        .context("while rebuilding the claim's ready queue after the bulk load")?;
    if store.backend() == pinline_store::Backend::Postgres {
        execute(url, "ANALYZE", None).await?;
    }
    Ok(())
}

async fn postgres(url: &str) -> Result<sqlx::postgres::PgConnection> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    Ok(sqlx::postgres::PgConnection::connect_with(&options).await?)
}

async fn sqlite(url: &str) -> Result<sqlx::sqlite::SqliteConnection> {
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(url)?.busy_timeout(Duration::from_secs(30));
    Ok(sqlx::sqlite::SqliteConnection::connect_with(&options).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bulk_inserts_number_their_parameters() {
        let sql = posts_insert_sql(2);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $8, $9, $9)"));
        assert!(sql.ends_with("($10, $11, $12, $13, $14, $15, $16, $17, 'queued', $17, $18, $18)"));
        let sql = accounts_insert_sql(2);
        assert!(sql.contains("($1, $2, 'bench', 'bench', $3, $4, $5, 'active', $6, $6)"));
        assert!(sql.ends_with("($7, $8, 'bench', 'bench', $9, $10, $11, 'active', $12, $12)"));
    }
}
