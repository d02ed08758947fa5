// npm run set-key-limit -- --org acme --limit 500 [--remote]
// Sets one organization's key limit (active keys of both kinds); --default returns it to
// DEFAULT_KEY_LIMIT. Local D1 unless --remote.
import { fail, ORGANIZATION_ID, parseArgs } from './lib/args.mjs';
import { importSource, withLiterals } from './lib/source.mjs';
import { runWrangler } from './lib/wrangler.mjs';

const USAGE = 'npm run set-key-limit -- --org ORG (--limit N | --default) [--remote]';

const args = parseArgs(process.argv.slice(2), { org: 'string', limit: 'string', default: 'boolean', remote: 'boolean' }, USAGE);
if (!args.org || !ORGANIZATION_ID.test(args.org)) fail('--org must be 1-64 characters of [A-Za-z0-9_-]', USAGE);
if ((args.limit === undefined) === !args.default) fail('give either --limit N or --default', USAGE);
const limit = args.default ? null : Number(args.limit);
if (limit !== null && (!/^\d{1,9}$/.test(args.limit) || !Number.isSafeInteger(limit))) fail('--limit must be a whole number >= 0', USAGE);

// The Worker's own statement (src/db/organizations.ts); both values are validated above (the id
// by its pattern, the limit as digits), so inlining them as literals is safe.
const { SET_KEY_LIMIT_SQL } = await importSource('db/organizations.ts');
const sql = withLiterals(SET_KEY_LIMIT_SQL, [args.org, limit, new Date().toISOString()]);
try {
  const target = args.remote ? ['--remote'] : ['--local', '--persist-to', '.wrangler/state'];
  runWrangler(['d1', 'execute', 'DB', ...target, '--command', sql], { quiet: true });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
console.log(
  `${args.org}: key limit ${limit === null ? 'reset to DEFAULT_KEY_LIMIT' : `set to ${limit}`} (${args.remote ? 'remote' : 'local'} D1)`,
);
