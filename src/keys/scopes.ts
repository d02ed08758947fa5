// Scoped organization keys: what an organization key may do. Keys created before scopes existed
// hold ['*'], which means all four. Admin JWTs are judged by their role, never by these.

/** The permissions an organization key can hold, in the order they are shown. */
export const ORG_KEY_SCOPES = ['keys:read', 'keys:write', 'api:read', 'api:write'] as const;
export type OrgKeyScope = (typeof ORG_KEY_SCOPES)[number];

/** An organization key's permissions as shown and forwarded: '*' (the old default) is all four. */
export function effectiveScopes(permissions: readonly string[]): OrgKeyScope[] {
  if (permissions.includes('*')) return [...ORG_KEY_SCOPES];
  return ORG_KEY_SCOPES.filter((scope) => permissions.includes(scope));
}

/** Whether an organization key holding `permissions` may do what `scope` allows. */
export function holdsScope(permissions: readonly string[], scope: OrgKeyScope): boolean {
  return permissions.includes('*') || permissions.includes(scope);
}

/** The first of `wanted` that `permissions` lacks, or null when it holds them all (no escalation). */
export function missingScope(permissions: readonly string[], wanted: readonly string[]): OrgKeyScope | null {
  for (const scope of effectiveScopes(wanted)) if (!holdsScope(permissions, scope)) return scope;
  return null;
}

/** The gateway's permission for a method: reads need api:read, everything else api:write. */
export function gatewayScope(method: string): OrgKeyScope {
  return method === 'GET' || method === 'HEAD' ? 'api:read' : 'api:write';
}
