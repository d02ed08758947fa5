// npm run set-limits -- --org acme [--project web] [--keys 500] [--rate 2000/60s] [--remote]
// Sets one organization's plan (its key limit and request budget) or one project's request
// budget; `default` as a value returns it to DEFAULT_KEY_LIMIT / ORG_RATE_LIMIT / PROJECT_RATE_LIMIT.
// Local D1 (.wrangler/state, or --persist-to DIR) unless --remote. A change reaches every edge
// location within the revocation window (cached key records carry their budgets).
// `npm run set-key-limit -- --org acme --limit 500 | --default` is the older spelling of --keys.
import { fail, ORGANIZATION_ID, parseArgs } from './lib/args.mjs';
import { importSource, withLiterals } from './lib/source.mjs';
import { runWrangler } from './lib/wrangler.mjs';

const USAGE = 'npm run set-limits -- --org ORG [--project PROJECT] [--keys N|default] [--rate N/Ss|default] [--remote | --persist-to DIR]';

const args = parseArgs(
  process.argv.slice(2),
  {
    org: 'string',
    project: 'string',
    keys: 'string',
    rate: 'string',
    remote: 'boolean',
    'persist-to': 'string',
    // The set-key-limit spelling.
    limit: 'string',
    default: 'boolean',
  },
  USAGE,
);
if (!args.org || !ORGANIZATION_ID.test(args.org)) fail('--org must be 1-64 characters of [A-Za-z0-9_-]', USAGE);
if (args.project !== undefined && !ORGANIZATION_ID.test(args.project)) fail('--project must be 1-64 characters of [A-Za-z0-9_-]', USAGE);
if (args.remote && args['persist-to']) fail('--persist-to is for the local D1; not with --remote', USAGE);
if (args.limit !== undefined || args.default) {
  if (args.keys !== undefined || (args.limit !== undefined && args.default)) fail('give the key limit once', USAGE);
  args.keys = args.default ? 'default' : args.limit;
}
if (args.keys === undefined && args.rate === undefined) fail('give --keys and/or --rate', USAGE);
if (args.project !== undefined && args.keys !== undefined) fail('--keys is an organization setting; give it without --project', USAGE);

/** @returns {number | null} */
function keyLimit(value) {
  if (value === 'default') return null;
  if (!/^\d{1,9}$/.test(value)) fail('--keys must be a whole number >= 0, or default', USAGE);
  return Number(value);
}

/** @returns {{ requests: number, windowSeconds: number } | null} */
function rate(value) {
  if (value === 'default') return null;
  const match = value.match(/^(\d{1,9})\/(\d{1,5})s$/);
  const requests = Number(match?.[1]);
  const windowSeconds = Number(match?.[2]);
  if (!match || requests < 1 || windowSeconds < 1 || windowSeconds > 86_400) {
    fail('--rate must be N/Ss (N >= 1 requests per S seconds, S at most 86400), e.g. 2000/60s, or default', USAGE);
  }
  return { requests, windowSeconds };
}

// The Worker's own statements (src/db/organizations.ts); every value is validated above (ids by
// their pattern, numbers as digits), so inlining them as literals is safe.
const { SET_KEY_LIMIT_SQL, SET_ORG_RATE_LIMIT_SQL, SET_PROJECT_RATE_LIMIT_SQL } = await importSource('db/organizations.ts');
const now = new Date().toISOString();
const statements = [];
const done = [];
if (args.keys !== undefined) {
  const limit = keyLimit(args.keys);
  statements.push(withLiterals(SET_KEY_LIMIT_SQL, [args.org, limit, now]));
  done.push(`key limit ${limit === null ? 'reset to DEFAULT_KEY_LIMIT' : `set to ${limit}`}`);
}
if (args.rate !== undefined) {
  const budget = rate(args.rate);
  const [requests, windowSeconds] = budget ? [budget.requests, budget.windowSeconds] : [null, null];
  const described = budget ? `set to ${budget.requests} requests per ${budget.windowSeconds} s` : 'reset to the default';
  if (args.project === undefined) {
    statements.push(withLiterals(SET_ORG_RATE_LIMIT_SQL, [args.org, requests, windowSeconds, now]));
    done.push(`request budget ${described}${budget ? '' : ' (ORG_RATE_LIMIT)'}`);
  } else {
    statements.push(withLiterals(SET_PROJECT_RATE_LIMIT_SQL, [args.org, args.project, requests, windowSeconds, now]));
    done.push(`project ${args.project}: request budget ${described}${budget ? '' : ' (PROJECT_RATE_LIMIT)'}`);
  }
}

try {
  const target = args.remote ? ['--remote'] : ['--local', '--persist-to', args['persist-to'] ?? '.wrangler/state'];
  runWrangler(['d1', 'execute', 'DB', ...target, '--command', statements.join(';\n')], { quiet: true });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
console.log(`${args.org}: ${done.join('; ')} (${args.remote ? 'remote' : 'local'} D1)`);
