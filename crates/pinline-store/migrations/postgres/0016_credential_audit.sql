-- The credential path's trail: one row per call a tool made through the Pinterest passthrough
-- and per access token handed out. Never a token and never a body: which token a row is about
-- is its account's token version.
CREATE TABLE credential_audit (
    id                   TEXT PRIMARY KEY NOT NULL,
    at                   BIGINT NOT NULL,
    profile_id           TEXT NOT NULL REFERENCES profiles (id),
    api_key_id           TEXT NOT NULL,
    account_id           TEXT,
    kind                 TEXT NOT NULL,
    method               TEXT NOT NULL,
    route                TEXT NOT NULL,
    category             TEXT,
    status               BIGINT NOT NULL,
    upstream_status      BIGINT,
    outcome              TEXT NOT NULL,
    pinterest_request_id TEXT,
    latency_ms           BIGINT NOT NULL,
    refreshed            BOOLEAN NOT NULL DEFAULT FALSE,
    retried              BOOLEAN NOT NULL DEFAULT FALSE,
    token_version        BIGINT
);
CREATE INDEX credential_audit_profile_at ON credential_audit (profile_id, at, id);

-- `Idempotency-Key` of pins created through the passthrough: the key, a hash of the body it
-- came with, and Pinterest's answer once there is one, so a retry replays the answer instead
-- of creating a second pin.
CREATE TABLE passthrough_idempotency (
    account_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    body_hash    TEXT NOT NULL,
    state        TEXT NOT NULL,
    status       BIGINT,
    content_type TEXT,
    body         BYTEA,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX passthrough_idempotency_created ON passthrough_idempotency (created_at);

-- The accounts an API key is bound to. A key with rows here reaches only those accounts through
-- the passthrough and the token endpoint, and a key bound to one account need not name it.
CREATE TABLE api_key_accounts (
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    account_id TEXT NOT NULL,
    PRIMARY KEY (api_key_id, account_id)
);
