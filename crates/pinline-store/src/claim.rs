//! Claiming due posts: the account ready queue and the claim itself.
//!
//! **Why a ready queue.** A claim must be fair across accounts (one account's backlog of
//! thousands must not delay another account's single post) and must not cost more as accounts or
//! the scheduled backlog grow. Finding "the accounts that have something due" by looking at the
//! posts costs one probe per account with queued posts, due or not: with 10,000 accounts that is
//! 10,000 probes for every claim of 32 posts. So each account that has queued posts keeps one row
//! in `account_queue`, and its `next_at` says when a claim may next take one of its posts. A claim
//! reads the first rows of the index on `(next_at, account_id)` and then only those accounts'
//! first due posts: claiming k posts costs O(k · log n) whatever the number of accounts and
//! however many posts wait for later.
//!
//! **Invariant:** for every account with a queued post, `next_at` is set and no later than the
//! later of that post's `next_attempt_at` and the account's `not_before` (the turn the last
//! claim gave it, or the time its Pinterest budget returns). Every change that queues a post or moves one earlier lowers `next_at` in the same
//! transaction ([`TOUCH_ACCOUNT`], [`TOUCH_POST_ACCOUNT`]). A `next_at` that is too early (the
//! post was canceled, held or rescheduled later) is harmless: the claim that finds nothing due
//! sets it to the account's real next time. One that is too late would lose posts, so nothing
//! raises it except a claim, from what it reads under the row's lock, and
//! [`Store::defer_account`]. [`Store::rebuild_claim_index`] only lowers, so it is safe to run at
//! any time (after a bulk load that bypassed the store, or at start).
//!
//! **Fairness and pacing on one number.** After a claim takes n posts of an account, the
//! account's `not_before` becomes `now + n × spacing` (less half an interval, at least `now`)
//! and its `next_at` the later of that and its next queued post's time: the account goes behind every account that was due before, so
//! accounts take turns, oldest due first; and with `spacing` set to the interval the account's
//! Pinterest budget allows, an account is not claimed again before its budget allows its next
//! post, so its posts wait in the queue rather than in a worker slot. When Pinterest says the
//! budget is spent (`Retry-After`, an exhausted window), [`Store::defer_account`] sets
//! `not_before` and no claim takes the account's posts until then.
//!
//! **Locks.** On PostgreSQL a claim is two statements in one transaction. The first locks the
//! first due ready rows with `FOR NO KEY UPDATE SKIP LOCKED` (replicas never wait for each other
//! and never claim the same account's posts at once) and the expired leases to take over with
//! `FOR UPDATE SKIP LOCKED`, and reads each locked account's first due posts. The second claims
//! the chosen posts, writes their attempt rows and the takeovers' `fenced_out`, and sets each
//! account's `next_at` from a fresh read: it runs in a new snapshot taken after the locks were
//! held, so a post whose transaction touched the account before the lock is seen, and one whose
//! transaction touches it after waits for the claim to commit and then lowers `next_at` itself.
//! Every transaction that changes both takes the account row before the post rows, so the two
//! never deadlock. On SQLite the `BEGIN IMMEDIATE` write transaction serializes claimers and the
//! same steps run as a few statements in it.
//!
//! Expired leases are found through the partial index `posts_leased` in lease order, so takeovers
//! too cost O(k · log n).

use std::collections::HashMap;

use crate::posts::{COLUMNS, ClaimedAccount, ClaimedPost, PostRow, columns_of, placeholders};
use crate::sql::{with_pool, write_tx};
use crate::store::Pools;
use crate::{Store, StoreError};

/// The upsert tail shared by every write that lowers an account's `next_at` to the inserted
/// row's: never below `not_before`, and no write at all when `next_at` is already that early.
macro_rules! lower_next_at {
    () => {
        "
     ON CONFLICT (account_id) DO UPDATE SET next_at = CASE
        WHEN excluded.next_at < account_queue.not_before THEN account_queue.not_before
        ELSE excluded.next_at END
     WHERE account_queue.next_at IS NULL OR account_queue.next_at > excluded.next_at"
    };
}

