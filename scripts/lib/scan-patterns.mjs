// What npm run scan (scripts/scan.mjs) looks for: the published regex finds candidates, and the
// Worker's own checksum (src/keys/format.ts, passed in) keeps only real Keygate keys, so a random
// string with the right prefix and length is never reported.

/**
 * The key types reported, by their KEY_PREFIXES name, with the words a finding uses: the secrets.
 * Client IDs (kg_ci_) are public by design (sent beside the secret, shown in the console) and are
 * never reported.
 */
export const REPORTED_TYPES = /** @type {const} */ ({ orgSecret: 'organization secret', project: 'project key' });
const TYPES = /** @type {(keyof typeof REPORTED_TYPES)[]} */ (Object.keys(REPORTED_TYPES));

/**
 * The published candidate regex (README, docs/pre-commit-scan.md, the gitleaks rule): a secret's
 * prefix and exactly 39 base62 characters (33 random + 6 checksum), with an ASCII letter, digit or
 * `_` on neither side, so a key inside a longer identifier is not a key. `\b` means the same in
 * JavaScript without the u flag and in Go's RE2 (gitleaks). Global: use it with matchAll, which
 * copies it.
 */
export const KEY_PATTERN = /\bkg_(?:sk|pk)_[0-9A-Za-z]{39}\b/g;

/**
 * @typedef {{
 *   KEY_PREFIXES: Record<string, string>,
 *   isWellFormedKey: (value: string, type: string) => boolean,
 *   lastFour: (key: string) => string,
 * }} KeyFormat the parts of src/keys/format.ts the scanner uses
 * @typedef {{ line: number, key: string, type: keyof typeof REPORTED_TYPES }} Finding
 */

/**
 * The Keygate keys in `text`, with their 1-based line numbers, in order of appearance.
 * @param {string} text
 * @param {KeyFormat} format
 * @returns {Finding[]}
 */
export function findKeys(text, format) {
  /** @type {Finding[]} */
  const found = [];
  let line = 1;
  let counted = 0;
  for (const match of text.matchAll(KEY_PATTERN)) {
    const key = match[0];
    const type = typeOf(key, format);
    if (type === undefined || !format.isWellFormedKey(key, type)) continue;
    const at = match.index ?? 0;
    for (let i = text.indexOf('\n', counted); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) line++;
    counted = at;
    found.push({ line, key, type });
  }
  return found;
}

/**
 * How a finding shows its key: the prefix, an ellipsis and the last four characters (as the console
 * and the API show keys), never more.
 * @param {Finding} finding
 * @param {KeyFormat} format
 */
export function maskKey({ key, type }, format) {
  return `${format.KEY_PREFIXES[type]}…${format.lastFour(key)}`;
}

/**
 * @param {string} key
 * @param {KeyFormat} format
 * @returns {keyof typeof REPORTED_TYPES | undefined}
 */
function typeOf(key, format) {
  return TYPES.find((type) => key.startsWith(format.KEY_PREFIXES[type]));
}
