// @ts-check
// Project → API Keys: client keys that ship inside a project's apps (x-api-key). The projects that
// hold keys to choose from (Keygate keeps no other list of projects), any other ID typed in; the
// keys in pages with a status filter; create (with an expiry and an optional rate limit; shown
// once), usage, rename, roll (a new key shown once, the current one working for a grace period),
// revoke and reactivate, delete. Rows show expiry, leaks and rolls.
import { ApiFailure, RESOURCE_ID } from './api.js';
import { closeNameDialog, DialogError, openConfirm, openNameDialog, showSecret } from './dialogs.js';
import {
  closeRollDialog,
  expiry,
  isExpired,
  leakNote,
  openRollDialog,
  rollable,
  rollError,
  rolledAdvice,
  rolledNote,
} from './lifecycle.js';
import { pagedTable } from './paged-table.js';
import { call, orgPath, STORE, state } from './session.js';
import { $, byId, cell, el, readId, sentence, showFailure, showMessage, time, toast } from './ui.js';
import { formatRateLimit, openKeyUsage } from './usage.js';

/**
 * `rateLimit`: the key's own budget (null: none, the project's applies); absent from a Keygate
 * without per-key budgets, as the lifecycle fields from one without them.
 * @typedef {{ id: string, name: string, status: 'active' | 'revoked', lastUsed: string | null, createdAt: string,
 *   rateLimit?: import('./usage.js').RateLimit | null } & import('./lifecycle.js').Lifecycle} ProjectKey
 * @typedef {{ projectId: string, activeKeys: number, revokedKeys: number }} ProjectSummary
 */

/** A project key's roll: how long the current key may keep working (at most 90 days: apps in stores update slowly). */
const GRACES = [
  { seconds: 0, label: 'None: stop it now' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 604_800, label: '7 days' },
  { seconds: 2_592_000, label: '30 days' },
  { seconds: 7_776_000, label: '90 days' },
];

/** What the new key's dialog says of a project key, whether created or rolled. */
function projectKeyAdvice() {
  return (
    `Put it in the configuration of the apps of ${state.project} now (their iOS or Android build settings, the web app's environment): ` +
    'Keygate stores only a hash and cannot show it again. It is not a secret like a server key: it ships inside the app, where anyone ' +
    `can read it, and it can only read published content of ${state.project}.`
  );
}

function projectBase() {
  return `${orgPath()}/projects/${encodeURIComponent(state.project ?? '')}/api-keys`;
}

/** The open project's keys. */
const keys = pagedTable({
  table: 'project-keys-table',
  empty: 'project-keys-empty',
  error: 'project-keys-error',
  pager: 'project',
  pageSize: 'project-page-size',
  filters: ['status-filter'],
  path: projectBase,
  query() {
    const status = byId('status-filter', HTMLSelectElement).value;
    return status ? { status } : /** @type {Record<string, string>} */ ({});
  },
  row: projectKeyRow,
  emptyText() {
    const status = byId('status-filter', HTMLSelectElement).value;
    if (status) return `No ${status} keys in ${state.project}.`;
    return state.admin
      ? `“${state.project}” has no keys yet. Create its first key with Create API Key: the project's apps send it as x-api-key.`
      : `“${state.project}” has no keys yet: an admin of the organization creates them.`;
  },
  before() {
    $('project-name').textContent = state.project ?? '';
    $('project-card').hidden = false;
  },
  failed(err) {
    if (!(err instanceof ApiFailure && err.status === 404)) return false;
    byId('project-keys-table', HTMLTableElement).tBodies[0]?.replaceChildren();
    $('project-card').hidden = true;
    showMessage('project-form-error', `Project “${state.project}” was not found in ${state.org}.`);
    return true;
  },
});

/** Bumped by every load of the project list and by clear: an answer for an older one is dropped. */
let projectsSeq = 0;

/** The projects that hold keys, as the choices of the project select. */
async function loadProjects() {
  const mine = ++projectsSeq;
  try {
    const body = await call('GET', `${orgPath()}/projects`);
    if (mine === projectsSeq) showProjects(body.data);
  } catch (err) {
    if (mine === projectsSeq) showFailure(err, 'project-form-error');
  }
}

