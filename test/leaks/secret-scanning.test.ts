// POST /v1/secret-scanning/github: GitHub's signed leak reports, verified against keys served by
// a stand-in for GitHub's key endpoint (locally generated P-256 pairs); what a report does to
// each kind of key, and that a report that cannot be verified changes nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../src/keys/hash';
import { derToP1363 } from '../../src/leaks/github';
import { auditRowsOfKey, keyRow, storageState } from '../support/db';
import { call, createOrgKey, pairHeaders, randomId, revokeOrgKey } from '../support/fixtures';
import {
  apiKeyHeaders,
  clientPath,
  createProjectKey,
  customKeyValue,
  INVALID_API_KEY_BODY,
  ISO,
  newProject,
  updateProjectKey,
} from '../support/project';
import { callWith, unreachableD1 } from '../support/worker';

const PATH = '/v1/secret-scanning/github';
const LEAK_URL = 'https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt';
const TYPE = 'keygate_api_key';
const INVALID_PAIR_BODY = { error: 'invalid api key or clientId' };

// --- A stand-in for GitHub: signing keys, signatures as GitHub sends them, its key endpoint ---

type GitHubKey = { id: string; pem: string; privateKey: CryptoKey };

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A fresh P-256 key pair, its public half as the PEM GitHub publishes. */
async function newGitHubKey(): Promise<GitHubKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const spki = new Uint8Array((await crypto.subtle.exportKey('spki', pair.publicKey)) as ArrayBuffer);
  const lines = base64(spki).match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
  return { id: crypto.randomUUID().replaceAll('-', ''), pem, privateKey: pair.privateKey };
}

/** A P1363 signature (r || s) in DER, as GitHub sends it: minimal INTEGERs, a 0 before a high bit. */
function derOf(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array): number[] => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const value = [...bytes.subarray(start)];
    return (value[0] ?? 0) & 0x80 ? [0x02, value.length + 1, 0, ...value] : [0x02, value.length, ...value];
  };
  const r = integer(raw.subarray(0, 32));
  const s = integer(raw.subarray(32));
  return new Uint8Array([0x30, r.length + s.length, ...r, ...s]);
}

/** The Github-Public-Key-Signature of `body` by `key`. */
async function sign(key: GitHubKey, body: string): Promise<string> {
  const raw = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(body));
  return base64(derOf(new Uint8Array(raw)));
}

/** What the stand-in endpoint was asked. */
type KeyFetch = { headers: Headers; signal: AbortSignal | null | undefined };

/** GitHub's key endpoint, stood in at a URL of its own (the isolate caches keys per URL). */
class KeyEndpoint {
  readonly url = `https://github-keys.keygate.test/${randomId('keys')}`;
  readonly fetches: KeyFetch[] = [];
  /** Another answer than the key list: an HTTP status, or a document of another shape. */
  failWith: number | null = null;
  document: unknown = null;
  etag: string | null = null;

  constructor(public keys: GitHubKey[]) {}

  answer(fetched: KeyFetch): Response {
    this.fetches.push(fetched);
    if (this.failWith !== null) return new Response('unavailable', { status: this.failWith });
    if (this.etag !== null && fetched.headers.get('if-none-match') === this.etag) return new Response(null, { status: 304 });
    const document = this.document ?? {
      public_keys: this.keys.map((k, i) => ({ key_identifier: k.id, key: k.pem, is_current: i === this.keys.length - 1 })),
    };
    return Response.json(document, { headers: this.etag === null ? {} : { etag: this.etag } });
  }
}

const endpoints = new Map<string, KeyEndpoint>();

async function keyEndpoint(...keys: GitHubKey[]): Promise<KeyEndpoint> {
  const endpoint = new KeyEndpoint(keys.length > 0 ? keys : [await newGitHubKey()]);
  endpoints.set(endpoint.url, endpoint);
  return endpoint;
}

