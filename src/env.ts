// The Worker's environment: the AppEnv type every route shares, and the configuration parsed
// once from the string vars and secrets of wrangler.toml / .dev.vars.
import { z } from 'zod';
import type { Principal } from './auth/principal';
import type { RequestSession } from './middleware/d1-session';

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    principal: Principal;
    /** Headers for whatever response the request gets (src/middleware/response-headers.ts). */
    addedHeaders: Array<[string, string]> | undefined;
    /** The management routes' D1 session (src/middleware/d1-session.ts), once the request queried D1. */
    d1Session: RequestSession | undefined;
  };
};

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

/** N requests per S seconds, as a setting reads it ("120/60s"): S of at most `windowDigits` digits and `maxWindowSeconds`. */
function parseBudget(value: string, windowDigits: number, maxWindowSeconds: number): Budget | null {
  const match = value.trim().match(new RegExp(`^(\\d{1,9})/(\\d{1,${windowDigits}})s$`));
  const requests = Number(match?.[1]);
  const windowSeconds = Number(match?.[2]);
  return match && requests >= 1 && windowSeconds >= 1 && windowSeconds <= maxWindowSeconds ? { requests, windowSeconds } : null;
}

/** A budget setting, N requests per S seconds: "120/60s". */
const budgetSetting = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const budget = parseBudget(v, 6, 999_999);
      if (!budget) {
        ctx.addIssue({ code: 'custom', message: 'must be N/Ss, e.g. 100/60s' });
        return z.NEVER;
      }
      return budget;
    });

/** A request budget that an operator may turn off ("off": no default budget, only those set per organization or project). */
const optionalBudgetSetting = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      if (v.trim().toLowerCase() === 'off') return null;
      const budget = parseBudget(v, 5, 86_400);
      if (!budget) {
        ctx.addIssue({ code: 'custom', message: 'must be N/Ss (S at most 86400), e.g. 1000/60s, or off' });
        return z.NEVER;
      }
      return budget;
    });

/** N requests per S seconds. */
export type Budget = { requests: number; windowSeconds: number };

const configSchema = z
  .object({
    JWT_SECRET: optionalString,
    JWT_JWKS_URL: optionalString.pipe(z.url().optional()),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    ORIGIN_SHARED_SECRET: optionalString,
    ORIGIN_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    DEFAULT_KEY_LIMIT: z.coerce.number().int().min(0).default(100),
    // KV refuses an expirationTtl under 60 seconds.
    KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(60).default(60),
    // The in-isolate tier: 0 turns it off.
    ISOLATE_CACHE_TTL_SECONDS: z.coerce.number().min(0).max(60).default(10),
    ISOLATE_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
    UNKNOWN_KEY_TTL_SECONDS: z.coerce.number().min(0).max(60).default(5),
    KEY_REFRESH: z.enum(['ahead', 'off']).default('ahead'),
    // The key change feed: 0 turns it off (every isolate entry then lives ISOLATE_CACHE_TTL_SECONDS).
    KEY_FEED_SECONDS: z.coerce.number().min(0).max(60).default(5),
    // A new isolate's warm start (src/keys/verify.ts warmTier): 0 turns it off; it needs the feed.
    WARM_KEYS: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
    JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).default(86_400),
    STORAGE_TIMEOUT_MS: z.coerce.number().int().min(1).max(30_000).default(2_000),
    AUTH_FAILURE_LIMIT: budgetSetting('100/60s'),
    MANAGEMENT_WRITE_LIMIT: budgetSetting('120/60s'),
    ORG_RATE_LIMIT: optionalBudgetSetting('1000/60s'),
    PROJECT_RATE_LIMIT: optionalBudgetSetting('600/60s'),
    // Within Workers' 30 s of waitUntil after a response, and the contract's 60 s of lag.
    USAGE_FLUSH_SECONDS: z.coerce.number().min(0).max(25).default(5),
    // 366 days by default; at least the shortest lifetime a key may be given.
    MAX_KEY_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(3_153_600_000).default(31_622_400),
    LEAKED_ORG_KEY_ACTION: z.enum(['revoke', 'flag']).default('revoke'),
    LEAKED_PROJECT_KEY_ACTION: z.enum(['revoke', 'flag']).default('flag'),
    SECRET_SCANNING_KEYS_URL: optionalString
      .pipe(z.url({ protocol: /^https?$/ }).optional())
      .transform((v) => v ?? 'https://api.github.com/meta/public_keys/secret_scanning'),
  })
  .refine((c) => c.JWT_SECRET || c.JWT_JWKS_URL, {
    message: 'set the JWT_SECRET secret or the JWT_JWKS_URL var',
  });

