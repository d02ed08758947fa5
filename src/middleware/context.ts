// What the key service needs from an HTTP request: its configuration and dependencies (bindings,
// waitUntil), and where the request came from (for the audit log).
import type { Context } from 'hono';
import { type AppEnv, configOf } from '../env';
import { keyServiceDepsOf } from '../keys/deps';
import type { KeyServiceDeps, RequestMeta } from '../keys/types';

/** Longest user agent kept in the audit log; longer ones are cut. */
const MAX_USER_AGENT = 512;

/** Parses the configuration (once per env object) and puts it on the context, for every later step. */
export function loadConfig(c: Context<AppEnv>): void {
  c.set('config', configOf(c.env));
}

export function keyServiceDeps(c: Context<AppEnv>): KeyServiceDeps {
  return keyServiceDepsOf(c.env, c.get('config'), (promise) => c.executionCtx.waitUntil(promise));
}

/** The client address Cloudflare saw (CF-Connecting-IP), or null when there is none or it is not plausible. */
export function clientIp(c: Context<AppEnv>): string | null {
  const ip = c.req.header('cf-connecting-ip');
  return ip && ip.length <= 64 ? ip : null;
}

export function requestMeta(c: Context<AppEnv>): RequestMeta {
  const userAgent = c.req.header('user-agent');
  return {
    ip: clientIp(c),
    userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null,
  };
}