/** @param {ProjectSummary[]} projects */
function showProjects(projects) {
  const select = byId('project-select', HTMLSelectElement);
  const creates = state.admin ? ' and create its first key' : '';
  if (projects.length === 0) {
    select.replaceChildren(el('option', { value: '' }, 'None yet'));
    select.disabled = true;
    $('project-help').textContent =
      `No project of ${state.org} has keys yet. Type the ID your app uses (for example mobile-app), then open it${creates}.`;
    return;
  }
  const counts = (/** @type {ProjectSummary} */ p) => `${p.activeKeys} active${p.revokedKeys ? `, ${p.revokedKeys} revoked` : ''}`;
  select.replaceChildren(
    el('option', { value: '' }, `Choose a project (${projects.length})`),
    ...projects.map((p) => el('option', { value: p.projectId }, `${p.projectId} · ${counts(p)}`)),
  );
  select.disabled = false;
  selectCurrent();
  $('project-help').textContent =
    `Choose one of the projects of ${state.org} that hold keys, or type another project ID (for example mobile-app) and open it${creates}. ` +
    'This tab remembers the last one.';
}

/** The select shows the open project when it is one of its choices. */
function selectCurrent() {
  const select = byId('project-select', HTMLSelectElement);
  const current = state.project ?? '';
  select.value = Array.from(select.options).some((option) => option.value === current) ? current : '';
}

/** Shown by the Project API Keys tab: the choices, and the project this tab opened last. */
export function openProjectView() {
  void loadProjects();
  const remembered = sessionStorage.getItem(STORE.project);
  if (!state.project && remembered && RESOURCE_ID.test(remembered)) state.project = remembered;
  if (state.project) {
    byId('project-id', HTMLInputElement).value = state.project;
    void keys.load();
  }
}

/** @param {string} project */
function openProject(project) {
  byId('project-id', HTMLInputElement).value = project;
  sessionStorage.setItem(STORE.project, project);
  state.project = project;
  selectCurrent();
  keys.reset();
  void keys.load();
}

/** @param {SubmitEvent} event */
function onProjectSubmit(event) {
  event.preventDefault();
  const project = readId(byId('project-id', HTMLInputElement), 'project-form-error', 'A project ID');
  if (project !== null) openProject(project);
}

function onProjectSelect() {
  const project = byId('project-select', HTMLSelectElement).value;
  if (!project) return;
  showMessage('project-form-error', null);
  byId('project-id', HTMLInputElement).removeAttribute('aria-invalid');
  openProject(project);
}

/** Empties the view (sign-out): keys, choices and messages. */
export function clearProjectKeys() {
  keys.clear();
  projectsSeq++;
  $('project-card').hidden = true;
  $('project-name').textContent = '';
  showMessage('project-form-error', null);
  const select = byId('project-select', HTMLSelectElement);
  select.replaceChildren();
  select.disabled = true;
}

/**
 * The status badge: Active, Revoked, or Expired for an active key past its expiry.
 * @param {ProjectKey} key
 */
function statusBadge(key) {
  if (key.status === 'revoked') return el('span', { class: 'badge revoked' }, 'Revoked');
  if (isExpired(key)) return el('span', { class: 'badge expired' }, 'Expired');
  return el('span', { class: 'badge active' }, 'Active');
}

/**
 * The key that replaced a rolled one, by its name when it is on this page.
 * @param {string} id @param {ProjectKey[]} page
 */
function successor(id, page) {
  const key = page.find((k) => k.id === id);
  return key ? `“${key.name}”` : null;
}

/** @param {ProjectKey} key @param {number} _index @param {ProjectKey[]} page the keys of the page, to name a successor */
function projectKeyRow(key, _index, page) {
  const active = key.status === 'active';
  return el(
    'tr',
    { 'data-id': key.id },
    cell('Name', [key.name, leakNote(key)]),
    cell('Status', [statusBadge(key)]),
    cell('Expires', [expiry(key.expiresAt), rolledNote(key, (id) => successor(id, page))]),
    cell('Last used', [time(key.lastUsed)]),
    cell('Created', [time(key.createdAt)]),
    cell('Rate limit', [formatRateLimit(key.rateLimit)]),
    cell(
      'Actions',
      [
        el(
          'button',
          { type: 'button', class: 'button link', 'aria-label': `Usage of ${key.name}`, onclick: () => showUsage(key) },
          'Usage',
        ),
        ...(state.admin
          ? [
              el(
                'button',
                { type: 'button', class: 'button link', 'aria-label': `Rename ${key.name}`, onclick: () => renameProjectKey(key) },
                'Rename',
              ),
              rollable(key)
                ? el(
                    'button',
                    { type: 'button', class: 'button link', 'aria-label': `Roll ${key.name}`, onclick: () => rollProjectKey(key) },
                    'Roll',
                  )
                : null,
              active
                ? el(
                    'button',
                    { type: 'button', class: 'button link', 'aria-label': `Revoke ${key.name}`, onclick: () => confirmRevoke(key) },
                    'Revoke',
                  )
                : el(
                    'button',
                    {
                      type: 'button',
                      class: 'button link',
                      'aria-label': `Reactivate ${key.name}`,
                      onclick: (e) => void reactivate(key, e),
                    },
                    'Reactivate',
                  ),
              el(
                'button',
                {
                  type: 'button',
                  class: 'button link danger-text',
                  'aria-label': `Delete ${key.name}`,
                  onclick: () => confirmDeleteProjectKey(key),
                },
                'Delete',
              ),
            ]
          : []),
      ],
      'row-actions',
    ),
  );
}