export type Config = {
  jwtSecret?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  /** Sent to the origin as x-keygate-secret, for origins reached by URL. */
  originSharedSecret?: string;
  /** The origin by URL (http or https), when there is no ORIGIN service binding; always ends with `/`. */
  originUrl?: string;
  defaultKeyLimit: number;
  keyCacheTtlSeconds: number;
  /** How long this isolate trusts a verified key without asking KV. */
  isolateCacheTtlMs: number;
  /** Whether a key used late in its isolate TTL is read again after the response ("ahead"), or only when a request misses ("off"). */
  keyRefresh: 'ahead' | 'off';
  /** How often a busy isolate reads the key change feed (0: never; src/cache/feed.ts). */
  keyFeedMs: number;
  /** Bound on the isolate tier's entries (verified and unknown keys together). */
  isolateCacheMaxEntries: number;
  /**
   * How many active keys a new isolate reads into its tier ahead of their first request, most
   * recently used first (0: none; only with the key change feed, and at most isolateCacheMaxEntries).
   */
  warmKeys: number;
  /** How long this isolate remembers that a well-formed key is unknown. */
  unknownKeyTtlMs: number;
  /** Admin JWTs living longer than this (exp − iat, or exp − now) are refused. */
  jwtMaxLifetimeSeconds: number;
  /** Longest wait for one KV or D1 call; past it the call counts as failed. */
  storageTimeoutMs: number;
  /** Failed key verifications per client IP before its unverified keys get 429 (the AUTH_FAILURES binding's setting). */
  authFailureLimit: Budget;
  /** Key-management writes per organization (a BudgetCounter Durable Object counts them). */
  managementWriteLimit: Budget;
  /** An organization's request budget unless an operator set its own (null: "off", none). */
  orgRateLimit: Budget | null;
  /** A project's request budget unless an operator set its own (null: "off", none). */
  projectRateLimit: Budget | null;
  /** How long an isolate gathers usage counts before writing them in one batch. */
  usageFlushMs: number;
  /** The longest lifetime a key may be given at creation. */
  maxKeyLifetimeSeconds: number;
  /** What a reported leak does to an organization secret, and to a project key. */
  leakedOrgKeyAction: 'revoke' | 'flag';
  leakedProjectKeyAction: 'revoke' | 'flag';
  /** Where GitHub publishes the keys that sign secret scanning reports. */
  secretScanningKeysUrl: string;
};

// Parsed configuration per env object. An isolate sees one env object for its whole life, so
// this holds one entry in production; tests that pass their own env get their own entry.
const parsed = new WeakMap<object, Config>();

/** Parses the environment once; throws (answered as a 500) when it is misconfigured. */
export function configOf(env: Env): Config {
  let config = parsed.get(env);
  if (config) return config;
  const result = configSchema.safeParse(env);
  if (!result.success) {
    // Names only (never values): which vars or secrets to fix.
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    console.error(`invalid configuration: ${problems}`);
    throw new Error('invalid configuration');
  }
  const v = result.data;
  config = {
    jwtSecret: v.JWT_SECRET,
    jwksUrl: v.JWT_JWKS_URL,
    jwtIssuer: v.JWT_ISSUER,
    jwtAudience: v.JWT_AUDIENCE,
    originSharedSecret: v.ORIGIN_SHARED_SECRET,
    originUrl: v.ORIGIN_URL === undefined ? undefined : v.ORIGIN_URL.endsWith('/') ? v.ORIGIN_URL : `${v.ORIGIN_URL}/`,
    defaultKeyLimit: v.DEFAULT_KEY_LIMIT,
    keyCacheTtlSeconds: v.KEY_CACHE_TTL_SECONDS,
    isolateCacheTtlMs: v.ISOLATE_CACHE_TTL_SECONDS * 1000,
    keyRefresh: v.KEY_REFRESH,
    keyFeedMs: v.KEY_FEED_SECONDS * 1000,
    isolateCacheMaxEntries: v.ISOLATE_CACHE_MAX_ENTRIES,
    warmKeys: v.KEY_FEED_SECONDS > 0 ? Math.min(v.WARM_KEYS, v.ISOLATE_CACHE_MAX_ENTRIES) : 0,
    unknownKeyTtlMs: v.UNKNOWN_KEY_TTL_SECONDS * 1000,
    jwtMaxLifetimeSeconds: v.JWT_MAX_LIFETIME_SECONDS,
    storageTimeoutMs: v.STORAGE_TIMEOUT_MS,
    authFailureLimit: v.AUTH_FAILURE_LIMIT,
    managementWriteLimit: v.MANAGEMENT_WRITE_LIMIT,
    orgRateLimit: v.ORG_RATE_LIMIT,
    projectRateLimit: v.PROJECT_RATE_LIMIT,
    usageFlushMs: v.USAGE_FLUSH_SECONDS * 1000,
    maxKeyLifetimeSeconds: v.MAX_KEY_LIFETIME_SECONDS,
    leakedOrgKeyAction: v.LEAKED_ORG_KEY_ACTION,
    leakedProjectKeyAction: v.LEAKED_PROJECT_KEY_ACTION,
    secretScanningKeysUrl: v.SECRET_SCANNING_KEYS_URL,
  };
  parsed.set(env, config);
  return config;
}
