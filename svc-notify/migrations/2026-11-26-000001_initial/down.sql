DROP TABLE processed_events, push_subscriptions, channel_notification_settings, notifications;
