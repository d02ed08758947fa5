// How the load bench pairs its scenarios (bench/lib/scenarios.mjs, bench/lib/report.mjs): every
// scenario is judged against baselines that exist, run in the same round, soon after it, since
// the machine's speed drifts over minutes; the hot keys and the refusals each have a replay of
// what Keygate did, without Keygate; and a hot key's own CPU is paired run by run.
import { describe, expect, it } from 'vitest';
import { comparedWith, machineGauge, paired, replayOf } from '../../bench/lib/report.mjs';
import { SCENARIOS } from '../../bench/lib/scenarios.mjs';

const ids = SCENARIOS.map((s) => s.id);
const position = (id: string) => ids.indexOf(id);

describe('the bench pairs each scenario with its baselines', () => {
  it.each(SCENARIOS.map((s) => [s.id]))('%s: every baseline it is judged against is a scenario of the round', (id) => {
    for (const baseline of comparedWith(id)) expect(ids).toContain(baseline);
  });

  it.each([
    ['hotOrg', ['forward', 'hotOrgOff', 'hotOrgReplay']],
    ['hotProject', ['forward', 'hotProjectOff', 'hotProjectReplay']],
    ['overBudget', ['noop', 'overBudgetReplay']],
    ['invalid', ['noop', 'invalidReplay']],
    ['cold', ['coldFloor']],
  ])('%s is judged against %j', (id, baselines) => {
    expect(comparedWith(id)).toEqual(baselines);
  });

  it.each([
    ['hotOrg', 'hotOrgReplay'],
    ['hotProject', 'hotProjectReplay'],
    ['overBudget', 'overBudgetReplay'],
    ['invalid', 'invalidReplay'],
    ['cold', undefined],
    ['noop', undefined],
  ])('%s is replayed by %s (the last baseline it is judged against)', (id, replay) => {
    expect(replayOf(id)).toBe(replay);
    if (replay) expect(comparedWith(id).at(-1)).toBe(replay);
  });

  it.each([
    ['hotOrgReplay', 'hotOrg'],
    ['hotProjectReplay', 'hotProject'],
    ['overBudgetReplay', 'overBudget'],
    ['invalidReplay', 'invalid'],
  ])('%s is a baseline that runs after %s, within three runs', (replay, id) => {
    expect(SCENARIOS.find((s) => s.id === replay)?.baseline).toBe(true);
    expect(position(replay)).toBeGreaterThan(position(id));
    expect(position(replay) - position(id)).toBeLessThanOrEqual(3);
  });

  it('runs the hot organization key right after the bare hop, and budgets off right after on', () => {
    expect(position('hotOrg')).toBe(position('forward') + 1);
    expect(position('hotOrgOff')).toBe(position('hotOrg') + 1);
    expect(position('hotProjectOff')).toBe(position('hotProject') + 1);
  });

  it('pairs a scenario with its baseline run by run, for req/s and CPU', () => {
    const rep = (rps: number, cpuSeconds: number, requests = 1000) => ({
      measured: { rps, p99: 10, requests },
      cpuSeconds,
    });
    const runs = [
      {
        n: 100,
        scenarios: {
          hotOrg: { reps: [rep(800, 0.4), rep(900, 0.5)] },
          hotOrgReplay: { reps: [rep(1000, 0.3), rep(1000, 0.35)] },
        },
      },
    ];
    // A partial Run: the fields paired reads.
    const out = paired(runs as unknown as Parameters<typeof paired>[0], ['hotOrg'], 'hotOrgReplay');
    expect(out.ratios).toEqual([0.8, 0.9]);
    expect(out.cpuUs.map((us) => Math.round(us))).toEqual([100, 150]);
  });
});

describe('the in-isolate rows say how fast the machine ran', () => {
  const loop = { ownUs: 47, pairsUs: [47], statuses: { 200: 10_000 } };
  it.each([
    [
      { sha256Us: 4.23 },
      { ...loop, originUs: 20.6 },
      "; machine gauge: SHA-256 of a key 4.2 µs, the origin stand-in's loop alone 21 µs per request",
    ],
    [{ sha256Us: null }, { ...loop, originUs: 20.6 }, "; machine gauge: the origin stand-in's loop alone 21 µs per request"],
    [
      { sha256Us: 4.23 },
      { ...loop, originUs: 33, originPairsUs: [33, 54.6, 31.2] },
      "; machine gauge: SHA-256 of a key 4.2 µs, the origin stand-in's loop alone 33 µs per request (31–55 over the pairs)",
    ],
    // A run kept before the origin loop's figure was.
    [{ sha256Us: 5 }, loop, '; machine gauge: SHA-256 of a key 5.0 µs'],
    [{}, loop, ''],
  ])('%j with %j reads %j', (run, cost, text) => {
    expect(machineGauge({ n: 100, rows: 100, scenarios: [], ...run } as never, cost)).toBe(text);
  });
});
