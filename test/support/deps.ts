// Key service deps over the test bindings that count what verification reads: key look-ups in
// D1 (through the binding or any D1 session), KV gets, D1 batches, key change feed reads and warm
// start reads; with a settle() that waits for everything run after the "response" (waitUntil),
// also what that starts.
import { env } from 'cloudflare:workers';
import { WARM_KEYS_SQL } from '../../src/db/api-keys';
import { type Config, configOf } from '../../src/env';
import type { KeyServiceDeps } from '../../src/keys/types';
import { overriding } from './proxy';

const KEY_READ = /secret_hash = \?1/;
const FEED_READ = /\bFROM key_changes\b/;

export function countingDeps(config: Config = configOf(env)) {
  const counts = { d1KeyReads: 0, kvGets: 0, d1Batches: 0, feedReads: 0, warmReads: 0 };
  const counting = <T extends D1Database | D1DatabaseSession>(db: T): T =>
    overriding(db as D1Database, {
      prepare: (sql: string) => {
        if (KEY_READ.test(sql)) counts.d1KeyReads++;
        else if (sql === WARM_KEYS_SQL) counts.warmReads++;
        else if (FEED_READ.test(sql)) counts.feedReads++;
        return db.prepare(sql);
      },
      batch: (statements: D1PreparedStatement[]) => {
        counts.d1Batches++;
        return db.batch(statements);
      },
      withSession: (constraint?: string) => counting((db as D1Database).withSession(constraint)),
    }) as T;
  const kv = overriding(env.KEY_CACHE, {
    get: (...args: Parameters<KVNamespace['get']>) => {
      counts.kvGets++;
      return env.KEY_CACHE.get(...args);
    },
  });
  const pending: Promise<unknown>[] = [];
  const deps: KeyServiceDeps = { db: counting(env.DB), kv, config, waitUntil: (p) => pending.push(p) };
  const settle = async () => {
    while (pending.length > 0) await Promise.all(pending.splice(0));
  };
  return { deps, counts, settle };
}