beforeEach(() => {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const endpoint = endpoints.get(url);
    if (!endpoint) return realFetch(input, init);
    return endpoint.answer({ headers: new Headers(init?.headers), signal: init?.signal });
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Moves this isolate's clock (Date only) forward. */
function advance(ms: number): void {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now + ms);
}

// --- Reports ---

type Match = { token?: unknown; type?: unknown; url?: unknown; source?: unknown };

function match(token: string, extra: Match = {}): Match {
  return { token, type: TYPE, url: LEAK_URL, source: 'content', ...extra };
}

type ReportOptions = { key?: GitHubKey; identifier?: string; signature?: string; env?: Partial<Env>; headers?: Record<string, string> };

/** POSTs `body` (as it is) signed by the endpoint's first key unless told otherwise. */
async function report(endpoint: KeyEndpoint, body: string, options: ReportOptions = {}) {
  const key = options.key ?? endpoint.keys[0]!;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/secret-scanning',
    'cf-connecting-ip': '192.0.2.44',
    'Github-Public-Key-Identifier': options.identifier ?? key.id,
    'Github-Public-Key-Signature': options.signature ?? (await sign(key, body)),
    ...options.headers,
  };
  return callWith({ SECRET_SCANNING_KEYS_URL: endpoint.url, ...options.env }, 'POST', PATH, { headers, rawBody: body });
}

function reportOf(...matches: unknown[]): string {
  return JSON.stringify(matches);
}

async function label(token: string, verdict: 'true_positive' | 'false_positive', type = TYPE) {
  return { token_hash: await sha256Hex(token), token_type: type, label: verdict };
}

function leakedEntries(keyId: string) {
  return auditRowsOfKey(keyId).then((rows) => rows.filter((row) => row.action === 'leaked'));
}

