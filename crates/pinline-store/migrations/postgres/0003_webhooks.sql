-- Webhooks: a profile's HTTPS endpoints that receive signed event notifications. The signing
-- secret is sealed by the vault's key ring (associated data `webhook:<id>:secret`), never stored
-- in the clear. `events` is a comma-separated list of event names, or `*` for all of them.
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY NOT NULL,
    profile_id    TEXT NOT NULL REFERENCES profiles (id),
    url           TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    events        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);
CREATE INDEX webhooks_by_profile ON webhooks (profile_id, created_at);

-- One row per event per matching webhook. `status` is 'pending' (waiting for its next attempt,
-- possibly leased by a worker until `lease_until`), 'delivered' or 'failed' (gave up).
-- All times are unix milliseconds.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    profile_id       TEXT NOT NULL REFERENCES profiles (id),
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);
-- The delivery worker's scan: pending deliveries by due time, and nothing else.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
CREATE INDEX webhook_deliveries_by_profile ON webhook_deliveries (profile_id, created_at);

-- The delivery log: one row per HTTP attempt, numbered from 1 within its delivery.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
