// @ts-check
// The Keygate console: sign-in, organization keys (API & MCP Access → API Keys), project keys and
// the audit log, on the contract's JSON API only. No framework, no innerHTML: every node is built
// with the DOM API, so the page runs under a CSP with Trusted Types and no inline script.
import { ApiFailure, RESOURCE_ID, accessCookieToken, decodeClaims, request } from './api.js';

/** sessionStorage keys: this tab only, gone when it closes. Never a cookie, never the URL. */
const STORE = { token: 'keygate.token', org: 'keygate.org', project: 'keygate.project' };

const VIEWS = ['api-access', 'project-keys', 'audit-log'];

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing`);
  return node;
}
const $ = (/** @type {string} */ id) => byId(id, HTMLElement);

/**
 * Builds an element: `props` are attributes (`class`, `data-*`, aria-*, ...) or `on<event>`
 * listeners; children are nodes or text.
 * @param {string} tag
 * @param {Record<string, string | boolean | ((event: Event) => void) | undefined>} [props]
 * @param {Array<Node | string | null | undefined>} children
 * @returns {HTMLElement}
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** @param {string | null} iso @param {string} [never] */
function time(iso, never = 'Never') {
  if (!iso) return never;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return el('time', { datetime: iso, title: iso }, dateFormat.format(date));
}

/**
 * A table cell with its column name for the narrow layout (one block per row, the name beside
 * the value): the value is one node, so it stays in one grid column.
 * @param {string} label @param {Array<Node | string>} content @param {string} [cls]
 */
function cell(label, content, cls) {
  const value = content.length === 1 || cls === 'row-actions' ? content : [el('span', {}, ...content)];
  return el('td', { 'data-label': label, class: cls }, ...value);
}

// ---------------------------------------------------------------------------------------------
// Session

/**
 * @typedef {{ cursors: Array<string | null>, index: number, next: string | null, seq: number }} Pages
 */

const state = {
  /** 'token': a pasted admin JWT sent as Bearer; 'access': Cloudflare Access adds the assertion. */
  mode: /** @type {'token' | 'access' | null} */ (null),
  token: /** @type {string | null} */ (null),
  org: /** @type {string | null} */ (null),
  /** Display only: the server verifies every request. */
  who: '',
  project: /** @type {string | null} */ (null),
  projectPages: /** @type {Pages} */ ({ cursors: [null], index: 0, next: null, seq: 0 }),
  auditPages: /** @type {Pages} */ ({ cursors: [null], index: 0, next: null, seq: 0 }),
  orgSeq: 0,
};

/** An API failure the session already dealt with (signed out or refused): callers show nothing more. */
class SessionEnded extends Error {}

/**
 * Calls the API with the session's credential. A 401 ends the session, a 403 shows the refusal:
 * either way no data stays on screen, and the caller gets SessionEnded.
 * @param {string} method @param {string} path @param {unknown} [body]
 */
async function call(method, path, body) {
  try {
    return await request(state.mode === 'token' ? state.token : null, method, path, body);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      endSession(
        state.mode === 'access'
          ? 'Keygate no longer accepts your Cloudflare Access sign-in. Reload the page to sign in again.'
          : 'Your session has ended: the token expired or was refused. Sign in again with a fresh token.',
      );
      throw new SessionEnded();
    }
    if (err instanceof ApiFailure && err.status === 403) {
      refuse(`Keygate refused the change: “${err.message}”. ${ADMIN_NEEDED}`);
      throw new SessionEnded();
    }
    throw err;
  }
}

const ADMIN_NEEDED = 'Managing API keys needs the admin role of the organization.';

/** @param {string} view */
function showOnly(view) {
  for (const id of ['loading', 'signin-view', 'org-view', 'refused-view', 'app-view']) $(id).hidden = id !== view;
  const signedIn = view === 'app-view';
  $('who').hidden = !signedIn;
  $('sign-out').hidden = !signedIn || state.mode !== 'token';
  $('access-sign-out').hidden = !signedIn || state.mode !== 'access';
}

/** Removes every piece of organization data from the page. */
function clearData() {
  for (const id of ['org-keys-table', 'project-keys-table', 'audit-table']) byId(id, HTMLTableElement).tBodies[0]?.replaceChildren();
  for (const id of ['org-keys-empty', 'project-keys-empty', 'audit-empty', 'project-card']) $(id).hidden = true;
  for (const id of ['org-keys-error', 'project-keys-error', 'audit-error', 'project-form-error']) showMessage(id, null);
  $('who-text').textContent = '';
  $('project-name').textContent = '';
  state.projectPages = { cursors: [null], index: 0, next: null, seq: state.projectPages.seq + 1 };
  state.auditPages = { cursors: [null], index: 0, next: null, seq: state.auditPages.seq + 1 };
  state.orgSeq++;
  closeDialogs();
}

function closeDialogs() {
  for (const dialog of document.querySelectorAll('dialog')) if (dialog.open) dialog.close();
}

/** Shows `text` in a message element, or hides it for null. @param {string} id @param {string | null} text */
function showMessage(id, text) {
  const node = $(id);
  node.textContent = text ?? '';
  node.hidden = text === null;
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
 * Asks Keygate whether the credential may manage `org`'s keys: the audit log answers admins of
 * the organization only (401 refused token, 403 not an admin, 404 another organization).
 * @param {string} org
 * @returns {Promise<boolean>} true once signed in
 */
async function checkAdmin(org) {
  try {
    await request(state.mode === 'token' ? state.token : null, 'GET', `/app/v1/organizations/${encodeURIComponent(org)}/audit-log?limit=1`);
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
      refuse(`${state.who || 'This identity'} may not manage the API keys of ${org}: Keygate answered “${err.message}”. ${ADMIN_NEEDED}`);
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
    showSignIn(restoring ? 'Your session has expired. Sign in again with a fresh token.' : 'This token has expired. Create a new one with npm run token.');
    return;
  }
  state.mode = 'token';
  state.token = token;
  state.org = claims.org;
  state.who = claims.sub ? `${claims.sub} (${claims.role || 'no role'})` : claims.org;
  if (!(await checkAdmin(claims.org))) return;
  sessionStorage.setItem(STORE.token, token);
  enterApp();
}

/** Behind Cloudflare Access: the organization comes from the readable cookie, this tab, or the user. */
async function startAccess() {
  state.mode = 'access';
  state.token = null;
  state.who = 'Your Cloudflare Access identity';
  const cookie = accessCookieToken();
  const org = sessionStorage.getItem(STORE.org) ?? (cookie ? decodeClaims(cookie)?.org : null) ?? null;
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
  if (!(await checkAdmin(org))) return;
  sessionStorage.setItem(STORE.org, org);
  enterApp();
}

function enterApp() {
  $('who-text').textContent =
    state.mode === 'access' ? `Cloudflare Access · ${state.org}` : `${state.who} · ${state.org}`;
  showOnly('app-view');
  route(false);
}

function signOut() {
  sessionStorage.removeItem(STORE.token);
  sessionStorage.removeItem(STORE.org);
  showSignIn('You are signed out. The token was removed from this tab.');
  byId('token', HTMLInputElement).focus();
}

// ---------------------------------------------------------------------------------------------
// Views

/** Shows the view named by the URL fragment and loads its data. @param {boolean} moveFocus */
function route(moveFocus) {
  if ($('app-view').hidden) return;
  const wanted = location.hash.slice(1);
  const view = VIEWS.includes(wanted) ? wanted : 'api-access';
  for (const id of VIEWS) $(id).hidden = id !== view;
  for (const link of document.querySelectorAll('.tabs a')) {
    if (link.getAttribute('data-view') === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (view === 'api-access') void loadOrgKeys();
  if (view === 'project-keys') openProjectView();
  if (view === 'audit-log') void loadAudit();
  if (moveFocus) $(`${view === 'api-access' ? 'api-access' : view === 'project-keys' ? 'project-keys' : 'audit'}-title`).focus();
}

/**
 * Shows a failure of a load or an action: nothing for a session that already ended.
 * @param {unknown} err @param {string} messageId @param {string} [extra]
 */
function showFailure(err, messageId, extra = '') {
  if (err instanceof SessionEnded) return;
  const message = err instanceof ApiFailure ? err.message : 'Something went wrong in the console.';
  showMessage(messageId, `${sentence(message)}${extra ? ` ${extra}` : ''}`);
  if (!(err instanceof ApiFailure)) console.error(err);
}

/** @param {string} text */
function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** An API message as a sentence of its own. @param {string} text */
function sentence(text) {
  return `${capitalize(text)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

let toastTimer = 0;
/** Announces the outcome of an action (role=status). @param {string} text */
function toast(text) {
  const node = $('toast');
  node.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => {
    node.textContent = '';
  }, 6000);
}

