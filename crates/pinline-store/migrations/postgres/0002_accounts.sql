-- Profiles group API keys, accounts, posts and webhooks; a key sees only its own profile.
CREATE TABLE profiles (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- API keys are stored only as SHA-256 hashes of high-entropy random keys.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    profile_id   TEXT NOT NULL REFERENCES profiles (id),
    name         TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Pending OAuth connects: the state is stored hashed and consumed exactly once.
CREATE TABLE oauth_states (
    state_hash      TEXT PRIMARY KEY NOT NULL,
    profile_id      TEXT NOT NULL REFERENCES profiles (id),
    verifier_sealed TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    environment     TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    consumed_at     BIGINT
);

-- One row per connected Pinterest user per profile, environment and app. All times are unix
-- milliseconds so both backends compare them the same way.
CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY NOT NULL,
    profile_id           TEXT NOT NULL REFERENCES profiles (id),
    environment          TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    pinterest_user_id    TEXT NOT NULL,
    username             TEXT NOT NULL,
    scopes               TEXT NOT NULL,
    status               TEXT NOT NULL,
    status_reason        TEXT,
    access_token_sealed  TEXT,
    refresh_token_sealed TEXT,
    access_expires_at    BIGINT,
    refresh_expires_at   BIGINT,
    token_version        BIGINT NOT NULL DEFAULT 0,
    refresh_lease_owner  TEXT,
    refresh_lease_until  BIGINT,
    refresh_started_at   BIGINT,
    last_refresh_at      BIGINT,
    last_error_class     TEXT,
    last_error_message   TEXT,
    last_error_at        BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (profile_id, environment, client_id, pinterest_user_id)
);

-- What happened to accounts, newest last: connects, refreshes, failures, interrupted refreshes.
CREATE TABLE account_events (
    id         TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_events_by_account ON account_events (account_id, created_at);
