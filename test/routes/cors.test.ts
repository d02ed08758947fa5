import { describe, expect, it } from 'vitest';
import { call, randomId } from '../support/fixtures';
import { callVia, recordingOrigin } from '../support/origin';
import { apiKeyHeaders, clientPath, createProjectKey, newProject } from '../support/project';

describe('CORS on client routes', () => {
  it('answers a browser preflight for x-api-key without credentials', async () => {
    const res = await call('OPTIONS', `/api/v1/organizations/${randomId()}/projects/web/content`, {
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
    });
    expect(res.status, res.text).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    expect(res.headers.get('access-control-max-age')).toBe('86400');
    expect(res.text).toBe('');
  });

  it("marks the origin's answer readable by the page, through the ORIGIN service binding", async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'cors');
    const res = await call('GET', clientPath(p, 'content'), { headers: { ...apiKeyHeaders(key.key), origin: 'https://app.example' } });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('x-recording-origin')).toBe('yes');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('replaces an Access-Control-Allow-Origin the origin sent, keeping the rest of its answer', async () => {
    const p = newProject();
    const key = await createProjectKey(p, 'cors');
    const origin = recordingOrigin(
      () =>
        new Response('teapot', { status: 418, headers: { 'access-control-allow-origin': 'https://origin.example', 'x-teapot': 'yes' } }),
    );
    const res = await callVia(origin.fetcher, 'GET', clientPath(p, 'content'), { headers: apiKeyHeaders(key.key) });
    expect(res.status).toBe(418);
    expect(res.text).toBe('teapot');
    expect(res.headers.get('x-teapot')).toBe('yes');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('marks refusals readable by the page too', async () => {
    const res = await call('GET', `/api/v1/organizations/${randomId()}/projects/web/content`, {
      headers: { origin: 'https://app.example' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('sends no CORS headers on the organization surface', async () => {
    const res = await call('GET', '/v1/companies', { headers: { origin: 'https://app.example' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('does not open the admin surface to browsers of other origins', async () => {
    const res = await call('OPTIONS', `/app/v1/organizations/${randomId()}/audit-log`, {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
