-- Direct messages notify the other members of the conversation.
ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('mention', 'channel', 'here', 'thread_reply', 'dm', 'reminder', 'scheduled_failed'));
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE NOT is_read;
