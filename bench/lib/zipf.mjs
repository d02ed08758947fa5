// Seeded randomness for the production latency model (bench/model.mjs): a small PRNG, so that a
// run draws the same keys in the same order for the same seed, and a Zipf sampler over ranks
// 1..N (P(rank k) = k^-s / H(N, s)) by inverse CDF: a table of cumulative weights, searched in
// O(log N) per draw.

/**
 * mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). Not cryptographic; fast and reproducible.
 * @param {number} seed any integer (taken modulo 2^32)
 * @returns {() => number}
 */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The generalized harmonic number H(n, s) = Σ_{k=1..n} k^-s: the Zipf distribution's normalizer.
 * @param {number} n
 * @param {number} s
 */
export function harmonic(n, s) {
  let sum = 0;
  // Smallest terms first, so the sum loses no precision to the large ones.
  for (let k = n; k >= 1; k--) sum += k ** -s;
  return sum;
}

/** Draws ranks 1..n with P(k) = k^-s / H(n, s). */
export class ZipfSampler {
  /** @type {Float64Array} cdf[k - 1] = P(rank <= k) */
  #cdf;
  /** @type {() => number} */
  #random;

  /**
   * @param {number} n ranks (keys), at least 1
   * @param {number} s exponent, > 0
   * @param {() => number} random uniform in [0, 1), e.g. seededRandom(seed)
   */
  constructor(n, s, random) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Zipf: n must be a positive integer, not ${n}`);
    if (!(s > 0)) throw new RangeError(`Zipf: s must be > 0, not ${s}`);
    this.n = n;
    this.s = s;
    this.#random = random;
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += k ** -s;
      this.#cdf[k - 1] = sum;
    }
    for (let i = 0; i < n; i++) this.#cdf[i] = /** @type {number} */ (this.#cdf[i]) / sum;
    this.#cdf[n - 1] = 1;
  }

  /** The next rank, 1..n: the first k whose cumulative probability exceeds a uniform draw. */
  next() {
    const u = this.#random();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (/** @type {number} */ (this.#cdf[mid]) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  }

  /**
   * P(rank > k): the share of draws beyond the k most popular ranks.
   * @param {number} k
   */
  tail(k) {
    if (k <= 0) return 1;
    if (k >= this.n) return 0;
    return 1 - /** @type {number} */ (this.#cdf[k - 1]);
  }
}

/**
 * A seeded permutation of 0..n-1 (Fisher–Yates): which key has which popularity rank.
 * @param {number} n
 * @param {() => number} random
 * @returns {Uint32Array}
 */
export function permutation(n, random) {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = /** @type {number} */ (order[i]);
    order[i] = /** @type {number} */ (order[j]);
    order[j] = swap;
  }
  return order;
}
