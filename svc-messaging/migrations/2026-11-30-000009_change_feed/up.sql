-- The change feed (catching up after a long absence): every place counts
-- its changes to existing messages (edits, deletions, reactions, pins,
-- replies, link previews), and each message keeps the number of its latest.
ALTER TABLE channels ADD COLUMN change_version bigint NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN change_version bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN change_version bigint NOT NULL DEFAULT 0;
CREATE INDEX messages_channel_changes_idx ON messages (channel_id, change_version) WHERE change_version > 0;
CREATE INDEX messages_conversation_changes_idx ON messages (conversation_id, change_version) WHERE change_version > 0;
