// The latency model's building blocks (bench/model.mjs), in plain Node: the seeded Zipf sampler
// draws ranks as often as the distribution says and the same ones for the same seed; the
// lognormal latencies have the p50 and p99 they are configured with; and the model's section of
// bench/RESULTS.md survives a rewrite of the rest of the file.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCIES, latencySampler, lognormal, Z99 } from '../../bench/lib/latency.mjs';
import { MODEL_BEGIN, MODEL_END, modelSectionOf, withModelSection } from '../../bench/lib/report.mjs';
import { harmonic, permutation, seededRandom, ZipfSampler } from '../../bench/lib/zipf.mjs';

const N = 100_000;
const S = 1.1;
const DRAWS = 200_000;

function draws(seed: number, n = DRAWS): Uint32Array {
  const zipf = new ZipfSampler(N, S, seededRandom(seed));
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = zipf.next();
  return out;
}

/** Nearest-rank percentile of a sorted array. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe('Zipf sampler', () => {
  it('computes H(n, s) as the sum of k^-s', () => {
    expect(harmonic(1, S)).toBe(1);
    expect(harmonic(3, 1)).toBeCloseTo(1 + 1 / 2 + 1 / 3, 12);
    // ζ(1.1) ≈ 10.584; the tail beyond 100,000 is about 100,000^-0.1 / 0.1 ≈ 3.16.
    expect(harmonic(N, S)).toBeGreaterThan(7.3);
    expect(harmonic(N, S)).toBeLessThan(7.5);
  });

  const sample = draws(42);

  it('draws only ranks 1..N', () => {
    expect(Math.min(...sample.subarray(0, 10_000))).toBeGreaterThanOrEqual(1);
    expect(sample.every((rank) => rank >= 1 && rank <= N)).toBe(true);
  });

  it('draws rank 1 with frequency close to 1 / H(N, s)', () => {
    const expected = 1 / harmonic(N, S);
    const observed = sample.filter((rank) => rank === 1).length / DRAWS;
    expect(Math.abs(observed - expected) / expected).toBeLessThan(0.03);
  });

  it('draws beyond rank K as often as theory says, and tail() agrees', () => {
    const h = harmonic(N, S);
    for (const k of [10, 1_000, 10_000]) {
      const expected = (h - harmonic(k, S)) / h;
      const observed = sample.filter((rank) => rank > k).length / DRAWS;
      expect(Math.abs(observed - expected)).toBeLessThan(0.006);
      expect(new ZipfSampler(N, S, seededRandom(1)).tail(k)).toBeCloseTo(expected, 9);
    }
  });

  it('draws the same ranks for the same seed, other ranks for another', () => {
    expect(draws(7, 5_000)).toEqual(draws(7, 5_000));
    expect(draws(8, 5_000)).not.toEqual(draws(7, 5_000));
  });

  it('permutes keys into ranks deterministically', () => {
    const a = permutation(1_000, seededRandom(3));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(permutation(1_000, seededRandom(3))).toEqual(a);
    expect(permutation(1_000, seededRandom(4))).not.toEqual(a);
  });

  it('refuses an empty range or a non-positive exponent', () => {
    expect(() => new ZipfSampler(0, S, seededRandom(1))).toThrow(RangeError);
    expect(() => new ZipfSampler(10, 0, seededRandom(1))).toThrow(RangeError);
  });
});

describe('lognormal latencies', () => {
  it('has the configured p50 and p99 exactly', () => {
    const d = lognormal({ p50: 40, p99: 250 });
    expect(Math.exp(d.mu)).toBeCloseTo(40, 9);
    expect(Math.exp(d.mu + Z99 * d.sigma)).toBeCloseTo(250, 9);
  });

  it('draws delays whose quantiles are close to the configured p50 and p99, the same for the same seed', () => {
    for (const q of [
      { p50: 3, p99: 20 },
      { p50: 180, p99: 400 },
    ]) {
      const next = latencySampler(lognormal(q), 11);
      const values = new Float64Array(100_000);
      for (let i = 0; i < values.length; i++) values[i] = next();
      const again = latencySampler(lognormal(q), 11);
      expect([again(), again(), again()]).toEqual([values[0], values[1], values[2]]);
      values.sort();
      expect(Math.abs(percentile(values, 50) - q.p50) / q.p50).toBeLessThan(0.03);
      expect(Math.abs(percentile(values, 99) - q.p99) / q.p99).toBeLessThan(0.06);
      expect(values[0]).toBeGreaterThan(0);
    }
  });

  it('refuses a p99 below the p50', () => {
    expect(() => lognormal({ p50: 10, p99: 5 })).toThrow(RangeError);
  });

  it('documents every default with a source', () => {
    for (const [name, d] of Object.entries(DEFAULT_LATENCIES)) {
      expect(d.p50, name).toBeGreaterThan(0);
      expect(d.p99, name).toBeGreaterThanOrEqual(d.p50);
      expect(d.source.length, name).toBeGreaterThan(10);
    }
  });
});

describe("the model's section of RESULTS.md", () => {
  const section = `${MODEL_BEGIN}\n\n## Production latency model\n\nfigures\n\n${MODEL_END}`;

  it('is appended to a file without one, and found again', () => {
    const file = withModelSection('# Keygate load benchmark\n\nresults\n', section);
    expect(file).toBe(`# Keygate load benchmark\n\nresults\n\n${section}\n`);
    expect(modelSectionOf(file)).toBe(section);
    expect(withModelSection('', section)).toBe(`${section}\n`);
  });

  it('replaces the old section in place, leaving the rest as it was', () => {
    const old = `# Keygate\n\nbefore\n\n${MODEL_BEGIN}\nold\n${MODEL_END}\n\nafter\n`;
    expect(withModelSection(old, section)).toBe(`# Keygate\n\nbefore\n\n${section}\n\nafter\n`);
  });

  it('survives a rewrite of the rest (what npm run bench does)', () => {
    const previous = withModelSection('# old bench results\n', section);
    const kept = modelSectionOf(previous);
    expect(kept).toBe(section);
    expect(withModelSection('# new bench results\n', kept ?? '')).toBe(`# new bench results\n\n${section}\n`);
    expect(modelSectionOf('# no section\n')).toBeNull();
  });
});
