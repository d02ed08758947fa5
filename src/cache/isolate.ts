// The in-isolate tier in front of KV: a bounded, TTL-expiring map that lives as long as the
// isolate. It answers repeated verifications without waiting on any storage.

/** A bounded map whose entries expire; when full, the oldest entry gives way to the new one. */
export class BoundedTtlMap<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value, unless missing or expired (an expired entry is dropped on the way). */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
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

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Shares one in-flight load per key between concurrent callers: a miss that many requests hit
 * at once costs one storage read.
 */
export class Coalescer<K, V> {
  readonly #inflight = new Map<K, Promise<V>>();

  load(key: K, loader: () => Promise<V>): Promise<V> {
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const promise = loader().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  get pending(): number {
    return this.#inflight.size;
  }
}
