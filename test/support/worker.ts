// Requests through the Worker with a modified environment (other JWT settings, a broken binding),
// waiting for everything the request deferred with waitUntil before returning.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../../src/index';
import { buildRequest, type CallInit, type Reply, readReply } from './fixtures';

/** Sends a Request to the Worker with `overrides` applied to the test env. */
export async function send<T = any>(request: Request, overrides: Partial<Env> = {}): Promise<Reply<T>> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...overrides }, ctx);
  const reply = await readReply<T>(response);
  await waitOnExecutionContext(ctx);
  return reply;
}

/** call() with a modified environment; returns once the request's waitUntil work is done. */
export function callWith<T = any>(overrides: Partial<Env>, method: string, path: string, init: CallInit = {}): Promise<Reply<T>> {
  return send<T>(buildRequest(method, path, init), overrides);
}

/**
 * A binding whose every method throws (or, with `reject`, returns a rejected promise), recording
 * each call in `calls`. The error message imitates a D1 failure full of internal detail, so tests
 * can prove none of it reaches a client.
 */
export function brokenBinding<T>(name: string, calls: string[] = [], mode: 'throw' | 'reject' = 'throw'): T {
  const failure = () => new Error(`D1_ERROR: ${name} unreachable: SELECT secret_hash FROM api_keys (internal detail)`);
  return new Proxy(
    {},
    {
      get(_target, property) {
        // Not a thenable: awaiting the binding itself must not count as a call.
        if (property === 'then') return undefined;
        return (..._args: unknown[]) => {
          calls.push(`${name}.${String(property)}`);
          if (mode === 'reject') return Promise.reject(failure());
          throw failure();
        };
      },
    },
  ) as T;
}

/**
 * A D1Database whose statements can be prepared and bound but every query rejects, as when D1
 * cannot be reached mid-request.
 */
export function unreachableD1(): D1Database {
  const failure = () => Promise.reject(new Error('D1_ERROR: Network connection lost. SELECT * FROM api_keys WHERE secret_hash = ?1'));
  const statement = {
    bind: () => statement,
    first: failure,
    all: failure,
    run: failure,
    raw: failure,
  };
  return {
    prepare: () => statement,
    batch: failure,
    exec: failure,
    dump: failure,
    withSession: () => {
      throw new Error('D1_ERROR: sessions unavailable');
    },
  } as unknown as D1Database;
}