/// Lowers an account's `next_at` to a post's time (`$1` account, `$2` the post's
/// `next_attempt_at`), creating its row if needed, never below `not_before`. Runs inside the
/// transaction that queues the post or moves it earlier; writes nothing when `next_at` is
/// already that early.
pub(crate) const TOUCH_ACCOUNT: &str = concat!(
    "INSERT INTO account_queue (account_id, next_at) VALUES ($1, $2)",
    lower_next_at!()
);

/// [`TOUCH_ACCOUNT`] for the account of post `$1`, at `$2`.
pub(crate) const TOUCH_POST_ACCOUNT: &str = "INSERT INTO account_queue (account_id, next_at)
     SELECT account_id, $2 FROM posts WHERE id = $1
     ON CONFLICT (account_id) DO UPDATE SET next_at = CASE
        WHEN excluded.next_at < account_queue.not_before THEN account_queue.not_before
        ELSE excluded.next_at END
     WHERE account_queue.next_at IS NULL OR account_queue.next_at > excluded.next_at";

/// [`TOUCH_ACCOUNT`] for account `$1` at the earliest of its posts in status `$2` (before
/// they are released back to the queue).
pub(crate) const TOUCH_ACCOUNT_FROM_STATUS: &str = "INSERT INTO account_queue (account_id, next_at)
     SELECT account_id, MIN(next_attempt_at) FROM posts
     WHERE account_id = $1 AND status = $2 GROUP BY account_id
     ON CONFLICT (account_id) DO UPDATE SET next_at = CASE
        WHEN excluded.next_at < account_queue.not_before THEN account_queue.not_before
        ELSE excluded.next_at END
     WHERE account_queue.next_at IS NULL OR account_queue.next_at > excluded.next_at";

/// How a claim is asked for.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// The lease owner: this process.
    pub owner: &'a str,
    /// The claim's "now", unix ms.
    pub now: i64,
    /// How long the claim lasts.
    pub lease_ms: i64,
    /// Posts to claim at most.
    pub limit: i64,
    /// Posts of one account per claim at most.
    pub per_account_limit: i64,
    /// The least time between two posts of one account (its Pinterest budget's interval, for
    /// this process's share): an account whose claim took n posts is not claimed again for
    /// n × this. Zero: accounts are only made to take turns.
    pub account_spacing_ms: i64,
}

/// One account a claim locked, and its first due posts (oldest first).
#[derive(Debug, Default)]
struct LockedAccount {
    account_id: String,
    due: Vec<String>,
}

/// What a claim decided: the posts in the order they are handed out, and the new floor
/// (`not_before`) of each account it took posts from or found nothing due in.
#[derive(Debug, Default, PartialEq, Eq)]
struct ClaimPlan {
    /// `(post id, taken over)`, in claim order.
    picked: Vec<(String, bool)>,
    /// `(account id, floor)`: the account's `next_at` becomes the later of its next queued post
    /// and this (0 for an account that had nothing due: its time is only repaired).
    requeue: Vec<(String, i64)>,
}

