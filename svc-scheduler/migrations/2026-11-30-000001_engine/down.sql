ALTER TABLE reminders DROP COLUMN timezone, DROP COLUMN local_time, DROP COLUMN fired_at, DROP COLUMN updated_at;
