// The client route policy: what a project key (x-api-key) may do under
// /api/v1/organizations/{o}/projects/{p}/... — read-only, by first path segment.

/** Permission each first path segment after the project needs. Anything else is forbidden. */
export const SEGMENT_PERMISSIONS: Readonly<Record<string, string>> = {
  content: 'content.read',
  'content-types': 'content.read',
  tags: 'content.read',
  'saved-searches': 'content.read',
  packages: 'packages.read',
  assets: 'assets.read',
};

export type PolicyDecision = { allowed: true; permission: string } | { allowed: false; message: string };

/**
 * Decides a request from its method and the path segments after the project. GET and HEAD read;
 * the one POST allowed is `saved-searches/{id}/execute`.
 */
export function decideClientRequest(method: string, segments: string[], permissions: readonly string[]): PolicyDecision {
  const [resource = ''] = segments;
  const permission = Object.hasOwn(SEGMENT_PERMISSIONS, resource) ? SEGMENT_PERMISSIONS[resource] : undefined;
  if (!permission) return { allowed: false, message: 'this resource is not available to API keys' };
  const isRead = method === 'GET' || method === 'HEAD';
  const isSavedSearchRun =
    method === 'POST' && segments.length === 3 && resource === 'saved-searches' && segments[1] !== '' && segments[2] === 'execute';
  if (!isRead && !isSavedSearchRun) return { allowed: false, message: 'API keys are read-only' };
  if (!permissions.includes(permission)) return { allowed: false, message: `this API key lacks the ${permission} permission` };
  return { allowed: true, permission };
}
