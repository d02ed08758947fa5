// BudgetCounter: the exact count of one budget (an organization's requests, a project's, a key's,
// an organization's key-management writes), one Durable Object per budget, SQLite-backed. Fixed
// windows: a window of S seconds starts at a multiple of S since the epoch. One object serialises
// its calls, so concurrent takes and leases from any isolate or location never overshoot the limit.
import { DurableObject } from 'cloudflare:workers';

/** What one take answered: whether it fit, what is left, and when the window ends (ms since the epoch). */
export type TakeResult = { allowed: boolean; limit: number; remaining: number; resetAt: number };

/**
 * What one lease answered: `granted` requests (0 to the asked-for number) now belong to the
 * caller for the window ending at `resetAt`; `remaining` is what the object still holds unleased.
 */
export type LeaseResult = { granted: number; limit: number; remaining: number; resetAt: number };

export class BudgetCounter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS windows (start INTEGER PRIMARY KEY, used INTEGER NOT NULL)');
  }

  /**
   * Hands out up to `want` requests of the window containing now, counted as used at once: a
   * lease can never be spent twice, so the sum of all leases of a window is at most `limit`.
   */
  lease(limit: number, windowSeconds: number, want: number): LeaseResult {
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(Date.now() / windowMs) * windowMs;
    const sql = this.ctx.storage.sql;
    // Older windows are done with: keep one row.
    sql.exec('DELETE FROM windows WHERE start <> ?', start);
    const used = sql.exec<{ used: number }>('SELECT used FROM windows WHERE start = ?', start).toArray()[0]?.used ?? 0;
    const available = Math.max(0, limit - used);
    const granted = Math.min(Math.max(0, Math.floor(want)), available);
    if (granted > 0) {
      sql.exec(
        'INSERT INTO windows (start, used) VALUES (?, ?) ON CONFLICT (start) DO UPDATE SET used = used + ?',
        start,
        granted,
        granted,
      );
    }
    return { granted, limit, remaining: available - granted, resetAt: start + windowMs };
  }

  /** Takes one request from the window containing now, when `limit` allows it. */
  take(limit: number, windowSeconds: number): TakeResult {
    const { granted, remaining, resetAt } = this.lease(limit, windowSeconds, 1);
    return { allowed: granted === 1, limit, remaining, resetAt };
  }
}
