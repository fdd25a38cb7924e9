-- The engine: due work leaves through the outbox (relayed to RabbitMQ);
-- jobs already handled are remembered (idempotent consumers).
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

-- Reminders keep their rule as the user stated it: the IANA zone and the
-- local time of day, so that a daily reminder stays at 09:00 across
-- daylight-saving changes.
ALTER TABLE reminders
    ADD COLUMN timezone   text NOT NULL DEFAULT 'UTC',
    ADD COLUMN local_time time,
    ADD COLUMN fired_at   timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
