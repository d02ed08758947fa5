// GET /health: liveness, no credentials, no storage.
import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from './router';

const healthRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'health',
  tags: ['Service'],
  summary: 'Liveness check',
  security: [],
  responses: {
    200: { description: 'The Worker is running', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
  },
});

export const health = createRouter();

health.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));
