// npm start: local Keygate on embedded D1 and KV, with the reference origin beside it. Brings the
// local D1 to the current schema (wrangler d1 migrations apply: the migrations it has not had),
// applies the origin's schema and demo data, creates .dev.vars with a fresh JWT_SECRET when
// missing, starts both Workers in one wrangler dev on PORT (default 8787) and prints the URL and
// how to get an admin token. SIGINT, SIGTERM and SIGHUP stop wrangler and its workerd children
// together.
import { ensureDevVars } from './lib/dev-vars.mjs';
import { applyLocalSchemas, devArgs, portInUse } from './lib/local-service.mjs';
import { startWrangler } from './lib/wrangler.mjs';

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`error: PORT must be a TCP port, not ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const host = process.env.HOST ?? '127.0.0.1';
const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

// Before anything else: wrangler would pick another port, and the health probe below would find
// whatever already listens here and announce it as Keygate.
if (await portInUse(port, host)) {
  console.error(`error: PORT ${port} is already in use on ${host}; stop what listens there, or run PORT=<another port> npm start`);
  process.exit(1);
}

if (ensureDevVars()) console.log('Created .dev.vars with a fresh local JWT_SECRET.');
const PERSIST_TO = '.wrangler/state';
console.log('Applying migrations/ to the local D1 database, and the origin demo data...');
applyLocalSchemas(PERSIST_TO);

// wrangler runs in a process group of its own, so a signal to npm start reaches it and every
// workerd it started, however npm start itself was stopped.
const dev = startWrangler(devArgs({ port, host, persistTo: PERSIST_TO }), { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
const killGroup = (/** @type {NodeJS.Signals} */ signal) => {
  try {
    if (dev.pid !== undefined) process.kill(-dev.pid, signal);
  } catch {
    // the group is gone already
  }
};
process.on('exit', () => killGroup('SIGKILL'));

let stopping = false;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), 5_000).unref();
  });
}
dev.on('exit', (code, signal) => {
  killGroup('SIGKILL');
  process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
});

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
if (!stopping) {
  console.log(`
  Keygate is running at ${url}

  Console:       ${url}/console   (sign in with the admin token below)
  Admin token:   TOKEN=$(npm run -s token -- --org acme --sub alice --role admin)
  Create a key:  curl -s -X POST ${url}/v1/keys -H "authorization: Bearer $TOKEN" \\
                   -H 'content-type: application/json' -d '{"name":"Production sync"}'
  Origin data:   curl ${url}/v1/companies -H "x-metal-client-id: $CLIENT_ID" -H "x-metal-api-key: $API_KEY"
  API document:  ${url}/openapi.json
`);
}
