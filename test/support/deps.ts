// Key service deps over the test bindings that count what verification reads: key look-ups in
// D1 (through the binding or any D1 session), KV gets, D1 batches, key change feed reads and warm
// start reads; with a settle() that waits for everything run after the "response" (waitUntil),
// also what that starts.
import { env } from 'cloudflare:workers';
import { type Config, configOf } from '../../src/env';
import type { KeyServiceDeps } from '../../src/keys/types';

const KEY_READ = /secret_hash = \?1/;
const FEED_READ = /\bFROM key_changes\b/;
const WARM_READ = /ORDER BY coalesce\(k\.last_used_at/;

export function countingDeps(config: Config = configOf(env)) {
  const counts = { d1KeyReads: 0, kvGets: 0, d1Batches: 0, feedReads: 0, warmReads: 0 };
  const counting = <T extends D1Database | D1DatabaseSession>(db: T): T =>
    new Proxy(db, {
      get(target, prop) {
        if (prop === 'prepare') {
          return (sql: string) => {
            if (KEY_READ.test(sql)) counts.d1KeyReads++;
            else if (WARM_READ.test(sql)) counts.warmReads++;
            else if (FEED_READ.test(sql)) counts.feedReads++;
            return target.prepare(sql);
          };
        }
        if (prop === 'batch') counts.d1Batches++;
        if (prop === 'withSession') return (constraint?: string) => counting((target as D1Database).withSession(constraint));
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const kv = new Proxy(env.KEY_CACHE, {
    get(target, prop) {
      if (prop === 'get') counts.kvGets++;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const pending: Promise<unknown>[] = [];
  const deps: KeyServiceDeps = { db: counting(env.DB), kv, config, waitUntil: (p) => pending.push(p) };
  const settle = async () => {
    while (pending.length > 0) await Promise.all(pending.splice(0));
  };
  return { deps, counts, settle };
}
