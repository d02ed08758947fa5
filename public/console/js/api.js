// @ts-check
// The console's only way to Keygate: the contract's JSON API, with the admin token as a Bearer
// header (local sign-in) or with no credential at all (Cloudflare Access adds its assertion).

/** Organization and project ids: the contract's pattern. */
export const RESOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A refused or failed request: the HTTP status (0 when Keygate could not be reached), its message,
 * and for a validation error the fields it names (`details`: `[{field, message}]`).
 */
export class ApiFailure extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string} [code]
   * @param {Array<{ field: string, message: string }>} [fields]
   */
  constructor(status, message, code, fields = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

/** A failure the session already dealt with (signed out or refused): callers show nothing more. */
export class SessionEnded extends Error {}

/**
 * The `[{field, message}]` of a validation error's details, whatever else they hold dropped.
 * @param {unknown} details
 * @returns {Array<{ field: string, message: string }>}
 */
function fieldsOf(details) {
  if (!Array.isArray(details)) return [];
  return details.flatMap((item) => {
    const { field, message } = item && typeof item === 'object' ? item : {};
    return typeof field === 'string' && typeof message === 'string' ? [{ field, message }] : [];
  });
}

/**
 * The message of either error shape: `{"error": "message", "details"?}` (organization surface) or
 * `{"error": {"code", "message", "details"?}}` (project surface).
 * @param {unknown} body
 * @returns {{ message?: string, code?: string, fields: Array<{ field: string, message: string }> }}
 */
function errorOf(body) {
  if (!body || typeof body !== 'object' || !('error' in body)) return { fields: [] };
  const { error, details } = /** @type {{ error: unknown, details?: unknown }} */ (body);
  if (typeof error === 'string') return { message: error, fields: fieldsOf(details) };
  if (error && typeof error === 'object') {
    const { message, code, details: inner } = /** @type {{ message?: unknown, code?: unknown, details?: unknown }} */ (error);
    return {
      message: typeof message === 'string' ? message : undefined,
      code: typeof code === 'string' ? code : undefined,
      fields: fieldsOf(inner),
    };
  }
  return { fields: [] };
}

/** The header that carries the database bookmark of an answer, sent back with the next request. */
const BOOKMARK_HEADER = 'x-keygate-bookmark';

/**
 * The latest bookmark Keygate answered with (bookmarks sort as strings, oldest first): sent with
 * every request, so a list read right after a change shows the change whichever Keygate instance
 * or database replica answers it.
 * @type {string | null}
 */
let lastBookmark = null;

/**
 * Keeps the bookmark of an answer when it is later than the one kept.
 * @param {Response} response
 */
function keepBookmark(response) {
  const bookmark = response.headers.get(BOOKMARK_HEADER);
  if (bookmark && (lastBookmark === null || bookmark > lastBookmark)) lastBookmark = bookmark;
}

/**
 * Calls the API. Resolves with the parsed body of a 2xx answer; rejects with an ApiFailure
 * otherwise. Sends the latest bookmark received (read-your-writes) and keeps the answer's.
 * @param {string | null} token the admin JWT, or null to send no credential (Cloudflare Access)
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function request(token, method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (lastBookmark) headers[BOOKMARK_HEADER] = lastBookmark;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    throw new ApiFailure(0, 'Keygate could not be reached. Check the connection and try again.');
  }
  keepBookmark(response);
  /** @type {unknown} */
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    // not JSON: the status speaks for itself
  }
  if (response.ok) return parsed;
  const { message, code, fields } = errorOf(parsed);
  throw new ApiFailure(response.status, message ?? `Keygate answered ${response.status}.`, code, fields);
}

/**
 * The claims of a JWT, decoded without verification: for display and for the organization the
 * console asks about. The server verifies every request; nothing here is trusted.
 * @param {string} token
 * @returns {{ sub: string, org: string, role: string, exp: number } | null}
 */
export function decodeClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const claims = JSON.parse(json);
    if (!claims || typeof claims !== 'object') return null;
    const { sub, org, role, exp } = claims;
    if (typeof org !== 'string' || !RESOURCE_ID.test(org)) return null;
    return {
      sub: typeof sub === 'string' ? sub : '',
      org,
      role: typeof role === 'string' ? role : '',
      exp: typeof exp === 'number' ? exp : 0,
    };
  } catch {
    return null;
  }
}

/**
 * The CF_Authorization cookie, when Cloudflare Access left it readable (its HttpOnly setting is
 * off): the same identity token Access sends the Worker, decoded for the organization only.
 * @returns {string | null}
 */
export function accessCookieToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === 'CF_Authorization') return value.join('=');
  }
  return null;
}
