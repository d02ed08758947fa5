// OpenAPI pieces shared by the routes: the two error shapes and the security schemes.
import { z } from '@hono/zod-openapi';
import { CLIENT_ID_HEADER, PROJECT_KEY_HEADER, SECRET_HEADER } from '../auth/headers';
import type { Principal } from '../auth/principal';
import { BOOKMARK_HEADER, BOOKMARK_PATTERN, MAX_BOOKMARK_LENGTH } from '../db/sessions';
import { errorStatus } from '../errors';
import { RESOURCE_ID, RESOURCE_ID_RULE } from '../ids';

/**
 * Characters a key name may not hold: controls (line breaks among them), format characters
 * (bidi overrides and isolates, zero-width characters, the BOM), line and paragraph separators,
 * and lone surrogates. Each can make a name display as another one, or break a log line.
 */
const UNSAFE_NAME_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** A key name: trimmed, NFC-normalised, 1–100 characters, none of them unsafe. */
export const KeyName = z
  .string()
  .refine(
    (name) => !UNSAFE_NAME_CHARACTER.test(name),
    'must not contain control, format (bidi, zero-width) or unpaired surrogate characters',
  )
  .trim()
  .normalize('NFC')
  .min(1)
  .max(100);

/** A request budget: N requests per S seconds (fixed windows aligned to the epoch). */
export const RateLimit = z
  .object({
    requests: z.number().int().min(1).max(1_000_000_000),
    windowSeconds: z.number().int().min(1).max(86_400),
  })
  .strict()
  .openapi('RateLimit', { example: { requests: 100, windowSeconds: 60 } });

/** A key's own budget in a request body: only tighter than its organization's or project's; null removes it. */
export const KeyRateLimit = RateLimit.nullable()
  .optional()
  .openapi({
    description:
      "The key's own request budget, counted besides its organization's (or project's) and only allowed to be tighter " +
      '(no more requests per window, no higher rate); null: none.',
  });

/** `expiresIn` at creation: seconds from now, at least 60 (MAX_KEY_LIFETIME_SECONDS at most). */
export const ExpiresIn = z
  .number()
  .int()
  .min(60)
  .optional()
  .openapi({ description: 'The key expires this many seconds from now (at least 60; not with expiresAt).' });

/** `expiresAt` at creation: a time in the future (MAX_KEY_LIFETIME_SECONDS from now at most). */
export const ExpiresAt = z.iso
  .datetime({ offset: true })
  .optional()
  .openapi({ description: 'The key expires at this time (ISO 8601, in the future; not with expiresIn). Default: never.' });

/** What every key object says of its lifecycle. */
export const LifecycleFields = {
  expiresAt: z.iso.datetime().nullable().openapi({ description: 'When the key stops working by itself (null: never).' }),
  rolledFrom: z.string().nullable().openapi({ description: 'The key this one replaced in a roll.' }),
  rolledTo: z.string().nullable().openapi({ description: 'The key that replaced this one; it works until expiresAt.' }),
  leakedAt: z.iso.datetime().nullable().openapi({ description: 'When a leak of this key was reported (secret scanning).' }),
  leakSource: z.string().nullable().openapi({ description: 'Where the leak was found (the report URL).' }),
};

/** The body of a roll: how long the current key keeps working (seconds, 0 = refused at once). */
export const RollBody = (maxGraceSeconds: number) =>
  z
    .object({
      expireCurrentInSeconds: z
        .number()
        .int()
        .min(0)
        .max(maxGraceSeconds)
        .optional()
        .openapi({ description: `Grace of the current key, 0–${maxGraceSeconds} seconds (default 0: refused at once).` }),
    })
    .strict();

/** The permissions of the organization key making a request (null: an admin JWT, judged by its role). */
export function callerPermissions(principal: Principal): readonly string[] | null {
  return principal.type === 'key' ? principal.permissions : null;
}

/** An organization or project id in a path. */
export const ResourceId = z.string().regex(RESOURCE_ID, RESOURCE_ID_RULE);

/** The query of the paged lists (project keys, audit log): page size and the previous page's cursor. */
export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: 'limit', in: 'query' } }),
  lastKey: z
    .string()
    .max(160)
    .optional()
    .openapi({ param: { name: 'lastKey', in: 'query' }, description: 'The pagination.lastKey of the previous page.' }),
});

