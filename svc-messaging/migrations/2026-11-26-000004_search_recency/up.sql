-- Search ranks the most recent matches: walk a workspace's messages newest
-- first and stop once enough match, instead of ranking every match.
CREATE INDEX messages_workspace_created_idx ON messages (workspace_id, created_at DESC);
