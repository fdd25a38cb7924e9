-- Uploads: where an image's thumbnail lives. The job tables (outbox,
-- processed_events) are the runtime's (ocomms_runtime::jobs::SCHEMA).
ALTER TABLE file_attachments
    ADD COLUMN thumbnail_key text,
    ADD COLUMN width         integer,
    ADD COLUMN height        integer;
CREATE INDEX file_attachments_unclaimed_idx ON file_attachments (created_at) WHERE message_id IS NULL AND kind = 'attachment';