describe('a verified report', () => {
  it("accepts the signed sample request of GitHub's documentation, with GitHub's published key", async () => {
    const github: GitHubKey = {
      id: 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c',
      pem:
        '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\n' +
        'AjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n',
      privateKey: null as unknown as CryptoKey,
    };
    const endpoint = await keyEndpoint(github);
    const body = '[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]';
    // r has a leading zero byte (33 bytes in DER), s only 31 bytes: both must come out as 32.
    const signature = 'MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==';
    const res = await report(endpoint, body, { signature });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([await label('some_token', 'false_positive', 'some_type')]);
  });

  it('revokes a reported organization secret at once: leakedAt, leakSource, a leaked entry, and the pair refused', async () => {
    const endpoint = await keyEndpoint();
    const org = randomId();
    const pair = await createOrgKey(org, 'ci deploy');
    // Used first, so that it sits in this isolate's tier and in KV.
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);

    const res = await report(endpoint, reportOf(match(pair.apiKey)));
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([await label(pair.apiKey, 'true_positive')]);

    const row = await keyRow(pair.id);
    expect(row).toMatchObject({ status: 'revoked', leaked_at: expect.stringMatching(ISO), leak_source: LEAK_URL });
    expect(row?.revoked_at).toBe(row?.leaked_at);
    expect(await leakedEntries(pair.id)).toEqual([
      expect.objectContaining({
        organization_id: org,
        project_id: null,
        key_kind: 'org',
        key_name: 'ci deploy',
        actor_type: 'scanner',
        actor_id: 'github',
        ip: '192.0.2.44',
        user_agent: 'GitHub-Hookshot/secret-scanning',
        created_at: row?.leaked_at,
      }),
    ]);
    const after = await call('GET', '/v1/keys', { headers: pairHeaders(pair) });
    expect(after.status, after.text).toBe(401);
    expect(after.body).toEqual(INVALID_PAIR_BODY);
  });

  it('only flags a reported project key: it keeps working, with leakedAt and leakSource set', async () => {
    const endpoint = await keyEndpoint();
    const p = newProject();
    const created = await createProjectKey(p);

    const res = await report(endpoint, reportOf(match(created.key)));
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([await label(created.key, 'true_positive')]);
    expect(await keyRow(created.id)).toMatchObject({
      status: 'active',
      revoked_at: null,
      leaked_at: expect.stringMatching(ISO),
      leak_source: LEAK_URL,
    });
    expect(await leakedEntries(created.id)).toEqual([
      expect.objectContaining({ key_kind: 'project', project_id: p.project, actor_type: 'scanner', actor_id: 'github' }),
    ]);
    const used = await call('GET', clientPath(p), { headers: apiKeyHeaders(created.key) });
    expect(used.status, used.text).toBe(200);
  });

  it('revokes project keys with LEAKED_PROJECT_KEY_ACTION=revoke and only flags organization secrets with LEAKED_ORG_KEY_ACTION=flag', async () => {
    const endpoint = await keyEndpoint();
    const p = newProject();
    const pair = await createOrgKey(p.org);
    const created = await createProjectKey(p);
    expect((await call('GET', clientPath(p), { headers: apiKeyHeaders(created.key) })).status).toBe(200);

    const env = { LEAKED_ORG_KEY_ACTION: 'flag', LEAKED_PROJECT_KEY_ACTION: 'revoke' };
    const res = await report(endpoint, reportOf(match(pair.apiKey), match(created.key)), { env });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([await label(pair.apiKey, 'true_positive'), await label(created.key, 'true_positive')]);

    expect(await keyRow(pair.id)).toMatchObject({ status: 'active', revoked_at: null, leak_source: LEAK_URL });
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(pair) })).status).toBe(200);
    expect(await keyRow(created.id)).toMatchObject({ status: 'revoked', revoked_at: expect.stringMatching(ISO), leak_source: LEAK_URL });
    const refused = await call('GET', clientPath(p), { headers: apiKeyHeaders(created.key) });
    expect(refused.status, refused.text).toBe(401);
    expect(refused.body).toEqual(INVALID_API_KEY_BODY);
    expect(await leakedEntries(pair.id)).toHaveLength(1);
    expect(await leakedEntries(created.id)).toHaveLength(1);
  });

  it('labels a mixed batch in order: Keygate keys of every kind, foreign tokens; skips entries without a string token', async () => {
    const endpoint = await keyEndpoint();
    const p = newProject();
    const pair = await createOrgKey(p.org);
    const generated = await createProjectKey(p);
    const custom = await createProjectKey(p, randomId('key'), await customKeyValue());
    const revoked = await createOrgKey(p.org, 'revoked before');
    await revokeOrgKey(revoked);
    const revokedBefore = await keyRow(revoked.id);
    const lookalike = `kg_sk_${'A'.repeat(39)}`;

    const body = reportOf(
      match(pair.apiKey),
      match(lookalike),
      42,
      null,
      'kg_sk_not_an_object',
      [match(generated.key)],
      { type: TYPE, url: LEAK_URL },
      { token: 7, type: TYPE },
      match(generated.key, { type: 'another_type' }),
      match(custom.key, { url: '' }),
      match('ghp_a_token_of_someone_else', { type: 42 }),
      match(revoked.apiKey),
      match(pair.apiKey, { url: 'https://github.com/elsewhere' }),
    );
    const res = await report(endpoint, body);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([
      await label(pair.apiKey, 'true_positive'),
      await label(lookalike, 'false_positive'),
      await label(generated.key, 'true_positive', 'another_type'),
      await label(custom.key, 'true_positive'),
      await label('ghp_a_token_of_someone_else', 'false_positive', ''),
      await label(revoked.apiKey, 'true_positive'),
      await label(pair.apiKey, 'true_positive'),
    ]);

    // The first report of a key in a batch is the one recorded; one entry per key.
    expect(await keyRow(pair.id)).toMatchObject({ status: 'revoked', leak_source: LEAK_URL });
    expect(await keyRow(generated.id)).toMatchObject({ status: 'active', leak_source: LEAK_URL });
    expect(await keyRow(custom.id)).toMatchObject({ status: 'active', leaked_at: expect.stringMatching(ISO), leak_source: null });
    // Already harmless, and still recorded.
    expect(await keyRow(revoked.id)).toMatchObject({
      status: 'revoked',
      revoked_at: revokedBefore?.revoked_at,
      leaked_at: expect.stringMatching(ISO),
      leak_source: LEAK_URL,
    });
    for (const id of [pair.id, generated.id, custom.id, revoked.id]) expect(await leakedEntries(id)).toHaveLength(1);
  });

  it('keeps the first report of a key reported again, without a second entry, unless the key is now to be revoked', async () => {
    const endpoint = await keyEndpoint();
    const p = newProject();
    const created = await createProjectKey(p);
    expect((await report(endpoint, reportOf(match(created.key)))).status).toBe(200);
    const first = await keyRow(created.id);

    const again = await report(endpoint, reportOf(match(created.key, { url: 'https://github.com/a/second/place' })));
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual([await label(created.key, 'true_positive')]);
    expect(await keyRow(created.id)).toEqual(first);
    expect(await leakedEntries(created.id)).toHaveLength(1);

    // Reported while project keys are to be revoked: revoked now, with a second entry.
    const revoking = await report(endpoint, reportOf(match(created.key, { url: 'https://github.com/a/third/place' })), {
      env: { LEAKED_PROJECT_KEY_ACTION: 'revoke' },
    });
    expect(revoking.status, revoking.text).toBe(200);
    expect(await keyRow(created.id)).toMatchObject({ status: 'revoked', leaked_at: first?.leaked_at, leak_source: LEAK_URL });
    expect(await leakedEntries(created.id)).toHaveLength(2);

    // Reactivated by an admin, then reported again under the default action: left alone.
    await updateProjectKey(p, created.id, { status: 'active' });
    const settled = await report(endpoint, reportOf(match(created.key)));
    expect(settled.status, settled.text).toBe(200);
    expect(await keyRow(created.id)).toMatchObject({ status: 'active', leaked_at: first?.leaked_at });
    expect(await leakedEntries(created.id)).toHaveLength(2);
  });

  it('answers an empty report with an empty list', async () => {
    const endpoint = await keyEndpoint();
    const res = await report(endpoint, '[]');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([]);
  });

  it('answers 400 in the organization shape for a signed body that is not JSON, or not an array', async () => {
    const endpoint = await keyEndpoint();
    const notJson = await report(endpoint, '[{"token": ');
    expect(notJson.status, notJson.text).toBe(400);
    expect(notJson.body).toEqual({ error: 'request body is not valid JSON' });
    const notArray = await report(endpoint, JSON.stringify(match('kg_sk_whatever')));
    expect(notArray.status, notArray.text).toBe(400);
    expect(notArray.body).toEqual({
      error: 'invalid request body',
      details: [{ field: '', message: 'must be an array of secret scanning matches' }],
    });
  });

  it('answers 503 and changes nothing when D1 cannot be reached', async () => {
    const endpoint = await keyEndpoint();
    const org = randomId();
    const pair = await createOrgKey(org);
    const before = await storageState(org);
    const res = await report(endpoint, reportOf(match(pair.apiKey)), { env: { DB: unreachableD1() } });
    expect(res.status, res.text).toBe(503);
    expect(res.body).toEqual({ error: 'service temporarily unavailable', requestId: expect.any(String) });
    expect(res.text).not.toContain('SELECT');
    expect(await storageState(org)).toEqual(before);
  });
});

