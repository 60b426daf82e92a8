-- The ready queue of accounts: one row per account that has (or had) queued posts, ordered by
-- when a claim may next take one of them. A claim reads the first rows of
-- `account_queue_next` instead of visiting every account with queued posts, so its cost follows
-- the posts it takes, not the number of accounts or the backlog (see `posts.rs`).
--
-- `next_at` is never later than the account's earliest queued post (every change that queues a
-- post or moves it earlier lowers it in the same transaction); it may be earlier (a post was
-- canceled, held or rescheduled later), which a claim repairs when it finds nothing due. NULL:
-- nothing queued. `not_before`: the account's Pinterest budget is spent until then (a
-- `Retry-After`, an exhausted window), so no claim takes its posts before it.
CREATE TABLE account_queue (
    account_id TEXT PRIMARY KEY NOT NULL,
    next_at    BIGINT,
    not_before BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX account_queue_next ON account_queue (next_at, account_id)
    WHERE next_at IS NOT NULL;

INSERT INTO account_queue (account_id, next_at)
SELECT account_id, MIN(next_attempt_at) FROM posts WHERE status = 'queued' GROUP BY account_id;

-- Every claim rewrites the rows it takes (a new `next_at`, an indexed column, so no HOT update):
-- keep dead versions few by vacuuming this small table early.
ALTER TABLE account_queue SET (autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000, fillfactor = 70);
