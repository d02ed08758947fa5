// npm test's OpenAPI check: builds the app, asks it for /openapi.json exactly as a client would,
// writes the document to test-results/openapi.json and lints it with Redocly's recommended rules
// (redocly.yaml). Exits non-zero on any lint error.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importSource } from './lib/source.mjs';
import { ROOT } from './lib/wrangler.mjs';

const RESULTS = join(ROOT, 'test-results');
mkdirSync(RESULTS, { recursive: true });
const { createApp } = await importSource('app.ts');
// The document needs no binding; the configuration only needs one of its two JWT settings.
const response = await createApp().request('/openapi.json', {}, { JWT_SECRET: 'openapi-check-only-0123456789abcdef' });
if (response.status !== 200) {
  console.error(`GET /openapi.json answered ${response.status}`);
  process.exit(1);
}
const document = join(RESULTS, 'openapi.json');
writeFileSync(document, JSON.stringify(await response.json(), null, 2));

const lint = spawnSync(
  join(ROOT, 'node_modules', '.bin', 'redocly'),
  ['lint', document, '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish'],
  {
    cwd: ROOT,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    encoding: 'utf8',
  },
);
// Redocly prints a Node 20 deprecation box on every run; keep only what concerns the document.
const output = `${lint.stdout}${lint.stderr}`
  .split('\n')
  .filter((line) => !/[═║╔╚]/.test(line))
  .join('\n')
  .trim();
if (lint.status !== 0) {
  console.error(output);
  process.exit(1);
}
console.log(output.split('\n').slice(-3).join('\n'));
