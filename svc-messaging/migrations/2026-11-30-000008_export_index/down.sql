DROP INDEX messages_author_idx;