describe('a report that cannot be verified changes nothing', () => {
  /** An organization secret in a report, and the storage state that must stay as it is. */
  async function target() {
    const org = randomId();
    const pair = await createOrgKey(org);
    return { org, pair, body: reportOf(match(pair.apiKey)), before: await storageState(org) };
  }

  it('refuses a signature over another body, or over the same report serialized otherwise', async () => {
    const endpoint = await keyEndpoint();
    const t = await target();
    const key = endpoint.keys[0]!;
    const reserialized = JSON.stringify(JSON.parse(t.body), null, 1);
    for (const signature of [await sign(key, reportOf(match('something else'))), await sign(key, reserialized)]) {
      const res = await report(endpoint, t.body, { signature });
      expect(res.status, res.text).toBe(401);
      expect(res.body).toEqual({ error: 'the signature does not match the request body' });
    }
    expect(await storageState(t.org)).toEqual(t.before);
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(t.pair) })).status).toBe(200);
  });

  it('refuses a report signed by another key under a published identifier', async () => {
    const endpoint = await keyEndpoint();
    const t = await target();
    const res = await report(endpoint, t.body, { signature: await sign(await newGitHubKey(), t.body) });
    expect(res.status, res.text).toBe(401);
    expect(await storageState(t.org)).toEqual(t.before);
  });

  it('refuses missing and malformed signature headers without fetching any key', async () => {
    const endpoint = await keyEndpoint();
    const t = await target();
    const key = endpoint.keys[0]!;
    const good = await sign(key, t.body);
    const der = Uint8Array.from(atob(good), (c) => c.charCodeAt(0));
    const cases: Array<[string, Record<string, string>, string]> = [
      [
        'no identifier',
        { 'Github-Public-Key-Identifier': '' },
        'missing Github-Public-Key-Identifier or Github-Public-Key-Signature header',
      ],
      ['no signature', { 'Github-Public-Key-Signature': '' }, 'missing Github-Public-Key-Identifier or Github-Public-Key-Signature header'],
      ['a signature that is not base64', { 'Github-Public-Key-Signature': 'not base64 at all!' }, 'malformed'],
      ['a raw (P1363) signature', { 'Github-Public-Key-Signature': base64(new Uint8Array(64).fill(7)) }, 'malformed'],
      ['a truncated DER signature', { 'Github-Public-Key-Signature': base64(der.subarray(0, der.length - 1)) }, 'malformed'],
      ['a DER signature with bytes after it', { 'Github-Public-Key-Signature': base64(new Uint8Array([...der, 0])) }, 'malformed'],
      ['an overlong identifier', { 'Github-Public-Key-Identifier': 'a'.repeat(300) }, 'malformed'],
    ];
    for (const [label, headers, message] of cases) {
      const res = await report(endpoint, t.body, { headers });
      expect(res.status, `${label}: ${res.text}`).toBe(401);
      expect(res.body.error, label).toContain(message);
    }
    expect(endpoint.fetches).toEqual([]);
    expect(await storageState(t.org)).toEqual(t.before);
  });

  it('checks the signature before the body: unsigned garbage is a 401, not a 400', async () => {
    const endpoint = await keyEndpoint();
    const res = await report(endpoint, '{not json', { signature: await sign(endpoint.keys[0]!, '[]') });
    expect(res.status, res.text).toBe(401);
  });

  it('refuses an unknown key identifier, and fetches the keys for unknown identifiers at most every 30 s', async () => {
    const endpoint = await keyEndpoint();
    const t = await target();
    expect((await report(endpoint, '[]')).status).toBe(200);
    expect(endpoint.fetches).toHaveLength(1);

    const stranger = await newGitHubKey();
    for (let i = 0; i < 3; i++) {
      const res = await report(endpoint, t.body, { key: stranger });
      expect(res.status, res.text).toBe(401);
      expect(res.body).toEqual({ error: 'unknown Github-Public-Key-Identifier' });
    }
    expect(endpoint.fetches).toHaveLength(1);
    advance(31_000);
    expect((await report(endpoint, t.body, { key: stranger })).status).toBe(401);
    expect(endpoint.fetches).toHaveLength(2);
    expect(await storageState(t.org)).toEqual(t.before);
  });

  it('answers 503 (GitHub delivers again) when the keys cannot be fetched, and changes nothing', async () => {
    const t = await target();
    const unreachable = await keyEndpoint();
    // Not stood in: the test pool's outbound handler answers 502 for it.
    endpoints.delete(unreachable.url);
    const failing = await keyEndpoint();
    failing.failWith = 500;
    const shapeless = await keyEndpoint();
    shapeless.document = { keys: [] };
    const unusable = await keyEndpoint();
    unusable.document = { public_keys: [{ key_identifier: unusable.keys[0]!.id, key: 'not a PEM', is_current: true }] };

    for (const endpoint of [unreachable, failing, shapeless, unusable]) {
      const res = await report(endpoint, t.body);
      expect(res.status, res.text).toBe(503);
      expect(res.body).toEqual({
        error: "GitHub's secret scanning keys could not be fetched; the report was not verified",
        requestId: expect.any(String),
      });
      expect(res.headers.get('retry-after')).toBe('1');
    }
    expect(await storageState(t.org)).toEqual(t.before);
    expect((await call('GET', '/v1/keys', { headers: pairHeaders(t.pair) })).status).toBe(200);
  });
});

