// KeygateVerifier: an RPC entrypoint for other Workers (service binding with
// entrypoint = "KeygateVerifier") to verify credentials without an HTTP hop.
import { WorkerEntrypoint } from 'cloudflare:workers';
import { configOf } from '../env';
import { ApiError } from '../errors';
import { keyServiceDepsOf } from '../keys/deps';
import { effectiveScopes } from '../keys/scopes';
import { type VerifyFailure, verifyKeyPair, verifyProjectKey } from '../keys/verify';

export type VerifyRequest =
  | { kind: 'org'; clientId: string; apiKey: string }
  | { kind: 'project'; apiKey: string; organizationId?: string; projectId?: string };

export type Identity = {
  kind: 'org' | 'project';
  keyId: string;
  organizationId: string;
  projectId: string | null;
  permissions: string[];
};

export type VerifyAnswer =
  | { valid: true; identity: Identity }
  | { valid: false; reason: VerifyFailure | 'wrong_project' | 'bad_request' | 'unavailable' };

export class KeygateVerifier extends WorkerEntrypoint<Env> {
  /**
   * Verifies an organization key pair or a project key, exactly as the HTTP surface does (same
   * cache, same lastUsed bookkeeping). With organizationId/projectId, a project key of another
   * project is refused as `wrong_project`. Never throws for a bad credential.
   */
  async verify(request: VerifyRequest): Promise<VerifyAnswer> {
    if (!request || typeof request !== 'object' || typeof request.apiKey !== 'string') {
      return { valid: false, reason: 'bad_request' };
    }
    const deps = keyServiceDepsOf(this.env, configOf(this.env), (promise) => this.ctx.waitUntil(promise));
    try {
      const result =
        request.kind === 'org'
          ? await verifyKeyPair(deps, typeof request.clientId === 'string' ? request.clientId : undefined, request.apiKey)
          : request.kind === 'project'
            ? await verifyProjectKey(deps, request.apiKey)
            : undefined;
      if (!result) return { valid: false, reason: 'bad_request' };
      if (!result.ok) return { valid: false, reason: result.reason };
      const key = result.key;
      if (
        request.kind === 'project' &&
        ((request.organizationId !== undefined && request.organizationId !== key.organizationId) ||
          (request.projectId !== undefined && request.projectId !== key.projectId))
      ) {
        return { valid: false, reason: 'wrong_project' };
      }
      return {
        valid: true,
        identity: {
          kind: key.kind,
          keyId: key.id,
          organizationId: key.organizationId,
          projectId: key.projectId,
          permissions: key.kind === 'org' ? effectiveScopes(key.permissions) : key.permissions,
        },
      };
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SERVICE_UNAVAILABLE') return { valid: false, reason: 'unavailable' };
      throw err;
    }
  }
}
