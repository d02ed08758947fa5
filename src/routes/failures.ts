// The expected failures of key changes (src/keys/types.ts ChangeFailure) as HTTP errors, in the
// words of each surface: the organization surface's "key not found", the project surface's codes.
import { ApiError } from '../errors';
import type { ChangeFailure, ChangeResult } from '../keys/types';

function commonError(failure: Exclude<ChangeFailure, { reason: 'not_found' }>): ApiError {
  switch (failure.reason) {
    case 'name_taken':
      return new ApiError('APIKEY_NAME_ALREADY_EXISTS', `API key with name "${failure.name}" already exists`, { name: failure.name });
    case 'value_taken':
      return new ApiError('VALIDATION_ERROR', 'invalid request body', [
        { field: 'apiKey', message: 'this value cannot be used; choose another' },
      ]);
    case 'limit_reached':
      return new ApiError(
        'KEY_LIMIT_REACHED',
        `key limit reached: this organization's plan allows ${failure.limit} active keys; delete unused keys to create new ones`,
        { limit: failure.limit },
      );
    case 'conflict':
      return new ApiError('CONFLICT', 'the key was changed by concurrent requests; retry');
    case 'invalid':
      return new ApiError('VALIDATION_ERROR', 'invalid request body', [{ field: failure.field, message: failure.message }]);
    case 'not_rollable':
      return new ApiError(
        'CONFLICT',
        failure.why === 'rolled'
          ? 'this key was already rolled: roll its successor (rolledTo) instead'
          : `${failure.why === 'expired' ? 'an expired' : 'a revoked'} key cannot be rolled`,
        { reason: failure.why },
      );
    case 'forbidden':
      return new ApiError('FORBIDDEN', `this API key lacks the ${failure.scope} permission`);
    case 'rate_limit_too_loose':
      return new ApiError('VALIDATION_ERROR', 'invalid request body', [
        {
          field: 'rateLimit',
          message: `a key's rate limit can only be tighter than its ${failure.scope}'s (${failure.parent.requests} requests per ${failure.parent.windowSeconds} s)`,
        },
      ]);
  }
}

/** The value of a change on the organization surface (/v1/keys), or its error thrown. */
export function orgKeyValue<T>(result: ChangeResult<T>): T {
  if (result.ok) return result.value;
  throw result.reason === 'not_found' ? new ApiError('NOT_FOUND', 'key not found') : commonError(result);
}

/** The value of a change on the project surface (project key routes), or its error thrown. */
export function projectKeyValue<T>(result: ChangeResult<T>): T {
  if (result.ok) return result.value;
  throw result.reason === 'not_found' ? new ApiError('APIKEY_NOT_FOUND', 'API key not found') : commonError(result);
}
