-- What an API key may do: a comma-separated list of scopes (`posts:read`, `posts:write`, …),
-- checked on every route. NULL is every scope, which is what keys created before scopes had.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