/** A bookmark as a client sends it back: one Keygate sent (README: Read replicas). */
const Bookmark = z
  .string()
  .max(MAX_BOOKMARK_LENGTH, { abort: true })
  .regex(BOOKMARK_PATTERN, 'must be a bookmark Keygate sent in x-keygate-bookmark (hex digits and dashes)');

/** The request header of the management surfaces' reads: the bookmark of the client's latest answer. */
export const BookmarkRequestHeaders = z.object({
  [BOOKMARK_HEADER]: Bookmark.optional().openapi({
    param: { name: BOOKMARK_HEADER, in: 'header' },
    description:
      'The x-keygate-bookmark of the latest answer this client received: the read then sees at least that state of the ' +
      `database (its own writes, made through any instance). Up to ${MAX_BOOKMARK_LENGTH} characters of hex digits and dashes; ` +
      'anything else is refused with 400. It only orders reads: any bookmark gives access to nothing.',
  }),
});

/** The response header of the management surfaces' answers. */
export const BookmarkResponseHeaders = z.object({
  [BOOKMARK_HEADER]: z.string().openapi({
    description:
      'D1 bookmark of the state this request read or wrote (every answer of the management surfaces that used the ' +
      'database, errors too). Send it back in x-keygate-bookmark to read your writes.',
    example: '00000001-00000002-00004e2f-0a83ea2fceebc654de0640c422be4653',
  }),
});

/** The pagination of the paged lists (project keys, audit log). */
export const Pagination = z
  .object({
    limit: z.number().int(),
    lastKey: z.string().nullable().openapi({ description: 'Cursor of the next page; null on the last page.' }),
  })
  .openapi('Pagination');

const FieldIssue = z.object({ field: z.string(), message: z.string() });

export const OrgError = z
  .object({
    error: z.string().openapi({ example: 'invalid api key or clientId' }),
    details: z.unknown().optional().openapi({ description: 'For validation errors: [{field, message}].' }),
    requestId: z.string().optional().openapi({ description: 'On 5xx: quote it when reporting the failure.' }),
  })
  .openapi('OrgError');

export const ProjectError = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(errorStatus) as [keyof typeof errorStatus, ...Array<keyof typeof errorStatus>]),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string().optional(),
    }),
  })
  .openapi('ProjectError');

export { FieldIssue };

const descriptions: Record<number, string> = {
  400: 'Malformed JSON or invalid input; details names the fields',
  401: 'Missing or invalid credentials',
  403: 'Not allowed for this credential or role',
  404: 'Not found (also for ids of another organization)',
  409: 'Conflict',
  413: 'Request body over 16 KiB',
  422: 'Key limit of the plan reached',
  429: "Rate limited: the client IP is past its refused-credential limit, or the organization's key-management write budget is spent (Retry-After)",
  500: 'Unexpected failure: a generic message and a requestId (also in X-Request-Id)',
  502: 'The origin could not be reached',
  503: 'Storage unavailable; the request was refused (fails closed)',
};

function errorResponses(schema: z.ZodType, statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: descriptions[s] ?? 'Error', content: { 'application/json': { schema } } }]),
  ) as Record<number, { description: string; content: { 'application/json': { schema: z.ZodType } } }>;
}

/** Every route can answer 500 (an unexpected failure, with a request id). */
const ALWAYS = [500];

/** Error responses of the organization surface: {"error": "message"}; 500 always included. */
export const orgErrorResponses = (...statuses: number[]) => errorResponses(OrgError, [...statuses, ...ALWAYS]);
/** Error responses of the project surface: {"error": {code, message, details?}}; 500 always included. */
export const projectErrorResponses = (...statuses: number[]) => errorResponses(ProjectError, [...statuses, ...ALWAYS]);

type SecurityRequirement = Record<string, string[]>;
export const ORG_SECURITY: SecurityRequirement[] = [{ clientId: [], apiKey: [] }, { adminJwt: [] }];
export const JWT_SECURITY: SecurityRequirement[] = [{ adminJwt: [] }];
export const PROJECT_KEY_SECURITY: SecurityRequirement[] = [{ projectKey: [] }];

export const securitySchemes = {
  clientId: { type: 'apiKey', in: 'header', name: CLIENT_ID_HEADER, description: 'Organization key: Client ID' },
  apiKey: { type: 'apiKey', in: 'header', name: SECRET_HEADER, description: 'Organization key: secret' },
  adminJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Admin JWT (sub, org, role, exp)' },
  projectKey: { type: 'apiKey', in: 'header', name: PROJECT_KEY_HEADER, description: 'Project key for client apps' },
} as const;
