-- Migration number: 0003 	 2026-11-29
-- Audit entries name the key as it was at the time of the change (the console shows names, not
-- ids). Entries written before this migration get the key's name as it is now, when the key
-- still exists; entries of deleted keys keep NULL (the console then shows the id).
ALTER TABLE audit_entries ADD COLUMN key_name TEXT;
UPDATE audit_entries SET key_name = (SELECT name FROM api_keys WHERE api_keys.id = audit_entries.key_id) WHERE key_name IS NULL;
