-- Migration number: 0004 	 2026-11-29
-- Rate limits and usage (README: "Rate limits and usage"). Budgets set by operators: an
-- organization's request budget (NULL: ORG_RATE_LIMIT), a project's (NULL or no row:
-- PROJECT_RATE_LIMIT), and a key's own, tighter one (NULL: none). Usage: requests per key and
-- hour, kept for 90 days.
ALTER TABLE organizations ADD COLUMN rate_limit_requests INTEGER CHECK (rate_limit_requests IS NULL OR rate_limit_requests > 0);
ALTER TABLE organizations ADD COLUMN rate_limit_window_seconds INTEGER CHECK (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0);
ALTER TABLE api_keys ADD COLUMN rate_limit_requests INTEGER CHECK (rate_limit_requests IS NULL OR rate_limit_requests > 0);
ALTER TABLE api_keys ADD COLUMN rate_limit_window_seconds INTEGER CHECK (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0);

CREATE TABLE projects (
  organization_id            TEXT NOT NULL,
  project_id                 TEXT NOT NULL,
  rate_limit_requests        INTEGER CHECK (rate_limit_requests IS NULL OR rate_limit_requests > 0),
  rate_limit_window_seconds  INTEGER CHECK (rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0),
  created_at                 TEXT NOT NULL,
  updated_at                 TEXT NOT NULL,
  PRIMARY KEY (organization_id, project_id)
);

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
CREATE INDEX usage_hourly_org_hour ON usage_hourly (organization_id, hour);
CREATE INDEX usage_hourly_project_hour ON usage_hourly (organization_id, project_id, hour);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);
