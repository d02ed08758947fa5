// .dev.vars: the local secrets file wrangler dev reads. Created with a fresh JWT_SECRET when missing.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './wrangler.mjs';

export const DEV_VARS = join(ROOT, '.dev.vars');

/** Parses KEY=value lines (optionally quoted). */
export function readDevVars() {
  if (!existsSync(DEV_VARS)) return {};
  const vars = {};
  for (const line of readFileSync(DEV_VARS, 'utf8').split('\n')) {
    const match = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (match) vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

/** Ensures .dev.vars holds a JWT_SECRET; returns true when one was generated. */
export function ensureDevVars() {
  if (readDevVars().JWT_SECRET) return false;
  const line = `JWT_SECRET=${randomBytes(32).toString('hex')}\n`;
  if (existsSync(DEV_VARS)) appendFileSync(DEV_VARS, `\n${line}`, { mode: 0o600 });
  else writeFileSync(DEV_VARS, `# Local secrets for wrangler dev; never commit this file.\n${line}`, { mode: 0o600 });
  return true;
}
