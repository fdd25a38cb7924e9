DROP TABLE reminders, scheduled_messages;
