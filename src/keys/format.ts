// Key format: typed prefix, 33 base62 characters of randomness (196 bits), and a 6-character
// base62 CRC-32 checksum, so a mistyped or forged key is refused without touching storage.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 33; // 62^33 > 2^196
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32

export const KEY_PREFIXES = {
  /** The secret of an organization key pair (x-metal-api-key). */
  orgSecret: 'kg_sk_',
  /** The public Client ID of an organization key pair (x-metal-client-id). */
  clientId: 'kg_ci_',
  /** A project key for client apps (x-api-key). */
  project: 'kg_pk_',
} as const;

export type KeyType = keyof typeof KEY_PREFIXES;

/** Every generated value is this long. */
export const GENERATED_KEY_LENGTH = KEY_PREFIXES.orgSecret.length + BODY_LENGTH + CHECKSUM_LENGTH;

/** Custom project keys: 32–128 of these characters, and never a generated prefix. */
export const CUSTOM_KEY_PATTERN = /^[A-Za-z0-9_-]{32,128}$/;
export const RESERVED_PREFIX = 'kg_';

/** Custom values may not look like generated keys in any letter case (`KG_SK_…`, `kg-pk-…`). */
const LOOKS_GENERATED = /^kg[_-]/i;

/** Bits a custom key must carry by the estimate below: 32 random hex digits score 87 at worst. */
const MIN_CUSTOM_KEY_BITS = 80;

/**
 * A conservative estimate of a value's randomness: its length times the Shannon entropy of its
 * character frequencies, counting zero when it is mostly runs (`aaaa`, `abcd`) or repeats a
 * short pattern (`Password1234Password1234`). It cannot see a dictionary phrase: the README
 * tells users to generate custom values, not to invent them.
 */
export function estimatedBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) entropy -= (n / value.length) * Math.log2(n / value.length);
  let runs = 0;
  for (let i = 1; i < value.length; i++) if (Math.abs(value.charCodeAt(i) - value.charCodeAt(i - 1)) <= 1) runs++;
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= value.length; i++) trigrams.add(value.slice(i, i + 3));
  const mostlyRuns = runs > 0.7 * (value.length - 1);
  const repetitive = trigrams.size < 0.75 * (value.length - 2);
  return mostlyRuns || repetitive ? 0 : entropy * value.length;
}

/** Why a custom project key value cannot be used, or null when it can (its pattern is checked apart). */
export function customKeyProblem(value: string): string | null {
  if (LOOKS_GENERATED.test(value)) return 'must not start with "kg_" in any letter case (reserved for generated keys)';
  if (estimatedBits(value) < MIN_CUSTOM_KEY_BITS) return 'too predictable: use a random value (e.g. 32 or more random base62 characters)';
  return null;
}

/** Uniform base62 characters from crypto.getRandomValues, by rejection sampling. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const byte of bytes) {
      // 248 = 4 * 62: bytes at or above it would bias the first characters.
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    // Keys are ASCII; the table is indexed by the low byte.
    crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksumOf(prefixAndBody: string): string {
  let n = crc32(prefixAndBody);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new key of the given type: prefix + random body + checksum. */
export function generateKey(type: KeyType): string {
  const head = KEY_PREFIXES[type] + randomBase62(BODY_LENGTH);
  return head + checksumOf(head);
}

const BASE62 = /^[0-9A-Za-z]+$/;

/** True when the value is a generated key of that type with a correct checksum. */
export function isWellFormedKey(value: string, type: KeyType): boolean {
  const prefix = KEY_PREFIXES[type];
  if (value.length !== GENERATED_KEY_LENGTH || !value.startsWith(prefix)) return false;
  const rest = value.slice(prefix.length);
  if (!BASE62.test(rest)) return false;
  const head = value.slice(0, value.length - CHECKSUM_LENGTH);
  return checksumOf(head) === value.slice(-CHECKSUM_LENGTH);
}

/**
 * Whether a presented x-api-key may be looked up at all: a generated project key with a valid
 * checksum, or a custom key (which cannot use the reserved prefix).
 */
export function isWellFormedProjectKey(value: string): boolean {
  if (value.startsWith(RESERVED_PREFIX)) return isWellFormedKey(value, 'project');
  return CUSTOM_KEY_PATTERN.test(value);
}

/** The last four characters, kept so people can tell their keys apart. */
export function lastFour(key: string): string {
  return key.slice(-4);
}
