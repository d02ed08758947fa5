// What the key service needs from a request: bindings, configuration, waitUntil, and where the
// request came from (for the audit log).
import type { Context } from 'hono';
import type { AppEnv, Config } from '../env';
import { boundedD1 } from '../storage/deadline';
import type { KeyServiceDeps, RequestMeta } from '../keys/service';

/** Longest user agent kept in the audit log; longer ones are cut. */
const MAX_USER_AGENT = 512;

/**
 * The key service's dependencies from the Worker's bindings: D1 bounded by the storage deadline
 * (KV calls are bounded where they are made, in src/cache/kv.ts).
 */
export function keyServiceDepsOf(env: Env, config: Config, waitUntil: (promise: Promise<unknown>) => void): KeyServiceDeps {
  return { db: boundedD1(env.DB, config.storageTimeoutMs), kv: env.KEY_CACHE, config, waitUntil };
}

export function keyServiceDeps(c: Context<AppEnv>): KeyServiceDeps {
  return keyServiceDepsOf(c.env, c.get('config'), (promise) => c.executionCtx.waitUntil(promise));
}

export function requestMeta(c: Context<AppEnv>): RequestMeta {
  const ip = c.req.header('cf-connecting-ip');
  const userAgent = c.req.header('user-agent');
  return {
    ip: ip && ip.length <= 64 ? ip : null,
    userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null,
  };
}
