// Key format: typed prefixes, length, base62 and the checksum that refuses every typo.
import { describe, expect, it } from 'vitest';
import {
  customKeyProblem,
  GENERATED_KEY_LENGTH,
  generateKey,
  isWellFormedKey,
  isWellFormedProjectKey,
  KEY_PREFIXES,
  type KeyType,
  lastFour,
  randomBase62,
} from '../../src/keys/format';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TYPES = Object.keys(KEY_PREFIXES) as KeyType[];
/** Characters a single-character change may introduce: all of base62 and some that are not. */
const REPLACEMENTS = [...BASE62, '_', '-', '.', ' ', '+', '/', '=', 'é', '\u0000'];

describe('generateKey', () => {
  it('uses the documented typed prefixes', () => {
    expect(KEY_PREFIXES).toEqual({ orgSecret: 'kg_sk_', clientId: 'kg_ci_', project: 'kg_pk_' });
  });

  for (const type of TYPES) {
    it(`makes ${type} keys of 45 base62 characters after ${KEY_PREFIXES[type]}, with a valid checksum`, () => {
      for (let i = 0; i < 200; i++) {
        const key = generateKey(type);
        expect(key).toHaveLength(45);
        expect(key).toMatch(new RegExp(`^${KEY_PREFIXES[type]}[0-9A-Za-z]{39}$`));
        expect(isWellFormedKey(key, type), key).toBe(true);
      }
    });

    it(`makes ${type} keys that no other type accepts`, () => {
      const key = generateKey(type);
      for (const other of TYPES.filter((t) => t !== type)) expect(isWellFormedKey(key, other), other).toBe(false);
    });
  }

  it('states the generated length it produces', () => {
    expect(GENERATED_KEY_LENGTH).toBe(45);
  });

  it('never repeats a key', () => {
    const keys = new Set(Array.from({ length: 5_000 }, () => generateKey('orgSecret')));
    expect(keys.size).toBe(5_000);
  });

  it('carries at least 192 random bits (33 base62 characters) before the checksum', () => {
    const key = generateKey('orgSecret');
    const body = key.slice(KEY_PREFIXES.orgSecret.length, -6);
    expect(body.length * Math.log2(62)).toBeGreaterThanOrEqual(192);
  });
});

describe('randomBase62', () => {
  it('returns exactly the length asked for, from base62 only', () => {
    for (const length of [0, 1, 33, 500]) {
      const value = randomBase62(length);
      expect(value).toHaveLength(length);
      expect(value).toMatch(/^[0-9A-Za-z]*$/);
    }
  });

  it('uses every character of the alphabet', () => {
    // 20,000 draws: the chance that a fair source misses one of 62 characters is below 1e-130.
    const seen = new Set(randomBase62(20_000));
    expect([...BASE62].filter((ch) => !seen.has(ch))).toEqual([]);
  });
});

describe('isWellFormedKey', () => {
  for (const type of TYPES) {
    it(`refuses every single-character change of a ${type} key`, () => {
      const key = generateKey(type);
      const accepted: string[] = [];
      for (let i = 0; i < key.length; i++) {
        for (const ch of REPLACEMENTS) {
          if (ch === key[i]) continue;
          const changed = key.slice(0, i) + ch + key.slice(i + 1);
          if (isWellFormedKey(changed, type)) accepted.push(changed);
        }
      }
      expect(accepted).toEqual([]);
    });

    it(`refuses every single-character deletion and insertion of a ${type} key`, () => {
      const key = generateKey(type);
      const accepted: string[] = [];
      for (let i = 0; i <= key.length; i++) {
        if (i < key.length && isWellFormedKey(key.slice(0, i) + key.slice(i + 1), type)) accepted.push(`delete ${i}`);
        for (const ch of BASE62) {
          if (isWellFormedKey(key.slice(0, i) + ch + key.slice(i), type)) accepted.push(`insert ${ch} at ${i}`);
        }
      }
      expect(accepted).toEqual([]);
    });

    it(`refuses a ${type} key whose prefix was swapped for another type's`, () => {
      const key = generateKey(type);
      for (const other of TYPES.filter((t) => t !== type)) {
        const swapped = KEY_PREFIXES[other] + key.slice(KEY_PREFIXES[type].length);
        expect(isWellFormedKey(swapped, other), swapped).toBe(false);
      }
    });
  }

  it('refuses two adjacent characters swapped', () => {
    const key = generateKey('orgSecret');
    const accepted: string[] = [];
    for (let i = KEY_PREFIXES.orgSecret.length; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue;
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2);
      if (isWellFormedKey(swapped, 'orgSecret')) accepted.push(swapped);
    }
    expect(accepted).toEqual([]);
  });

  it('refuses values that are not keys', () => {
    for (const value of ['', 'kg_sk_', `kg_sk_${'0'.repeat(39)}`, ' '.repeat(45), `KG_SK_${generateKey('orgSecret').slice(6)}`]) {
      expect(isWellFormedKey(value, 'orgSecret'), JSON.stringify(value)).toBe(false);
    }
  });

  it('refuses a valid key with surrounding whitespace', () => {
    const key = generateKey('clientId');
    for (const value of [` ${key}`, `${key} `, `${key}\n`]) expect(isWellFormedKey(value, 'clientId')).toBe(false);
  });
});

