// createApp(): request id, body limit, configuration, error handling, and one sub-app per resource.
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { configOf, type AppEnv } from './env';
import { ApiError, handleError } from './errors';
import { audit } from './routes/audit';
import { client } from './routes/client';
import { clientCors } from './routes/cors';
import { gateway } from './routes/gateway';
import { health } from './routes/health';
import { orgKeys } from './routes/org-keys';
import { projectKeys } from './routes/project-keys';
import { createRouter } from './routes/router';
import { securitySchemes } from './routes/schemas';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

export function createApp() {
  const app = createRouter();

  app.use('*', requestId());
  app.use('*', async function loadConfig(c, next) {
    c.set('config', configOf(c.env));
    await next();
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', `request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.use('/api/*', clientCors());

  app.route('/health', health);
  app.route('/v1/keys', orgKeys);
  app.route('/app/v1', projectKeys);
  app.route('/app/v1', audit);
  app.route('/api/v1', client);
  // Last: whatever Keygate does not answer itself under /v1 and /app/v1 goes to the origin.
  app.route('/', gateway);

  app.openAPIRegistry.registerComponent('securitySchemes', 'clientId', securitySchemes.clientId);
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', securitySchemes.apiKey);
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminJwt', securitySchemes.adminJwt);
  app.openAPIRegistry.registerComponent('securitySchemes', 'projectKey', securitySchemes.projectKey);
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Keygate',
      version: '0.1.0',
      description: 'API keys at the edge: organization keys for servers, project keys for client apps.',
    },
  });

  app.notFound(() => {
    throw new ApiError('NOT_FOUND', 'not found');
  });
  app.onError(handleError);
  return app;
}
