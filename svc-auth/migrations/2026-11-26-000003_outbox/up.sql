-- Durable work leaving svc-auth (see ocomms_runtime::jobs): delayed jobs
-- such as a guest's expiry keep their truth here until due.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    routing_key  text NOT NULL,
    payload      jsonb NOT NULL,
    due_at       timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (due_at, id) WHERE published_at IS NULL;

-- Jobs already handled by svc-auth's consumers (idempotence).
CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
