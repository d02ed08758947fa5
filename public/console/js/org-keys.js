// @ts-check
// API & MCP Access → API Keys: the organization's keys (secrets for servers, /v1/keys). Create
// (with an expiry, permissions and an optional rate limit), shown once; usage; rename; roll (a new
// pair shown once, the current one working for a grace period); revoke (an organization key is
// revoked, never deleted, and cannot come back). Rows show expiry, permissions, leaks and rolls.
import { ApiFailure } from './api.js';
import { closeNameDialog, copy, DialogError, openConfirm, openNameDialog, showSecret } from './dialogs.js';
import {
  closeRollDialog,
  expiry,
  leakNote,
  openRollDialog,
  permissionsText,
  rollable,
  rollError,
  rolledAdvice,
  rolledNote,
} from './lifecycle.js';
import { call, state } from './session.js';
import { $, byId, cell, el, sentence, showFailure, showMessage, time, toast } from './ui.js';
import { formatRateLimit, openKeyUsage } from './usage.js';

/**
 * `rateLimit`: the key's own budget (null: none, the organization's applies); absent from a
 * Keygate without per-key budgets, as `permissions` and the lifecycle fields from one without them.
 * @typedef {{ id: string, name: string, clientId: string, keyLastFour: string, createdAt: string,
 *   createdBy: string, lastUsedAt: string | null, rateLimit?: import('./usage.js').RateLimit | null,
 *   permissions?: string[] } & import('./lifecycle.js').Lifecycle} OrgKey
 */

/** An organization key's roll: how long the current pair may keep working (at most 7 days). */
const GRACES = [
  { seconds: 0, label: 'None: stop it now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 604_800, label: '7 days' },
];

const SECRET_ADVICE = 'Copy it now and keep it in a secret manager: Keygate stores only a hash and cannot show it again.';

const ORG_BUDGET = 'the organization’s request budget (Plan & usage)';

/** Bumped by every load and clear: an answer for an older one is dropped. */
let seq = 0;

export async function loadOrgKeys() {
  const mine = ++seq;
  const table = byId('org-keys-table', HTMLTableElement);
  table.setAttribute('aria-busy', 'true');
  try {
    const body = await call('GET', '/v1/keys');
    if (mine !== seq) return;
    showMessage('org-keys-error', null);
    /** @type {OrgKey[]} */
    const keys = body.data;
    table.tBodies[0]?.replaceChildren(...keys.map((key) => orgKeyRow(key, keys)));
    const empty = $('org-keys-empty');
    empty.textContent = state.admin
      ? 'No API keys yet. Create one for each server or job that calls the API.'
      : 'No API keys yet. An admin of the organization can create them.';
    empty.hidden = keys.length > 0;
  } catch (err) {
    if (mine === seq) showFailure(err, 'org-keys-error');
  } finally {
    table.removeAttribute('aria-busy');
  }
}

/** Empties the card (sign-out). */
export function clearOrgKeys() {
  seq++;
  byId('org-keys-table', HTMLTableElement).tBodies[0]?.replaceChildren();
  $('org-keys-empty').hidden = true;
  showMessage('org-keys-error', null);
}

/**
 * Who created a key: a user (the JWT's `sub`), or, for `key:<id>`, the organization key that did,
 * by name while it is listed.
 * @param {string} createdBy @param {OrgKey[]} keys
 */
function creator(createdBy, keys) {
  if (!createdBy.startsWith('key:')) return createdBy;
  const id = createdBy.slice('key:'.length);
  const key = keys.find((k) => k.id === id);
  return key ? `API key “${key.name}”` : el('span', {}, 'API key ', el('code', {}, id));
}

/**
 * The key that replaced a rolled one, as the table shows it (the same name, another key ending),
 * or null when it is not listed.
 * @param {string} id @param {OrgKey[]} keys
 */
function successor(id, keys) {
  const key = keys.find((k) => k.id === id);
  if (!key) return null;
  return el(
    'span',
    {},
    el('span', { class: 'visually-hidden' }, 'the key ending in '),
    el('code', { class: 'masked', title: `Client ID ${key.clientId}` }, `••••${key.keyLastFour}`),
  );
}

/** @param {OrgKey} key @param {OrgKey[]} keys the whole list, to name a creating key */
function orgKeyRow(key, keys) {
  const clientId = el('code', {}, key.clientId);
  const copyButton = /** @type {HTMLButtonElement} */ (
    el('button', { type: 'button', class: 'button link', 'aria-label': `Copy Client ID of ${key.name}` }, 'Copy')
  );
  copyButton.addEventListener('click', () => {
    // "Copied" marks the last one copied only.
    for (const other of document.querySelectorAll('#org-keys-table .with-copy button')) other.textContent = 'Copy';
    void copy(copyButton, key.clientId, `Client ID of “${key.name}”`, clientId);
  });
  return el(
    'tr',
    { 'data-id': key.id },
    cell('Name', [key.name, leakNote(key)]),
    cell('Client ID', [el('span', { class: 'with-copy' }, clientId, copyButton)]),
    cell('Key', [el('span', { class: 'visually-hidden' }, 'ending in '), el('code', { class: 'masked' }, `••••${key.keyLastFour}`)]),
    cell('Created', [time(key.createdAt)]),
    cell('Created by', [creator(key.createdBy, keys)]),
    cell('Last used', [time(key.lastUsedAt)]),
    cell('Expires', [expiry(key.expiresAt), rolledNote(key, (id) => successor(id, keys))]),
    cell('Permissions', [permissionsText(key.permissions)]),
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
                { type: 'button', class: 'button link', 'aria-label': `Rename API key ${key.name}`, onclick: () => renameOrgKey(key) },
                'Rename',
              ),
              rollable(key)
                ? el(
                    'button',
                    { type: 'button', class: 'button link', 'aria-label': `Roll API key ${key.name}`, onclick: () => rollOrgKey(key) },
                    'Roll',
                  )
                : null,
              el(
                'button',
                {
                  type: 'button',
                  class: 'button link danger-text',
                  'aria-label': `Revoke API key ${key.name}`,
                  onclick: () => confirmRevokeOrgKey(key),
                },
                'Revoke',
              ),
            ]
          : []),
      ],
      'row-actions',
    ),
  );
}

