// The lease book: several isolates (several books) sharing one budget through one real
// BudgetCounter never admit more than the limit, and strand at most isolates × slice requests;
// no counter call while an isolate holds budget; a new window brings the budget back.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { LeaseResult } from '../../src/budgets/counter';
import { CREDIT_MIN_LIMIT, creditCapOf, LeaseBook, type LeaseCounter, MAX_CREDIT, sliceOf } from '../../src/budgets/leases';

/** A book as one isolate holds it, leasing from the real counter `name`, counting its calls. */
function isolate(calls = { count: 0 }, now?: () => number) {
  const book = new LeaseBook({
    counter: (name) => {
      const stub = env.BUDGETS.getByName(name);
      return {
        lease: (limit, windowSeconds, want) => {
          calls.count++;
          return stub.lease(limit, windowSeconds, want) as Promise<LeaseResult>;
        },
      };
    },
    timeoutMs: 5000,
    now,
  });
  return { book, calls };
}

const budgetName = () => `test:${crypto.randomUUID()}`;
const HOUR_BUDGET = (requests: number) => ({ requests, windowSeconds: 3600 });

describe('several isolates sharing one budget', () => {
  it('never admit more than the limit, however the requests interleave: 5 isolates × 60 requests, budget 100', async () => {
    const name = budgetName();
    const isolates = Array.from({ length: 5 }, () => isolate());
    const charges = await Promise.all(
      isolates.flatMap(({ book }) => Array.from({ length: 60 }, () => book.charge(name, HOUR_BUDGET(100), (p) => void p))),
    );
    // Every isolate kept asking until refused, so nothing is stranded: exactly the limit.
    expect(charges.filter((c) => c.allowed)).toHaveLength(100);
  });

  it('strand at most isolates × slice when some isolates stop early (the documented undershoot bound)', async () => {
    const name = budgetName();
    const limit = 200;
    const isolates = Array.from({ length: 4 }, () => isolate());
    // Three isolates make one request each (and keep their slice); the fourth goes on until refused.
    for (const { book } of isolates.slice(0, 3)) expect((await book.charge(name, HOUR_BUDGET(limit))).allowed).toBe(true);
    let admitted = 3;
    const last = isolates[3]!.book;
    while ((await last.charge(name, HOUR_BUDGET(limit))).allowed) admitted++;
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(limit - 3 * sliceOf(limit));
  });

  it('one isolate answers from its slice without calling the counter: one lease per slice', async () => {
    const name = budgetName();
    const { book, calls } = isolate();
    const limit = 1000; // slice 50
    for (let i = 0; i < 200; i++) expect((await book.charge(name, HOUR_BUDGET(limit))).allowed).toBe(true);
    expect(sliceOf(limit)).toBe(50);
    // 200 requests from slices of 50 (the next one leased when half is spent): at most 5 leases.
    expect(calls.count).toBeLessThanOrEqual(5);
    expect(calls.count).toBeGreaterThanOrEqual(4);
  });
});

describe('windows', () => {
  it('a spent budget is refused without asking the counter until its window ends, then comes back', async () => {
    let clock = Date.UTC(2030, 0, 1, 10, 0, 0);
    const counter = fakeCounter(() => clock);
    const calls = { count: 0 };
    const book = new LeaseBook({
      counter: () => ({
        lease: (...args) => {
          calls.count++;
          return counter.lease(...args);
        },
      }),
      timeoutMs: 1000,
      now: () => clock,
    });
    const budget = { requests: 3, windowSeconds: 60 };
    const first = await Promise.all(Array.from({ length: 5 }, () => book.charge('b', budget)));
    expect(first.map((c) => c.allowed)).toEqual([true, true, true, false, false]);
    const refusal = first[4]!;
    expect(refusal.resetAt).toBe(clock + 60_000);
    const asked = calls.count;
    for (let i = 0; i < 20; i++) expect((await book.charge('b', budget)).allowed).toBe(false);
    expect(calls.count, 'refusals of a spent window ask nobody').toBe(asked);
    clock += 60_000;
    const next = await Promise.all(Array.from({ length: 4 }, () => book.charge('b', budget)));
    expect(next.map((c) => c.allowed)).toEqual([true, true, true, false]);
  });

  it('refund gives a charged request back to the isolate (another budget refused it)', async () => {
    const clock = Date.UTC(2030, 0, 1, 10, 0, 0);
    const counter = fakeCounter(() => clock);
    const book = new LeaseBook({ counter: () => counter, timeoutMs: 1000, now: () => clock });
    const budget = { requests: 1, windowSeconds: 60 };
    const charge = await book.charge('b', budget);
    expect(charge.allowed).toBe(true);
    book.refund('b', charge);
    expect((await book.charge('b', budget)).allowed).toBe(true);
    expect((await book.charge('b', budget)).allowed).toBe(false);
  });
});

