-- Instance-wide metadata: one row per key (instance id, key-rotation progress, …).
CREATE TABLE app_meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
