import { describe, expect, it } from 'vitest';
import { call } from '../support/fixtures';

describe('GET /health', () => {
  it('answers 200 without credentials', async () => {
    const res = await call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});
