DELETE FROM notifications WHERE type IN ('reminder', 'scheduled_failed');
ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check CHECK (type IN ('mention', 'channel', 'here', 'thread_reply'));
