-- Demo data for npm start: organizations acme and globex, project acme/mobile-app.
INSERT OR IGNORE INTO companies (id, organization_id, name, domain, created_at) VALUES
  ('cmp_acme_1', 'acme', 'Acme Rockets', 'rockets.acme.test', '2026-01-05T09:00:00.000Z'),
  ('cmp_acme_2', 'acme', 'Acme Anvils', 'anvils.acme.test', '2026-02-11T09:00:00.000Z'),
  ('cmp_globex_1', 'globex', 'Globex Chemicals', 'chem.globex.test', '2026-03-01T09:00:00.000Z');

INSERT OR IGNORE INTO content_items (id, organization_id, project_id, title, body, status, created_at, updated_at) VALUES
  ('cnt_welcome', 'acme', 'mobile-app', 'Welcome to Acme', 'Everything you need to launch.', 'published', '2026-04-01T10:00:00.000Z', '2026-04-01T10:00:00.000Z'),
  ('cnt_pricing', 'acme', 'mobile-app', 'Pricing', 'Rockets from 99 credits.', 'published', '2026-04-02T10:00:00.000Z', '2026-04-02T10:00:00.000Z'),
  ('cnt_launch_draft', 'acme', 'mobile-app', 'Spring launch (draft)', 'Not announced yet.', 'draft', '2026-04-03T10:00:00.000Z', '2026-04-03T10:00:00.000Z'),
  ('cnt_web_home', 'acme', 'website', 'Acme home page', 'Hello from the website project.', 'published', '2026-04-04T10:00:00.000Z', '2026-04-04T10:00:00.000Z'),
  ('cnt_globex_news', 'globex', 'mobile-app', 'Globex news', 'Globex only.', 'published', '2026-04-05T10:00:00.000Z', '2026-04-05T10:00:00.000Z');

INSERT OR IGNORE INTO catalog_items (id, organization_id, project_id, kind, name, data, created_at) VALUES
  ('ct_article', 'acme', 'mobile-app', 'content-types', 'Article', '{"fields":["title","body"]}', '2026-04-01T09:00:00.000Z'),
  ('tag_launch', 'acme', 'mobile-app', 'tags', 'launch', '{}', '2026-04-01T09:00:00.000Z'),
  ('pkg_starter', 'acme', 'mobile-app', 'packages', 'Starter kit', '{"version":"1.2.0"}', '2026-04-01T09:00:00.000Z'),
  ('ast_logo', 'acme', 'mobile-app', 'assets', 'logo.png', '{"contentType":"image/png","bytes":20480}', '2026-04-01T09:00:00.000Z'),
  ('ss_pricing', 'acme', 'mobile-app', 'saved-searches', 'Pricing pages', '{"query":"pric"}', '2026-04-01T09:00:00.000Z');
