ALTER TABLE outbox ADD COLUMN due_at timestamptz NOT NULL DEFAULT now();
DROP INDEX outbox_pending_idx;
CREATE INDEX outbox_due_idx ON outbox (due_at, id) WHERE published_at IS NULL;
