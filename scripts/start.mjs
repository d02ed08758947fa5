// npm start: local Keygate on embedded D1 and KV, with the reference origin beside it. Applies
// schema.sql (and the origin's schema and demo data), creates .dev.vars with a fresh JWT_SECRET
// when missing, starts both Workers in one wrangler dev on PORT (default 8787) and prints the
// URL and how to get an admin token.
import { ensureDevVars } from './lib/dev-vars.mjs';
import { applyLocalSchemas, devArgs } from './lib/local-service.mjs';
import { startWrangler } from './lib/wrangler.mjs';

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`error: PORT must be a TCP port, not ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const host = process.env.HOST ?? '127.0.0.1';
const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

if (ensureDevVars()) console.log('Created .dev.vars with a fresh local JWT_SECRET.');
const PERSIST_TO = '.wrangler/state';
console.log('Applying schema.sql to the local D1 database, and the origin demo data...');
applyLocalSchemas(PERSIST_TO);

const dev = startWrangler(devArgs({ port, host, persistTo: PERSIST_TO }));

let stopping = false;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    stopping = true;
    dev.kill(signal);
  });
}
dev.on('exit', (code, signal) => process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0))));

// Announce once the Worker answers.
const deadline = Date.now() + 120_000;
while (Date.now() < deadline && !stopping) {
  try {
    const res = await fetch(`${url}/health`);
    if (res.ok) break;
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
console.log(`
  Keygate is running at ${url}

  Console:       ${url}/console   (sign in with the admin token below)
  Admin token:   npm run token -- --org acme --sub alice --role admin
  Create a key:  curl -s -X POST ${url}/v1/keys -H "authorization: Bearer $TOKEN" \\
                   -H 'content-type: application/json' -d '{"name":"Production sync"}'
  Origin data:   curl ${url}/v1/companies -H "x-metal-client-id: $CLIENT_ID" -H "x-metal-api-key: $API_KEY"
  API document:  ${url}/openapi.json
`);