describe('credit while an isolate holds no tokens (budgets of CREDIT_MIN_LIMIT and more)', () => {
  /** The fake counter, each lease held until the test lets it answer. */
  function gatedCounter(now: () => number) {
    const counter = fakeCounter(now);
    const gates: Array<() => void> = [];
    const gated: LeaseCounter = {
      lease: (...args) => new Promise<void>((open) => gates.push(open)).then(() => counter.lease(...args)),
    };
    /** Lets every lease asked for so far answer (after a tick: leases are asked for in a microtask). */
    const openAll = async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const open of gates.splice(0)) open();
    };
    return { gated, openAll };
  }

  it('admits the first requests without waiting for the counter (up to the credit cap), and the lease pays for them', async () => {
    const clock = Date.UTC(2030, 0, 1, 10, 0, 0);
    const { gated, openAll } = gatedCounter(() => clock);
    const book = new LeaseBook({ counter: () => gated, timeoutMs: 1000, now: () => clock });
    const budget = { requests: CREDIT_MIN_LIMIT, windowSeconds: 60 };
    const cap = creditCapOf(sliceOf(budget.requests));
    expect(cap).toBe(2);
    const leases: Promise<unknown>[] = [];
    for (let i = 0; i < cap; i++) {
      expect(
        book.chargeHeld('b', budget, (p) => void leases.push(p)),
        `request ${i + 1} answered at once, while the lease is in flight`,
      ).toMatchObject({ allowed: true });
    }
    // The next request finds no tokens and the credit spent: it waits for that lease.
    let nextSettled = false;
    const next = book.charge('b', budget).finally(() => {
      nextSettled = true;
    });
    expect(book.chargeHeld('b', budget)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(nextSettled, 'waiting for the lease').toBe(false);
    await openAll();
    expect((await next).allowed).toBe(true);
    await Promise.all(leases);
    // The whole window still admits exactly the limit.
    let admitted = cap + 1;
    for (;;) {
      const charge = book.charge('b', budget);
      await openAll();
      if (!(await charge).allowed) break;
      admitted++;
    }
    expect(admitted).toBe(CREDIT_MIN_LIMIT);
  });

  it.each([CREDIT_MIN_LIMIT, 1000])(
    'over the limit only when others spent the window: at most the credit cap per isolate and window (budget %i)',
    async (limit) => {
      const name = budgetName();
      const spender = isolate().book;
      let admitted = 0;
      while ((await spender.charge(name, HOUR_BUDGET(limit))).allowed) admitted++;
      expect(admitted).toBe(limit);
      // Three more isolates meet the spent budget with a burst each: credit up to the cap, then refusals.
      const cap = creditCapOf(sliceOf(limit));
      expect(cap).toBeLessThanOrEqual(MAX_CREDIT);
      for (const { book } of [isolate(), isolate(), isolate()]) {
        const burst = await Promise.all(Array.from({ length: 3 * MAX_CREDIT }, () => book.charge(name, HOUR_BUDGET(limit))));
        expect(
          burst.filter((c) => c.allowed),
          'on credit, while the first lease is in flight',
        ).toHaveLength(cap);
        expect((await book.charge(name, HOUR_BUDGET(limit))).allowed, 'the lease found the window spent').toBe(false);
      }
    },
  );

  it.each([
    [CREDIT_MIN_LIMIT, 0],
    [1000, 0],
    // One request at a time first (one credit at the window's start), then bursts near the end:
    // credit is left, and the counter holds less than it; none may go unpaid.
    [1000, 985],
    [CREDIT_MIN_LIMIT, 37],
    // 1,005: twenty slices of 50, then a last lease of 5, smaller than the credit cap.
    [1005, 0],
    [1005, 960],
  ])(
    'one isolate stays exact with credit: bursts against a budget of %i (after %i sequential requests) admit exactly the limit',
    async (limit, sequential) => {
      const name = budgetName();
      const { book } = isolate();
      let admitted = 0;
      while (admitted < sequential) {
        expect((await book.charge(name, HOUR_BUDGET(limit))).allowed).toBe(true);
        admitted++;
      }
      // Bursts of concurrent requests, each arriving while leases are in flight, until one is refused throughout.
      for (;;) {
        const burst = await Promise.all(Array.from({ length: 25 }, () => book.charge(name, HOUR_BUDGET(limit))));
        const allowed = burst.filter((c) => c.allowed).length;
        admitted += allowed;
        if (allowed === 0) break;
      }
      expect(admitted).toBe(limit);
    },
  );

  it('smaller budgets stay exact: an isolate meeting a spent one refuses its first request', async () => {
    const name = budgetName();
    const limit = CREDIT_MIN_LIMIT - 1;
    const spender = isolate().book;
    while ((await spender.charge(name, HOUR_BUDGET(limit))).allowed);
    const { book } = isolate();
    expect(book.chargeHeld(name, HOUR_BUDGET(limit)), 'no answer without the counter').toBeUndefined();
    expect((await book.charge(name, HOUR_BUDGET(limit))).allowed).toBe(false);
  });
});

/** The BudgetCounter's arithmetic on a clock of the test's own. */
function fakeCounter(now: () => number): LeaseCounter {
  const used = new Map<number, number>();
  return {
    async lease(limit, windowSeconds, want) {
      const windowMs = windowSeconds * 1000;
      const start = Math.floor(now() / windowMs) * windowMs;
      const available = Math.max(0, limit - (used.get(start) ?? 0));
      const granted = Math.min(want, available);
      used.set(start, (used.get(start) ?? 0) + granted);
      return { granted, limit, remaining: available - granted, resetAt: start + windowMs };
    },
  };
}
