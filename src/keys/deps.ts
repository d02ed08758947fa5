// The key service's dependencies from a Worker's bindings, for the HTTP app and the RPC
// entrypoint alike.
import type { Config } from '../env';
import { boundedD1 } from '../storage/deadline';
import type { KeyServiceDeps } from './types';

/** D1 bounded by the storage deadline (KV calls are bounded where they are made, in src/cache/kv.ts). */
export function keyServiceDepsOf(env: Env, config: Config, waitUntil: (promise: Promise<unknown>) => void): KeyServiceDeps {
  return { db: boundedD1(env.DB, config.storageTimeoutMs), kv: env.KEY_CACHE, config, waitUntil };
}
