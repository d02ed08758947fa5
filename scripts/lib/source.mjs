// Imports a module of Keygate's own TypeScript source from a script (node cannot load .ts): it is
// bundled with esbuild into test-results/.build first. Scripts use it to share code with the
// Worker (the SQL of src/db/) instead of retyping it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ROOT } from './wrangler.mjs';

const BUILD = join(ROOT, 'test-results', '.build');

/**
 * The exports of `src/<path>` (e.g. 'db/organizations.ts').
 * @param {string} path
 * @returns {Promise<Record<string, any>>}
 */
export async function importSource(path) {
  mkdirSync(BUILD, { recursive: true });
  const outfile = join(BUILD, `${path.replace(/[/.]/g, '_')}.mjs`);
  await build({
    entryPoints: [join(ROOT, 'src', path)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

/**
 * A statement with its ?N parameters replaced by SQL literals, for `wrangler d1 execute
 * --command`, which cannot bind. Only for values the caller validated: strings are quoted with
 * '' doubled, numbers must be finite, null is NULL.
 * @param {string} sql
 * @param {Array<string | number | null>} values
 */
export function withLiterals(sql, values) {
  return sql.replace(/\?(\d+)/g, (_, n) => {
    const value = values[Number(n) - 1];
    if (value === null) return 'NULL';
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
    throw new Error(`no value for ?${n}`);
  });
}
