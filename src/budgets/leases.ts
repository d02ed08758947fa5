// Request budgets without a Durable Object call per request: each isolate leases slices of a
// budget's window from the budget's BudgetCounter and spends them locally. The counter counts a
// slice as used when it hands it out, so all isolates together never admit more from slices than
// the limit; the price is that a slice held by an isolate that gets no more traffic is lost to
// the others until the window ends (at most `isolates × slice` requests of a window refused
// early). When the slice runs low, the next one is leased after the response (waitUntil).
//
// When the counter fails or does not answer in time, the isolate fails open, bounded: it admits
// at most the budget's limit per window on its own count, and asks the counter again after
// FAIL_OPEN_RETRY_MS. With k isolates, a window then admits at most k × limit.
//
// No wait at a window's start either, nor while a lease is in flight: an isolate that holds no
// tokens of a budget of at least CREDIT_MIN_LIMIT admits requests on credit (at most
// creditCapOf(slice) per window, and never more than the counter still held unleased at its last
// answer) and leases meanwhile; the lease pays the credit back. In one isolate the count stays
// exact (what the counter holds unleased is this isolate's to lease). With several, credit goes
// unpaid only when others spent the window meanwhile (or this isolate before a restart): at most
// creditCapOf(slice) requests over the limit per isolate and window. Smaller budgets stay exact
// (a request that finds no tokens waits for the counter).
import type { Budget } from '../env';
import { withDeadline } from '../storage/deadline';
import type { LeaseResult } from './counter';

/** What a charge answered for one budget: whether the request fits, and the state to report in headers. */
export type Charge = { allowed: boolean; limit: number; windowSeconds: number; remaining: number; resetAt: number };

/** The counter of one budget, as the lease book calls it (a BudgetCounter stub, or a stand-in in tests). */
export type LeaseCounter = { lease(limit: number, windowSeconds: number, want: number): Promise<LeaseResult> };

/** The largest part of a budget's window one isolate holds at a time (1/20: 5 %, at least 1 request). */
export const SLICE_FRACTION = 20;
/** No slice is larger than this, whatever the budget: bounds what a dying isolate takes with it. */
export const MAX_SLICE = 1000;
/** How long an isolate counts on its own after the counter failed, before asking it again. */
export const FAIL_OPEN_RETRY_MS = 5000;
/** The smallest budget whose requests are admitted on credit (its slice is 2 or more). */
export const CREDIT_MIN_LIMIT = 2 * SLICE_FRACTION;
/** Requests one isolate admits on credit per budget and window, at most (also at most the slice). */
export const MAX_CREDIT = 10;

/** Requests admitted on credit per isolate and window for a budget whose slice is `slice`: the overshoot bound. */
export function creditCapOf(slice: number): number {
  return Math.min(slice, MAX_CREDIT);
}
/** Budgets one isolate tracks at once; past it, ended windows are dropped first, then the oldest. */
const MAX_BUDGETS = 10_000;

/** The slice an isolate leases at a time for a budget of `limit` requests per window. */
export function sliceOf(limit: number): number {
  return Math.max(1, Math.min(MAX_SLICE, Math.floor(limit / SLICE_FRACTION)));
}

/** One budget as this isolate knows it, for the current window. */
type LeaseState = {
  limit: number;
  windowSeconds: number;
  /** sliceOf(limit). */
  slice: number;
  /** End of the window the tokens belong to (ms since the epoch). */
  resetAt: number;
  /** Requests leased to this isolate and not yet spent. */
  tokens: number;
  /** What the counter still held unleased at its last answer. */
  unleased: number;
  /** Requests this isolate admitted in this window (bounds the fail-open mode). */
  admitted: number;
  /** The counter said the window is spent: refuse without asking until it ends. */
  spent: boolean;
  /** Requests admitted on credit and not yet paid by a lease; and all admitted on credit in this window. */
  credit: number;
  creditGiven: number;
  /** The lease in flight, shared by every request waiting for it, and when it started. */
  refill: Promise<void> | null;
  refillStartedAt: number;
  /** Until then, the counter is not asked (it failed): admit up to `limit` on this isolate's count. */
  failOpenUntil: number;
};

export type LeaseBookOptions = {
  /** The counter of a budget by its name. May throw (a namespace that cannot be reached). */
  counter: (name: string) => LeaseCounter;
  /** Longest wait for one lease. */
  timeoutMs: number;
  /** Runs work after the response (the next slice's lease). */
  waitUntil?: (promise: Promise<unknown>) => void;
  now?: () => number;
};

/** The leases of one isolate: one per budget name, for the window in progress. */
export class LeaseBook {
  readonly #states = new Map<string, LeaseState>();
  readonly #options: Required<Omit<LeaseBookOptions, 'waitUntil'>>;

  constructor(options: LeaseBookOptions) {
    this.#options = { ...options, now: options.now ?? Date.now };
  }

  /**
   * Charges one request to the budget `name` from what this isolate holds, without waiting:
   * the charge, or undefined when only the counter can answer (no tokens left, no refusal known).
   * `waitUntil` runs the next lease after the response when the slice runs low.
   */
  chargeHeld(name: string, budget: Budget, waitUntil?: (promise: Promise<unknown>) => void): Charge | undefined {
    const state = this.#current(name, budget);
    const now = this.#options.now();
    if (state.tokens > 0) {
      state.tokens--;
      state.admitted++;
      if (state.tokens < state.slice / 2 && !state.spent && this.#live(state, now) === null && now >= state.failOpenUntil) {
        const refill = this.#refill(name, state);
        if (waitUntil) waitUntil(refill);
      }
      return this.#answer(state, true, now);
    }
    if (now < state.failOpenUntil) {
      if (state.admitted >= state.limit) return this.#answer(state, false, now);
      state.admitted++;
      return this.#answer(state, true, now);
    }
    if (state.spent) return this.#answer(state, false, now);
    if (state.limit >= CREDIT_MIN_LIMIT && state.creditGiven < creditCapOf(state.slice) && state.credit < state.unleased) {
      // No tokens (the window's first request here, or the slice spent while the next is on its
      // way): admitted now, paid by the lease in flight or the one it starts.
      state.creditGiven++;
      state.credit++;
      state.admitted++;
      // A lease in flight is another request's, kept alive by that request's waitUntil: this one
      // must not wait on it (workerd cancels what a finished request's promises would resume).
      if (this.#live(state, now) === null) {
        const refill = this.#refill(name, state);
        if (waitUntil) waitUntil(refill);
      }
      return this.#answer(state, true, now);
    }
    return undefined;
  }

