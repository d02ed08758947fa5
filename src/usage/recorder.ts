// Usage, counted per key and per minute in this isolate's memory and written to D1 in batches
// after the responses: the first count after a write opens a window of USAGE_FLUSH_SECONDS,
// and one batch at its end writes everything counted meanwhile, added up per hour
// (usage_hourly). A request therefore costs a map update, never a write of its own.
//
// Lag: a count reaches D1 at most USAGE_FLUSH_SECONDS (plus one D1 write) after its request.
// Loss: counts of a window whose isolate is torn down before the window's end, or whose write
// fails, are lost (logged). A failed write is not retried: its answer may be lost after it took
// effect, and a retry would count those requests twice.
//
// When an Analytics Engine dataset is bound as USAGE_EVENTS, every counted request also writes
// one data point there (fire and forget) for operators' own dashboards.

import { addUsageStatements, deleteUsageBeforeStatement, type UsageRow } from '../db/usage';
import type { Config } from '../env';

/** Who a counted request was: the key (null: an admin JWT) of which organization and project. */
export type UsageSubject = { organizationId: string; projectId: string | null; keyId: string | null };

/** What became of it: passed on or answered, refused for rate, or refused as a credential. */
export type UsageOutcome = 'accepted' | 'rate_limited' | 'refused';

/** How long usage is kept: older hours are deleted. */
export const USAGE_RETENTION_DAYS = 90;
/** Distinct (key, minute) counts one isolate holds; past it, new ones are dropped (and logged) until the next write. */
const MAX_PENDING = 50_000;
/** How often one isolate deletes hours past the retention (at most). */
const RETENTION_SWEEP_MS = 3_600_000;

type MinuteCount = {
  subject: UsageSubject;
  minute: number;
  requests: number;
  rateLimited: number;
  refused: number;
};

/** The analytics dataset, when one is bound (not declared in wrangler.toml by default). */
type UsageEventsEnv = { USAGE_EVENTS?: AnalyticsEngineDataset };

/** The counts of one isolate not yet written. */
export class UsageRecorder {
  #pending = new Map<string, MinuteCount>();
  #flushScheduled = false;
  #dropped = 0;
  #lastSweep = 0;

  /** Counts one request; schedules the batch write with `waitUntil` when none is pending. */
  record(
    deps: { db: D1Database; config: Config; waitUntil: (promise: Promise<unknown>) => void },
    subject: UsageSubject,
    outcome: UsageOutcome,
    now = Date.now(),
  ): void {
    const minute = Math.floor(now / 60_000) * 60;
    const id = `${subject.organizationId}\u0000${subject.keyId ?? ''}\u0000${minute}`;
    let count = this.#pending.get(id);
    if (!count) {
      if (this.#pending.size >= MAX_PENDING) {
        this.#dropped++;
        return;
      }
      count = { subject, minute, requests: 0, rateLimited: 0, refused: 0 };
      this.#pending.set(id, count);
    }
    if (outcome === 'accepted') count.requests++;
    else if (outcome === 'rate_limited') count.rateLimited++;
    else count.refused++;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      deps.waitUntil(new Promise((resolve) => setTimeout(resolve, deps.config.usageFlushMs)).then(() => this.flush(deps.db, Date.now())));
    }
  }

  /** Writes everything counted so far in one D1 batch (with, once an hour, the retention's delete). */
  async flush(db: D1Database, now: number): Promise<void> {
    const counts = [...this.#pending.values()];
    this.#pending = new Map();
    this.#flushScheduled = false;
    if (this.#dropped > 0) {
      console.error(`usage counts dropped: ${this.#dropped} (more than ${MAX_PENDING} pending)`);
      this.#dropped = 0;
    }
    if (counts.length === 0) return;
    try {
      const statements = addUsageStatements(db, hourlyRows(counts));
      if (now - this.#lastSweep >= RETENTION_SWEEP_MS) {
        this.#lastSweep = now;
        const cutoff = Math.floor(now / 3_600_000) * 3600 - USAGE_RETENTION_DAYS * 86_400;
        statements.push(deleteUsageBeforeStatement(db, cutoff));
      }
      await db.batch(statements);
    } catch (err) {
      const requests = counts.reduce((sum, c) => sum + c.requests + c.rateLimited + c.refused, 0);
      console.error(`usage write failed, ${requests} counted requests lost: ${err instanceof Error ? err.name : 'error'}`);
    }
  }

  /** Counts not yet written (for tests and the bench). */
  get pending(): number {
    return this.#pending.size;
  }
}

/** Per-minute counts added up per key and hour. */
function hourlyRows(counts: readonly MinuteCount[]): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const count of counts) {
    const hour = count.minute - (count.minute % 3600);
    const id = `${count.subject.organizationId}\u0000${count.subject.keyId ?? ''}\u0000${hour}`;
    const row = rows.get(id);
    if (row) {
      row.requests += count.requests;
      row.rateLimited += count.rateLimited;
      row.refused += count.refused;
    } else {
      rows.set(id, {
        organizationId: count.subject.organizationId,
        projectId: count.subject.projectId ?? '',
        keyId: count.subject.keyId ?? '',
        hour,
        requests: count.requests,
        rateLimited: count.rateLimited,
        refused: count.refused,
      });
    }
  }
  return [...rows.values()];
}

/** One data point per counted request in the USAGE_EVENTS dataset, when one is bound. Never throws. */
export function writeUsageEvent(env: UsageEventsEnv, subject: UsageSubject, outcome: UsageOutcome, surface: string): void {
  const dataset = env.USAGE_EVENTS;
  if (!dataset) return;
  try {
    dataset.writeDataPoint({
      blobs: [outcome, surface, subject.organizationId, subject.projectId ?? '', subject.keyId ?? ''],
      doubles: [1],
      indexes: [subject.organizationId],
    });
  } catch (err) {
    console.error(`USAGE_EVENTS write failed: ${err instanceof Error ? err.name : 'error'}`);
  }
}

// One recorder per isolate: module state, written out by the requests' waitUntil.
const recorder = new UsageRecorder();

/** This isolate's usage recorder. */
export function usageRecorder(): UsageRecorder {
  return recorder;
}