/** @param {ProjectKey} key */
function showUsage(key) {
  openKeyUsage({
    name: key.name,
    path: `${projectBase()}/${encodeURIComponent(key.id)}/usage`,
    rateLimit: key.rateLimit,
    budget: `the request budget of ${state.project} (Plan & usage)`,
    fallback: $('project-card-title'),
  });
}

/** The message of a failed key change, with what to do about the limit. @param {unknown} err */
function keyChangeError(err) {
  if (err instanceof ApiFailure && err.status === 422) {
    return new DialogError(
      `${sentence(err.message)} To make room, revoke or delete keys you no longer use (of any project, or organization keys), then try again.`,
    );
  }
  return err;
}

/** After a change: the page of keys, and the counts of the project choices. */
async function reload() {
  void loadProjects();
  await keys.load();
}

function createProjectKey() {
  openNameDialog({
    title: `Create API Key for ${state.project}`,
    submit: 'Create',
    value: '',
    fallback: $('create-project-key'),
    expiry: true,
    rateLimit: true,
    rateHelp: `At most this many requests per window with this key, within the budget of ${state.project}. Leave both empty for no limit of its own.`,
    async save(name, rateLimit, fields) {
      try {
        const key = await call('POST', projectBase(), { name, ...fields, ...(rateLimit ? { rateLimit } : {}) });
        closeNameDialog();
        showSecret({
          title: 'Project API key created',
          clientId: null,
          apiKey: key.key,
          keyLabel: 'API Key (x-api-key)',
          advice:
            `${projectKeyAdvice()} To rotate it, create a new key, ship it in the app, then revoke this one (Roll does both, with a ` +
            'grace period for the apps not yet updated); revoke it at once if it is misused.',
          fallback: $('create-project-key'),
        });
        toast(`API key “${key.name}” created.`);
        keys.reset();
        void reload();
        return undefined;
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
      await keys.load();
      return `Renamed to “${updated.name}”.`;
    },
  });
}

/** @param {ProjectKey} key */
function rollProjectKey(key) {
  openRollDialog({
    title: `Roll “${key.name}”`,
    text:
      'A new key replaces this one and takes its name, rate limit and expiry policy; the new key is shown once. The current key is ' +
      'renamed “(rolled …)”. Choose how long it keeps working, to give the apps time to ship the new one.',
    graces: GRACES,
    // A leaked key is stopped at once unless the admin chooses otherwise.
    grace: key.leakedAt ? 0 : 86_400,
    expiresAt: key.expiresAt ?? null,
    fallback: $('project-card-title'),
    async run(grace) {
      let rolled;
      try {
        rolled = await call('POST', `${projectBase()}/${encodeURIComponent(key.id)}/roll`, { expireCurrentInSeconds: grace });
      } catch (err) {
        void keys.load();
        throw rollError(keyChangeError(err));
      }
      closeRollDialog();
      showSecret({
        title: 'Project API key rolled',
        clientId: null,
        apiKey: rolled.key,
        keyLabel: 'API Key (x-api-key)',
        advice: `${rolledAdvice(key.expiresAt, grace)} ${projectKeyAdvice()}`,
        fallback: $('project-card-title'),
      });
      toast(`API key “${rolled.name}” rolled: a new key.`);
      keys.reset();
      void reload();
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
      await reload();
      return `API key “${key.name}” revoked.`;
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
    await reload();
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
      await reload();
      return `API key “${key.name}” deleted.`;
    },
  });
}

export function wireProjectKeys() {
  byId('project-form', HTMLFormElement).addEventListener('submit', onProjectSubmit);
  byId('project-select', HTMLSelectElement).addEventListener('change', onProjectSelect);
  $('create-project-key').addEventListener('click', createProjectKey);
  keys.wire();
}
