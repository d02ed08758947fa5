// Hashing and comparing secrets with Web Crypto: D1 and KV only ever see the SHA-256.

const encoder = new TextEncoder();
/** The two hex digits of every byte value. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Lower-case hex SHA-256 of a secret. */
export async function sha256Hex(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(secret)));
  // Concatenation beats building one string from 64 character codes (whose spread is slower).
  let hex = '';
  for (let i = 0; i < digest.length; i++) hex += HEX[digest[i] as number];
  return hex;
}

/** Constant-time string equality (the length check leaks only the length). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}
