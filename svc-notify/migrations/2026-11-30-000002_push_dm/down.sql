DROP INDEX notifications_unread_idx;
DELETE FROM notifications WHERE type = 'dm';
ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('mention', 'channel', 'here', 'thread_reply', 'reminder', 'scheduled_failed'));
