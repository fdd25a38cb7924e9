-- The engine's job tables (outbox, processed_events) are the runtime's
-- (ocomms_runtime::jobs::SCHEMA).
--
-- Reminders keep their rule as the user stated it: the IANA zone and the
-- local time of day, so that a daily reminder stays at 09:00 across
-- daylight-saving changes.
ALTER TABLE reminders
    ADD COLUMN timezone   text NOT NULL DEFAULT 'UTC',
    ADD COLUMN local_time time,
    ADD COLUMN fired_at   timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
