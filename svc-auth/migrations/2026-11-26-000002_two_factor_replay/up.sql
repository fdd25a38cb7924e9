-- A TOTP code is accepted once: remember the last time step used.
ALTER TABLE two_factor ADD COLUMN last_used_step bigint NOT NULL DEFAULT 0;
