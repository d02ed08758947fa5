// Shared test fixtures: fresh ids, requests through the Worker, tokens and keys.
import { exports } from 'cloudflare:workers';
import { sha256Hex } from '../../src/keys/hash';
import { adminHeaders, bearer, token } from './tokens';

/** Every secret a test was given, so setup.ts can prove none of them (or their hash) was logged. */
export const issuedSecrets: Array<{ kind: string; value: string; hash: string }> = [];

export async function remember(kind: string, value: string): Promise<void> {
  issuedSecrets.push({ kind, value, hash: await sha256Hex(value) });
}

/** A fresh organization or project id, so tests never share data. */
export function randomId(prefix = 'org'): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 12)}`;
}

export type Reply<T = any> = { status: number; body: T; headers: Headers; text: string };

export type CallInit = { headers?: Record<string, string>; body?: unknown; rawBody?: string };

/** The Request call() sends: `body` is sent as JSON, `rawBody` as it is. */
export function buildRequest(method: string, path: string, init: CallInit = {}): Request {
  const headers = new Headers(init.headers);
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return new Request(`https://keygate.test${path}`, { method, headers, body });
}

/**
 * Reads a Worker response. A secret in a 201 body (`data.apiKey`) is remembered on the way, so
 * every secret a test is handed takes part in setup.ts's log check.
 */
export async function readReply<T = any>(response: Response): Promise<Reply<T>> {
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  const apiKey = (parsed as { data?: { apiKey?: unknown } } | null)?.data?.apiKey;
  if (response.status === 201 && typeof apiKey === 'string') await remember('organization secret', apiKey);
  return { status: response.status, body: parsed as T, headers: response.headers, text };
}

/** Sends a request through the Worker's fetch handler. */
export async function call<T = any>(method: string, path: string, init: CallInit = {}): Promise<Reply<T>> {
  return readReply<T>(await exports.default.fetch(buildRequest(method, path, init)));
}

// Tokens live in ./tokens; re-exported here because almost every test wants them with call().
export { adminHeaders, bearer, token } from './tokens';

export type OrgKeyPair = { id: string; clientId: string; apiKey: string; organizationId: string };

export function pairHeaders(pair: Pick<OrgKeyPair, 'clientId' | 'apiKey'>): Record<string, string> {
  return { 'x-metal-client-id': pair.clientId, 'x-metal-api-key': pair.apiKey };
}

/** Creates an organization key with an admin JWT (and the create body's other fields in `extra`) and returns the pair. */
export async function createOrgKey(organizationId: string, name = 'test key', extra: Record<string, unknown> = {}): Promise<OrgKeyPair> {
  const res = await call('POST', '/v1/keys', { headers: bearer(await token({ org: organizationId })), body: { name, ...extra } });
  if (res.status !== 201) throw new Error(`createOrgKey: ${res.status} ${res.text}`);
  await remember('organization secret', res.body.data.apiKey);
  return { id: res.body.data.id, clientId: res.body.data.clientId, apiKey: res.body.data.apiKey, organizationId };
}

/** Revokes a key with an admin JWT of its organization. */
export async function revokeOrgKey(pair: Pick<OrgKeyPair, 'id' | 'organizationId'>): Promise<void> {
  const res = await call('DELETE', `/v1/keys/${pair.id}`, { headers: await adminHeaders(pair.organizationId) });
  if (res.status !== 200) throw new Error(`revokeOrgKey: ${res.status} ${res.text}`);
}

/** The same key with one character of its checksum changed (still base62, same length). */
export function withAlteredChecksum(key: string): string {
  const last = key.slice(-1);
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}
