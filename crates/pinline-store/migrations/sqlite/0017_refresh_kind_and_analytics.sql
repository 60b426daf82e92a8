-- Which kind of refresh token an account holds: 'continuous' (60 days, renewed by every refresh)
-- or 'legacy' (365 days from the connect, a hard end no refresh moves); NULL when not known
-- (connected before pinline recorded it).
ALTER TABLE accounts ADD COLUMN refresh_token_kind TEXT;

-- Accounts connected before the kind was recorded: a continuous token never ends more than 60
-- days after now (it lives 60 days from its last renewal), so one that ends over 61 days from now
-- (5,270,400,000 ms) is a legacy one. The rest stay unknown.
UPDATE accounts SET refresh_token_kind = 'legacy'
WHERE refresh_expires_at IS NOT NULL
  AND refresh_expires_at > CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 5270400000;

-- Pinterest analytics as daily snapshots, so that a repeated read costs no live call. One row
-- per account, pin ('' for the whole account) and UTC day; `metrics` is a JSON object of metric
-- name to value, `data_status` Pinterest's word for the day (READY, ESTIMATE, …).
CREATE TABLE analytics_days (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    pin_id      TEXT NOT NULL,
    day         TEXT NOT NULL,
    data_status TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    fetched_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, pin_id, day)
);
