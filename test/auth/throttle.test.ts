// Refused credentials per client IP (src/auth/throttle.ts): past AUTH_FAILURE_LIMIT failed key
// verifications, an IP's requests get 429 without any KV or D1 read, in each surface's shape,
// while keys this isolate verified recently keep working from that IP; other IPs are untouched.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { configOf } from '../../src/env';
import worker from '../../src/index';
import { generateKey } from '../../src/keys/format';
import { buildRequest, createOrgKey, pairHeaders, remember } from '../support/fixtures';
import { recordingOrigin } from '../support/origin';
import { apiKeyHeaders, clientPath, createProjectKey, newProject } from '../support/project';
import { brokenBinding, callWith } from '../support/worker';

const { requests: LIMIT, windowSeconds: WINDOW } = configOf(env).authFailureLimit;

/** A fresh client address per test: the binding and the isolate remember addresses for a window. */
const newIp = () => `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;

async function forgedPair(): Promise<Record<string, string>> {
  const pair = { clientId: generateKey('clientId'), apiKey: generateKey('orgSecret') };
  await remember('forged organization secret', pair.apiKey);
  return pairHeaders(pair);
}

/** Storage that fails every call: a request that reads nothing answers as if it were healthy. */
const noStorage = () => ({ DB: brokenBinding<D1Database>('DB'), KEY_CACHE: brokenBinding<KVNamespace>('KEY_CACHE') });

/** Sends `count` refused requests from `ip` (each waiting for its after-response work). */
async function refuse(ip: string, count: number, path: string, headers: Record<string, string>): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await callWith({}, 'GET', path, { headers: { ...headers, 'cf-connecting-ip': ip } });
    expect(res.status, `refusal ${i + 1}: ${res.text}`).toBe(401);
  }
}

/**
 * Refuses requests from `ip` until the throttle answers instead (each refusal 401 until then);
 * returns how many requests that took. The binding counts in minute-long windows aligned to the
 * clock (as Miniflare simulates it), so a flood that straddles a minute needs more than LIMIT + 1.
 */
async function refuseUntilThrottled(ip: string, path: string, headers: Record<string, string>): Promise<number> {
  for (let sent = 1; sent <= 3 * LIMIT; sent++) {
    const res = await callWith({}, 'GET', path, { headers: { ...headers, 'cf-connecting-ip': ip } });
    if (res.status === 429) return sent;
    expect(res.status, `refusal ${sent}: ${res.text}`).toBe(401);
  }
  throw new Error(`no throttle after ${3 * LIMIT} refusals`);
}

/** A flood of refusals costs a few seconds in the pool. */
const FLOOD_TIMEOUT_MS = 60_000;

describe('refused credentials per client IP', () => {
  it(
    'answers 429 {"error":"rate limit exceeded"} past the limit, reading no storage, while a recently verified key keeps working',
    async () => {
      const ip = newIp();
      const pair = await createOrgKey(`org-${crypto.randomUUID().slice(0, 8)}`, 'known good');
      const origin = recordingOrigin();
      const known = await callWith({ ORIGIN: origin.fetcher }, 'GET', '/v1/companies', {
        headers: { ...pairHeaders(pair), 'cf-connecting-ip': ip },
      });
      expect(known.status, known.text).toBe(200);

      const forged = await forgedPair();
      // The limit's own requests are refused as usual (401); the one past it too, and it trips the throttle.
      expect(await refuseUntilThrottled(ip, '/v1/companies', forged)).toBeGreaterThanOrEqual(LIMIT + 2);

      const throttled = await callWith(noStorage(), 'GET', '/v1/companies', { headers: { ...forged, 'cf-connecting-ip': ip } });
      expect(throttled.status, throttled.text).toBe(429);
      expect(throttled.body).toEqual({ error: 'rate limit exceeded' });
      const retryAfter = Number(throttled.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW);

      // Any key this isolate has not verified recently, valid or not, waits too: no storage is read for it.
      const unverified = await createOrgKey(`org-${crypto.randomUUID().slice(0, 8)}`, 'never used here');
      const other = await callWith(noStorage(), 'GET', '/v1/companies', {
        headers: { ...pairHeaders(unverified), 'cf-connecting-ip': ip },
      });
      expect(other.status, other.text).toBe(429);

      const stillWorks = await callWith({ ...noStorage(), ORIGIN: origin.fetcher }, 'GET', '/v1/companies', {
        headers: { ...pairHeaders(pair), 'cf-connecting-ip': ip },
      });
      expect(stillWorks.status, stillWorks.text).toBe(200);
      expect(origin.received.map((r) => r.headers['x-keygate-key-id'])).toEqual([pair.id, pair.id]);

      // Another address is judged as usual.
      const elsewhere = await callWith({}, 'GET', '/v1/companies', { headers: { ...forged, 'cf-connecting-ip': newIp() } });
      expect(elsewhere.status, elsewhere.text).toBe(401);
    },
    FLOOD_TIMEOUT_MS,
  );

  it(
    'on the client routes: 429 RATE_LIMITED with retryAfter, the limit and its window, readable by the page',
    async () => {
      const ip = newIp();
      const p = newProject();
      const key = await createProjectKey(p, 'known good');
      const origin = recordingOrigin();
      const asClient = (headers: Record<string, string>) => ({ headers: { ...headers, 'cf-connecting-ip': ip } });
      expect((await callWith({ ORIGIN: origin.fetcher }, 'GET', clientPath(p), asClient(apiKeyHeaders(key.key)))).status).toBe(200);

      const forged = apiKeyHeaders(generateKey('project'));
      expect(await refuseUntilThrottled(ip, clientPath(p), forged)).toBeGreaterThanOrEqual(LIMIT + 2);
      const throttled = await callWith(noStorage(), 'GET', clientPath(p), asClient(forged));
      expect(throttled.status, throttled.text).toBe(429);
      expect(throttled.body).toEqual({
        error: {
          code: 'RATE_LIMITED',
          message: 'rate limit exceeded',
          details: { retryAfter: Number(throttled.headers.get('retry-after')), limit: LIMIT, windowSeconds: WINDOW },
        },
      });
      expect(throttled.headers.get('access-control-allow-origin')).toBe('*');

      const own = await callWith({ ...noStorage(), ORIGIN: origin.fetcher }, 'GET', clientPath(p), asClient(apiKeyHeaders(key.key)));
      expect(own.status, own.text).toBe(200);
    },
    FLOOD_TIMEOUT_MS,
  );

  it(
    'stays below the limit: exactly LIMIT refusals leave the address unthrottled',
    async () => {
      const ip = newIp();
      const forged = await forgedPair();
      await refuse(ip, LIMIT - 1, '/v1/companies', forged);
      const next = await callWith({}, 'GET', '/v1/companies', { headers: { ...forged, 'cf-connecting-ip': ip } });
      expect(next.status, next.text).toBe(401);
    },
    FLOOD_TIMEOUT_MS,
  );

  it('answers a refusal once the binding has counted it: the request after the one past the limit is throttled at once', async () => {
    const ip = newIp();
    let release = () => {};
    const counted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const counts: string[] = [];
    // A binding past its limit for this IP, answering when the test lets it.
    const limiter = {
      async limit({ key }: { key: string }) {
        counts.push(key);
        await counted;
        return { success: false };
      },
    } as RateLimit;
    const forged = await forgedPair();
    const asClient = { headers: { ...forged, 'cf-connecting-ip': ip } };
    // The response alone, not the request's after-response work (which send() would wait for too).
    const ctx = createExecutionContext();
    let answered = false;
    const first = Promise.resolve(
      worker.fetch(buildRequest('GET', '/v1/companies', asClient), { ...env, AUTH_FAILURES: limiter }, ctx),
    ).finally(() => {
      answered = true;
    });
    await vi.waitFor(() => expect(counts).toEqual([ip]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered, 'the refusal waits for its count').toBe(false);
    release();
    expect((await first).status).toBe(401);
    await waitOnExecutionContext(ctx);
    // No after-response work in between: the next request is throttled, reading no storage.
    const next = await callWith({ ...noStorage(), AUTH_FAILURES: limiter }, 'GET', '/v1/companies', asClient);
    expect(next.status, next.text).toBe(429);
    expect(counts).toEqual([ip]);
  });

  it.each([
    { mode: 'reject' as const, surface: 'organization' },
    { mode: 'throw' as const, surface: 'organization' },
    { mode: 'reject' as const, surface: 'project' },
    { mode: 'throw' as const, surface: 'project' },
  ])('a failing AUTH_FAILURES binding ($mode) leaves $surface refusals 401 and throttles nothing', async ({ mode, surface }) => {
    const ip = newIp();
    const calls: string[] = [];
    const AUTH_FAILURES = brokenBinding<RateLimit>('AUTH_FAILURES', calls, mode);
    const p = newProject();
    const [path, headers] =
      surface === 'organization' ? ['/v1/companies', await forgedPair()] : [clientPath(p), apiKeyHeaders(generateKey('project'))];
    for (let i = 0; i < 3; i++) {
      const res = await callWith({ AUTH_FAILURES }, 'GET', path, { headers: { ...headers, 'cf-connecting-ip': ip } });
      expect(res.status, res.text).toBe(401);
      expect(res.text).not.toContain('D1_ERROR');
    }
    expect(calls).toEqual(['AUTH_FAILURES.limit', 'AUTH_FAILURES.limit', 'AUTH_FAILURES.limit']);
  });

  it(
    'never throttles a request without CF-Connecting-IP (there is no address to count)',
    async () => {
      const forged = await forgedPair();
      for (let i = 0; i < LIMIT + 5; i++) {
        const res = await callWith({}, 'GET', '/v1/companies', { headers: forged });
        expect(res.status).toBe(401);
      }
    },
    FLOOD_TIMEOUT_MS,
  );
});
