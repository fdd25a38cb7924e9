DROP INDEX messages_content_trgm_idx;
DROP TABLE message_mentions;
