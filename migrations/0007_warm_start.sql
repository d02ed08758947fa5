-- Migration number: 0007 	 2026-11-29
-- A new isolate's warm start (README: "Warm start"): it reads the active keys most recently used
-- first, in pages (src/db/api-keys.ts readWarmKeys). This index serves that order, so a page
-- reads its own rows and not the whole table.
CREATE INDEX api_keys_active_last_used ON api_keys (coalesce(last_used_at, ''), seq) WHERE status = 'active';
