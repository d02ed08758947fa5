// The direct path (src/routes/fast-path.ts) against the router: the same request sent to an app
// that takes the direct path where it can and to one that leaves everything to the router, each
// with its own recording origin, and both answers reduced to what must be equal.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp } from '../../src/app';
import { type Reply, readReply } from './fixtures';
import { type ReceivedRequest, recordingOrigin } from './origin';

/** One answer as the comparison sees it. */
export type Seen = { reply: Reply; received: ReceivedRequest[]; comparable: string };

/**
 * A sender to both apps. `overrides` apply to one env object per app, kept for every request
 * (as one isolate's requests share theirs), so per-configuration caches behave as in production.
 * The two apps share the isolate's module state (key tiers, leases, usage), as they would.
 */
export function bothPaths(overrides: Partial<Env> = {}) {
  const direct = createApp();
  const routed = createApp({ directPath: false });
  const directOrigin = recordingOrigin();
  const routedOrigin = recordingOrigin();
  const directEnv = { ...env, ORIGIN: directOrigin.fetcher, ...overrides } as Env;
  const routedEnv = { ...env, ORIGIN: routedOrigin.fetcher, ...overrides } as Env;

  async function sendTo(app: ReturnType<typeof createApp>, request: Request, appEnv: Env, received: ReceivedRequest[]): Promise<Seen> {
    const before = received.length;
    const ctx = createExecutionContext();
    const reply = await readReply(await app.fetch(request, appEnv, ctx));
    await waitOnExecutionContext(ctx);
    const reached = received.slice(before);
    return { reply, received: reached, comparable: comparable(reply, reached) };
  }

  /** Sends the request `build()` makes to the direct-path app, then an equal one to the router. */
  return async function send(build: () => Request): Promise<{ direct: Seen; routed: Seen }> {
    const seenDirect = await sendTo(direct, build(), directEnv, directOrigin.received);
    const seenRouted = await sendTo(routed, build(), routedEnv, routedOrigin.received);
    return { direct: seenDirect, routed: seenRouted };
  };
}

/**
 * Headers whose values differ between two requests in a row by design: the request id (one per
 * request), the budget left (one request later), the seconds to wait (a second may pass), the
 * window's end (the two may straddle a window's boundary) and the D1 bookmark (the management
 * routes' session: later writes move it).
 */
const MOVING: Readonly<Record<string, (value: string) => string>> = {
  'x-request-id': () => '<id>',
  'x-ratelimit-remaining': () => '<n>',
  'x-ratelimit-reset': () => '<t>',
  ratelimit: (value) => value.replace(/r=\d+/g, 'r=<n>').replace(/t=\d+/g, 't=<s>'),
  'retry-after': () => '<s>',
  'x-keygate-bookmark': () => '<bookmark>',
};

/** Status, every header (moving values masked), the body (request id and retryAfter masked) and what the origin received. */
export function comparable(reply: Reply, received: readonly ReceivedRequest[]): string {
  const headers = [...reply.headers].map(([name, value]) => [name, MOVING[name]?.(value) ?? value]);
  const text = reply.text.replace(/"requestId":"[^"]*"/g, '"requestId":"<id>"').replace(/"retryAfter":\d+/g, '"retryAfter":<s>');
  return JSON.stringify({ status: reply.status, headers, body: text, received }, null, 1);
}
