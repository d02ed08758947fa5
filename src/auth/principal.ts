// Who is calling: an API key (either kind) or a user holding an admin JWT.

export type KeyKind = 'org' | 'project';

export type KeyPrincipal = {
  type: 'key';
  keyId: string;
  kind: KeyKind;
  organizationId: string;
  projectId: string | null;
  permissions: string[];
};

export type UserPrincipal = {
  type: 'user';
  userId: string;
  organizationId: string;
  role: 'admin' | 'member';
};

export type Principal = KeyPrincipal | UserPrincipal;

/** Who made a change: `label` is what createdBy shows (the user id, or key:<id>). */
export type Actor = { type: 'user' | 'key'; id: string; label: string };

/** The actor recorded in createdBy and the audit log. */
export function actorOf(principal: Principal): Actor {
  return principal.type === 'user'
    ? { type: 'user', id: principal.userId, label: principal.userId }
    : { type: 'key', id: principal.keyId, label: `key:${principal.keyId}` };
}
