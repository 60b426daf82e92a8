-- Embeddable connect: an app that starts a connect for one of its own users passes its id for
-- them (`external_id`), a small JSON object (`metadata`) and where the callback sends the person
-- back (`return_to`). The first two are kept per Pinterest identity (profile, environment, app,
-- Pinterest user), written before the account row and its `account.connected` event, so every
-- account webhook can echo them; `return_to` lives only as long as the connect link.
ALTER TABLE oauth_states ADD COLUMN external_id TEXT;
ALTER TABLE oauth_states ADD COLUMN metadata TEXT;
ALTER TABLE oauth_states ADD COLUMN return_to TEXT;

CREATE TABLE account_links (
    profile_id        TEXT NOT NULL,
    environment       TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    pinterest_user_id TEXT NOT NULL,
    external_id       TEXT,
    metadata          TEXT,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (profile_id, environment, client_id, pinterest_user_id)
);
CREATE INDEX account_links_by_external_id ON account_links (profile_id, external_id);
