// Fails when worker-configuration.d.ts is not what `npm run types` generates from wrangler.toml
// now. (`wrangler types --check` would read .dev.vars, which differs per machine, and a file
// generated elsewhere differs in its import paths, so regenerate in place and put it back.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runWrangler } from './lib/wrangler.mjs';

const file = join(ROOT, 'worker-configuration.d.ts');
const committed = readFileSync(file, 'utf8');
let generated;
try {
  runWrangler(['types', '--env-file', '.dev.vars.example', '--strict-vars', 'false'], { quiet: true });
  generated = readFileSync(file, 'utf8');
} finally {
  writeFileSync(file, committed);
}
if (generated !== committed) {
  console.error('worker-configuration.d.ts is out of date: run `npm run types` and commit it.');
  process.exit(1);
}
