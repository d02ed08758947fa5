// BudgetCounter: the exact count of one budget (e.g. one organization's key-management writes),
// one Durable Object per budget, SQLite-backed. Fixed windows: a window of S seconds starts at a
// multiple of S since the epoch. One object serialises its calls, so concurrent takes from any
// isolate or location never overshoot the limit.
import { DurableObject } from 'cloudflare:workers';

/** What one take answered: whether it fit, what is left, and when the window ends (ms since the epoch). */
export type TakeResult = { allowed: boolean; limit: number; remaining: number; resetAt: number };

export class BudgetCounter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS windows (start INTEGER PRIMARY KEY, used INTEGER NOT NULL)');
  }

  /** Takes one request from the window containing now, when `limit` allows it. */
  take(limit: number, windowSeconds: number): TakeResult {
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(Date.now() / windowMs) * windowMs;
    const sql = this.ctx.storage.sql;
    // Older windows are done with: keep one row.
    sql.exec('DELETE FROM windows WHERE start <> ?', start);
    const used = sql.exec<{ used: number }>('SELECT used FROM windows WHERE start = ?', start).toArray()[0]?.used ?? 0;
    const resetAt = start + windowMs;
    if (used >= limit) return { allowed: false, limit, remaining: 0, resetAt };
    sql.exec('INSERT INTO windows (start, used) VALUES (?, 1) ON CONFLICT (start) DO UPDATE SET used = used + 1', start);
    return { allowed: true, limit, remaining: limit - used - 1, resetAt };
  }
}
