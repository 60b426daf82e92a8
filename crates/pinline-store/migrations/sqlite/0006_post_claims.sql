-- Indexes for claiming posts without reading the backlog.
--
-- `posts_queued_by_account` holds only queued posts, in the order a claim takes them within an
-- account: the claim finds the accounts with queued posts by a skip scan of it (one probe per
-- account) and reads only the first few due posts of each, so its cost follows the number of
-- accounts, not the number of queued posts. `posts_leased` finds expired leases to take over
-- among the few posts being published.
CREATE INDEX posts_queued_by_account ON posts (account_id, next_attempt_at, id)
    WHERE status = 'queued';
CREATE INDEX posts_leased ON posts (lease_until) WHERE status = 'publishing';
