// Paths Keygate and an origin could read differently. A path is judged as sent (still
// percent-encoded): what one server decodes, strips or normalises and another does not is how a
// request reaches a route around Keygate's checks (`/v1/keys;x`, `/v1/keys%2Fid`, `..;/`,
// `%252e%252e`). Such paths are refused, never forwarded; every other path means the same to
// Keygate, which routes on its decoded form, and to any origin that decodes it once.

export type PathProblem =
  | 'empty segment'
  | 'dot segment'
  | 'encoded slash or backslash'
  | 'semicolon'
  | 'control character'
  | 'double encoding'
  | 'invalid percent-encoding';

/** Anything that could make the path need a closer look: `%`, `;`, `\`, controls, `//`, dots, a trailing `/`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const SUSPECT = /[%;\\\u0000-\u001f\u007f]|\/\/|\/\.|\/$/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const DOT_SEGMENT = /^\.{1,2}$/;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** What is wrong with one segment as sent, or null when it is fine. */
function segmentProblem(segment: string): PathProblem | null {
  if (segment === '') return 'empty segment';
  if (segment.includes(';')) return 'semicolon';
  if (segment.includes('\\')) return 'encoded slash or backslash';
  if (CONTROL.test(segment)) return 'control character';
  if (!segment.includes('%')) return DOT_SEGMENT.test(segment) ? 'dot segment' : null;
  if (BAD_PERCENT.test(segment)) return 'invalid percent-encoding';
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Not UTF-8 (overlong forms such as %c0%ae among them): servers disagree on what it means.
    return 'invalid percent-encoding';
  }
  if (decoded.includes('/') || decoded.includes('\\')) return 'encoded slash or backslash';
  if (decoded.includes(';')) return 'semicolon';
  if (CONTROL.test(decoded)) return 'control character';
  if (DOT_SEGMENT.test(decoded)) return 'dot segment';
  // Still escaped after one decoding (%252e, %25%32%65): a second decoder would see another path.
  if (PERCENT_ESCAPE.test(decoded) || decoded.includes('%')) return 'double encoding';
  return null;
}

/**
 * Why a raw path (as sent, without the query) must be refused, or null when it is safe. The
 * root `/` is the only path that may end with `/`.
 */
export function pathProblem(rawPath: string): PathProblem | null {
  if (!SUSPECT.test(rawPath) || rawPath === '/') return null;
  const segments = rawPath.slice(1).split('/');
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return null;
}
