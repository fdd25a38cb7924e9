-- The GDPR export pages through what one member wrote in a workspace.
CREATE INDEX messages_author_idx ON messages (workspace_id, author_id, id);
