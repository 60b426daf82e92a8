-- Alerts by email and chat: account events are also put in an alert outbox, an open alert is
-- kept once per account and state (so several replicas send one message, not one each), and
-- each message to each channel is a row until it is sent.
--
-- Every account event inserted from now on is marked `alert_pending` (the column's default);
-- events older than this migration are not alerted on.
ALTER TABLE account_events ADD COLUMN alert_pending BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE account_events SET alert_pending = FALSE;
CREATE INDEX account_events_alert_pending ON account_events (created_at) WHERE alert_pending;

-- One row per account and state while the state lasts: when it was opened, why, and when the
-- last message (first or reminder) about it was queued.
CREATE TABLE account_alerts (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    opened_at    BIGINT NOT NULL,
    last_sent_at BIGINT NOT NULL,
    sent_count   BIGINT NOT NULL,
    PRIMARY KEY (account_id, state)
);

-- One message to one channel: rendered when queued (ids, username, reason and link; never a
-- token), claimed with a lease so that one replica sends it, retried with backoff.
CREATE TABLE alert_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    account_id      TEXT,
    state           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    lease_until     BIGINT,
    sent_at         BIGINT,
    gave_up_at      BIGINT,
    last_error      TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;

-- Cool-downs shared by replicas: when one sees Pinterest's 429 or an exhausted window for a
-- (Pinterest user, category), nothing is sent for it by any replica before `until_ms`.
CREATE TABLE rate_cooldowns (
    pinterest_user_id TEXT NOT NULL,
    category          TEXT NOT NULL,
    until_ms          BIGINT NOT NULL,
    PRIMARY KEY (pinterest_user_id, category)
);
CREATE INDEX rate_cooldowns_until ON rate_cooldowns (until_ms);
