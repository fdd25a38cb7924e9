DROP INDEX outbox_due_idx;
ALTER TABLE outbox DROP COLUMN due_at;
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL;
