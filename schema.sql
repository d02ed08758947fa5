-- Keygate's D1 schema as it stands: what the files in migrations/ leave, applied in order to an
-- empty database, written out whole for reading (and for tests and the benchmark, which apply it
-- to empty databases). Databases are changed only through migrations/: `wrangler d1 migrations
-- apply DB` (npm start runs it locally). A change is a new migration, mirrored here;
-- test/db/migrations.test.ts fails when the two disagree.
-- Times are ISO 8601 UTC text; secrets are never stored, only their SHA-256 and last four characters.

-- One row per organization whose plan differs from the defaults (DEFAULT_KEY_LIMIT,
-- ORG_RATE_LIMIT); NULL or no row means the default. Set by operators with `npm run set-limits`
-- (README: "Key limits", "Rate limits and usage").
CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,
  key_limit   INTEGER CHECK (key_limit IS NULL OR key_limit >= 0),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  rate_limit_requests INTEGER CHECK (rate_limit_requests IS NULL OR rate_limit_requests > 0),
  rate_limit_window_seconds INTEGER CHECK (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0)
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
  -- The key's own request budget, tighter than its organization's or project's (NULL: none).
  rate_limit_requests INTEGER CHECK (rate_limit_requests IS NULL OR rate_limit_requests > 0),
  rate_limit_window_seconds INTEGER CHECK (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0),
  -- Key lifecycle: when the key stops working by itself (NULL: never), the key it replaced and
  -- the one that replaced it (a roll), and when and where a leak of it was reported.
  expires_at TEXT,
  rolled_from TEXT,
  rolled_to TEXT,
  leaked_at TEXT,
  leak_source TEXT,
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

-- One entry per key change, written in the same batch as the change. (Created under another name
-- by migration 0005, which rebuilt it for its new CHECKs: SQLite keeps the quoted name.)
CREATE TABLE "audit_entries" (
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
  -- The key's name at the time of the change (NULL: written before migration 0003 for a key
  -- deleted by then).
  key_name         TEXT
);

-- The organization's audit log, newest first (by creation time, then insertion order).
CREATE INDEX audit_entries_org_created ON audit_entries (organization_id, created_at, seq);
-- A key's history.
CREATE INDEX audit_entries_key ON audit_entries (key_id, seq);
-- A key's successor and predecessor.
CREATE INDEX api_keys_rolled_from ON api_keys (rolled_from) WHERE rolled_from IS NOT NULL;
-- A new isolate's warm start: active keys, most recently used first (README: "Warm start").
CREATE INDEX api_keys_active_last_used ON api_keys (coalesce(last_used_at, ''), seq) WHERE status = 'active';

-- One row per project whose request budget differs from PROJECT_RATE_LIMIT (set with
-- `npm run set-limits -- --org O --project P --rate N/Ss`).
CREATE TABLE projects (
  organization_id            TEXT NOT NULL,
  project_id                 TEXT NOT NULL,
  rate_limit_requests        INTEGER CHECK (rate_limit_requests IS NULL OR rate_limit_requests > 0),
  rate_limit_window_seconds  INTEGER CHECK (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0),
  created_at                 TEXT NOT NULL,
  updated_at                 TEXT NOT NULL,
  PRIMARY KEY (organization_id, project_id)
);

-- Usage: requests per key and hour (hour = Unix seconds of the hour's start), added up from the
-- per-minute counts isolates flush in batches; rows older than 90 days are deleted. key_id ''
-- counts admin-JWT requests through the /app/v1 gateway; project_id '' organization-level use.
-- refused: refused credentials of a known key (e.g. a project key sent to another project).
CREATE TABLE usage_hourly (
  organization_id  TEXT NOT NULL,
  project_id       TEXT NOT NULL,
  key_id           TEXT NOT NULL,
  hour             INTEGER NOT NULL,
  requests         INTEGER NOT NULL DEFAULT 0,
  rate_limited     INTEGER NOT NULL DEFAULT 0,
  refused          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, key_id, hour)
);
-- An organization's or one project's usage over a range; the 90-day cleanup.
CREATE INDEX usage_hourly_org_hour ON usage_hourly (organization_id, hour);
CREATE INDEX usage_hourly_project_hour ON usage_hourly (organization_id, project_id, hour);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

-- The key change feed (README: "Revocation window"): one row per change that can alter what a
-- verification answers, written by the triggers below in the same transaction as the change,
-- whoever makes it. Isolates read the rows after their cursor every KEY_FEED_SECONDS and drop
-- what changed. secret_hash NULL: every key of the organization, or of its project when
-- project_id is set (a budget change). changed_at: Unix seconds; rows older than a day are deleted.
CREATE TABLE key_changes (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  secret_hash      TEXT,
  organization_id  TEXT NOT NULL,
  project_id       TEXT,
  changed_at       INTEGER NOT NULL
);
-- The retention's delete (rows older than a day).
CREATE INDEX key_changes_changed_at ON key_changes (changed_at);

-- A key's verification record changes with these columns (not with its name, last use or leak flag).
CREATE TRIGGER api_keys_changed AFTER UPDATE OF status, permissions, client_id, rate_limit_requests, rate_limit_window_seconds, expires_at ON api_keys BEGIN INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (OLD.secret_hash, OLD.organization_id, OLD.project_id, unixepoch()); END;
CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys BEGIN INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (OLD.secret_hash, OLD.organization_id, OLD.project_id, unixepoch()); END;
-- Budgets set by operators are part of every key record of the organization or project.
CREATE TRIGGER organizations_budget_set AFTER INSERT ON organizations BEGIN INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (NULL, NEW.id, NULL, unixepoch()); END;
CREATE TRIGGER organizations_budget_changed AFTER UPDATE OF rate_limit_requests, rate_limit_window_seconds ON organizations BEGIN INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (NULL, NEW.id, NULL, unixepoch()); END;
CREATE TRIGGER projects_budget_set AFTER INSERT ON projects BEGIN INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (NULL, NEW.organization_id, NEW.project_id, unixepoch()); END;
CREATE TRIGGER projects_budget_changed AFTER UPDATE OF rate_limit_requests, rate_limit_window_seconds ON projects BEGIN INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (NULL, NEW.organization_id, NEW.project_id, unixepoch()); END;