// ---------------------------------------------------------------------------------------------
// API & MCP Access → API Keys (organization keys)

/**
 * @typedef {{ id: string, name: string, clientId: string, keyLastFour: string, createdAt: string, lastUsedAt: string | null }} OrgKey
 */

async function loadOrgKeys() {
  const seq = ++state.orgSeq;
  const table = byId('org-keys-table', HTMLTableElement);
  table.setAttribute('aria-busy', 'true');
  try {
    const body = await call('GET', '/v1/keys');
    if (seq !== state.orgSeq) return;
    showMessage('org-keys-error', null);
    /** @type {OrgKey[]} */
    const keys = body.data;
    table.tBodies[0]?.replaceChildren(...keys.map(orgKeyRow));
    $('org-keys-empty').hidden = keys.length > 0;
  } catch (err) {
    if (seq === state.orgSeq) showFailure(err, 'org-keys-error');
  } finally {
    table.removeAttribute('aria-busy');
  }
}

/** @param {OrgKey} key */
function orgKeyRow(key) {
  return el(
    'tr',
    { 'data-id': key.id },
    cell('Name', [key.name]),
    cell('Client ID', [el('code', {}, key.clientId)]),
    cell('Key', [el('span', { class: 'visually-hidden' }, 'ending in '), el('code', { class: 'masked' }, `••••${key.keyLastFour}`)]),
    cell('Created', [time(key.createdAt)]),
    cell('Last used', [time(key.lastUsedAt)]),
    cell(
      'Actions',
      [
        el(
          'button',
          { type: 'button', class: 'button link danger-text', 'aria-label': `Delete API key ${key.name}`, onclick: () => confirmDeleteOrgKey(key) },
          'Delete',
        ),
      ],
      'row-actions',
    ),
  );
}

