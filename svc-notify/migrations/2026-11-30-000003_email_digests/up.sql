-- Unread mentions and DMs are emailed in batches (digest.rs).
ALTER TABLE notifications ADD COLUMN emailed_at timestamptz;
CREATE TABLE email_settings (
    user_id        uuid PRIMARY KEY,
    -- At most one email per this many minutes; 0: no emails.
    digest_minutes integer NOT NULL CHECK (digest_minutes BETWEEN 0 AND 1440),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE email_digests (
    user_id      uuid PRIMARY KEY,
    due_at       timestamptz NOT NULL,
    last_sent_at timestamptz
);
CREATE INDEX email_digests_due_idx ON email_digests (due_at);
