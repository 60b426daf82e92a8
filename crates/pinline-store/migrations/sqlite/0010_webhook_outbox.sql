-- The webhook outbox: events are rows written in the same transaction as the change that
-- causes them, and webhook deliveries are made from these rows, never from memory.
--
-- A finished attempt that published, failed or held its post is marked `event_pending` by the
-- same statement that records the attempt; an account event is inserted with it set. A
-- dispatcher turns pending rows into webhook deliveries and clears the mark in one transaction,
-- so a crash anywhere loses nothing (and two dispatchers never fan out the same row twice).
ALTER TABLE post_attempts ADD COLUMN event_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX post_attempts_event_pending ON post_attempts (finished_at) WHERE event_pending;

ALTER TABLE account_events ADD COLUMN event_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_events ADD COLUMN error_class TEXT;
CREATE INDEX account_events_event_pending ON account_events (created_at) WHERE event_pending;