function createOrgKey() {
  openNameDialog({
    title: 'Create API Key',
    submit: 'Create',
    value: '',
    fallback: $('create-org-key'),
    async save(name) {
      try {
        const body = await call('POST', '/v1/keys', { name });
        closeNameDialog();
        showSecret({ title: 'API Key created', clientId: body.data.clientId, apiKey: body.data.apiKey, keyLabel: 'API Key', fallback: $('create-org-key') });
        toast(`API key “${body.data.name}” created.`);
        void loadOrgKeys();
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 422) {
          throw new DialogError(`${sentence(err.message)} To make room, remove keys you no longer use with Delete in the API Keys table, then create this one.`);
        }
        throw err;
      }
    },
  });
}

/** @param {OrgKey} key */
function confirmDeleteOrgKey(key) {
  openConfirm({
    title: `Delete API key “${key.name}”?`,
    text: `Requests that send Client ID ${key.clientId} are refused from now on. This cannot be undone.`,
    ok: 'Delete API key',
    fallback: $('org-keys-title'),
    async run() {
      await call('DELETE', `/v1/keys/${encodeURIComponent(key.id)}`);
      toast(`API key “${key.name}” deleted.`);
      await loadOrgKeys();
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Project → API Keys

/**
 * @typedef {{ id: string, name: string, status: 'active' | 'revoked', lastUsed: string | null, createdAt: string }} ProjectKey
 */

function projectBase() {
  return `/app/v1/organizations/${encodeURIComponent(state.org ?? '')}/projects/${encodeURIComponent(state.project ?? '')}/api-keys`;
}

function openProjectView() {
  const input = byId('project-id', HTMLInputElement);
  const remembered = sessionStorage.getItem(STORE.project);
  if (!state.project && remembered && RESOURCE_ID.test(remembered)) state.project = remembered;
  if (state.project) {
    input.value = state.project;
    void loadProjectKeys();
  }
}

/** @param {SubmitEvent} event */
function onProjectSubmit(event) {
  event.preventDefault();
  const input = byId('project-id', HTMLInputElement);
  const project = input.value.trim();
  if (!RESOURCE_ID.test(project)) {
    input.setAttribute('aria-invalid', 'true');
    showMessage('project-form-error', 'A project ID is 1–64 characters: letters, digits, _ and -.');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  showMessage('project-form-error', null);
  sessionStorage.setItem(STORE.project, project);
  state.project = project;
  resetPages(state.projectPages);
  void loadProjectKeys();
}

/** @param {Pages} pages */
function resetPages(pages) {
  pages.cursors = [null];
  pages.index = 0;
  pages.next = null;
}

async function loadProjectKeys() {
  const pages = state.projectPages;
  const seq = ++pages.seq;
  const table = byId('project-keys-table', HTMLTableElement);
  const status = byId('status-filter', HTMLSelectElement).value;
  const limit = byId('project-page-size', HTMLSelectElement).value;
  const query = new URLSearchParams({ limit });
  if (status) query.set('status', status);
  const cursor = pages.cursors[pages.index];
  if (cursor) query.set('lastKey', cursor);
  $('project-name').textContent = state.project ?? '';
  $('project-card').hidden = false;
  table.setAttribute('aria-busy', 'true');
  try {
    const body = await call('GET', `${projectBase()}?${query}`);
    if (seq !== pages.seq) return;
    /** @type {ProjectKey[]} */
    const keys = body.data;
    if (keys.length === 0 && pages.index > 0) {
      // The last key of this page went away: show the page before it.
      pages.index--;
      return void loadProjectKeys();
    }
    showMessage('project-keys-error', null);
    pages.next = body.pagination.lastKey;
    table.tBodies[0]?.replaceChildren(...keys.map(projectKeyRow));
    $('project-keys-empty').hidden = keys.length > 0;
    updatePager('project', pages);
  } catch (err) {
    if (seq !== pages.seq) return;
    if (err instanceof ApiFailure && err.status === 404) {
      table.tBodies[0]?.replaceChildren();
      $('project-card').hidden = true;
      showMessage('project-form-error', `Project “${state.project}” was not found in ${state.org}.`);
      return;
    }
    showFailure(err, 'project-keys-error');
  } finally {
    table.removeAttribute('aria-busy');
  }
}

/** @param {'project' | 'audit'} prefix @param {Pages} pages */
function updatePager(prefix, pages) {
  byId(`${prefix}-prev`, HTMLButtonElement).disabled = pages.index === 0;
  byId(`${prefix}-next`, HTMLButtonElement).disabled = pages.next === null;
  $(`${prefix}-page`).textContent = `Page ${pages.index + 1}`;
}

/** @param {ProjectKey} key */
function projectKeyRow(key) {
  const active = key.status === 'active';
  return el(
    'tr',
    { 'data-id': key.id },
    cell('Name', [key.name]),
    cell('Status', [el('span', { class: `badge ${key.status}` }, active ? 'Active' : 'Revoked')]),
    cell('Last used', [time(key.lastUsed)]),
    cell('Created', [time(key.createdAt)]),
    cell(
      'Actions',
      [
        el('button', { type: 'button', class: 'button link', 'aria-label': `Rename ${key.name}`, onclick: () => renameProjectKey(key) }, 'Rename'),
        active
          ? el('button', { type: 'button', class: 'button link', 'aria-label': `Revoke ${key.name}`, onclick: () => confirmRevoke(key) }, 'Revoke')
          : el('button', { type: 'button', class: 'button link', 'aria-label': `Reactivate ${key.name}`, onclick: (e) => void reactivate(key, e) }, 'Reactivate'),
        el('button', { type: 'button', class: 'button link danger-text', 'aria-label': `Delete ${key.name}`, onclick: () => confirmDeleteProjectKey(key) }, 'Delete'),
      ],
      'row-actions',
    ),
  );
}

/** The message of a failed key change, with what to do about the limit. @param {unknown} err */
function keyChangeError(err) {
  if (err instanceof ApiFailure && err.status === 422) {
    return new DialogError(`${sentence(err.message)} To make room, delete keys you no longer use (of any project, or organization keys), then try again.`);
  }
  return err;
}

function createProjectKey() {
  openNameDialog({
    title: `Create API Key for ${state.project}`,
    submit: 'Create',
    value: '',
    fallback: $('create-project-key'),
    async save(name) {
      try {
        const key = await call('POST', projectBase(), { name });
        closeNameDialog();
        showSecret({ title: 'Project API key created', clientId: null, apiKey: key.key, keyLabel: 'API Key (x-api-key)', fallback: $('create-project-key') });
        toast(`API key “${key.name}” created.`);
        resetPages(state.projectPages);
        void loadProjectKeys();
      } catch (err) {
        throw keyChangeError(err);
      }
    },
  });
}

/** @param {ProjectKey} key */
function renameProjectKey(key) {
  openNameDialog({
    title: `Rename “${key.name}”`,
    submit: 'Save',
    value: key.name,
    fallback: $('project-card-title'),
    async save(name) {
      const updated = await call('PUT', `${projectBase()}/${encodeURIComponent(key.id)}`, { name });
      toast(`Renamed to “${updated.name}”.`);
      await loadProjectKeys();
    },
  });
}

/** @param {ProjectKey} key */
function confirmRevoke(key) {
  openConfirm({
    title: `Revoke “${key.name}”?`,
    text: 'Apps that send this key are refused from now on. You can reactivate it later.',
    ok: 'Revoke',
    fallback: $('project-card-title'),
    async run() {
      await call('PUT', `${projectBase()}/${encodeURIComponent(key.id)}`, { status: 'revoked' });
      toast(`API key “${key.name}” revoked.`);
      await loadProjectKeys();
    },
  });
}

/** @param {ProjectKey} key @param {Event} event */
async function reactivate(key, event) {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  button.disabled = true;
  try {
    await call('PUT', `${projectBase()}/${encodeURIComponent(key.id)}`, { status: 'active' });
    toast(`API key “${key.name}” reactivated.`);
    await loadProjectKeys();
    $('project-card-title').focus();
  } catch (err) {
    button.disabled = false;
    const shown = keyChangeError(err);
    if (shown instanceof DialogError) showMessage('project-keys-error', shown.message);
    else showFailure(shown, 'project-keys-error');
  }
}

/** @param {ProjectKey} key */
function confirmDeleteProjectKey(key) {
  openConfirm({
    title: `Delete “${key.name}”?`,
    text: 'The key is removed for good: apps that send it are refused. Its audit entries stay. This cannot be undone.',
    ok: 'Delete API key',
    fallback: $('project-card-title'),
    async run() {
      await call('DELETE', `${projectBase()}/${encodeURIComponent(key.id)}`);
      toast(`API key “${key.name}” deleted.`);
      await loadProjectKeys();
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Audit log

/**
 * @typedef {{ id: string, action: string, keyId: string, keyKind: 'org' | 'project', projectId: string | null,
 *   actor: { type: 'user' | 'key', id: string }, ip: string | null, createdAt: string }} AuditEntry
 */

async function loadAudit() {
  const pages = state.auditPages;
  const seq = ++pages.seq;
  const table = byId('audit-table', HTMLTableElement);
  const query = new URLSearchParams({ limit: byId('audit-page-size', HTMLSelectElement).value });
  const cursor = pages.cursors[pages.index];
  if (cursor) query.set('lastKey', cursor);
  table.setAttribute('aria-busy', 'true');
  try {
    const body = await call('GET', `/app/v1/organizations/${encodeURIComponent(state.org ?? '')}/audit-log?${query}`);
    if (seq !== pages.seq) return;
    showMessage('audit-error', null);
    /** @type {AuditEntry[]} */
    const entries = body.data;
    pages.next = body.pagination.lastKey;
    table.tBodies[0]?.replaceChildren(...entries.map(auditRow));
    $('audit-empty').hidden = entries.length > 0;
    updatePager('audit', pages);
  } catch (err) {
    if (seq === pages.seq) showFailure(err, 'audit-error');
  } finally {
    table.removeAttribute('aria-busy');
  }
}

/** @param {AuditEntry} entry */
function auditRow(entry) {
  const kind = entry.keyKind === 'org' ? 'organization key' : `project ${entry.projectId ?? ''}`;
  return el(
    'tr',
    { 'data-id': entry.id },
    cell('When', [time(entry.createdAt, '')]),
    cell('Action', [capitalize(entry.action)]),
    cell('Key', [el('code', {}, entry.keyId), el('br'), el('span', { class: 'help' }, kind)]),
    cell('Actor', [entry.actor.type === 'user' ? 'user ' : 'key ', el('code', {}, entry.actor.id)]),
    cell('IP address', [entry.ip ?? '—']),
  );
}

// ---------------------------------------------------------------------------------------------
// Dialogs: native <dialog> (modal: focus moves in, the page behind is inert, Escape closes);
// focus goes back to what opened it, or to `fallback` when that is gone.

/** A failure to show inside the dialog, as it is. */
class DialogError extends Error {}

/** @type {WeakMap<HTMLDialogElement, { opener: Element | null, fallback: HTMLElement }>} */
const returnFocus = new WeakMap();

/** @param {HTMLDialogElement} dialog @param {HTMLElement} fallback */
function openDialog(dialog, fallback) {
  returnFocus.set(dialog, { opener: document.activeElement, fallback });
  dialog.showModal();
}

/** @param {HTMLDialogElement} dialog */
function onDialogClose(dialog) {
  const target = returnFocus.get(dialog);
  returnFocus.delete(dialog);
  if (!target || !$('app-view').checkVisibility()) return;
  const opener = target.opener;
  if (opener instanceof HTMLElement && opener.isConnected && opener.checkVisibility() && !opener.closest('dialog')) opener.focus();
  else if (target.fallback.checkVisibility()) target.fallback.focus();
}

/** @type {((name: string) => Promise<void>) | null} */
let nameSave = null;

/**
 * The name dialog: create (both kinds) and rename.
 * @param {{ title: string, submit: string, value: string, fallback: HTMLElement, save: (name: string) => Promise<void> }} options
 */
function openNameDialog(options) {
  const dialog = byId('name-dialog', HTMLDialogElement);
  const input = byId('key-name', HTMLInputElement);
  $('name-dialog-title').textContent = options.title;
  $('name-submit').textContent = options.submit;
  byId('name-submit', HTMLButtonElement).disabled = false;
  input.value = options.value;
  input.removeAttribute('aria-invalid');
  showMessage('name-error', null);
  nameSave = options.save;
  openDialog(dialog, options.fallback);
  input.focus();
  input.select();
}

function closeNameDialog() {
  const dialog = byId('name-dialog', HTMLDialogElement);
  if (dialog.open) dialog.close();
}

/** @param {SubmitEvent} event */
async function onNameSubmit(event) {
  event.preventDefault();
  const dialog = byId('name-dialog', HTMLDialogElement);
  const input = byId('key-name', HTMLInputElement);
  const submit = byId('name-submit', HTMLButtonElement);
  const name = input.value.trim();
  if (name.length === 0 || name.length > 100) {
    input.setAttribute('aria-invalid', 'true');
    showMessage('name-error', 'Give the key a name of 1 to 100 characters.');
    input.focus();
    return;
  }
  if (!nameSave) return;
  input.removeAttribute('aria-invalid');
  showMessage('name-error', null);
  submit.disabled = true;
  try {
    const save = nameSave;
    dialog.setAttribute('aria-busy', 'true');
    if (dialog.open) {
      await save(name);
      if (dialog.open) dialog.close();
    }
  } catch (err) {
    if (err instanceof SessionEnded) return;
    if (err instanceof DialogError) showMessage('name-error', err.message);
    else if (err instanceof ApiFailure) showMessage('name-error', sentence(err.message));
    else {
      console.error(err);
      showMessage('name-error', 'Something went wrong in the console.');
    }
    input.focus();
  } finally {
    submit.disabled = false;
    dialog.removeAttribute('aria-busy');
  }
}

/**
 * The new key, shown once with Copy buttons.
 * @param {{ title: string, clientId: string | null, apiKey: string, keyLabel: string, fallback: HTMLElement }} secret
 */
function showSecret(secret) {
  const dialog = byId('secret-dialog', HTMLDialogElement);
  $('secret-title').textContent = secret.title;
  $('secret-key-label').textContent = secret.keyLabel;
  $('secret-client-row').hidden = secret.clientId === null;
  byId('secret-client-id', HTMLInputElement).value = secret.clientId ?? '';
  byId('secret-key', HTMLInputElement).value = secret.apiKey;
  for (const button of dialog.querySelectorAll('[data-copy]')) button.textContent = 'Copy';
  openDialog(dialog, secret.fallback);
  const first = secret.clientId === null ? dialog.querySelector('[data-copy="secret-key"]') : dialog.querySelector('[data-copy]');
  if (first instanceof HTMLElement) first.focus();
}

/** @param {HTMLButtonElement} button */
async function copyFrom(button) {
  const input = byId(button.getAttribute('data-copy') ?? '', HTMLInputElement);
  const label = input.labels?.[0]?.textContent ?? 'Value';
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = 'Copied';
    toast(`${label} copied to the clipboard.`);
  } catch {
    input.focus();
    input.select();
    toast(`Could not copy: the ${label} is selected, copy it with Ctrl+C (⌘C).`);
  }
}

/** @type {(() => Promise<void>) | null} */
let confirmRun = null;

/**
 * A confirmation before a destructive action; the action's failure is shown in the dialog.
 * @param {{ title: string, text: string, ok: string, fallback: HTMLElement, run: () => Promise<void> }} options
 */
function openConfirm(options) {
  $('confirm-title').textContent = options.title;
  $('confirm-text').textContent = options.text;
  $('confirm-ok').textContent = options.ok;
  byId('confirm-ok', HTMLButtonElement).disabled = false;
  showMessage('confirm-error', null);
  confirmRun = options.run;
  const dialog = byId('confirm-dialog', HTMLDialogElement);
  openDialog(dialog, options.fallback);
  const cancel = dialog.querySelector('[data-close]');
  if (cancel instanceof HTMLElement) cancel.focus();
}

async function onConfirm() {
  const dialog = byId('confirm-dialog', HTMLDialogElement);
  const ok = byId('confirm-ok', HTMLButtonElement);
  if (!confirmRun) return;
  ok.disabled = true;
  try {
    await confirmRun();
    if (dialog.open) dialog.close();
  } catch (err) {
    if (err instanceof SessionEnded) return;
    showMessage('confirm-error', err instanceof ApiFailure ? sentence(err.message) : 'Something went wrong in the console.');
    if (!(err instanceof ApiFailure)) console.error(err);
    ok.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

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
  const input = byId('org-input', HTMLInputElement);
  const org = input.value.trim();
  if (!RESOURCE_ID.test(org)) {
    input.setAttribute('aria-invalid', 'true');
    showMessage('org-message', 'An organization ID is 1–64 characters: letters, digits, _ and -.');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  await useAccessOrg(org);
}

function wire() {
  byId('signin-form', HTMLFormElement).addEventListener('submit', (e) => void onSignInSubmit(e));
  byId('org-form', HTMLFormElement).addEventListener('submit', (e) => void onOrgSubmit(e));
  byId('project-form', HTMLFormElement).addEventListener('submit', onProjectSubmit);
  byId('name-form', HTMLFormElement).addEventListener('submit', (e) => void onNameSubmit(e));
  $('sign-out').addEventListener('click', signOut);
  $('refused-sign-in').addEventListener('click', () => {
    showSignIn(null);
    byId('token', HTMLInputElement).focus();
  });
  $('create-org-key').addEventListener('click', createOrgKey);
  $('create-project-key').addEventListener('click', createProjectKey);
  $('confirm-ok').addEventListener('click', () => void onConfirm());
  /** @type {Array<['project' | 'audit', () => Pages, () => Promise<void>]>} */
  const pagers = [
    ['project', () => state.projectPages, loadProjectKeys],
    ['audit', () => state.auditPages, loadAudit],
  ];
  for (const [prefix, pagesOf, load] of pagers) {
    $(`${prefix}-prev`).addEventListener('click', () => {
      const pages = pagesOf();
      if (pages.index === 0) return;
      pages.index--;
      void load();
    });
    $(`${prefix}-next`).addEventListener('click', () => {
      const pages = pagesOf();
      if (pages.next === null) return;
      pages.cursors[pages.index + 1] = pages.next;
      pages.index++;
      void load();
    });
  }
  for (const id of ['status-filter', 'project-page-size']) {
    $(id).addEventListener('change', () => {
      resetPages(state.projectPages);
      void loadProjectKeys();
    });
  }
  $('audit-page-size').addEventListener('change', () => {
    resetPages(state.auditPages);
    void loadAudit();
  });
  for (const dialog of document.querySelectorAll('dialog')) {
    dialog.addEventListener('close', () => {
      if (dialog.id === 'secret-dialog') {
        // The secret leaves the page with the dialog.
        byId('secret-client-id', HTMLInputElement).value = '';
        byId('secret-key', HTMLInputElement).value = '';
      }
      onDialogClose(dialog);
    });
    for (const button of dialog.querySelectorAll('[data-close]')) button.addEventListener('click', () => dialog.close());
  }
  for (const button of document.querySelectorAll('[data-copy]')) {
    if (button instanceof HTMLButtonElement) button.addEventListener('click', () => void copyFrom(button));
  }
  window.addEventListener('hashchange', () => route(true));
}

async function boot() {
  wire();
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

void boot();
