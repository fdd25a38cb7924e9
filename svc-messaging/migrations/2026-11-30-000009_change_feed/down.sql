DROP INDEX messages_conversation_changes_idx;
DROP INDEX messages_channel_changes_idx;
ALTER TABLE messages DROP COLUMN change_version;
ALTER TABLE conversations DROP COLUMN change_version;
ALTER TABLE channels DROP COLUMN change_version;
