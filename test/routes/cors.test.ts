import { describe, expect, it } from 'vitest';
import { call, randomId } from '../support/fixtures';

describe('CORS on client routes', () => {
  it('answers a browser preflight for x-api-key without credentials', async () => {
    const res = await call('OPTIONS', `/api/v1/organizations/${randomId()}/projects/web/content`, {
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
    });
    expect(res.status, res.text).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('marks refusals readable by the page too', async () => {
    const res = await call('GET', `/api/v1/organizations/${randomId()}/projects/web/content`, { headers: { origin: 'https://app.example' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('does not open the admin surface to browsers of other origins', async () => {
    const res = await call('OPTIONS', `/app/v1/organizations/${randomId()}/audit-log`, {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
