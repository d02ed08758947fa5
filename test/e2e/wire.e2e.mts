// What only real HTTP shows: requests written byte for byte (node:http sends the path exactly as
// given, with no URL normalisation, and lets a GET carry a body), against the local service as
// npm start runs it, with the reference origin behind it.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, freshOrg, type Service, startService } from './support/harness.mjs';

let service: Service;
let pair: { clientId: string; apiKey: string; id: string };

beforeAll(async () => {
  service = await startService('wire');
  const org = freshOrg('wire');
  const created = await api<{ data: { clientId: string; apiKey: string; id: string } }>(
    service,
    'POST',
    '/v1/keys',
    { authorization: `Bearer ${adminToken(service, { org })}` },
    { name: 'wire' },
  );
  expect(created.status, created.text).toBe(201);
  pair = created.body.data;
});

afterAll(async () => {
  await service?.stop();
});

type Raw = { status: number; text: string; body: any; headers: Record<string, string | string[] | undefined> };

/** One request exactly as written: `path` unnormalised, `body` sent whatever the method. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Raw> {
  const url = new URL(service.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, text, body: parsed, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const keyPair = () => ({ 'x-metal-client-id': pair.clientId, 'x-metal-api-key': pair.apiKey });

describe('GET /', () => {
  it('sends whoever opens the address to the console (public/_redirects, static assets)', async () => {
    const res = await raw('GET', '/', { accept: 'text/html' });
    expect(res.status, res.text).toBe(302);
    expect(res.headers.location).toBe('/console');
  });
});

describe('a GET that carries a body', () => {
  it('is answered as if it had none, never 500 (chunked, and with Content-Length)', async () => {
    const chunked = await raw('GET', '/health', { 'transfer-encoding': 'chunked' }, 'x');
    expect(chunked.status, chunked.text).toBe(200);
    const sized = await raw('GET', '/v1/companies', { ...keyPair(), 'content-length': '5' }, 'hello');
    expect(sized.status, sized.text).toBe(200);
    expect(Array.isArray(sized.body?.data), sized.text).toBe(true);
    const refused = await raw('GET', '/v1/companies', { 'transfer-encoding': 'chunked' }, 'x');
    expect(refused.status, refused.text).toBe(401);
  });
});

describe('hostile paths on the wire', () => {
  // Each either refused (400 "invalid path") or, where the runtime resolves it before Keygate
  // reads it, answered by Keygate's own /v1/keys: never the origin's answer to a path it reads
  // differently.
  const paths = [
    '/v1/keys;x',
    '/v1/keys%2Fkey_x',
    '/v1/keys%00',
    '/v1//keys',
    '/v1/companies/..;/keys',
    '/v1/companies/%2e%2e%2fkeys',
    '/v1/companies/%252e%252e/keys',
    '/v1/companies/../keys',
    '/v1/companies/%2e%2e/keys',
    '/v1/companies/./../keys',
  ];
  for (const path of paths) {
    it(`${path}: refused or answered by Keygate itself`, async () => {
      const res = await raw('GET', path, keyPair());
      const refused = res.status === 400 && res.body?.error === 'invalid path';
      const ownAnswer = res.status === 200 && Array.isArray(res.body?.data) && res.body.data.some((k: { id?: string }) => k.id === pair.id);
      expect(refused || ownAnswer, `${res.status} ${res.text}`).toBe(true);
    });
  }
});
