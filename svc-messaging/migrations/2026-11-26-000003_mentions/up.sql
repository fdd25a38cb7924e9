-- Who a message mentions (resolved at send time), for mention counts.
CREATE TABLE message_mentions (
    message_id      uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    channel_id      uuid REFERENCES channels(id) ON DELETE CASCADE,
    conversation_id uuid REFERENCES conversations(id) ON DELETE CASCADE,
    sequence        bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('mention', 'group', 'here', 'channel')),
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_mentions_user_idx ON message_mentions (user_id, channel_id, sequence);
CREATE INDEX message_mentions_user_conv_idx ON message_mentions (user_id, conversation_id, sequence);

-- Trigram index: substring search and languages written without spaces.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_content_trgm_idx ON messages USING GIN (content gin_trgm_ops);
