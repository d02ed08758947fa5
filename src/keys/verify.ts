// Verification: is this credential an active key, and whose? Format and checksum first (no
// storage for a malformed key), then this isolate's memory, KV and D1 (src/cache/isolate.ts,
// src/cache/kv.ts). Refusals are values; only a D1 outage throws (503: fails closed).
import type { FeedSink, KeyFeed } from '../cache/feed';
import { type IsolateTier, isolateTierOf } from '../cache/isolate';
import { deleteCachedKey, getCachedRecord, logKvFailure, putCachedKey } from '../cache/kv';
import { type ActiveKey, lookUpActiveKey, readWarmKeys, touchLastUsed, type WarmCursor, type WarmPage } from '../db/api-keys';
import { fromD1 } from '../db/errors';
import { replicaReads } from '../db/sessions';
import { withDeadline } from '../storage/deadline';
import { isExpired } from './expiry';
import { isWellFormedKey, isWellFormedProjectKey } from './format';
import { sha256Hex, timingSafeEqualString } from './hash';
import type { KeyServiceDeps, VerifiedKey, VerifiedOrgKey, VerifiedProjectKey } from './types';

export type VerifyFailure = 'missing' | 'malformed' | 'unknown' | 'client_id_mismatch' | 'wrong_kind';
/** A verification: the key, or why not (with the key, when the secret was a known key used wrongly). */
export type VerifyResult<K extends VerifiedKey = VerifiedKey> =
  | { ok: true; key: K }
  | { ok: false; reason: VerifyFailure; known?: VerifiedKey };

/** lastUsedAt is written at most this often per key. */
export const LAST_USED_INTERVAL_MS = 60_000;

function toVerified({ key, parentRateLimit }: ActiveKey): VerifiedKey {
  const { id, organizationId, permissions, rateLimit, expiresAt } = key;
  const common = { id, organizationId, permissions, rateLimit, parentRateLimit, expiresAt };
  return key.kind === 'org'
    ? { ...common, kind: 'org', projectId: null, clientId: key.clientId }
    : { ...common, kind: 'project', projectId: key.projectId, clientId: null };
}

/**
 * The active key for a secret hash (null: no such active key). The isolate tier first, then KV,
 * then D1; concurrent misses of one hash share a single KV/D1 read. Found keys fill the isolate
 * tier and, after the response, KV; unknown hashes are remembered in the isolate tier briefly.
 */
async function lookupByHash(deps: KeyServiceDeps, hash: string, isolateOnly: boolean): Promise<VerifiedKey | null> {
  const found = await lookupInTiers(deps, hash, isolateOnly);
  // An expired key is refused from its expiry on, whichever tier answered (a cached record
  // carries its expiry; D1 checks it in the query).
  return found && !isExpired(found.expiresAt, Date.now()) ? found : null;
}

/**
 * How long an isolate keeps a record the key change feed vouches for: a safety net, since the
 * feed drops every record that changes. Refreshed ahead in its second half while in use.
 */
export const FEED_HOLD_MS = 15 * 60_000;

async function lookupInTiers(deps: KeyServiceDeps, hash: string, isolateOnly: boolean): Promise<VerifiedKey | null> {
  const tier = isolateTierOf(deps.config);
  const feed = tier.feed;
  if (feed && !isolateOnly && feed.due) followFeed(deps, tier, feed);
  const held = tier.keys.get(hash);
  if (held) {
    const age = Date.now() - held.fetchedAt;
    const ttl = deps.config.isolateCacheTtlMs;
    // A record is trusted for the isolate TTL after its read, and beyond it while the feed is
    // followed closely (every change since the record's read would have dropped it).
    const byFeed = held.feedPosition !== null && feed?.fresh === true;
    if (age < ttl || byFeed) {
      // Refresh ahead: a key used in the second half of what vouches for it is read again after
      // the response, so a key in steady use never makes a request wait on storage.
      if (!isolateOnly && deps.config.keyRefresh === 'ahead' && age > (byFeed ? FEED_HOLD_MS : ttl) / 2) refreshAhead(deps, hash);
      return held.key;
    }
  }
  if (isolateOnly || tier.unknown.get(hash)) return null;
  return tier.loads.load(hash, () => loadFromStorage(deps, hash));
}

