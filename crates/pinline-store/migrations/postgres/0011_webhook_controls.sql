-- Webhooks an operator can steer: a run of given-up deliveries disables a webhook (and says
-- why), and a rotated secret keeps signing beside the new one until a grace period ends.
ALTER TABLE webhooks ADD COLUMN failed_in_a_row BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_sealed TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;
