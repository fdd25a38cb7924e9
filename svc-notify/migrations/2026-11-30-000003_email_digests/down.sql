DROP TABLE email_digests;
DROP TABLE email_settings;
ALTER TABLE notifications DROP COLUMN emailed_at;
