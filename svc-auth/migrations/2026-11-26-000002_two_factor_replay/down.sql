ALTER TABLE two_factor DROP COLUMN last_used_step;
