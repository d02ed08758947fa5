// The in-isolate tier in front of KV: bounded, TTL-expiring maps that live as long as the
// isolate. They answer repeated verifications without waiting on any storage.
import type { Config } from '../env';
import type { VerifiedKey } from '../keys/types';
import { KeyFeed } from './feed';

/** A bounded map whose entries expire; when full, the oldest entry gives way to the new one. */
export class BoundedTtlMap<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    readonly maxEntries: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The value, unless missing or expired (an expired entry is dropped on the way). */
  get(key: K): V | undefined {
    return this.entry(key)?.value;
  }

  /** The value and when it expires (ms since the epoch), unless missing or expired. */
  entry(key: K): { value: V; expiresAt: number } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores a value for ttlMs; evicts the oldest entries first when the map is full. */
  set(key: K, value: V, ttlMs: number): void {
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /** Deletes every entry whose value matches (a walk over the whole map: for rare events only). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key);
  }

  /** Deletes everything. */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Shares one in-flight load per key between concurrent callers: a miss that many requests hit
 * at once costs one storage read.
 *
 * The load runs in the request that started it. Workers cancel a request's pending I/O when its
 * client goes away, so a shared load may never settle: followers wait for it at most
 * `maxWaitMs` and then load for themselves, and a load older than that is not joined any more
 * (the next caller replaces it). A lost client therefore costs its followers a delay, never a
 * hang, and cannot wedge the key for the isolate's life.
 */
export class Coalescer<K, V> {
  readonly #inflight = new Map<K, { promise: Promise<V>; startedAt: number }>();

  constructor(
    readonly maxWaitMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  load(key: K, loader: () => Promise<V>): Promise<V> {
    const shared = this.#inflight.get(key);
    const waited = shared ? this.now() - shared.startedAt : 0;
    if (!shared || waited >= this.maxWaitMs) return this.#start(key, loader);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const giveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.maxWaitMs - waited);
    });
    return Promise.race([shared.promise, giveUp])
      .then((result) => (result === 'timeout' ? this.#start(key, loader) : result))
      .finally(() => clearTimeout(timer));
  }

  #start(key: K, loader: () => Promise<V>): Promise<V> {
    const entry = { promise: loader(), startedAt: this.now() };
    this.#inflight.set(key, entry);
    // Only the entry this load put there: a newer load may have replaced it.
    const forget = () => {
      if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
    };
    entry.promise.then(forget, forget);
    return entry.promise;
  }

  get pending(): number {
    return this.#inflight.size;
  }
}

/**
 * Which hashes this isolate evicted, in order: a load that started before an eviction of its
 * hash must not cache what it read. Entries are kept a minute (far longer than any load).
 */
export class EvictionLog {
  #count = 0;
  readonly #last: BoundedTtlMap<string, number>;

  constructor(maxEntries: number) {
    this.#last = new BoundedTtlMap(maxEntries);
  }

  /** How many evictions this isolate has recorded so far. */
  get count(): number {
    return this.#count;
  }

  record(hash: string): void {
    this.#count++;
    this.#last.set(hash, this.#count, 60_000);
  }

  /** Whether `hash` was evicted after the count stood at `count`. */
  since(hash: string, count: number): boolean {
    const at = this.#last.get(hash);
    return at !== undefined && at > count;
  }
}

/**
 * Gathers items for a short while and hands them to one flush: many keys used within the delay
 * cost one write. Callers within one window wait on timers of their own, all set to the
 * window's end; the first to fire takes every item and writes them, the others find nothing
 * left. No caller waits on a promise of another request (which Workers may cancel with it).
 */
export class Batcher<T> {
  #items: T[] = [];
  /** When the open window closes (ms since the epoch), or null when no window is open. */
  #closesAt: number | null = null;

  constructor(
    private readonly delayMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Adds an item; settles once the item's window has closed (and, for its flusher, been written). */
  add(item: T, flush: (items: T[]) => Promise<void>): Promise<void> {
    this.#items.push(item);
    const now = this.now();
    // A window that closed (or that a clock set back puts more than a delay away) is replaced.
    if (this.#closesAt === null || this.#closesAt < now || this.#closesAt - now > this.delayMs) this.#closesAt = now + this.delayMs;
    const wait = this.#closesAt - now;
    return new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      if (this.#items.length === 0) return;
      const items = this.#items;
      this.#items = [];
      this.#closesAt = null;
      return flush(items);
    });
  }

  get size(): number {
    return this.#items.length;
  }
}

/**
 * A verified record as the isolate holds it: when it was read (ms since the epoch), and at which
 * position of the key change feed (null: unknown, so only the isolate TTL vouches for it).
 */
export type HeldKey = { key: VerifiedKey; fetchedAt: number; feedPosition: number | null };

/** This isolate's memory of keys: verified records, known-unknown hashes, in-flight loads. */
export type IsolateTier = {
  /** Secret hash → the active key's record. */
  keys: BoundedTtlMap<string, HeldKey>;
  /** Secret hashes D1 did not know, remembered briefly; apart, so a flood of them cannot evict keys. */
  unknown: BoundedTtlMap<string, true>;
  /** Concurrent misses of one hash share one KV/D1 read. */
  loads: Coalescer<string, VerifiedKey | null>;
  /** Key ids whose lastUsed this isolate wrote in the last minute. */
  touched: BoundedTtlMap<string, true>;
  /** Hashes this isolate evicted (revoke, delete, update), so racing loads do not re-cache them. */
  evictions: EvictionLog;
  /**
   * Hashes of keys this isolate changed within the last two KV TTLs: a KV entry for them may be
   * stale (a failed or racing KV delete), so only D1 answers for them here.
   */
  distrusted: BoundedTtlMap<string, true>;
  /** Keys used since the last lastUsed write, with when, written together a moment later. */
  uses: Batcher<KeyUse>;
  /** Client IPs past their refused-credential limit, with when the throttle ends (ms since the epoch). */
  throttledIps: BoundedTtlMap<string, number>;
  /** Hashes whose record is being refreshed ahead of its expiry (src/keys/verify.ts). */
  refreshing: BoundedTtlMap<string, true>;
  /** The key change feed as this isolate follows it (null: KEY_FEED_SECONDS is 0). */
  feed: KeyFeed | null;
  /** This isolate's warm start (src/keys/verify.ts warmTier): when the last began (ms since the epoch). */
  warm: { startedAt: number };
};

/**
 * How long an isolate remembers feed changes: records read from KV (at most a KV TTL old) must be
 * judged against every change since their D1 read.
 */
export function feedMemoryMs(config: Config): number {
  return 2 * config.keyCacheTtlSeconds * 1000 + config.isolateCacheTtlMs;
}

/** One verified use of a key: its id and when it was used (ISO 8601). */
export type KeyUse = { keyId: string; usedAt: string };

// One tier per isolate (per distinct tier settings, of which production has one): module state,
// shared by the fetch handler and the RPC entrypoint, which may see different env objects, so a
// revocation handled by either clears what both answer from. Bounded by ISOLATE_CACHE_MAX_ENTRIES
// per map; it lives and dies with the isolate.
const tiers = new Map<string, IsolateTier>();

/**
 * How long a request waits for another request's load of the same key before loading for
 * itself: far above a healthy KV or D1 read, so it only matters when the loading request died.
 */
const SHARED_LOAD_MAX_WAIT_MS = 2_000;

/** How long key uses are gathered before their lastUsed is written (one write for all of them). */
const USE_FLUSH_DELAY_MS = 250;

// The tier of each parsed configuration, so the hot path finds it without building its key.
let tierOfConfig = new WeakMap<Config, IsolateTier>();

/**
 * Forgets every tier, as a new isolate starts: nothing verified, nothing remembered. Production
 * never calls it; the bench's latency model does, to model isolate restarts.
 */
export function forgetIsolateTiers(): void {
  tiers.clear();
  tierOfConfig = new WeakMap();
}

export function isolateTierOf(config: Config): IsolateTier {
  const known = tierOfConfig.get(config);
  if (known) return known;
  const settings = `${config.isolateCacheMaxEntries}/${config.keyRefresh}/${config.keyFeedMs}/${config.keyCacheTtlSeconds}/${config.warmKeys}`;
  let tier = tiers.get(settings);
  if (!tier) {
    tier = {
      keys: new BoundedTtlMap(config.isolateCacheMaxEntries),
      unknown: new BoundedTtlMap(config.isolateCacheMaxEntries),
      loads: new Coalescer(SHARED_LOAD_MAX_WAIT_MS),
      touched: new BoundedTtlMap(config.isolateCacheMaxEntries),
      evictions: new EvictionLog(config.isolateCacheMaxEntries),
      distrusted: new BoundedTtlMap(config.isolateCacheMaxEntries),
      uses: new Batcher(USE_FLUSH_DELAY_MS),
      throttledIps: new BoundedTtlMap(config.isolateCacheMaxEntries),
      refreshing: new BoundedTtlMap(config.isolateCacheMaxEntries),
      feed:
        config.keyFeedMs > 0
          ? new KeyFeed({
              pollMs: config.keyFeedMs,
              memoryMs: feedMemoryMs(config),
              maxRemembered: config.isolateCacheMaxEntries,
              timeoutMs: config.storageTimeoutMs,
            })
          : null,
      warm: { startedAt: Number.NEGATIVE_INFINITY },
    };
    tiers.set(settings, tier);
  }
  tierOfConfig.set(config, tier);
  return tier;
}
