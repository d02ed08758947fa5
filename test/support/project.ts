// Project keys in tests: their admin routes, creating and changing keys, calling client routes
// with them, and their KV cache entry.
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { sha256Hex } from '../../src/keys/hash';
import { adminHeaders, type CallInit, call, type Reply, randomId, remember } from './fixtures';

/** The exact 401 of every refused x-api-key. */
export const INVALID_API_KEY_BODY = { error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } };
/** The exact 404 of an unknown or foreign project key id. */
export const APIKEY_NOT_FOUND_BODY = { error: { code: 'APIKEY_NOT_FOUND', message: 'API key not found' } };
/** The 401 of a missing or bad admin JWT on the project surface. */
export const INVALID_TOKEN_PROJECT_BODY = { error: { code: 'UNAUTHORIZED', message: 'invalid or expired token' } };
/** The 404 a token of another organization gets. */
export const NOT_FOUND_BODY = { error: { code: 'NOT_FOUND', message: 'not found' } };
/** The 403 a member token gets on a write. */
export const ADMIN_REQUIRED_BODY = { error: { code: 'FORBIDDEN', message: 'admin role required' } };

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const GENERATED_PROJECT_KEY = /^kg_pk_[0-9A-Za-z]{39}$/;

/** A fresh organization and project. */
export type Project = { org: string; project: string };

export function newProject(org: string = randomId()): Project {
  return { org, project: randomId('prj') };
}

/** /app/v1/organizations/{org}/projects/{project}/api-keys[/{id}] */
export function keysPath(p: Project, id?: string): string {
  const base = `/app/v1/organizations/${p.org}/projects/${p.project}/api-keys`;
  return id === undefined ? base : `${base}/${id}`;
}

/** /api/v1/organizations/{org}/projects/{project}/{rest} */
export function clientPath(p: Project, rest = 'content'): string {
  return `/api/v1/organizations/${p.org}/projects/${p.project}/${rest}`;
}

export function apiKeyHeaders(key: string): Record<string, string> {
  return { 'x-api-key': key };
}

/** A project key as the create response returned it: the object plus `key`. */
export type CreatedProjectKey = {
  id: string;
  projectId: string;
  name: string;
  status: 'active' | 'revoked';
  lastUsed: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  key: string;
};

/** The key object the other routes answer with: the create response without `key`. */
export function withoutKey(created: CreatedProjectKey): Omit<CreatedProjectKey, 'key'> {
  const { key: _key, ...rest } = created;
  return rest;
}

/**
 * POST {base} as an admin (or with `headers`); remembers any key handed back so setup.ts can
 * prove it was never logged.
 */
export async function postProjectKey(p: Project, body: unknown, headers?: Record<string, string>, init: CallInit = {}): Promise<Reply> {
  const res = await call('POST', keysPath(p), { headers: headers ?? (await adminHeaders(p.org)), body, ...init });
  if (typeof res.body?.key === 'string') await remember('project key', res.body.key);
  return res;
}

/** Creates a project key (generated unless `apiKey` is given) and returns the create response. */
export async function createProjectKey(p: Project, name: string = randomId('key'), apiKey?: string): Promise<CreatedProjectKey> {
  const res = await postProjectKey(p, apiKey === undefined ? { name } : { name, apiKey });
  expect(res.status, `creating project key: ${res.text}`).toBe(201);
  return res.body as CreatedProjectKey;
}

/** PUT {base}/{id} as an admin; expects 200. */
export async function updateProjectKey(p: Project, id: string, body: { name?: string; status?: 'active' | 'revoked' }): Promise<Reply> {
  const res = await call('PUT', keysPath(p, id), { headers: await adminHeaders(p.org), body });
  expect(res.status, `updating project key: ${res.text}`).toBe(200);
  return res;
}

/** DELETE {base}/{id} as an admin; expects 200. */
export async function deleteProjectKey(p: Project, id: string): Promise<Reply> {
  const res = await call('DELETE', keysPath(p, id), { headers: await adminHeaders(p.org) });
  expect(res.status, `deleting project key: ${res.text}`).toBe(200);
  return res;
}

/** A custom key value (32-128 of [A-Za-z0-9_-], never kg_), remembered like any issued key. */
export async function customKeyValue(length = 40): Promise<string> {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let value = 'c';
  for (const byte of bytes.slice(1)) value += alphabet[byte % alphabet.length];
  await remember('custom project key', value);
  return value;
}

/** The KV entry a verified key is cached under: key:v1:<sha256 hex of the key>. */
export async function cacheKeyOf(key: string): Promise<string> {
  return `key:v1:${await sha256Hex(key)}`;
}

/** The cached record of a key, or null. */
export async function cachedRecord(key: string): Promise<unknown> {
  return env.KEY_CACHE.get(await cacheKeyOf(key), 'json');
}
