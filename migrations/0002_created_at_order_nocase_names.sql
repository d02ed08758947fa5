-- Migration 0002: project keys and audit entries are listed newest first by creation time (then
-- insertion order) instead of by seq alone, and a project key's name is unique within its
-- project whatever the letter case (SQLite's NOCASE folds A-Z; names are NFC-normalised before
-- they are stored). The indexes these replace are dropped.
--
-- Names that differ only in letter case within one project would stop the case-insensitive
-- unique index from building, so they are made distinct first, the same way on every database:
-- in each group of project keys of one project whose names are equal under NOCASE, the earliest
-- (lowest seq) keeps its name and the later ones, in seq order, get " (2)", " (3)" ... appended
-- ("Deploy", "deploy", "DEPLOY" become "Deploy", "deploy (2)", "DEPLOY (3)"). Should that new
-- name already be a project key's name in the project (under NOCASE), the key's own id is
-- appended instead ("deploy (key_...)"), which no other key holds. Nothing else about the key
-- changes (its audit entries keep the names they recorded), and a name lengthened past 100
-- characters is kept as it is. The new names are computed from the table as it was before any
-- of them is written (_keygate_0002_renames, dropped again below).

DROP INDEX IF EXISTS api_keys_project;
DROP INDEX IF EXISTS api_keys_project_status;
DROP INDEX IF EXISTS api_keys_project_name;
DROP INDEX IF EXISTS audit_entries_org;

-- Listing one project's keys, newest first, with or without a status filter.
CREATE INDEX IF NOT EXISTS api_keys_project_created ON api_keys (organization_id, project_id, created_at, seq)
  WHERE kind = 'project';
CREATE INDEX IF NOT EXISTS api_keys_project_status_created ON api_keys (organization_id, project_id, status, created_at, seq)
  WHERE kind = 'project';

-- The organization's audit log, newest first.
CREATE INDEX IF NOT EXISTS audit_entries_org_created ON audit_entries (organization_id, created_at, seq);

-- Project key names equal under NOCASE within a project: the later ones renamed (see above).
CREATE TABLE _keygate_0002_renames (
  seq   INTEGER PRIMARY KEY,
  name  TEXT NOT NULL
);
INSERT INTO _keygate_0002_renames (seq, name)
SELECT later.seq,
       CASE
         WHEN EXISTS (SELECT 1 FROM api_keys AS taken
                      WHERE taken.kind = 'project'
                        AND taken.organization_id = later.organization_id
                        AND taken.project_id = later.project_id
                        AND taken.name = later.numbered COLLATE NOCASE)
         THEN later.name || ' (' || later.id || ')'
         ELSE later.numbered
       END
FROM (SELECT seq, id, organization_id, project_id, name, position,
             name || ' (' || position || ')' AS numbered
      FROM (SELECT seq, id, organization_id, project_id, name,
                   ROW_NUMBER() OVER (PARTITION BY organization_id, project_id, name COLLATE NOCASE ORDER BY seq) AS position
            FROM api_keys
            WHERE kind = 'project')
      WHERE position > 1) AS later;
UPDATE api_keys
SET name = (SELECT renamed.name FROM _keygate_0002_renames AS renamed WHERE renamed.seq = api_keys.seq)
WHERE seq IN (SELECT seq FROM _keygate_0002_renames);
DROP TABLE _keygate_0002_renames;

-- A project key's name is unique within its project, whatever the letter case.
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_project_name_nocase ON api_keys (organization_id, project_id, name COLLATE NOCASE)
  WHERE kind = 'project';
