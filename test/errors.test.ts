// The error answers' rendering: one body per error and surface, kept for the shared refusals,
// never kept once a request id is in the body.
import { describe, expect, it } from 'vitest';
import { ApiError, errorAnswer, rateLimited } from '../src/errors';

describe('errorAnswer', () => {
  it('renders one error in the shape of each surface, each kept apart', () => {
    const err = new ApiError('UNAUTHORIZED', 'nope');
    // Twice each, in turns: a kept answer of one surface must never be served for the other.
    for (let i = 0; i < 2; i++) {
      expect(JSON.parse(errorAnswer(err, 'org').body)).toEqual({ error: 'nope' });
      expect(JSON.parse(errorAnswer(err, 'project').body)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'nope' } });
    }
    expect(errorAnswer(err, 'org').headers['Retry-After']).toBeUndefined();
  });

  it.each([
    ['org', { error: 'rate limit exceeded' }],
    [
      'project',
      { error: { code: 'RATE_LIMITED', message: 'rate limit exceeded', details: { retryAfter: 30, limit: 5, windowSeconds: 60 } } },
    ],
  ] as const)('gives a 429 on the %s surface its body and Retry-After', (surface, body) => {
    const err = rateLimited(Date.now() + 29_500, { requests: 5, windowSeconds: 60 });
    const answer = errorAnswer(err, surface);
    expect(JSON.parse(answer.body)).toEqual(body);
    expect(answer.headers['Retry-After']).toBe('30');
    // The shared refusal is rendered once: the same answer comes back.
    expect(errorAnswer(err, surface)).toBe(answer);
  });

  it('puts each request id in its own body, never in a kept one', () => {
    const err = new ApiError('INTERNAL_ERROR', 'internal error');
    const first = JSON.parse(errorAnswer(err, 'project', 'req-1').body);
    const second = JSON.parse(errorAnswer(err, 'project', 'req-2').body);
    expect(first.error.requestId).toBe('req-1');
    expect(second.error.requestId).toBe('req-2');
    expect(JSON.parse(errorAnswer(err, 'org', 'req-3').body)).toEqual({ error: 'internal error', requestId: 'req-3' });
    expect(JSON.parse(errorAnswer(err, 'org').body)).toEqual({ error: 'internal error' });
  });
});
