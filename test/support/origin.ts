// Origins for gateway tests: one that records what reaches it, one that throws, and the reference
// origin (examples/origin) run in-process over ORIGIN_DB with its schema and demo data.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createOriginApp } from '../../examples/origin/src/index';
import worker from '../../src/index';
import { buildRequest, type CallInit, type Reply, readReply } from './fixtures';
import { callWith } from './worker';

/** What the origin received. */
export type ReceivedRequest = {
  method: string;
  url: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string | null;
};

function asFetcher(fetch: (request: Request) => Promise<Response>): Fetcher {
  return { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(new Request(input, init)) } as unknown as Fetcher;
}

/**
 * An ORIGIN binding that records every request and answers with `answer` (by default 200
 * {"origin": "recorded"} with an x-origin header).
 */
export function recordingOrigin(
  answer: (request: Request) => Response | Promise<Response> = () =>
    Response.json({ origin: 'recorded' }, { headers: { 'x-origin': 'recording' } }),
) {
  const received: ReceivedRequest[] = [];
  const fetcher = asFetcher(async (request) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const body = request.body === null ? null : await request.text();
    received.push({ method: request.method, url: request.url, path: url.pathname, search: url.search, headers, body });
    return answer(request);
  });
  return { fetcher, received };
}

/** An ORIGIN binding whose fetch throws, as when the origin Worker cannot be reached. */
export function throwingOrigin(calls: string[] = []): Fetcher {
  return asFetcher(async (request) => {
    calls.push(request.url);
    throw new Error('origin exploded: internal detail that must not reach the client');
  });
}

/** The reference origin (examples/origin) in this isolate, over ORIGIN_DB. */
export function referenceOrigin(): Fetcher {
  const app = createOriginApp();
  return asFetcher(async (request) => app.fetch(request, { ORIGIN_DB: env.ORIGIN_DB }));
}

/** Applies examples/origin's schema.sql and seed.sql to ORIGIN_DB (idempotent, like the files). */
export async function seedOriginDb(): Promise<void> {
  const statements = JSON.parse(env.TEST_ORIGIN_SCHEMA) as string[];
  await env.ORIGIN_DB.batch(statements.map((sql) => env.ORIGIN_DB.prepare(sql)));
}

/** call() with `origin` as the ORIGIN binding; waits for the request's waitUntil work. */
export function callVia<T = any>(origin: Fetcher, method: string, path: string, init: CallInit = {}): Promise<Reply<T>> {
  return callWith<T>({ ORIGIN: origin }, method, path, init);
}

/**
 * A caller whose requests all see one env object (`overrides` applied once), as requests of one
 * isolate do in production: the parsed configuration and every per-configuration cache are
 * shared between its requests. Each call returns once the request's waitUntil work is done.
 */
export function sharedEnvCaller(overrides: Partial<Env>) {
  const shared = { ...env, ...overrides } as Env;
  return async function callShared<T = any>(method: string, path: string, init: CallInit = {}): Promise<Reply<T>> {
    const ctx = createExecutionContext();
    const response = await worker.fetch(buildRequest(method, path, init), shared, ctx);
    const reply = await readReply<T>(response);
    await waitOnExecutionContext(ctx);
    return reply;
  };
}
