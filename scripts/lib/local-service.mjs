// The local service as npm start runs it (Keygate and the reference origin in one wrangler dev,
// D1 and KV embedded), in a state directory and on a port of the caller's choosing: the browser
// tests start their own, away from the developer's .wrangler/state and .dev.vars.
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { runWrangler, startWrangler } from './wrangler.mjs';

export const ORIGIN_CONFIG = 'examples/origin/wrangler.toml';

/**
 * Brings Keygate's local D1 to the current schema (the migrations in migrations/ it has not had
 * yet; none on a later start) and applies the origin's schema and demo data to its own, under
 * `persistTo` (what npm start does before it starts wrangler dev).
 * @param {string} persistTo
 */
export function applyLocalSchemas(persistTo) {
  const persist = ['--persist-to', persistTo];
  // `migrations apply` asks "continue?" on a terminal; runWrangler's stdin is none, and CI=true
  // makes wrangler take the default (yes) without asking even so.
  runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', ...persist], { quiet: true, env: { CI: 'true' } });
  for (const file of ['examples/origin/schema.sql', 'examples/origin/seed.sql']) {
    runWrangler(['d1', 'execute', 'ORIGIN_DB', '--local', ...persist, '-c', ORIGIN_CONFIG, '--file', file], { quiet: true });
  }
}

/**
 * npm start's wrangler dev arguments: Keygate first (it gets the port), the origin behind it.
 * `envFile` replaces .dev.vars as the source of secrets (JWT_SECRET and any var to override).
 * @param {{ port: number, host: string, persistTo: string, envFile?: string }} options
 * @returns {string[]}
 */
export function devArgs({ port, host, persistTo, envFile }) {
  return [
    'dev',
    '-c',
    'wrangler.toml',
    '-c',
    ORIGIN_CONFIG,
    '--port',
    String(port),
    '--ip',
    host,
    '--local',
    '--persist-to',
    persistTo,
    '--show-interactive-dev-session=false',
    ...(envFile ? ['--env-file', envFile] : []),
  ];
}

/**
 * Whether something listens on `port` at `host` already (binding it fails with EADDRINUSE).
 * @param {number} port
 * @param {string} host
 * @returns {Promise<boolean>}
 */
export function portInUse(port, host) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (/** @type {NodeJS.ErrnoException} */ err) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

/**
 * A TCP port nobody listens on at this moment (the kernel's choice).
 * @param {string} [host]
 * @returns {Promise<number>}
 */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the service and resolves once GET /health answers 200. wrangler runs in a process group
 * of its own, so stop() ends it and its workerd children together; they are also killed when
 * this process exits, whatever the reason, so no server outlives its caller.
 * `sql` (optional) is applied to Keygate's D1 after the migrations, before the service starts.
 * @param {{ persistTo: string, envFile?: string, port?: number, host?: string, logFile: string, sql?: string, timeoutMs?: number }} options
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startLocalService({ persistTo, envFile, port, host = '127.0.0.1', logFile, sql, timeoutMs = 120_000 }) {
  const listenPort = port ?? (await freePort(host));
  const url = `http://${host}:${listenPort}`;
  applyLocalSchemas(persistTo);
  if (sql) runWrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persistTo, '--command', sql], { quiet: true });
  const log = openSync(logFile, 'a');
  const child = startWrangler(devArgs({ port: listenPort, host, persistTo, envFile }), { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  const group = child.pid;
  const killGroup = (/** @type {NodeJS.Signals} */ signal) => {
    if (group === undefined) return;
    try {
      process.kill(-group, signal);
    } catch {
      // the group is gone already
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);

  const exited = new Promise((resolve) => child.once('exit', resolve));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });

  const stop = async () => {
    process.off('exit', onExit);
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    // Anything wrangler left behind in its group (workerd) goes with it.
    killGroup('SIGKILL');
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive) {
      await stop();
      throw new Error(`wrangler dev exited before ${url} answered; see ${logFile}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`${url}/health did not answer within ${timeoutMs / 1000} s; see ${logFile}`);
}
