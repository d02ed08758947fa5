import { describe, expect, it } from 'vitest';
import { Batcher, BoundedTtlMap, Coalescer, EvictionLog } from '../../src/cache/isolate';

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('BoundedTtlMap', () => {
  it('returns entries until their TTL passes, then forgets them', () => {
    const time = clock();
    const map = new BoundedTtlMap<string, number>(10, time.now);
    map.set('a', 1, 5_000);
    time.advance(4_999);
    expect(map.get('a')).toBe(1);
    time.advance(1);
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('never holds more than its bound: the oldest entries give way', () => {
    const map = new BoundedTtlMap<string, number>(3);
    for (let i = 0; i < 1_000; i++) map.set(`key-${i}`, i, 60_000);
    expect(map.size).toBe(3);
    expect(map.get('key-0')).toBeUndefined();
    expect(map.get('key-999')).toBe(999);
  });

  it('deletes on demand and stores nothing with a zero TTL or bound', () => {
    const map = new BoundedTtlMap<string, number>(3);
    map.set('a', 1, 1_000);
    map.delete('a');
    expect(map.get('a')).toBeUndefined();
    map.set('b', 2, 0);
    expect(map.get('b')).toBeUndefined();
    const none = new BoundedTtlMap<string, number>(0);
    none.set('c', 3, 1_000);
    expect(none.size).toBe(0);
  });
});

describe('Coalescer', () => {
  it('shares one load between concurrent callers and forgets it when done', async () => {
    const coalescer = new Coalescer<string, number>(60_000);
    let loads = 0;
    let release!: (value: number) => void;
    const loader = () => {
      loads++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const results = Promise.all(Array.from({ length: 20 }, () => coalescer.load('k', loader)));
    expect(coalescer.pending).toBe(1);
    release(42);
    expect(await results).toEqual(Array(20).fill(42));
    expect(loads).toBe(1);
    expect(coalescer.pending).toBe(0);
    await coalescer.load('k', async () => 7);
    expect(loads).toBe(1);
  });

  it('passes a failure to every waiter and lets the next call retry', async () => {
    const coalescer = new Coalescer<string, number>(60_000);
    const failing = () => Promise.reject(new Error('down'));
    await expect(Promise.all([coalescer.load('k', failing), coalescer.load('k', failing)])).rejects.toThrow('down');
    expect(await coalescer.load('k', async () => 1)).toBe(1);
  });
});

describe('Coalescer when the loading request dies', () => {
  /** A load that never settles, as when Workers cancel the request that started it. */
  const abandoned = () => new Promise<number>(() => {});

  it('lets a follower load for itself once the shared load has taken maxWaitMs', async () => {
    const coalescer = new Coalescer<string, number>(30);
    void coalescer.load('k', abandoned);
    let ownLoads = 0;
    const value = await coalescer.load('k', async () => {
      ownLoads++;
      return 5;
    });
    expect(value).toBe(5);
    expect(ownLoads).toBe(1);
  });

  it('does not let a dead load wedge the key: later callers start afresh and share the new load', async () => {
    let clock = 0;
    const coalescer = new Coalescer<string, number>(1_000, () => clock);
    void coalescer.load('k', abandoned);
    clock = 1_000;
    let loads = 0;
    let release!: (value: number) => void;
    const fresh = () => {
      loads++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const both = Promise.all([coalescer.load('k', fresh), coalescer.load('k', fresh)]);
    release(9);
    expect(await both).toEqual([9, 9]);
    expect(loads).toBe(1);
    expect(coalescer.pending).toBe(0);
  });
});

describe('EvictionLog', () => {
  it('tells a load that started before an eviction of its hash, and only of its hash', () => {
    const log = new EvictionLog(100);
    const before = log.count;
    log.record('a');
    expect(log.since('a', before)).toBe(true);
    expect(log.since('b', before)).toBe(false);
    const after = log.count;
    expect(log.since('a', after)).toBe(false);
    log.record('a');
    expect(log.since('a', after)).toBe(true);
  });
});

/** A flush that records what it was handed. */
function recordingFlush() {
  const flushes: number[][] = [];
  return {
    flushes,
    flush: async (items: number[]) => {
      flushes.push(items);
    },
  };
}

describe('Batcher', () => {
  it('hands everything added within the delay to one flush, and starts afresh after it', async () => {
    const batcher = new Batcher<number>(20);
    const { flushes, flush } = recordingFlush();
    await Promise.all([1, 2, 3].map((n) => batcher.add(n, flush)));
    expect(flushes).toEqual([[1, 2, 3]]);
    expect(batcher.size).toBe(0);
    await batcher.add(4, flush);
    expect(flushes).toEqual([[1, 2, 3], [4]]);
  });

  it('gives every caller a promise of its own, so none waits on another request', async () => {
    const batcher = new Batcher<number>(20);
    const flush = async () => {};
    const promises = [1, 2, 3].map((n) => batcher.add(n, flush));
    expect(new Set(promises).size).toBe(3);
    await Promise.all(promises);
  });

  it('writes once per window however many callers joined it, then opens a new window', async () => {
    let clock = 0;
    const batcher = new Batcher<number>(50, () => clock);
    const { flushes, flush } = recordingFlush();
    const first = batcher.add(1, flush);
    clock = 30;
    const second = batcher.add(2, flush);
    await Promise.all([first, second]);
    expect(flushes).toEqual([[1, 2]]);
    clock = 100;
    await batcher.add(3, flush);
    expect(flushes).toEqual([[1, 2], [3]]);
  });

  it('does not wait out a window that a clock set back put far ahead', async () => {
    let clock = 60_000;
    const batcher = new Batcher<number>(20, () => clock);
    const { flushes, flush } = recordingFlush();
    const early = batcher.add(1, flush);
    clock = 0;
    await batcher.add(2, flush);
    expect(flushes).toEqual([[1, 2]]);
    await early;
  });
});