/** @param {OrgKey} key */
function showUsage(key) {
  openKeyUsage({
    name: key.name,
    path: `/v1/keys/${encodeURIComponent(key.id)}/usage`,
    rateLimit: key.rateLimit,
    budget: ORG_BUDGET,
    fallback: $('org-keys-title'),
  });
}

function createOrgKey() {
  openNameDialog({
    title: 'Create API Key',
    submit: 'Create',
    value: '',
    fallback: $('create-org-key'),
    expiry: true,
    permissions: true,
    rateLimit: true,
    rateHelp:
      'At most this many requests per window with this key, within the organization’s budget. Leave both empty for no limit of its own.',
    async save(name, rateLimit, fields) {
      try {
        const body = await call('POST', '/v1/keys', { name, ...fields, ...(rateLimit ? { rateLimit } : {}) });
        closeNameDialog();
        showSecret({
          title: 'API Key created',
          clientId: body.data.clientId,
          apiKey: body.data.apiKey,
          keyLabel: 'API Key',
          advice: SECRET_ADVICE,
          fallback: $('create-org-key'),
        });
        toast(`API key “${body.data.name}” created.`);
        void loadOrgKeys();
        return undefined;
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 422) {
          throw new DialogError(
            `${sentence(err.message)} To make room, revoke keys you no longer use with Revoke in the API Keys table, then create this one.`,
          );
        }
        throw err;
      }
    },
  });
}

/** @param {OrgKey} key */
function renameOrgKey(key) {
  openNameDialog({
    title: `Rename “${key.name}”`,
    submit: 'Save',
    value: key.name,
    fallback: $('org-keys-title'),
    async save(name) {
      const body = await call('PATCH', `/v1/keys/${encodeURIComponent(key.id)}`, { name });
      await loadOrgKeys();
      return `Renamed to “${body.data.name}”. Its Client ID and API Key stay the same.`;
    },
  });
}

/** @param {OrgKey} key */
function rollOrgKey(key) {
  openRollDialog({
    title: `Roll API key “${key.name}”`,
    text:
      'A new Client ID and API Key replace this pair, with the same name, permissions, rate limit and expiry policy; the new API Key ' +
      'is shown once. Choose how long the current pair keeps working, to give your servers time to switch.',
    graces: GRACES,
    // A leaked key is stopped at once unless the admin chooses otherwise.
    grace: key.leakedAt ? 0 : 3600,
    expiresAt: key.expiresAt ?? null,
    fallback: $('org-keys-title'),
    async run(grace) {
      let body;
      try {
        body = await call('POST', `/v1/keys/${encodeURIComponent(key.id)}/roll`, { expireCurrentInSeconds: grace });
      } catch (err) {
        void loadOrgKeys();
        throw rollError(err);
      }
      closeRollDialog();
      showSecret({
        title: 'API Key rolled',
        clientId: body.data.clientId,
        apiKey: body.data.apiKey,
        keyLabel: 'API Key',
        advice: `${rolledAdvice(key.expiresAt, grace)} ${SECRET_ADVICE}`,
        fallback: $('org-keys-title'),
      });
      toast(`API key “${key.name}” rolled: a new Client ID and API Key.`);
      void loadOrgKeys();
    },
  });
}

/** @param {OrgKey} key */
function confirmRevokeOrgKey(key) {
  openConfirm({
    title: `Revoke API key “${key.name}”?`,
    text: `Requests that send Client ID ${key.clientId} are refused from now on. A revoked organization key cannot be reactivated: this cannot be undone.`,
    ok: 'Revoke API key',
    fallback: $('org-keys-title'),
    async run() {
      await call('DELETE', `/v1/keys/${encodeURIComponent(key.id)}`);
      await loadOrgKeys();
      return `API key “${key.name}” revoked.`;
    },
  });
}

export function wireOrgKeys() {
  $('create-org-key').addEventListener('click', createOrgKey);
}
