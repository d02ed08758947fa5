// npm run token -- --org acme --sub alice --role admin [--ttl 3600]
// Prints an admin JWT signed (HS256) with the local JWT_SECRET from .dev.vars.
import { sign } from 'hono/jwt';
import { fail, ORGANIZATION_ID, parseArgs } from './lib/args.mjs';
import { ensureDevVars, readDevVars } from './lib/dev-vars.mjs';
import { wranglerVar } from './lib/wrangler.mjs';

const USAGE = 'npm run token -- --org ORG --sub USER [--role admin|member] [--ttl SECONDS]';

const args = parseArgs(process.argv.slice(2), { org: 'string', sub: 'string', role: 'string', ttl: 'string' }, USAGE);
if (!args.org || !ORGANIZATION_ID.test(args.org)) fail('--org must be 1-64 characters of [A-Za-z0-9_-]', USAGE);
if (!args.sub) fail('--sub is required', USAGE);
const role = args.role ?? 'admin';
if (role !== 'admin' && role !== 'member') fail('--role must be admin or member', USAGE);
const ttl = Number(args.ttl ?? 3600);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive whole number of seconds', USAGE);
// The lifetime the local service accepts: JWT_MAX_LIFETIME_SECONDS from .dev.vars, else wrangler.toml.
const maxLifetime = Number(
  process.env.JWT_MAX_LIFETIME_SECONDS || readDevVars().JWT_MAX_LIFETIME_SECONDS || wranglerVar('JWT_MAX_LIFETIME_SECONDS') || 86_400,
);
if (ttl > maxLifetime) fail(`--ttl ${ttl} is longer than JWT_MAX_LIFETIME_SECONDS (${maxLifetime}): Keygate would refuse the token`, USAGE);

// The deployed instance's secret when JWT_SECRET is set, else the local one (created when missing).
if (!process.env.JWT_SECRET) ensureDevVars();
const secret = process.env.JWT_SECRET || readDevVars().JWT_SECRET;
const now = Math.floor(Date.now() / 1000);
console.log(await sign({ sub: args.sub, org: args.org, role, iat: now, exp: now + ttl }, secret, 'HS256'));
