// @ts-check
// The session: signing in (a pasted admin JWT, or Cloudflare Access), what the credential may do
// (an admin manages keys, a member reads them), every API call with the session's credential, and
// its end, after which nothing of the organization stays on the page.
import { ApiFailure, accessCookieToken, decodeClaims, request, SessionEnded } from './api.js';
import { closeDialogs } from './dialogs.js';
import { $, byId, clearToast, readId, showMessage } from './ui.js';

/** sessionStorage keys: this tab only, gone when it closes. Never a cookie, never the URL. */
export const STORE = { token: 'keygate.token', org: 'keygate.org', project: 'keygate.project' };

/** The signed-in session; lives as long as the page, emptied by every sign-out or refusal. */
export const state = {
  /** 'token': a pasted admin JWT sent as Bearer; 'access': Cloudflare Access adds the assertion. */
  mode: /** @type {'token' | 'access' | null} */ (null),
  token: /** @type {string | null} */ (null),
  org: /** @type {string | null} */ (null),
  /** Display only: the server verifies every request. */
  who: '',
  /** The token's role claim when the console can read it ('' when not): decides which check signs in. */
  role: '',
  /** May manage keys (and read the audit log); false: a member, and the console is read-only. */
  admin: false,
  project: /** @type {string | null} */ (null),
};

/** What the sections do when a session starts and when its data must go; set by console.js. */
const hooks = { enter: () => {}, clear: () => {} };

/** @param {{ enter: () => void, clear: () => void }} handlers */
export function onSession(handlers) {
  Object.assign(hooks, handlers);
}

const ADMIN_NEEDED = 'Managing API keys needs the admin role of the organization.';

/**
 * Calls the API with the session's credential. A 401 ends the session, a 403 shows the refusal:
 * either way no data stays on screen, and the caller gets SessionEnded.
 * @param {string} method @param {string} path @param {unknown} [body]
 */
export async function call(method, path, body) {
  try {
    return await read(method, path, body);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 403) {
      refuse(`Keygate refused the change: “${err.message}”. ${ADMIN_NEEDED}`);
      throw new SessionEnded();
    }
    throw err;
  }
}

/**
 * Calls the API for something a role may not be allowed to see (the plan, usage): a 401 ends the
 * session as in call(), a 403 is the caller's to show in place, and the session goes on.
 * @param {string} method @param {string} path @param {unknown} [body]
 */
export async function read(method, path, body) {
  try {
    return await request(credential(), method, path, body);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      endSession(
        state.mode === 'access'
          ? 'Keygate no longer accepts your Cloudflare Access sign-in. Reload the page to sign in again.'
          : 'Your session has ended: the token expired or was refused. Sign in again with a fresh token.',
      );
      throw new SessionEnded();
    }
    throw err;
  }
}

/** The Bearer token to send, or null behind Cloudflare Access (it adds its own assertion). */
function credential() {
  return state.mode === 'token' ? state.token : null;
}

/** The organization's path under /app/v1. */
export function orgPath() {
  return `/app/v1/organizations/${encodeURIComponent(state.org ?? '')}`;
}

/** @param {string} view */
function showOnly(view) {
  for (const id of ['loading', 'signin-view', 'org-view', 'refused-view', 'app-view']) $(id).hidden = id !== view;
  const signedIn = view === 'app-view';
  $('who').hidden = !signedIn;
  $('sign-out').hidden = !signedIn || state.mode !== 'token';
  $('access-sign-out').hidden = !signedIn || state.mode !== 'access';
}

/** Removes every piece of organization data from the page, the last outcome message included. */
function clearData() {
  hooks.clear();
  $('who-text').textContent = '';
  showMessage('read-only', null);
  clearToast();
  closeDialogs();
}

/** @param {string | null} message */
function showSignIn(message) {
  state.mode = null;
  state.token = null;
  clearData();
  showMessage('signin-message', message);
  showOnly('signin-view');
  byId('token', HTMLInputElement).value = '';
}

/** Ends the session: the token is forgotten and nothing of the organization stays on screen. @param {string} message */
function endSession(message) {
  sessionStorage.removeItem(STORE.token);
  showSignIn(message);
  $('signin-message').focus();
}

/** Signed in but not allowed: a clear message and no data. @param {string} message */
function refuse(message) {
  sessionStorage.removeItem(STORE.token);
  state.token = null;
  clearData();
  $('refused-message').textContent = message;
  showOnly('refused-view');
  $('refused-title').focus();
}

/**
 * Whether the credential may read `path`: false for a 403, any other refusal thrown.
 * @param {string} path
 */
async function allowed(path) {
  try {
    await request(credential(), 'GET', path);
    return true;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 403) return false;
    throw err;
  }
}

/**
 * Asks Keygate what the credential may do in `org`. The audit log answers admins of the
 * organization only, the project list admins and members; either refuses a bad token (401) and
 * another organization (404). A member (the token's role, or the audit log's 403 when the role
 * cannot be read, as behind Access) gets the console read-only.
 * @param {string} org
 * @returns {Promise<boolean>} true once signed in
 */
async function checkAccess(org) {
  const base = `/app/v1/organizations/${encodeURIComponent(org)}`;
  try {
    state.admin = state.role !== 'member' && (await allowed(`${base}/audit-log?limit=1`));
    if (!state.admin) await request(credential(), 'GET', `${base}/projects`);
    return true;
  } catch (err) {
    if (!(err instanceof ApiFailure)) throw err;
    if (err.status === 401) {
      const access = state.mode === 'access';
      showSignIn(
        access
          ? 'Keygate refused your Cloudflare Access identity: its token must carry the org and role claims. Reload to try again.'
          : 'Keygate refused this token: it is invalid, expired or signed with another secret. Create one with npm run token.',
      );
    } else if (err.status === 403) {
      refuse(`${state.who || 'This identity'} may not see the API keys of ${org}: Keygate answered “${err.message}”. ${ADMIN_NEEDED}`);
    } else if (err.status === 404 && state.mode === 'access') {
      sessionStorage.removeItem(STORE.org);
      showMessage('org-message', `Organization “${org}” was not found for your identity. Check the ID and try again.`);
      showOnly('org-view');
      byId('org-input', HTMLInputElement).focus();
    } else {
      showSignIn(`Could not sign in: ${err.message}`);
    }
    return false;
  }
}

