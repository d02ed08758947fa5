// Usage as the API serves it: a range of hourly or daily buckets, every bucket present (zeros
// included), read from the hourly rollups. Ranges are at most 90 days (the retention).
import { z } from '@hono/zod-openapi';
import { fromD1 } from '../db/errors';
import { sumUsage, type UsageScope } from '../db/usage';
import { ApiError } from '../errors';
import { USAGE_RETENTION_DAYS } from './recorder';

const HOUR = 3600;
const DAY = 86_400;

/** The query of the usage endpoints. */
export const UsageQuery = z.object({
  granularity: z
    .enum(['hour', 'day'])
    .default('hour')
    .openapi({ param: { name: 'granularity', in: 'query' }, description: 'Bucket size. Default: hour.' }),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({
      param: { name: 'from', in: 'query' },
      description: 'Start (ISO 8601), rounded down to its bucket. Default: 24 hours (hour) or 30 days (day) before `to`.',
    }),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ param: { name: 'to', in: 'query' }, description: 'End (ISO 8601, exclusive). Default: now. At most 90 days after `from`.' }),
});

/** One bucket of a usage series. */
export const UsageBucket = z
  .object({
    start: z.iso.datetime().openapi({ description: "The bucket's start (UTC)." }),
    requests: z.number().int().openapi({ description: 'Requests accepted.' }),
    rateLimited: z.number().int().openapi({ description: 'Requests refused with 429 by a budget.' }),
  })
  .openapi('UsageBucket');

export type Granularity = 'hour' | 'day';

/** The buckets a query asks for: [from, to) in Unix seconds, `from` aligned to the bucket size. */
export type UsageRange = { granularity: Granularity; bucketSeconds: number; from: number; to: number };

/** The range of a usage query; throws VALIDATION_ERROR for a reversed range or one over 90 days. */
export function usageRange(query: z.infer<typeof UsageQuery>, now = Date.now()): UsageRange {
  const bucketSeconds = query.granularity === 'day' ? DAY : HOUR;
  const to = query.to === undefined ? Math.floor(now / 1000) : Math.floor(Date.parse(query.to) / 1000);
  const defaultBuckets = query.granularity === 'day' ? 30 : 24;
  const from =
    query.from === undefined
      ? Math.floor((to - 1) / bucketSeconds) * bucketSeconds - (defaultBuckets - 1) * bucketSeconds
      : Math.floor(Math.floor(Date.parse(query.from) / 1000) / bucketSeconds) * bucketSeconds;
  if (to <= from) throw new ApiError('VALIDATION_ERROR', 'invalid query', [{ field: 'to', message: 'must be after from' }]);
  if (to - from > USAGE_RETENTION_DAYS * DAY) {
    throw new ApiError('VALIDATION_ERROR', 'invalid query', [
      { field: 'from', message: `the range may span at most ${USAGE_RETENTION_DAYS} days (usage is kept that long)` },
    ]);
  }
  return { granularity: query.granularity, bucketSeconds, from, to };
}

/** Every bucket of `range` for `scope`, zeros included, oldest first. */
export async function usageSeries(db: D1Database, scope: UsageScope, range: UsageRange) {
  const sums = await fromD1(() => sumUsage(db, scope, range));
  const byStart = new Map(sums.map((bucket) => [bucket.start, bucket]));
  const series: Array<{ start: string; requests: number; rateLimited: number }> = [];
  for (let start = range.from; start < range.to; start += range.bucketSeconds) {
    const bucket = byStart.get(start);
    series.push({ start: new Date(start * 1000).toISOString(), requests: bucket?.requests ?? 0, rateLimited: bucket?.rateLimited ?? 0 });
  }
  return series;
}