  /**
   * Charges one request to the budget `name`: at once while this isolate holds part of the
   * budget (chargeHeld); otherwise after a lease (shared by concurrent requests).
   */
  async charge(name: string, budget: Budget, waitUntil?: (promise: Promise<unknown>) => void): Promise<Charge> {
    // Concurrent requests may find a lease spent by the others and ask again. This ends: every
    // lease grants at least one request, or marks the window spent, or switches to fail-open.
    for (;;) {
      const charge = this.chargeHeld(name, budget, waitUntil);
      if (charge) return charge;
      const state = this.#current(name, budget);
      // Another request's lease is waited for on a timer of this request's own: Workers may cancel
      // that request's I/O, and a lease that outlived its deadline is replaced, never joined.
      await withDeadline(this.#live(state, this.#options.now()) ?? this.#refill(name, state), this.#options.timeoutMs).catch(() => {});
    }
  }

  /** Gives back a request charged by `charge` and then not made (another budget refused it). */
  refund(name: string, charge: Charge): void {
    const state = this.#states.get(name);
    if (!state || !charge.allowed || state.resetAt !== charge.resetAt) return;
    state.admitted = Math.max(0, state.admitted - 1);
    if (this.#options.now() < state.failOpenUntil && state.tokens === 0) return;
    state.tokens++;
  }

  /** The state of `name` for the window in progress (a fresh one at a new window or a changed budget). */
  #current(name: string, budget: Budget): LeaseState {
    const now = this.#options.now();
    const existing = this.#states.get(name);
    if (existing && now < existing.resetAt && existing.limit === budget.requests && existing.windowSeconds === budget.windowSeconds) {
      return existing;
    }
    const windowMs = budget.windowSeconds * 1000;
    const state: LeaseState = {
      limit: budget.requests,
      windowSeconds: budget.windowSeconds,
      slice: sliceOf(budget.requests),
      resetAt: Math.floor(now / windowMs) * windowMs + windowMs,
      tokens: 0,
      unleased: budget.requests,
      admitted: 0,
      credit: 0,
      creditGiven: 0,
      spent: false,
      refill: null,
      refillStartedAt: 0,
      // A counter that failed keeps being spared until its retry time, across windows.
      failOpenUntil: existing?.failOpenUntil ?? 0,
    };
    if (existing) this.#states.delete(name);
    else if (this.#states.size >= MAX_BUDGETS) this.#prune(now);
    this.#states.set(name, state);
    return state;
  }

  /** The lease in flight for `state`, unless none is or it outlived its deadline (then it is not waited for). */
  #live(state: LeaseState, now: number): Promise<void> | null {
    return state.refill !== null && now - state.refillStartedAt < this.#options.timeoutMs ? state.refill : null;
  }

  /** Asks the counter for the next slice; on failure, switches the budget to fail-open counting. */
  #refill(name: string, state: LeaseState): Promise<void> {
    let refill: Promise<void> | null = null;
    refill = (async () => {
      try {
        const answer = await withDeadline(
          Promise.resolve().then(() => this.#options.counter(name).lease(state.limit, state.windowSeconds, state.slice)),
          this.#options.timeoutMs,
        );
        if (answer.resetAt !== state.resetAt) {
          // The counter's clock is in another window than ours: its answer sets the window.
          state.resetAt = answer.resetAt;
        }
        state.tokens += answer.granted;
        state.unleased = answer.remaining;
        // Requests admitted on credit are paid from the lease; what it cannot pay was over the limit.
        const paid = Math.min(state.credit, state.tokens);
        state.tokens -= paid;
        state.credit = 0;
        if (answer.granted === 0) state.spent = true;
      } catch (err) {
        console.error(`budget counter unavailable: ${err instanceof Error ? err.name : 'error'}`);
        // Credit is settled by the fail-open count (admitted) from here on.
        state.credit = 0;
        state.failOpenUntil = this.#options.now() + FAIL_OPEN_RETRY_MS;
      } finally {
        // Only this lease: a newer one may have replaced it.
        if (state.refill === refill) state.refill = null;
      }
    })();
    state.refill = refill;
    state.refillStartedAt = this.#options.now();
    return state.refill;
  }

  #answer(state: LeaseState, allowed: boolean, now: number): Charge {
    const failingOpen = now < state.failOpenUntil;
    const remaining = failingOpen ? Math.max(0, state.limit - state.admitted) : Math.max(0, state.unleased + state.tokens - state.credit);
    return { allowed, limit: state.limit, windowSeconds: state.windowSeconds, remaining, resetAt: state.resetAt };
  }

  /** Drops budgets whose window has ended; if none has, the oldest tracked. */
  #prune(now: number): void {
    for (const [name, state] of this.#states) if (state.resetAt <= now && state.refill === null) this.#states.delete(name);
    if (this.#states.size < MAX_BUDGETS) return;
    const oldest = this.#states.keys().next();
    if (!oldest.done) this.#states.delete(oldest.value);
  }
}
