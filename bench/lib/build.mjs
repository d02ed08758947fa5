// Bundles what the bench runs: bench/worker.ts for workerd, and the project's key format for
// node (seeding and load generation use the same generator and checksum as Keygate).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BENCH, BUILD, ROOT } from './paths.mjs';

/** Bundles bench/worker.ts (which imports the real Worker) as wrangler would; returns its path. */
export async function buildWorker() {
  mkdirSync(BUILD, { recursive: true });
  const outfile = join(BUILD, 'worker.mjs');
  await build({
    entryPoints: [join(BENCH, 'worker.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['cloudflare:*'],
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * @typedef {object} KeyFormat
 * @property {(type: 'orgSecret' | 'clientId' | 'project') => string} generateKey
 * @property {(length: number) => string} randomBase62
 * @property {(key: string) => string} lastFour
 * @property {string[]} PROJECT_KEY_PERMISSIONS
 * @property {string[]} ORG_KEY_PERMISSIONS
 */

/** Bundles src/keys/format.ts (and the permissions new keys of both kinds get) for node; returns its path. */
export async function buildKeyFormat() {
  mkdirSync(BUILD, { recursive: true });
  const outfile = join(BUILD, 'key-format.mjs');
  await build({
    stdin: {
      contents: [
        "export { generateKey, randomBase62, lastFour } from './src/keys/format';",
        "export { PROJECT_KEY_PERMISSIONS } from './src/keys/types';",
        // New organization keys hold every scope (src/keys/org-keys.ts).
        "export { ORG_KEY_SCOPES as ORG_KEY_PERMISSIONS } from './src/keys/scopes';",
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Imports a key-format bundle built by buildKeyFormat.
 * @param {string} path
 * @returns {Promise<KeyFormat>}
 */
export async function importKeyFormat(path) {
  return /** @type {KeyFormat} */ (await import(path));
}

/**
 * Everything a bench builds before it starts: the bench Worker's bundle and the key format (its
 * bundle, for the load generator's forged keys, and the module itself, for seeding).
 * @returns {Promise<{ scriptPath: string, formatModule: string, format: KeyFormat }>}
 */
export async function buildBench() {
  const scriptPath = await buildWorker();
  const formatModule = await buildKeyFormat();
  return { scriptPath, formatModule, format: await importKeyFormat(formatModule) };
}
