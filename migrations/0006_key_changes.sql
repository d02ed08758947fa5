-- Migration number: 0006 	 2026-11-29
-- The key change feed (README: "Revocation window"): one row per change that can alter what a
-- verification answers, written by triggers in the same transaction as the change, whoever makes
-- it (the API, the leak endpoint, `npm run set-limits`, a hand-written UPDATE). Isolates read the
-- rows after their cursor every KEY_FEED_SECONDS and drop what changed, so a verified key can stay
-- in an isolate without a read of its own. secret_hash NULL: every key of the organization (a
-- budget change), or of its project when project_id is set. changed_at: Unix seconds.
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
