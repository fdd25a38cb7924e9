-- Uploads: where an image's thumbnail lives, and the engine's outbox
-- (delayed cleanup, thumbnails) and processed jobs.
ALTER TABLE file_attachments
    ADD COLUMN thumbnail_key text,
    ADD COLUMN width         integer,
    ADD COLUMN height        integer;
CREATE INDEX file_attachments_unclaimed_idx ON file_attachments (created_at) WHERE message_id IS NULL AND kind = 'attachment';

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    routing_key  text NOT NULL,
    payload      jsonb NOT NULL,
    due_at       timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (due_at, id) WHERE published_at IS NULL;

CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