describe("GitHub's keys", () => {
  it('are fetched once, with a user agent and a timeout, then served from the isolate', async () => {
    const endpoint = await keyEndpoint();
    for (let i = 0; i < 3; i++) expect((await report(endpoint, '[]')).status).toBe(200);
    expect(endpoint.fetches).toHaveLength(1);
    expect(endpoint.fetches[0]?.headers.get('user-agent')).toBeTruthy();
    expect(endpoint.fetches[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it('are fetched again when a new identifier appears (GitHub rotated its keys), and the old one still verifies', async () => {
    const endpoint = await keyEndpoint();
    const p = newProject();
    const created = await createProjectKey(p);
    const old = endpoint.keys[0]!;
    expect((await report(endpoint, '[]')).status).toBe(200);

    const rotated = await newGitHubKey();
    endpoint.keys.push(rotated);
    advance(31_000);
    const res = await report(endpoint, reportOf(match(created.key)), { key: rotated });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([await label(created.key, 'true_positive')]);
    expect(endpoint.fetches).toHaveLength(2);
    expect((await report(endpoint, '[]', { key: old })).status).toBe(200);
    expect(endpoint.fetches).toHaveLength(2);
  });

  it('are revalidated after an hour with If-None-Match; a 304 keeps them', async () => {
    const endpoint = await keyEndpoint();
    endpoint.etag = '"keys-v1"';
    expect((await report(endpoint, '[]')).status).toBe(200);
    advance(61 * 60_000);
    expect((await report(endpoint, '[]')).status).toBe(200);
    expect(endpoint.fetches.map((f) => f.headers.get('if-none-match'))).toEqual([null, '"keys-v1"']);
  });

  it('keep verifying for a day while the endpoint fails (it rate-limits), then no longer', async () => {
    const endpoint = await keyEndpoint();
    expect((await report(endpoint, '[]')).status).toBe(200);
    endpoint.failWith = 403;
    advance(61 * 60_000);
    expect((await report(endpoint, '[]')).status).toBe(200);
    expect(endpoint.fetches).toHaveLength(2);
    // An identifier missing from the stale list cannot be judged unknown while the endpoint fails.
    expect((await report(endpoint, '[]', { key: await newGitHubKey() })).status).toBe(503);
    advance(24 * 60 * 60_000);
    expect((await report(endpoint, '[]')).status).toBe(503);
  });
});

describe('the route', () => {
  it('needs no Keygate credential, and its path is never forwarded to the origin', async () => {
    const noSignature = await call('POST', PATH, { body: [] });
    expect(noSignature.status, noSignature.text).toBe(401);
    expect(noSignature.body).toEqual({ error: 'missing Github-Public-Key-Identifier or Github-Public-Key-Signature header' });
    const org = randomId();
    const pair = await createOrgKey(org);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await call(method, PATH, { headers: pairHeaders(pair) });
      expect(res.status, `${method}: ${res.text}`).toBe(404);
      expect(res.headers.get('x-recording-origin')).toBeNull();
    }
  });

  it('takes reports of up to 1 MiB (GitHub batches every match); other routes keep their 16 KiB limit', async () => {
    const endpoint = await keyEndpoint(await newGitHubKey());
    const tokens = Array.from({ length: 1800 }, (_, i) => match(`not-a-keygate-token-${i}-${'x'.repeat(250)}`));
    const body = reportOf(...tokens);
    expect(body.length).toBeGreaterThan(600_000);
    const res = await report(endpoint, body);
    expect(res.status, res.text.slice(0, 200)).toBe(200);
    expect(res.body).toHaveLength(1800);
    const tooLarge = await report(endpoint, reportOf(...tokens, ...tokens));
    expect(tooLarge.status).toBe(413);
    const elsewhere = await call('POST', '/v1/keys', {
      rawBody: `{"name":"${'x'.repeat(20_000)}"}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(elsewhere.status).toBe(413);
  });

  it('is documented in /openapi.json without a security requirement', async () => {
    const { body } = await call('GET', '/openapi.json');
    const operation = body.paths[PATH].post;
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '503']));
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual([
      'Github-Public-Key-Identifier',
      'Github-Public-Key-Signature',
    ]);
    expect(body.components.schemas.SecretScanningMatch.required).toEqual(['token', 'type', 'url', 'source']);
  });
});

describe('derToP1363', () => {
  const der = (...bytes: number[]) => new Uint8Array(bytes);
  const int = (length: number, first = 1) => [0x02, length, first, ...new Array(length - 1).fill(5)];

  it('pads short integers and drops a leading zero', () => {
    const raw = derToP1363(der(0x30, 4 + 33 + 31, ...int(33, 0), ...int(31)));
    expect(raw?.length).toBe(64);
    expect([...(raw?.subarray(0, 2) ?? [])]).toEqual([5, 5]);
    expect([...(raw?.subarray(32, 34) ?? [])]).toEqual([0, 1]);
  });

  it('refuses what is no P-256 signature', () => {
    const refused = [
      der(0x31, 6, ...int(1), ...int(1)), // not a SEQUENCE
      der(0x30, 6, 0x03, 1, 1, ...int(1)), // not an INTEGER
      der(0x30, 6, ...int(1, 0x80), ...int(1)), // a negative r
      der(0x30, 4 + 34 + 1, ...int(34), ...int(1)), // r longer than 32 bytes
      der(0x30, 7, ...int(1), ...int(1), 0), // bytes after the INTEGERs
      der(0x30, 6, ...int(1), 0x02, 4, 1), // a length past the end
    ];
    for (const bytes of refused) expect(derToP1363(bytes), JSON.stringify([...bytes])).toBeNull();
  });
});