describe('isWellFormedProjectKey', () => {
  it('accepts a generated project key and refuses it with a bad checksum', () => {
    const key = generateKey('project');
    expect(isWellFormedProjectKey(key)).toBe(true);
    const last = key.slice(-1);
    expect(isWellFormedProjectKey(key.slice(0, -1) + (last === 'A' ? 'B' : 'A'))).toBe(false);
  });

  it('accepts custom keys of 32 to 128 characters of [A-Za-z0-9_-]', () => {
    for (const value of ['a'.repeat(32), 'A-b_C'.repeat(8), 'Z'.repeat(128), 'my-app_production-key-0123456789AB']) {
      expect(isWellFormedProjectKey(value), value).toBe(true);
    }
  });

  it('refuses custom keys shorter than 32 or longer than 128 characters', () => {
    for (const value of ['', 'a'.repeat(31), 'a'.repeat(129), 'a'.repeat(1_000)]) {
      expect(isWellFormedProjectKey(value), `${value.length} characters`).toBe(false);
    }
  });

  it('refuses custom keys with characters outside [A-Za-z0-9_-]', () => {
    for (const ch of ['.', ' ', '+', '/', '=', ':', 'é', '\n', '\u0000']) {
      const value = 'a'.repeat(20) + ch + 'a'.repeat(20);
      expect(isWellFormedProjectKey(value), JSON.stringify(ch)).toBe(false);
    }
  });

  it('refuses any key with the reserved kg_ prefix that is not a valid generated project key', () => {
    const invalid = [
      `kg_${'a'.repeat(40)}`,
      `kg_pk_${'a'.repeat(40)}`,
      generateKey('orgSecret'),
      generateKey('clientId'),
      `kg_custom_${'b'.repeat(30)}`,
    ];
    for (const value of invalid) expect(isWellFormedProjectKey(value), value).toBe(false);
  });
});

describe('customKeyProblem', () => {
  /** `length` characters drawn uniformly from `alphabet` with crypto.getRandomValues. */
  function randomValue(alphabet: string, length: number): string {
    const bytes = crypto.getRandomValues(new Uint32Array(length));
    return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
  }

  it('accepts every random value of 32+ characters, even from the 16 hex digits (2,000 draws per alphabet)', () => {
    const alphabets = {
      hex: '0123456789abcdef',
      base62: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      base64url: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_',
    };
    for (const [name, alphabet] of Object.entries(alphabets)) {
      for (let i = 0; i < 2_000; i++) {
        // A leading x: a random value may start with kg_ (reserved, tested below) about once in 87,000.
        const value = `x${randomValue(alphabet, 31 + (i % 97))}`;
        expect(customKeyProblem(value), `${name}: ${value}`).toBeNull();
      }
    }
    expect(customKeyProblem(crypto.randomUUID())).toBeNull();
  });

  it('refuses guessable values and the generated formats in any letter case', () => {
    const guessable = [
      'a'.repeat(32),
      'ab'.repeat(16),
      'abcdefghijklmnopqrstuvwxyzABCDEF',
      'Password1234'.repeat(3),
      '0123456789'.repeat(4),
      'aaaaaaaabbbbbbbbccccccccdddddddd',
    ];
    for (const value of guessable) expect(customKeyProblem(value), value).toMatch(/too predictable/);
    for (const value of [generateKey('project'), generateKey('orgSecret').toUpperCase(), `Kg-${randomValue('abcdef0123456789', 40)}`]) {
      expect(customKeyProblem(value), value).toMatch(/must not start with "kg_"/);
    }
  });
});

describe('lastFour', () => {
  it('keeps the last four characters', () => {
    const key = generateKey('orgSecret');
    expect(lastFour(key)).toBe(key.slice(41));
    expect(lastFour(key)).toHaveLength(4);
  });
});
