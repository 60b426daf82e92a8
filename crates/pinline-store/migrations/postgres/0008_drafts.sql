-- Pin drafts made from one idea (a link, a line of text, an image). Drafts of one idea share an
-- idea_id. The prepared 1000x1500 JPEG is kept with the draft; keywords, the source summary,
-- the generator and the crop are JSON texts. A published draft keeps the id of its post.
CREATE TABLE drafts (
    id           TEXT PRIMARY KEY NOT NULL,
    profile_id   TEXT NOT NULL REFERENCES profiles (id),
    idea_id      TEXT NOT NULL,
    variant      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    alt_text     TEXT NOT NULL,
    link         TEXT,
    keywords     TEXT NOT NULL,
    source       TEXT NOT NULL,
    generator    TEXT NOT NULL,
    image_jpeg   BYTEA NOT NULL,
    image_width  BIGINT NOT NULL,
    image_height BIGINT NOT NULL,
    crop         TEXT NOT NULL,
    post_id      TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX drafts_by_profile ON drafts (profile_id, created_at, id);
