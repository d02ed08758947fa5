// The project-level router factory: every resource's sub-app validates through the same hook,
// so a zod failure becomes our VALIDATION_ERROR with details naming the offending fields.
import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

export type FieldIssue = { field: string; message: string };

/** Zod issues as `{field, message}` pairs; `field` is the dotted path ("" for the whole body). */
export function fieldIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): FieldIssue[] {
  return issues.map((issue) => ({ field: issue.path.map(String).join('.'), message: issue.message }));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the hook serves every route's input type
const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) {
    const where = result.target === 'json' ? 'request body' : result.target === 'query' ? 'query string' : 'path';
    throw new ApiError('VALIDATION_ERROR', `invalid ${where}`, fieldIssues(result.error.issues));
  }
};

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}
