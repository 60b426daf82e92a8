-- Weekly time slots and the spacing rule, per account. `slots` holds one "weekday HH:MM" per
-- line, wall-clock times in `time_zone` (an IANA name); `spacing_secs` is the minimum time
-- between pins of the same link or image (0: no rule). The row is also what a placement locks:
-- two posts asking for the next slot of one account take turns on it.
CREATE TABLE account_schedules (
    account_id   TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    time_zone    TEXT NOT NULL,
    slots        TEXT NOT NULL,
    spacing_secs BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);

-- Why a post's `publish_at` is not the time its caller gave ('slot' or 'spaced'), and the time
-- the caller gave; `image_key` names the post's image (its URL, or a hash of its bytes) so the
-- spacing rule can find pins of the same image.
ALTER TABLE posts ADD COLUMN placement TEXT;
ALTER TABLE posts ADD COLUMN requested_publish_at BIGINT;
ALTER TABLE posts ADD COLUMN image_key TEXT;

-- The W3C trace context of the request that accepted the post, when traces are exported, so
-- the worker that publishes it continues the same trace.
ALTER TABLE posts ADD COLUMN trace_parent TEXT;
