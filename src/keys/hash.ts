// Hashing and comparing secrets with Web Crypto: D1 and KV only ever see the SHA-256.

const encoder = new TextEncoder();
/** The character codes of the lower-case hex digits. */
const HEX_DIGITS = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/** Lower-case hex SHA-256 of a secret. */
export async function sha256Hex(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(secret)));
  // One flat string from the 64 digit codes: cheaper on every request than 32 concatenations.
  const codes = new Uint16Array(digest.length * 2);
  for (let i = 0; i < digest.length; i++) {
    const byte = digest[i] as number;
    codes[2 * i] = HEX_DIGITS[byte >> 4] as number;
    codes[2 * i + 1] = HEX_DIGITS[byte & 15] as number;
  }
  return String.fromCharCode(...codes);
}

/** Constant-time string equality (the length check leaks only the length). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}