/** Starts, after the response, a read of the key change feed (src/cache/feed.ts) on D1's primary. */
function followFeed(deps: KeyServiceDeps, tier: IsolateTier, feed: KeyFeed): void {
  const sink: FeedSink = {
    drop(change) {
      if (change.secretHash !== null) {
        tier.keys.delete(change.secretHash);
        tier.unknown.delete(change.secretHash);
        return;
      }
      const { organizationId, projectId } = change;
      tier.keys.deleteWhere(({ key }) => key.organizationId === organizationId && (projectId === null || key.projectId === projectId));
    },
    dropAll() {
      tier.keys.clear();
      tier.unknown.clear();
    },
  };
  const polled = feed.poll(deps.db, sink).then(
    () => true,
    (err: unknown) => {
      console.error(`key feed read failed: ${err instanceof Error ? err.name : 'error'}`);
      return false;
    },
  );
  deps.waitUntil(polled);
  if (warmDue(deps, tier)) {
    deps.waitUntil(
      warmTier(deps, tier, feed, polled).catch((err: unknown) =>
        console.error(`warm start failed: ${err instanceof Error ? err.name : 'error'}`),
      ),
    );
  }
}

/** Rows per query of a warm start. */
export const WARM_PAGE = 5_000;

/**
 * Whether this isolate should read its warm set now: first with its first feed read, then every
 * half feed hold. By its start time alone: a warm start whose request's context ended before it
 * did (Workers stop a request's waitUntil work 30 s after its response, a slow D1 can take that
 * long) never finishes, and must not keep the isolate from the next one.
 */
function warmDue(deps: KeyServiceDeps, tier: IsolateTier): boolean {
  return deps.config.warmKeys > 0 && Date.now() - tier.warm.startedAt >= FEED_HOLD_MS / 2;
}

/**
 * A warm start (README: "Warm start"): reads up to WARM_KEYS active keys, most recently used
 * first, after the response, and holds them in the tier as records the key change feed vouches
 * for, exactly as if a request had read each one at that feed position: a key then meets its
 * first request in this isolate without a wait on storage. Starts beside a feed read (`polled`),
 * on a new isolate's first one and every half FEED_HOLD_MS after (keys unused for a hold come
 * back), and holds each page as it comes, once that feed read succeeded: without it nothing
 * could vouch for what the page holds, and the warm start gives up until the next feed read.
 * Skipped: keys the tier holds already, keys this isolate changed meanwhile, records the feed
 * knows to be stale (any replica may answer: a change the isolate does not know yet reaches it
 * with the next feed read, which drops the record). It never evicts: it stops when the tier is full.
 */
async function warmTier(deps: KeyServiceDeps, tier: IsolateTier, feed: KeyFeed, polled: Promise<boolean>): Promise<void> {
  const { warm } = tier;
  warm.startedAt = Date.now();
  const since = tier.evictions.count;
  let followed = false;
  try {
    const session = replicaReads(deps.db);
    const now = new Date().toISOString();
    let after: WarmCursor | null = null;
    for (let left = deps.config.warmKeys; left > 0; ) {
      const page: WarmPage = await withDeadline(readWarmKeys(session, after, Math.min(WARM_PAGE, left), now), deps.config.storageTimeoutMs);
      followed = await polled;
      if (!followed) return;
      for (const { secretHash, active } of page.keys) {
        if (tier.keys.size >= deps.config.isolateCacheMaxEntries) return;
        if (tier.keys.get(secretHash) || tier.evictions.since(secretHash, since)) continue;
        const verified = toVerified(active);
        if (judged(feed, secretHash, verified, page.feedPosition) !== false) continue;
        hold(deps, tier, secretHash, verified, page.feedPosition);
        tier.unknown.delete(secretHash);
      }
      left -= page.keys.length;
      if (!page.next) return;
      after = page.next;
    }
  } finally {
    // Not followed (the feed read failed): the next feed read tries again.
    if (!followed) warm.startedAt = Number.NEGATIVE_INFINITY;
  }
}

/**
 * Reads a key's record again after the response, through the same path as a miss (KV, then D1,
 * one read shared with any concurrent miss). A record read this way is exactly as fresh as one a
 * request waited for, so the revocation window does not grow. A key found gone is dropped from
 * the tier at once.
 */