/// Takeovers first (their posts are overdue by a whole lease), then the locked accounts' posts
/// in turns: every account's first due post, in ready-queue order, then every account's
/// second, and so on, up to `limit`.
fn plan_claim(
    takeovers: Vec<String>,
    accounts: &[LockedAccount],
    request: &ClaimRequest<'_>,
) -> ClaimPlan {
    let limit = usize::try_from(request.limit).unwrap_or(0);
    let mut picked: Vec<(String, bool)> = takeovers
        .into_iter()
        .take(limit)
        .map(|id| (id, true))
        .collect();
    let mut taken = vec![0usize; accounts.len()];
    let most = accounts.iter().map(|a| a.due.len()).max().unwrap_or(0);
    'turns: for turn in 0..most {
        for (index, account) in accounts.iter().enumerate() {
            if picked.len() >= limit {
                break 'turns;
            }
            if let Some(id) = account.due.get(turn) {
                picked.push((id.clone(), false));
                taken[index] += 1;
            }
        }
    }
    let spacing = request.account_spacing_ms.max(0);
    let requeue = accounts
        .iter()
        .zip(&taken)
        .filter_map(|(account, &n)| {
            if n > 0 {
                // Half an interval early, so that the next claim is back before the budget
                // allows the next post (a post waits at most that long in a slot) instead of
                // after it (the account would fall below its allowed rate by the claim's delay).
                let gap = (n as i64)
                    .saturating_mul(spacing)
                    .saturating_sub(spacing / 2)
                    .max(0);
                Some((account.account_id.clone(), request.now.saturating_add(gap)))
            } else if account.due.is_empty() {
                Some((account.account_id.clone(), 0))
            } else {
                // Due posts left for the next claim: the account keeps its place.
                None
            }
        })
        .collect();
    ClaimPlan { picked, requeue }
}

impl Store {
    /// Claims up to `limit` due posts for `owner` until `now + lease_ms`: queued posts whose
    /// `next_attempt_at` has come, and posts whose previous owner's lease expired (taken over,
    /// the old attempt recorded as `fenced_out`). At most `per_account_limit` posts per account,
    /// accounts taking turns in the order of the ready queue. Each claimed post gets a new
    /// fence and an attempt row; all of it is committed before this returns.
    ///
    /// The cost follows `limit`, not the number of accounts or the backlog (see the module
    /// documentation).
    pub async fn claim_due_posts(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
        per_account_limit: i64,
    ) -> Result<Vec<ClaimedPost>, StoreError> {
        self.claim(&ClaimRequest {
            owner,
            now,
            lease_ms,
            limit,
            per_account_limit,
            account_spacing_ms: 0,
        })
        .await
    }

