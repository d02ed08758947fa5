// GitHub's secret scanning signatures: the public keys GitHub publishes (fetched, and cached in
// the isolate) and the ECDSA P-256 / SHA-256 check of a report's raw body against one of them.
import { z } from 'zod';
import { Coalescer } from '../cache/isolate';

/** The headers GitHub signs a report with. */
export const KEY_IDENTIFIER_HEADER = 'Github-Public-Key-Identifier';
export const SIGNATURE_HEADER = 'Github-Public-Key-Signature';

/** How long fetched keys are trusted before they are fetched again (with If-None-Match). */
const KEYS_TTL_MS = 60 * 60_000;
/**
 * How long keys already fetched keep verifying reports while GitHub's key endpoint fails (it is
 * rate limited per client IP): a day, after which a report is unverifiable (503).
 */
const KEYS_MAX_STALE_MS = 24 * 60 * 60_000;
/** An unknown identifier (a rotation) refetches the keys at most this often, not on every report. */
const REFETCH_MIN_MS = 30_000;
/** A key endpoint that has not answered within this is unavailable (503), never a report that hangs. */
const KEYS_FETCH_TIMEOUT_MS = 5_000;
/** Longest identifier or signature header considered; a DER P-256 signature is at most 72 bytes. */
const MAX_HEADER_LENGTH = 256;

const PublishedKeys = z.object({
  public_keys: z.array(z.object({ key_identifier: z.string().min(1), key: z.string() })),
});

/** What this isolate knows of the keys published at one URL. */
type KeyState = {
  /** The keys of the last successful fetch by identifier (null: none yet), when it was, and its ETag. */
  keys: Map<string, CryptoKey> | null;
  fetchedAt: number;
  etag: string | null;
  /** When the last fetch ended, and whether it failed. */
  checkedAt: number;
  failed: boolean;
};

// The keys of each URL this isolate has fetched. Lives as long as the isolate; one entry per
// configured SECRET_SCANNING_KEYS_URL (tests use one per case).
const states = new Map<string, KeyState>();
// Concurrent reports that need a fetch share one (a follower waits at most the fetch timeout).
const fetches = new Coalescer<string, void>(KEYS_FETCH_TIMEOUT_MS);

/** A key endpoint answer that is not a usable key list; its message names no secret. */
class KeysUnavailable extends Error {
  override name = 'KeysUnavailable';
}

/** Why a report's signature was not accepted; `keys_unavailable` means it could not be checked. */
export type SignatureFailure = 'missing' | 'malformed' | 'unknown_key' | 'bad_signature' | 'keys_unavailable';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

/**
 * Checks a report's signature headers against the raw `body`, with the key of that identifier
 * published at `keysUrl`. Fetches the keys when this isolate has none, when they are older than
 * an hour, or (at most every 30 s) when the identifier is not among them. Never throws.
 */
export async function verifyReportSignature(
  keysUrl: string,
  headers: { identifier: string | undefined; signature: string | undefined },
  body: ArrayBuffer,
): Promise<SignatureCheck> {
  const { identifier, signature } = headers;
  if (!identifier || !signature) return { ok: false, reason: 'missing' };
  const rawSignature = signature.length <= MAX_HEADER_LENGTH ? derToP1363(base64Bytes(signature)) : null;
  if (identifier.length > MAX_HEADER_LENGTH || !rawSignature) return { ok: false, reason: 'malformed' };
  const key = await publishedKey(keysUrl, identifier);
  if (!key.ok) return key;
  const valid = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key.key, rawSignature, body);
  return valid ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

type KeyLookup = { ok: true; key: CryptoKey } | { ok: false; reason: 'unknown_key' | 'keys_unavailable' };

async function publishedKey(url: string, identifier: string): Promise<KeyLookup> {
  let state = states.get(url);
  if (!state) {
    state = { keys: null, fetchedAt: 0, etag: null, checkedAt: 0, failed: false };
    states.set(url, state);
  }
  const fresh = state.keys !== null && Date.now() - state.fetchedAt < KEYS_TTL_MS;
  if ((!fresh || !state.keys?.has(identifier)) && Date.now() - state.checkedAt >= REFETCH_MIN_MS) {
    const current = state;
    await fetches.load(url, () => refresh(url, current));
  }
  const usable = state.keys !== null && Date.now() - state.fetchedAt < KEYS_MAX_STALE_MS;
  const key = usable ? state.keys?.get(identifier) : undefined;
  if (key) return { ok: true, key };
  // Unknown only when the list it is missing from is usable and was fetched without failing since.
  return { ok: false, reason: usable && !state.failed ? 'unknown_key' : 'keys_unavailable' };
}

/** Fetches the keys at `url` into `state`; a failure is recorded (and logged), never thrown. */
async function refresh(url: string, state: KeyState): Promise<void> {
  try {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'Keygate secret scanning' };
    if (state.keys && state.etag) headers['if-none-match'] = state.etag;
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(KEYS_FETCH_TIMEOUT_MS) });
    if (response.status === 304 && state.keys) {
      await response.body?.cancel();
    } else if (!response.ok) {
      await response.body?.cancel();
      throw new KeysUnavailable(`the key endpoint answered ${response.status}`);
    } else {
      state.keys = await importKeys(await response.json());
      state.etag = response.headers.get('etag');
    }
    state.fetchedAt = Date.now();
    state.failed = false;
  } catch (err) {
    state.failed = true;
    const reason = err instanceof KeysUnavailable ? err.message : (err as Error | undefined)?.name;
    console.error(`secret scanning keys unavailable: ${reason ?? 'error'}`);
  } finally {
    state.checkedAt = Date.now();
  }
}

/** The usable keys of a key endpoint's answer by identifier; throws when there are none. */
async function importKeys(document: unknown): Promise<Map<string, CryptoKey>> {
  const parsed = PublishedKeys.safeParse(document);
  if (!parsed.success) throw new KeysUnavailable('the key endpoint answered without a public_keys list');
  const keys = new Map<string, CryptoKey>();
  for (const published of parsed.data.public_keys) {
    const der = base64Bytes(published.key.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, ''));
    if (!der) continue;
    try {
      keys.set(
        published.key_identifier,
        await crypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']),
      );
    } catch {
      // Not a P-256 public key: it cannot have signed a report.
    }
  }
  if (keys.size === 0) throw new KeysUnavailable('the key endpoint listed no usable P-256 key');
  return keys;
}

/** The bytes of a base64 string, or null when it is not base64. */
function base64Bytes(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * A DER ECDSA signature (SEQUENCE of the INTEGERs r and s) as Web Crypto wants it: r and s as 32
 * bytes each, left-padded. Null when it is not such a signature for P-256.
 */
export function derToP1363(der: Uint8Array | null): Uint8Array | null {
  // 72 bytes at most: 2 for the SEQUENCE header, 2 + 33 for each INTEGER; lengths in short form.
  if (!der || der.length < 8 || der.length > 72 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  const raw = new Uint8Array(64);
  let offset = 2;
  for (const half of [0, 1]) {
    const length = der[offset + 1] ?? 0;
    if (der[offset] !== 0x02 || length < 1 || offset + 2 + length > der.length) return null;
    let integer = der.subarray(offset + 2, offset + 2 + length);
    // A negative r or s is no signature.
    if ((integer[0] ?? 0) & 0x80) return null;
    while (integer.length > 1 && integer[0] === 0) integer = integer.subarray(1);
    if (integer.length > 32) return null;
    raw.set(integer, half * 32 + 32 - integer.length);
    offset += 2 + length;
  }
  return offset === der.length ? raw : null;
}
