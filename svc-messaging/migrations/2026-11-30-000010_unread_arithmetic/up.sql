-- Unread counts are arithmetic on gap-free sequences: the place's last
-- sequence minus the reader's mark, minus the deleted messages past the
-- mark (a reader's own messages never lie past their mark: every send
-- moves its author's mark to it). These indexes count the deleted ones.
CREATE INDEX messages_channel_deleted_idx ON messages (channel_id, sequence) WHERE is_deleted;
CREATE INDEX messages_conversation_deleted_idx ON messages (conversation_id, sequence) WHERE is_deleted;