function refreshAhead(deps: KeyServiceDeps, hash: string): void {
  const tier = isolateTierOf(deps.config);
  if (tier.refreshing.get(hash)) return;
  tier.refreshing.set(hash, true, deps.config.isolateCacheTtlMs);
  deps.waitUntil(
    tier.loads
      .load(hash, () => loadFromStorage(deps, hash))
      .then((key) => {
        if (!key) tier.keys.delete(hash);
      })
      .catch((err: unknown) => console.error(`key refresh failed: ${err instanceof Error ? err.name : 'error'}`))
      .finally(() => tier.refreshing.delete(hash)),
  );
}

/**
 * Whether a record read at feed position `position` changed since, as far as this isolate's
 * feed knows: true (stale), false (not changed), null (no feed, no position, or read before what
 * the isolate remembers: only the isolate TTL vouches for it then).
 */
function judged(
  feed: KeyFeed | null,
  hash: string,
  key: Pick<VerifiedKey, 'organizationId' | 'projectId'>,
  position: number | null | undefined,
): boolean | null {
  if (!feed || position === null || position === undefined) return null;
  return feed.changedSince({ secretHash: hash, organizationId: key.organizationId, projectId: key.projectId }, position);
}

/** Keeps a record in the tier: for the feed hold when the feed vouches for it, else for the isolate TTL. */
function hold(deps: KeyServiceDeps, tier: IsolateTier, hash: string, key: VerifiedKey, feedPosition: number | null): void {
  const ttl = feedPosition === null ? deps.config.isolateCacheTtlMs : FEED_HOLD_MS;
  tier.keys.set(hash, { key, fetchedAt: Date.now(), feedPosition }, ttl);
}

/** A miss: KV, then D1; fills the isolate tier (and KV after the response, from the primary) with what it finds. */
async function loadFromStorage(deps: KeyServiceDeps, hash: string): Promise<VerifiedKey | null> {
  const tier = isolateTierOf(deps.config);
  const feed = tier.feed;
  // A change handled by this isolate while we read (revoke, delete, update) must win over what
  // we read: remember where the eviction count stood, and cache nothing evicted since.
  const since = tier.evictions.count;
  // A key this isolate changed lately may have a stale KV entry (its delete failed, or a
  // racing fill re-created it), and a replica may not have the change yet: D1's primary alone
  // answers for it until that entry has surely expired.
  const distrusted = tier.distrusted.get(hash) === true;
  const cached = distrusted ? null : await getCachedRecord(deps.kv, hash, deps.config.storageTimeoutMs);
  const cachedChanged = cached ? judged(feed, hash, cached.key, cached.feedPosition) : null;
  if (cached && cachedChanged !== true) {
    if (!tier.evictions.since(hash, since)) hold(deps, tier, hash, cached.key, cachedChanged === false ? cached.feedPosition : null);
    return cached.key;
  }
  // Any replica may answer, and only the primary may say a key is unknown (src/db/api-keys.ts);
  // one deadline bounds the look-up whichever instances answer it. A KV record the feed knows to
  // be stale sends the read to the primary.
  const lookUp = (primaryOnly: boolean) =>
    fromD1(() => withDeadline(lookUpActiveKey(deps.db, hash, new Date().toISOString(), primaryOnly), deps.config.storageTimeoutMs));
  let lookup = await lookUp(distrusted || cachedChanged === true);
  let changed = lookup.active ? judged(feed, hash, lookup.active.key, lookup.feedPosition) : null;
  // A replica behind a change this isolate already knows of: the primary answers instead.
  if (changed === true && !lookup.servedByPrimary) {
    lookup = await lookUp(true);
    changed = lookup.active ? judged(feed, hash, lookup.active.key, lookup.feedPosition) : null;
  }
  const stored = lookup.active;
  if (!stored) {
    tier.unknown.set(hash, true, deps.config.unknownKeyTtlMs);
    return null;
  }
  const verified = toVerified(stored);
  // Evicted by this isolate meanwhile, or changed (per the feed) after the read began: answered, not kept.
  if (tier.evictions.since(hash, since) || changed === true) return verified;
  const position = changed === false ? (lookup.feedPosition ?? null) : null;
  hold(deps, tier, hash, verified, position);
  // KV is filled from the primary only. A replica's record may predate a revocation by the
  // replica's lag: it lives in this isolate for the isolate TTL, never in KV for a KV TTL, so the
  // revocation window stays max(KV TTL, replica lag) + isolate TTL (README: Read replicas).
  if (lookup.servedByPrimary) {
    deps.waitUntil(fillCache(deps, hash, verified, lookup.feedPosition ?? null, since).catch((err: unknown) => logKvFailure('write', err)));
  }
  return verified;
}

