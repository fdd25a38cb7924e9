-- The uploads a scheduled message carries (claimed for it in svc-files).
ALTER TABLE scheduled_messages ADD COLUMN attachment_ids uuid[] NOT NULL DEFAULT '{}';