    /// [`Store::claim_due_posts`] with every setting, the accounts' spacing included.
    pub async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedPost>, StoreError> {
        if request.limit <= 0 || request.per_account_limit <= 0 {
            return Ok(Vec::new());
        }
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let mut write = Store::sqlite_write(writer).await?;
                let claimed = claim_sqlite(&mut write.tx, request).await?;
                write.commit().await?;
                Ok(claimed)
            }
            Pools::Postgres(pool) => {
                let mut tx = Store::postgres_write(pool).await?;
                let claimed = claim_postgres(&mut tx, request).await?;
                tx.commit().await?;
                Ok(claimed)
            }
        }
    }

    /// Keeps the account's posts from being claimed before `until` (its Pinterest budget is
    /// spent until then). A later touch cannot bring them earlier; a later defer can only move
    /// the time on.
    pub async fn defer_account(&self, account_id: &str, until: i64) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO account_queue (account_id, next_at, not_before) VALUES ($1, NULL, $2)
                 ON CONFLICT (account_id) DO UPDATE SET
                    not_before = CASE WHEN account_queue.not_before < $2 THEN $2
                        ELSE account_queue.not_before END,
                    next_at = CASE WHEN account_queue.next_at < $2 THEN $2
                        ELSE account_queue.next_at END",
            )
            .bind(account_id)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Brings every account's `next_at` down to its earliest queued post where it is later or
    /// missing. Only lowers, so it is safe beside running claims; for a start-up check and for
    /// posts written by a bulk load that bypassed the store. Reads every queued post once.
    pub async fn rebuild_claim_index(&self) -> Result<u64, StoreError> {
        let changed = write_tx!(self, tx => {
            sqlx::query(concat!(
                "INSERT INTO account_queue (account_id, next_at)
                 SELECT account_id, MIN(next_attempt_at) FROM posts
                 WHERE status = 'queued' GROUP BY account_id",
                lower_next_at!()
            ))
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(changed)
    }

    /// Accounts whose ready-queue time is later than their earliest queued post, or missing:
    /// breaches of the invariant (for tests and `doctor`). Reads every queued post.
    pub async fn claim_index_breaches(&self) -> Result<Vec<String>, StoreError> {
        let breaches = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT p.account_id FROM posts p
                 LEFT JOIN account_queue q ON q.account_id = p.account_id
                 WHERE p.status = 'queued'
                 GROUP BY p.account_id, q.next_at, q.not_before
                 HAVING q.next_at IS NULL OR q.next_at > CASE
                    WHEN q.not_before > MIN(p.next_attempt_at) THEN q.not_before
                    ELSE MIN(p.next_attempt_at) END
                 ORDER BY p.account_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(breaches)
    }
}

/// Groups `(account, post)` rows, accounts in the order given, into locked accounts.
fn group_accounts(rows: Vec<(String, Option<String>)>) -> Vec<LockedAccount> {
    let mut accounts: Vec<LockedAccount> = Vec::new();
    for (account_id, post) in rows {
        if accounts.last().is_none_or(|a| a.account_id != account_id) {
            accounts.push(LockedAccount {
                account_id,
                due: Vec::new(),
            });
        }
        if let (Some(post), Some(account)) = (post, accounts.last_mut()) {
            account.due.push(post);
        }
    }
    accounts
}

/// The claim on SQLite, inside the caller's `BEGIN IMMEDIATE` transaction (so nobody else can
/// claim in between): read the first ready accounts with their first due posts and the expired
/// leases, plan, then write.
async fn claim_sqlite(
    tx: &mut sqlx::SqliteConnection,
    request: &ClaimRequest<'_>,
) -> Result<Vec<ClaimedPost>, StoreError> {
    let now = request.now;
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "WITH ready(account_id, place) AS (
            SELECT account_id, ROW_NUMBER() OVER (ORDER BY next_at, account_id) FROM (
                SELECT account_id, next_at FROM account_queue INDEXED BY account_queue_next
                WHERE next_at <= $1 ORDER BY next_at, account_id LIMIT $2))
         SELECT r.account_id, p.id FROM ready r
         LEFT JOIN posts p ON p.id IN (
            SELECT d.id FROM posts d INDEXED BY posts_queued_by_account
            WHERE d.account_id = r.account_id AND d.status = 'queued'
              AND d.next_attempt_at <= $1
            ORDER BY d.next_attempt_at, d.id LIMIT $3)
         ORDER BY r.place, p.next_attempt_at, p.id",
    )
    .bind(now)
    .bind(request.limit)
    .bind(request.per_account_limit)
    .fetch_all(&mut *tx)
    .await?;
    let takeovers: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM posts INDEXED BY posts_leased
         WHERE status = 'publishing' AND lease_until < $1
         ORDER BY lease_until, id LIMIT $2",
    )
    .bind(now)
    .bind(request.limit)
    .fetch_all(&mut *tx)
    .await?;
    let accounts = group_accounts(rows);
    let plan = plan_claim(takeovers, &accounts, request);
    if plan.picked.is_empty() {
        requeue_sqlite(tx, &plan.requeue).await?;
        return Ok(Vec::new());
    }

    let taken_over: Vec<&str> = plan
        .picked
        .iter()
        .filter(|(_, taken_over)| *taken_over)
        .map(|(id, _)| id.as_str())
        .collect();
    if !taken_over.is_empty() {
        let fenced_out = format!(
            "UPDATE post_attempts SET finished_at = $1, outcome = 'fenced_out'
             WHERE finished_at IS NULL AND post_id IN ({})",
            placeholders(2, taken_over.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(fenced_out)).bind(now);
        for id in &taken_over {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
    }

    let lease_until = now.saturating_add(request.lease_ms);
    let ids = placeholders(4, plan.picked.len());
    // The unary `+` keeps the status and time terms from being used as index terms: without
    // statistics SQLite would otherwise serve the `OR` from `posts_due`, reading every due post
    // (68 ms at 200,000 due posts) instead of the few ids by primary key (under 1 ms).
    let claim = format!(
        "UPDATE posts SET status = 'publishing', lease_owner = $1, lease_until = $2,
            fence = fence + 1, attempts = attempts + 1,
            first_attempt_at = COALESCE(first_attempt_at, $3), updated_at = $3
         WHERE id IN ({ids}) AND ((+status = 'queued' AND +next_attempt_at <= $3)
            OR (+status = 'publishing' AND +lease_until < $3))
         RETURNING {COLUMNS},
            (SELECT a.pinterest_user_id FROM accounts a WHERE a.id = posts.account_id)
                AS account_pinterest_user_id,
            (SELECT a.status FROM accounts a WHERE a.id = posts.account_id) AS account_status,
            (SELECT a.status_reason FROM accounts a WHERE a.id = posts.account_id)
                AS account_status_reason,
            (SELECT a.token_version FROM accounts a WHERE a.id = posts.account_id)
                AS account_token_version"
    );
    let mut query = sqlx::query_as::<_, ClaimedRow>(sqlx::AssertSqlSafe(claim))
        .bind(request.owner)
        .bind(lease_until)
        .bind(now);
    for (id, _) in &plan.picked {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *tx).await?;

    if !rows.is_empty() {
        let attempts = format!(
            "INSERT INTO post_attempts (post_id, attempt, fence, lease_owner, started_at)
             SELECT id, attempts, fence, lease_owner, $1 FROM posts
             WHERE id IN ({}) AND lease_owner = $2 AND +status = 'publishing'",
            placeholders(3, rows.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(attempts))
            .bind(now)
            .bind(request.owner);
        for row in &rows {
            query = query.bind(&row.post.id);
        }
        query.execute(&mut *tx).await?;
    }
    requeue_sqlite(tx, &plan.requeue).await?;

    // RETURNING comes in no particular order: give the rows back in the planned order.
    let mut by_id: HashMap<String, ClaimedRow> = rows
        .into_iter()
        .map(|row| (row.post.id.clone(), row))
        .collect();
    Ok(plan
        .picked
        .into_iter()
        .filter_map(|(id, taken_over)| by_id.remove(&id).map(|row| row.into_claim(taken_over)))
        .collect())
}

/// Raises each account's `not_before` to its floor and sets its `next_at` to the later of its
/// earliest queued post (read now, after the claim's own update) and that, or NULL when nothing
/// is queued. (SQLite's multi-argument `MAX` is NULL when an argument is.)
async fn requeue_sqlite(
    tx: &mut sqlx::SqliteConnection,
    requeue: &[(String, i64)],
) -> Result<(), StoreError> {
    if requeue.is_empty() {
        return Ok(());
    }
    let rows = (0..requeue.len())
        .map(|i| format!("({})", placeholders(1 + i * 2, 2)))
        .collect::<Vec<_>>()
        .join(", ");
    // VALUES columns: column1 account_id, column2 floor.
    let update = format!(
        "UPDATE account_queue SET not_before = MAX(account_queue.not_before, v.column2),
            next_at = MAX(
                (SELECT MIN(p.next_attempt_at) FROM posts p INDEXED BY posts_queued_by_account
                 WHERE p.account_id = account_queue.account_id AND p.status = 'queued'),
                v.column2, account_queue.not_before)
         FROM (VALUES {rows}) AS v
         WHERE account_queue.account_id = v.column1"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(update));
    for (account_id, floor) in requeue {
        query = query.bind(account_id).bind(*floor);
    }
    query.execute(&mut *tx).await?;
    Ok(())
}

/// The claim on PostgreSQL: two statements (see the module documentation for why two).
async fn claim_postgres(
    tx: &mut sqlx::PgConnection,
    request: &ClaimRequest<'_>,
) -> Result<Vec<ClaimedPost>, StoreError> {
    let now = request.now;
    // Locked ready accounts with their first due posts (kind 'a', post NULL when none is due),
    // then locked expired leases (kind 't').
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "WITH ready AS MATERIALIZED (
            SELECT account_id, next_at FROM account_queue
            WHERE next_at <= $1 ORDER BY next_at, account_id LIMIT $2
            FOR NO KEY UPDATE SKIP LOCKED
         ), expired AS MATERIALIZED (
            SELECT id, lease_until FROM posts
            WHERE status = 'publishing' AND lease_until < $1
            ORDER BY lease_until, id LIMIT $2
            FOR UPDATE SKIP LOCKED
         )
         SELECT kind, account_id, post_id FROM (
            SELECT 'a' AS kind, r.account_id, d.id AS post_id, r.next_at AS o1, d.next_attempt_at
                AS o2
            FROM ready r LEFT JOIN LATERAL (
                SELECT p.id, p.next_attempt_at FROM posts p
                WHERE p.account_id = r.account_id AND p.status = 'queued'
                  AND p.next_attempt_at <= $1
                ORDER BY p.next_attempt_at, p.id LIMIT $3) d ON TRUE
            UNION ALL
            SELECT 't', '', id, lease_until, 0 FROM expired
         ) rows
         ORDER BY kind, o1, account_id, o2, post_id",
    )
    .bind(now)
    .bind(request.limit)
    .bind(request.per_account_limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut takeovers = Vec::new();
    let mut ready = Vec::new();
    for (kind, account_id, post_id) in rows {
        if kind == "t" {
            takeovers.extend(post_id);
        } else {
            ready.push((account_id, post_id));
        }
    }
    let accounts = group_accounts(ready);
    let plan = plan_claim(takeovers, &accounts, request);
    if plan.picked.is_empty() && plan.requeue.is_empty() {
        return Ok(Vec::new());
    }

    let ids: Vec<&str> = plan.picked.iter().map(|(id, _)| id.as_str()).collect();
    let taken_over: Vec<bool> = plan.picked.iter().map(|(_, t)| *t).collect();
    let turns: Vec<i64> = (0..plan.picked.len() as i64).collect();
    let requeue_accounts: Vec<&str> = plan.requeue.iter().map(|(a, _)| a.as_str()).collect();
    let floors: Vec<i64> = plan.requeue.iter().map(|(_, f)| *f).collect();
    let returning = columns_of("p");
    let selected = columns_of("claimed");
    // $1 ids, $2 taken over, $3 turns, $4 now, $5 owner, $6 lease_until, $7 accounts to
    // requeue, $8 their floors.
    let claim = format!(
        "WITH picked AS (
            SELECT * FROM UNNEST($1::text[], $2::boolean[], $3::bigint[])
                AS x(id, taken_over, turn)
         ), fenced_out AS (
            UPDATE post_attempts a SET finished_at = $4, outcome = 'fenced_out'
            FROM picked
            WHERE picked.taken_over AND a.post_id = picked.id AND a.finished_at IS NULL
         ), claimed AS (
            UPDATE posts p SET status = 'publishing', lease_owner = $5, lease_until = $6,
                fence = p.fence + 1, attempts = p.attempts + 1,
                first_attempt_at = COALESCE(p.first_attempt_at, $4), updated_at = $4
            FROM picked WHERE p.id = picked.id
              AND ((p.status = 'queued' AND p.next_attempt_at <= $4)
                OR (p.status = 'publishing' AND p.lease_until < $4))
            RETURNING {returning}, picked.taken_over, picked.turn
         ), attempts AS (
            INSERT INTO post_attempts (post_id, attempt, fence, lease_owner, started_at)
            SELECT id, attempts, fence, $5, $4 FROM claimed
         ), requeued AS (
            UPDATE account_queue q SET not_before = GREATEST(q.not_before, f.floor),
                next_at = CASE WHEN n.head IS NULL THEN NULL
                    ELSE GREATEST(n.head, f.floor, q.not_before) END
            FROM UNNEST($7::text[], $8::bigint[]) AS f(account_id, floor)
            CROSS JOIN LATERAL (
                SELECT MIN(p.next_attempt_at) AS head FROM posts p
                WHERE p.account_id = f.account_id AND p.status = 'queued'
                  AND p.id <> ALL($1::text[])) n
            WHERE q.account_id = f.account_id
         )
         SELECT {selected}, claimed.taken_over,
            a.pinterest_user_id AS account_pinterest_user_id, a.status AS account_status,
            a.status_reason AS account_status_reason,
            a.token_version AS account_token_version
         FROM claimed LEFT JOIN accounts a ON a.id = claimed.account_id
         ORDER BY claimed.turn"
    );
    let rows: Vec<PgClaimedRow> = sqlx::query_as(sqlx::AssertSqlSafe(claim))
        .bind(&ids)
        .bind(&taken_over)
        .bind(&turns)
        .bind(now)
        .bind(request.owner)
        .bind(now.saturating_add(request.lease_ms))
        .bind(&requeue_accounts)
        .bind(&floors)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| row.claimed.into_claim(row.taken_over))
        .collect())
}