/**
 * Caches a verified record in KV after the response, with the feed position of its read. A
 * change this isolate handled while the write was in flight found nothing in KV to evict yet, so
 * the entry is deleted again here. (Changes handled by other isolates are bounded by the
 * documented revocation window.)
 */
async function fillCache(
  deps: KeyServiceDeps,
  hash: string,
  verified: VerifiedKey,
  feedPosition: number | null,
  since: number,
): Promise<void> {
  await putCachedKey(deps.kv, hash, verified, deps.config.keyCacheTtlSeconds, deps.config.storageTimeoutMs, feedPosition);
  if (isolateTierOf(deps.config).evictions.since(hash, since)) await deleteCachedKey(deps.kv, hash, deps.config.storageTimeoutMs);
}

/**
 * Records a use of the key after the response has been sent: at most once a minute per key, and
 * the keys used within a quarter second written in one batch. The time stored is the time of
 * use (now), never the time of the write, and never a time after the key stopped working.
 */
function recordUse(deps: KeyServiceDeps, keyId: string): void {
  const tier = isolateTierOf(deps.config);
  if (tier.touched.get(keyId)) return;
  tier.touched.set(keyId, true, LAST_USED_INTERVAL_MS);
  deps.waitUntil(
    tier.uses.add({ keyId, usedAt: new Date().toISOString() }, (uses) =>
      touchLastUsed(deps.db, uses, new Date(), LAST_USED_INTERVAL_MS).catch((err: unknown) => {
        console.error(`lastUsed write failed: ${err instanceof Error ? err.name : 'error'}`);
      }),
    ),
  );
}

/**
 * How far verification may look: `isolateOnly` accepts only keys this isolate verified recently
 * and reads no storage (the answer for a throttled client, src/auth/throttle.ts).
 */
export type VerifyOptions = { isolateOnly?: boolean };

/**
 * Verifies an organization key pair. The secret is checked by format and checksum before any
 * storage is read; the client ID is compared in constant time.
 */
export async function verifyKeyPair(
  deps: KeyServiceDeps,
  clientId: string | undefined,
  secret: string | undefined,
  options: VerifyOptions = {},
): Promise<VerifyResult<VerifiedOrgKey>> {
  if (!clientId || !secret) return { ok: false, reason: 'missing' };
  if (!isWellFormedKey(secret, 'orgSecret') || !isWellFormedKey(clientId, 'clientId')) {
    return { ok: false, reason: 'malformed' };
  }
  const key = await lookupByHash(deps, await sha256Hex(secret), options.isolateOnly === true);
  if (!key) return { ok: false, reason: 'unknown' };
  if (key.kind !== 'org') return { ok: false, reason: 'wrong_kind', known: key };
  if (!timingSafeEqualString(key.clientId, clientId)) return { ok: false, reason: 'client_id_mismatch', known: key };
  recordUse(deps, key.id);
  return { ok: true, key };
}

/** Verifies a project key (x-api-key); format first, then cache and D1. */
export async function verifyProjectKey(
  deps: KeyServiceDeps,
  apiKey: string | undefined,
  options: VerifyOptions = {},
): Promise<VerifyResult<VerifiedProjectKey>> {
  if (!apiKey) return { ok: false, reason: 'missing' };
  if (!isWellFormedProjectKey(apiKey)) return { ok: false, reason: 'malformed' };
  const key = await lookupByHash(deps, await sha256Hex(apiKey), options.isolateOnly === true);
  if (!key) return { ok: false, reason: 'unknown' };
  if (key.kind !== 'project') return { ok: false, reason: 'wrong_kind', known: key };
  recordUse(deps, key.id);
  return { ok: true, key };
}
