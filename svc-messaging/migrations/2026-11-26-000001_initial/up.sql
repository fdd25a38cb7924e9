-- svc-messaging owns conversations and their content. Workspace and user
-- ids refer to svc-auth's records by value (no cross-database keys).

CREATE TABLE channel_categories (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    name         text NOT NULL,
    position     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_categories_workspace_idx ON channel_categories (workspace_id);

CREATE TABLE channels (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    name         text NOT NULL,
    description  text,
    topic        text,
    is_private   boolean NOT NULL DEFAULT false,
    is_archived  boolean NOT NULL DEFAULT false,
    category_id  uuid REFERENCES channel_categories(id) ON DELETE SET NULL,
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The sequence counter: bumped in each send's transaction, so sequences
    -- are gap-free and concurrent senders serialize on this row only.
    last_seq     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX channels_workspace_name_idx ON channels (workspace_id, name);

CREATE TABLE channel_members (
    channel_id   uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    workspace_id uuid NOT NULL,
    role         text NOT NULL DEFAULT 'member',
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_user_idx ON channel_members (user_id, workspace_id);

CREATE TABLE conversations (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL,
    -- Sorted participant ids joined by ',': one conversation per set.
    participant_key text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_seq        bigint NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, participant_key)
);

CREATE TABLE conversation_participants (
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_participants_user_idx ON conversation_participants (user_id);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    workspace_id    uuid NOT NULL,
    channel_id      uuid REFERENCES channels(id) ON DELETE CASCADE,
    conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
    author_id       uuid NOT NULL,
    content         text NOT NULL,
    parent_id       uuid REFERENCES messages(id),
    sequence        bigint NOT NULL,
    reply_count     integer NOT NULL DEFAULT 0,
    is_deleted      boolean NOT NULL DEFAULT false,
    client_msg_id   text,
    search_vector   tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    CHECK ((channel_id IS NULL) <> (conversation_id IS NULL)),
    UNIQUE (channel_id, sequence),
    UNIQUE (conversation_id, sequence)
);
-- A retried send (same author, same client id) finds the first attempt.
CREATE UNIQUE INDEX messages_client_msg_idx ON messages (author_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_parent_idx ON messages (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX messages_search_idx ON messages USING GIN (search_vector);

CREATE TABLE reactions (
    message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    emoji      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE pins (
    channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, message_id)
);

CREATE TABLE bookmarks (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    workspace_id uuid NOT NULL,
    message_id   uuid REFERENCES messages(id) ON DELETE CASCADE,
    file_id      uuid,
    note         text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookmarks_user_idx ON bookmarks (user_id, created_at DESC);

CREATE TABLE channel_read_state (
    user_id            uuid NOT NULL,
    channel_id         uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    last_read_sequence bigint NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_id)
);

CREATE TABLE conversation_read_state (
    user_id            uuid NOT NULL,
    conversation_id    uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    last_read_sequence bigint NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, conversation_id)
);

CREATE TABLE personal_notes (
    user_id      uuid NOT NULL,
    workspace_id uuid NOT NULL,
    content      text NOT NULL DEFAULT '',
    version      integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, workspace_id)
);

CREATE TABLE channel_notes (
    channel_id uuid PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    content    text NOT NULL DEFAULT '',
    version    integer NOT NULL DEFAULT 0,
    updated_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_groups (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    handle       text NOT NULL,
    name         text NOT NULL,
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, handle)
);

CREATE TABLE user_group_members (
    group_id uuid NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id  uuid NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

-- Transactional outbox: durable side effects (mentions for svc-notify, link
-- previews) written in the same transaction as the change, relayed to
-- RabbitMQ with publisher confirms.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    routing_key  text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL;
