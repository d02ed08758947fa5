// createApp(): request id, path and body guards, configuration, error handling, and one sub-app
// per resource; then the gateway, which forwards what no resource answers. The hot gateway and
// client requests take the direct path in front of the router (src/routes/fast-path.ts).
import { ApiError, handleError } from './errors';
import { bodyLimit } from './middleware/body-limit';
import { loadConfig } from './middleware/context';
import { refuseHostilePaths } from './middleware/hostile-path';
import { requestId } from './middleware/request-id';
import { audit } from './routes/audit';
import { client } from './routes/client';
import { clientCors } from './routes/cors';
import { withDirectPath } from './routes/fast-path';
import { createGateway, ownedPathMatcher } from './routes/gateway';
import { health } from './routes/health';
import { orgKeys } from './routes/org-keys';
import { plan } from './routes/plan';
import { projectKeys } from './routes/project-keys';
import { projects } from './routes/projects';
import { createRouter } from './routes/router';
import { securitySchemes } from './routes/schemas';
import { secretScanning } from './routes/secret-scanning';

/** Prefixes the gateway forwards under; Keygate's own routes below them are never forwarded. */
const GATEWAY_PREFIXES = ['/v1/', '/app/v1/'];

/**
 * The app. `directPath: false` leaves every request to the router (the tests compare the two paths
 * request by request; production always takes the direct path where it can).
 */
export function createApp({ directPath = true }: { directPath?: boolean } = {}) {
  const app = createRouter();

  app.use('*', requestId());
  // Before the path guard, so that every answer of the client routes, refusals too, is readable by the page.
  app.use('/api/*', clientCors());
  app.use('*', refuseHostilePaths());
  app.use('*', async (c, next) => {
    loadConfig(c);
    await next();
  });
  app.use('*', bodyLimit());

  app.route('/health', health);
  app.route('/v1/keys', orgKeys);
  app.route('/v1/secret-scanning', secretScanning);
  app.route('/app/v1', projects);
  app.route('/app/v1', projectKeys);
  app.route('/app/v1', audit);
  app.route('/app/v1', plan);
  app.route('/api/v1', client);
  // Last: whatever Keygate does not answer itself under /v1 and /app/v1 goes to the origin.
  const isOwned = ownedPathMatcher(ownedRouteTemplates(app.routes));
  app.route('/', createGateway(isOwned));

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
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    },
    servers: [
      { url: '/', description: 'This Keygate instance' },
      { url: 'http://127.0.0.1:8787', description: 'Local (npm start)' },
    ],
  });

  app.notFound(() => {
    throw new ApiError('NOT_FOUND', 'not found');
  });
  app.onError(handleError);
  // The hot requests skip the router, through the same functions (src/routes/fast-path.ts).
  if (directPath) app.fetch = withDirectPath(app.fetch, isOwned);
  return app;
}

/**
 * The templates of the routes that lie under a gateway prefix: Keygate's own. The gateway's own
 * catch-alls (`/v1/*`, `/app/v1/*`) are not, so the answer is the same for an app's routes before
 * the gateway is mounted (as createApp builds its matcher) and after (as the tests read them).
 */
export function ownedRouteTemplates(routes: ReadonlyArray<{ path: string }>): string[] {
  const templates = routes
    .map((r) => r.path)
    .filter((path) => GATEWAY_PREFIXES.some((prefix) => path.startsWith(prefix) && path !== `${prefix}*`));
  return [...new Set(templates)];
}
