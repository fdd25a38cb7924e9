-- Link previews of a message's first links, as svc-files fetched them.
ALTER TABLE messages ADD COLUMN link_previews jsonb NOT NULL DEFAULT '[]';
