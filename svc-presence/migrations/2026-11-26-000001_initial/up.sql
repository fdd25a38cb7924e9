-- Live presence is ephemeral (Redis, or process memory); this keeps the
-- last status each user set per workspace, for "last seen" once the live
-- entry has expired.
CREATE TABLE last_seen (
    workspace_id uuid NOT NULL,
    user_id      uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('active', 'away', 'offline')),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);
