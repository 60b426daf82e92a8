-- A campaign: one idea (a URL or a text) turned into pins spread over an account's boards and
-- days. The campaign row is written before its first post, and each pin row as its post is
-- accepted (or refused), so a campaign interrupted halfway still lists what it queued.
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    profile_id  TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    idea        TEXT NOT NULL,
    pins        BIGINT NOT NULL,
    days        BIGINT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX campaigns_by_profile ON campaigns (profile_id, created_at, id);

CREATE TABLE campaign_pins (
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    draft_id      TEXT NOT NULL,
    board_id      TEXT NOT NULL,
    post_id       TEXT,
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (campaign_id, position)
);
