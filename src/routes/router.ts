// The project-level router factory: every resource's sub-app validates through the same hook,
// so a zod failure becomes our VALIDATION_ERROR with details naming the offending fields.
import { type Hook, OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

export type FieldIssue = { field: string; message: string };

type Issue = { path: PropertyKey[]; message: string; code?: string; keys?: readonly string[] };

/**
 * Zod issues as `{field, message}` pairs; `field` is the dotted path ("" for the whole body).
 * An unknown field is named itself, one entry per field.
 */
export function fieldIssues(issues: ReadonlyArray<Issue>): FieldIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys' && issue.keys?.length) {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'unknown field' }));
    }
    return [{ field: path.join('.'), message: issue.message }];
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the one hook serves every route's input, param and output types
const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) {
    const where =
      result.target === 'json'
        ? 'request body'
        : result.target === 'query'
          ? 'query string'
          : result.target === 'header'
            ? 'request headers'
            : 'path';
    throw new ApiError('VALIDATION_ERROR', `invalid ${where}`, fieldIssues(result.error.issues));
  }
};

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}
