-- The durable post queue. A post is committed here before the API acknowledges it, and moves
-- queued → publishing → published (or failed / held / canceled). All times are unix milliseconds.
--
-- `fence` grows by one on every claim: a worker's completion only lands when the post still has
-- the fence (and lease owner) it claimed with, so a worker whose lease expired and was taken over
-- cannot overwrite the new owner's result. `outcome_unknown_since` is set when a create was sent
-- and its result is unknown: the next attempt must search the board before sending again.
CREATE TABLE posts (
    id                    TEXT PRIMARY KEY NOT NULL,
    profile_id            TEXT NOT NULL REFERENCES profiles (id),
    account_id            TEXT NOT NULL REFERENCES accounts (id),
    board_id              TEXT NOT NULL,
    board_section_id      TEXT,
    title                 TEXT,
    description           TEXT,
    link                  TEXT,
    alt_text              TEXT,
    media                 TEXT NOT NULL,
    publish_at            INTEGER,
    status                TEXT NOT NULL,
    held_reason           TEXT,
    canary                INTEGER NOT NULL DEFAULT FALSE,
    attempts              INTEGER NOT NULL DEFAULT 0,
    next_attempt_at       INTEGER NOT NULL,
    first_attempt_at      INTEGER,
    lease_owner           TEXT,
    lease_until           INTEGER,
    fence                 INTEGER NOT NULL DEFAULT 0,
    idempotency_key       TEXT,
    request_hash          TEXT,
    pin_id                TEXT,
    pin_url               TEXT,
    outcome_unknown_since INTEGER,
    last_error_class      TEXT,
    last_error_message    TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    published_at          INTEGER
);
CREATE UNIQUE INDEX posts_idempotency ON posts (profile_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX posts_due ON posts (status, next_attempt_at);
CREATE INDEX posts_by_account ON posts (account_id, status, next_attempt_at);
CREATE INDEX posts_by_profile ON posts (profile_id, created_at, id);

-- One row per claim of a post: who tried, under which fence, and how it ended.
CREATE TABLE post_attempts (
    post_id       TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    fence         INTEGER NOT NULL,
    lease_owner   TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    outcome       TEXT,
    error_class   TEXT,
    error_message TEXT,
    PRIMARY KEY (post_id, fence)
);
