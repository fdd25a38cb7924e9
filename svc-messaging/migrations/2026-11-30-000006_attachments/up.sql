-- A message's attachments as svc-files described them when it claimed them
-- ({id, filename, size, mimeType, url, thumbnailUrl?}).
ALTER TABLE messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