/** Signs in with a pasted admin JWT (or the one this tab kept). @param {string} token @param {boolean} restoring */
async function signInWithToken(token, restoring) {
  const claims = decodeClaims(token);
  if (!claims) {
    sessionStorage.removeItem(STORE.token);
    showSignIn('This is not a Keygate admin token. Paste the whole JWT printed by npm run token (three parts separated by dots).');
    return;
  }
  if (claims.exp * 1000 <= Date.now()) {
    sessionStorage.removeItem(STORE.token);
    showSignIn(
      restoring
        ? 'Your session has expired. Sign in again with a fresh token.'
        : 'This token has expired. Create a new one with npm run token.',
    );
    return;
  }
  state.mode = 'token';
  state.token = token;
  state.org = claims.org;
  state.role = claims.role;
  state.who = claims.sub ? `${claims.sub} (${claims.role || 'no role'})` : claims.org;
  if (!(await checkAccess(claims.org))) return;
  sessionStorage.setItem(STORE.token, token);
  enterApp();
}

/** Behind Cloudflare Access: the organization comes from the readable cookie, this tab, or the user. */
async function startAccess() {
  state.mode = 'access';
  state.token = null;
  state.who = 'Your Cloudflare Access identity';
  const cookie = accessCookieToken();
  const claims = cookie ? decodeClaims(cookie) : null;
  state.role = claims?.role ?? '';
  const org = sessionStorage.getItem(STORE.org) ?? claims?.org ?? null;
  if (!org) {
    showMessage('org-message', null);
    showOnly('org-view');
    return;
  }
  await useAccessOrg(org);
}

/** @param {string} org */
async function useAccessOrg(org) {
  state.org = org;
  if (!(await checkAccess(org))) return;
  sessionStorage.setItem(STORE.org, org);
  enterApp();
}

/** Shows the console; without the admin role, read-only: no control that changes a key. */
function enterApp() {
  $('who-text').textContent = state.mode === 'access' ? `Cloudflare Access · ${state.org}` : `${state.who} · ${state.org}`;
  for (const node of document.querySelectorAll('[data-write]')) if (node instanceof HTMLElement) node.hidden = !state.admin;
  const who = state.mode === 'access' ? 'your Cloudflare Access identity' : state.who;
  showMessage(
    'read-only',
    state.admin
      ? null
      : `Read-only: signed in as ${who}, you can see the keys of ${state.org} but not change them. ` +
          'Creating, renaming, rolling, revoking and deleting keys, and the audit log, need the admin role of the organization.',
  );
  showOnly('app-view');
  hooks.enter();
}

function signOut() {
  sessionStorage.removeItem(STORE.token);
  sessionStorage.removeItem(STORE.org);
  showSignIn('You are signed out. The token was removed from this tab.');
  byId('token', HTMLInputElement).focus();
}

/** @param {SubmitEvent} event */
async function onSignInSubmit(event) {
  event.preventDefault();
  const input = byId('token', HTMLInputElement);
  const token = input.value.trim();
  if (!token) {
    showMessage('signin-message', 'Paste an admin token first.');
    input.focus();
    return;
  }
  const button = /** @type {HTMLFormElement} */ (event.currentTarget).querySelector('button[type="submit"]');
  if (button instanceof HTMLButtonElement) button.disabled = true;
  try {
    await signInWithToken(token, false);
  } finally {
    if (button instanceof HTMLButtonElement) button.disabled = false;
  }
  if (!$('signin-view').hidden) {
    $('signin-message').focus();
  }
}

/** @param {SubmitEvent} event */
async function onOrgSubmit(event) {
  event.preventDefault();
  const org = readId(byId('org-input', HTMLInputElement), 'org-message', 'An organization ID');
  if (org !== null) await useAccessOrg(org);
}

export function wireSession() {
  byId('signin-form', HTMLFormElement).addEventListener('submit', (e) => void onSignInSubmit(e));
  byId('org-form', HTMLFormElement).addEventListener('submit', (e) => void onOrgSubmit(e));
  $('sign-out').addEventListener('click', signOut);
  $('refused-sign-in').addEventListener('click', () => {
    showSignIn(null);
    byId('token', HTMLInputElement).focus();
  });
}

/** Restores this tab's session, or finds out whether Cloudflare Access signed the browser in. */
export async function start() {
  const stored = sessionStorage.getItem(STORE.token);
  if (stored) return signInWithToken(stored, true);
  // Behind Cloudflare Access every request carries its assertion: if the API answers without a
  // credential of ours, Access signed this browser in.
  try {
    await request(null, 'GET', '/v1/keys');
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 401) {
      return showSignIn(`Keygate could not be asked about Cloudflare Access: ${err instanceof Error ? err.message : 'unknown error'}`);
    }
    // No credential at all is refused as a key pair; a token that was there but refused, as a
    // token: Access sent an identity Keygate does not accept.
    const refusedIdentity = err.message === 'invalid or expired token';
    return showSignIn(
      refusedIdentity
        ? 'Keygate refused your Cloudflare Access identity: its token must carry the org and role claims. You can still sign in with an admin token.'
        : null,
    );
  }
  return startAccess();
}
