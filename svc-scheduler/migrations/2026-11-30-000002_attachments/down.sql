ALTER TABLE scheduled_messages DROP COLUMN attachment_ids;
