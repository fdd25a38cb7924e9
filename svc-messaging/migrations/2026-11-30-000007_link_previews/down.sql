ALTER TABLE messages DROP COLUMN link_previews;