/// A claimed row on PostgreSQL, with whether it was taken over.
#[derive(sqlx::FromRow)]
struct PgClaimedRow {
    #[sqlx(flatten)]
    claimed: ClaimedRow,
    taken_over: bool,
}

/// A claimed post as the claim statements return it: the post after the claim and its
/// account as the claim read it.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    post: PostRow,
    account_pinterest_user_id: Option<String>,
    account_status: Option<String>,
    account_status_reason: Option<String>,
    account_token_version: Option<i64>,
}

impl ClaimedRow {
    fn into_claim(self, taken_over: bool) -> ClaimedPost {
        let account = match (
            self.account_pinterest_user_id,
            self.account_status,
            self.account_token_version,
        ) {
            (Some(pinterest_user_id), Some(status), Some(token_version)) => Some(ClaimedAccount {
                pinterest_user_id,
                status,
                status_reason: self.account_status_reason,
                token_version,
            }),
            _ => None,
        };
        ClaimedPost {
            fence: self.post.fence,
            post: self.post,
            taken_over,
            account,
        }
    }
}

/// Ids that appear more than once (a plan must never hand out a post twice).
#[cfg(test)]
fn repeated(plan: &ClaimPlan) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    plan.picked
        .iter()
        .filter(|(id, _)| !seen.insert(id.as_str()))
        .map(|(id, _)| id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: i64, spacing: i64) -> ClaimRequest<'static> {
        ClaimRequest {
            owner: "w",
            now: 1_000,
            lease_ms: 60_000,
            limit,
            per_account_limit: 4,
            account_spacing_ms: spacing,
        }
    }

    fn account(id: &str, due: &[&str]) -> LockedAccount {
        LockedAccount {
            account_id: id.into(),
            due: due.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    #[test]
    fn accounts_take_turns_and_takeovers_go_first() {
        let accounts = [account("a", &["a1", "a2", "a3"]), account("b", &["b1"])];
        let plan = plan_claim(vec!["t1".into()], &accounts, &request(4, 0));
        let ids: Vec<&str> = plan.picked.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["t1", "a1", "b1", "a2"]);
        assert!(plan.picked[0].1 && !plan.picked[1].1);
        assert!(repeated(&plan).is_empty());
        // Both accounts were taken from: both go behind every account already due.
        assert_eq!(plan.requeue, [("a".into(), 1_000), ("b".into(), 1_000)]);
    }

    #[test]
    fn an_account_not_reached_keeps_its_place_and_an_empty_one_is_repaired() {
        let accounts = [
            account("a", &["a1", "a2"]),
            account("b", &["b1"]),
            account("c", &[]),
        ];
        let plan = plan_claim(Vec::new(), &accounts, &request(1, 0));
        assert_eq!(plan.picked, [("a1".to_owned(), false)]);
        assert_eq!(plan.requeue, [("a".into(), 1_000), ("c".into(), 0)]);
    }

    #[test]
    fn spacing_keeps_an_account_back_for_each_post_taken() {
        let accounts = [account("a", &["a1", "a2", "a3"])];
        let plan = plan_claim(Vec::new(), &accounts, &request(32, 100));
        assert_eq!(plan.picked.len(), 3);
        assert_eq!(plan.requeue, [("a".into(), 1_250)]);
    }
}
