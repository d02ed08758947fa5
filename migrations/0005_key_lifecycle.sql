-- Migration number: 0005 	 2026-11-29
-- Key lifecycle (README: "Key lifecycle"): expiry, rolls (the new key names the one it replaced,
-- the old one its successor), leaks reported by secret scanning; and the audit actions and actor
-- that come with them ('rolled', 'leaked'; the scanner). SQLite cannot change a CHECK constraint,
-- so audit_entries is rebuilt with every row kept (ids, seq and order included).
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN rolled_from TEXT;
ALTER TABLE api_keys ADD COLUMN rolled_to TEXT;
ALTER TABLE api_keys ADD COLUMN leaked_at TEXT;
ALTER TABLE api_keys ADD COLUMN leak_source TEXT;

CREATE TABLE audit_entries_0005 (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  id               TEXT NOT NULL UNIQUE,
  organization_id  TEXT NOT NULL,
  project_id       TEXT,
  key_id           TEXT NOT NULL,
  key_kind         TEXT NOT NULL CHECK (key_kind IN ('org', 'project')),
  action           TEXT NOT NULL CHECK (action IN ('created', 'updated', 'revoked', 'reactivated', 'deleted', 'rolled', 'leaked')),
  actor_type       TEXT NOT NULL CHECK (actor_type IN ('user', 'key', 'scanner')),
  actor_id         TEXT NOT NULL,
  ip               TEXT,
  user_agent       TEXT,
  created_at       TEXT NOT NULL,
  key_name         TEXT
);
INSERT INTO audit_entries_0005 (seq, id, organization_id, project_id, key_id, key_kind, action, actor_type, actor_id, ip, user_agent, created_at, key_name)
  SELECT seq, id, organization_id, project_id, key_id, key_kind, action, actor_type, actor_id, ip, user_agent, created_at, key_name FROM audit_entries;
DROP TABLE audit_entries;
ALTER TABLE audit_entries_0005 RENAME TO audit_entries;
CREATE INDEX audit_entries_org_created ON audit_entries (organization_id, created_at, seq);
CREATE INDEX audit_entries_key ON audit_entries (key_id, seq);
-- A key's successor and predecessor.
CREATE INDEX api_keys_rolled_from ON api_keys (rolled_from) WHERE rolled_from IS NOT NULL;
