-- The smallest horizon (in days: 14, 7 or 1) for which an `account.token_expiring` alert was
-- sent since the refresh token was last renewed; NULL when none was.
ALTER TABLE accounts ADD COLUMN refresh_expiry_alerted_days INTEGER;
