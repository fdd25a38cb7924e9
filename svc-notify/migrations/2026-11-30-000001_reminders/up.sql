-- Reminders that fire and scheduled messages that could not be sent are
-- notifications too (svc-scheduler's jobs).
ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('mention', 'channel', 'here', 'thread_reply', 'reminder', 'scheduled_failed'));
