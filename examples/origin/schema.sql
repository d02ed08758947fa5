-- The reference origin's demo data model. Idempotent.

CREATE TABLE IF NOT EXISTS companies (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL,
  name             TEXT NOT NULL,
  domain           TEXT,
  created_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS companies_org ON companies (organization_id, id);

CREATE TABLE IF NOT EXISTS content_items (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL,
  project_id       TEXT NOT NULL,
  title            TEXT NOT NULL,
  body             TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL CHECK (status IN ('draft', 'published')),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS content_items_project ON content_items (organization_id, project_id, status, created_at);

-- Content types, tags, packages, assets and saved searches of a project: one table, one kind
-- column, the kind-specific fields as JSON.
CREATE TABLE IF NOT EXISTS catalog_items (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL,
  project_id       TEXT NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('content-types', 'tags', 'packages', 'assets', 'saved-searches')),
  name             TEXT NOT NULL,
  data             TEXT NOT NULL DEFAULT '{}',
  created_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS catalog_items_project ON catalog_items (organization_id, project_id, kind, name);
