-- A guest's invite grants channels (svc-auth keeps the list); the grant
-- becomes a channel membership once. Recording that it was used makes a
-- later removal from the channel stick: the grant is not applied again.
-- The rows go when the guest leaves the workspace, so a new invite starts
-- afresh.
CREATE TABLE guest_grants_used (
    user_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    workspace_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_id)
);
CREATE INDEX guest_grants_used_workspace_idx ON guest_grants_used (workspace_id, user_id);
