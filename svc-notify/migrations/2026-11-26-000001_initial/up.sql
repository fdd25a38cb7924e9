-- svc-notify: notifications, per-channel settings, push subscriptions, and
-- the ids of events already handled (idempotent consumers).
CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    workspace_id uuid,
    type         text NOT NULL CHECK (type IN ('mention', 'channel', 'here', 'thread_reply')),
    title        text NOT NULL,
    body         text,
    data         jsonb NOT NULL DEFAULT '{}',
    is_read      boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_idx ON notifications (user_id, is_read, created_at DESC);

CREATE TABLE channel_notification_settings (
    user_id    uuid NOT NULL,
    channel_id uuid NOT NULL,
    level      text NOT NULL DEFAULT 'all' CHECK (level IN ('all', 'mentions', 'none')),
    muted      boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_id)
);

CREATE TABLE push_subscriptions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    endpoint   text NOT NULL UNIQUE,
    p256dh     text NOT NULL,
    auth       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);

CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
