-- Dashboard sign-ins, shared by every replica. The id is the SHA-256 of the cookie's token, so
-- the table holds nothing a browser could present. A session lives only while its API key does.
CREATE TABLE dashboard_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
