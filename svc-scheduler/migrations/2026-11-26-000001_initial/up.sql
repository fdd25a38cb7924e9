-- svc-scheduler keeps the truth of every delayed job in PostgreSQL: a job
-- survives a restart of any process; RabbitMQ only carries due work.
CREATE TABLE scheduled_messages (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL,
    author_id       uuid NOT NULL,
    channel_id      uuid,
    conversation_id uuid,
    content         text NOT NULL,
    scheduled_for   timestamptz NOT NULL,
    timezone        text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'sent', 'failed', 'cancelled')),
    error           text,
    message_id      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel_id IS NULL) <> (conversation_id IS NULL))
);
CREATE INDEX scheduled_messages_author_idx ON scheduled_messages (author_id, status);
CREATE INDEX scheduled_messages_due_idx ON scheduled_messages (scheduled_for) WHERE status = 'pending';

CREATE TABLE reminders (
    id            uuid PRIMARY KEY,
    workspace_id  uuid,
    user_id       uuid NOT NULL,
    message_id    uuid,
    text          text,
    remind_at     timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'snoozed', 'completed', 'cancelled')),
    recurrence    text CHECK (recurrence IN ('daily', 'weekly')),
    snoozed_until timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reminders_user_idx ON reminders (user_id, status);
CREATE INDEX reminders_due_idx ON reminders (remind_at) WHERE status IN ('pending', 'snoozed');
