// Running the project's own wrangler (never through npx, so a signal reaches all its children),
// offline and quiet.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WRANGLER = fileURLToPath(new URL('../../node_modules/.bin/wrangler', import.meta.url));

/** Environment for wrangler: no metrics, no banner, no error reports, no network look-ups. */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    ...extra,
  };
}

/**
 * Runs wrangler to completion; throws with its output when it fails. Its stdin is a pipe, never a
 * terminal, so wrangler asks nothing (a confirmation takes its default); `env` adds variables.
 * @param {string[]} args
 * @param {{ quiet?: boolean, env?: Record<string, string> }} [options]
 */
export function runWrangler(args, { quiet = false, env = {} } = {}) {
  const result = spawnSync(WRANGLER, args, { cwd: ROOT, env: wranglerEnv(env), encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`wrangler ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  }
  if (!quiet) process.stdout.write(result.stdout);
  return result.stdout;
}

/** Starts a long-running wrangler; the caller owns the child. */
export function startWrangler(args, options = {}) {
  return spawn(WRANGLER, args, { cwd: ROOT, env: wranglerEnv(), stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/**
 * A string var of wrangler.toml's [vars] (`NAME = "value"`), or undefined.
 * @param {string} name
 * @returns {string | undefined}
 */
export function wranglerVar(name) {
  const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  return toml.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm'))?.[1];
}
