// Who is calling: an API key (either kind) or a user holding an admin JWT.

/** A caller authenticated by a key: an organization key (no project) or a project key. */
export type KeyPrincipal = { type: 'key'; keyId: string; organizationId: string; permissions: string[] } & (
  | { kind: 'org'; projectId: null }
  | { kind: 'project'; projectId: string }
);

export type UserPrincipal = {
  type: 'user';
  userId: string;
  organizationId: string;
  role: 'admin' | 'member';
};

export type Principal = KeyPrincipal | UserPrincipal;

/** Who made a change: `label` is what createdBy shows (the user id, or key:<id>). */
export type Actor = { type: 'user' | 'key' | 'scanner'; id: string; label: string };

/** The actor recorded in createdBy and the audit log. */
export function actorOf(principal: Principal): Actor {
  return principal.type === 'user'
    ? { type: 'user', id: principal.userId, label: principal.userId }
    : { type: 'key', id: principal.keyId, label: `key:${principal.keyId}` };
}
