-- Keygate's D1 schema as it stands: what the files in migrations/ leave, applied in order to an
-- empty database, written out whole for reading (and for tests and the benchmark, which apply it
-- to empty databases). Databases are changed only through migrations/: `wrangler d1 migrations
-- apply DB` (npm start runs it locally). A change is a new migration, mirrored here;
-- test/db/migrations.test.ts fails when the two disagree.
-- Times are ISO 8601 UTC text; secrets are never stored, only their SHA-256 and last four characters.

-- One row per organization whose plan differs from DEFAULT_KEY_LIMIT; organizations without a
-- row use the default. Raised by operators (README: "Key limits").
CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,
  key_limit   INTEGER CHECK (key_limit IS NULL OR key_limit >= 0),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- Both kinds of key. seq orders keys by creation and backs the opaque list cursors
-- (AUTOINCREMENT: a seq is never reused, so a cursor never skips or repeats a key).
CREATE TABLE api_keys (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  id               TEXT NOT NULL UNIQUE,
  kind             TEXT NOT NULL CHECK (kind IN ('org', 'project')),
  organization_id  TEXT NOT NULL,
  project_id       TEXT,
  name             TEXT NOT NULL,
  client_id        TEXT UNIQUE,
  secret_hash      TEXT NOT NULL UNIQUE,
  key_last_four    TEXT NOT NULL,
  permissions      TEXT NOT NULL DEFAULT '[]',
  status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_by       TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  revoked_at       TEXT,
  last_used_at     TEXT,
  CHECK ((kind = 'org' AND client_id IS NOT NULL AND project_id IS NULL)
      OR (kind = 'project' AND client_id IS NULL AND project_id IS NOT NULL))
);

-- Counting an organization's active keys against its limit, and listing its active keys of one
-- kind newest first.
CREATE INDEX api_keys_org_status_kind ON api_keys (organization_id, status, kind, seq);
-- Listing one project's keys, newest first (by creation time, then insertion order), with or
-- without a status filter.
CREATE INDEX api_keys_project_created ON api_keys (organization_id, project_id, created_at, seq)
  WHERE kind = 'project';
CREATE INDEX api_keys_project_status_created ON api_keys (organization_id, project_id, status, created_at, seq)
  WHERE kind = 'project';
-- A project key's name is unique within its project, whatever the letter case (SQLite's NOCASE
-- folds A-Z; names are NFC-normalised before they are stored).
CREATE UNIQUE INDEX api_keys_project_name_nocase ON api_keys (organization_id, project_id, name COLLATE NOCASE)
  WHERE kind = 'project';

-- One entry per key change, written in the same batch as the change.
CREATE TABLE audit_entries (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  id               TEXT NOT NULL UNIQUE,
  organization_id  TEXT NOT NULL,
  project_id       TEXT,
  key_id           TEXT NOT NULL,
  key_kind         TEXT NOT NULL CHECK (key_kind IN ('org', 'project')),
  action           TEXT NOT NULL CHECK (action IN ('created', 'updated', 'revoked', 'reactivated', 'deleted')),
  actor_type       TEXT NOT NULL CHECK (actor_type IN ('user', 'key')),
  actor_id         TEXT NOT NULL,
  ip               TEXT,
  user_agent       TEXT,
  created_at       TEXT NOT NULL,
  -- The key's name at the time of the change (NULL: written before migration 0003 for a key
  -- deleted by then).
  key_name         TEXT
);

-- The organization's audit log, newest first (by creation time, then insertion order).
CREATE INDEX audit_entries_org_created ON audit_entries (organization_id, created_at, seq);
-- A key's history.
CREATE INDEX audit_entries_key ON audit_entries (key_id, seq);
