DROP INDEX file_attachments_unclaimed_idx;
ALTER TABLE file_attachments DROP COLUMN thumbnail_key, DROP COLUMN width, DROP COLUMN height;
