// @ts-check
// Audit log: the organization's key changes, newest first, in pages; each key by the name it had
// when it changed. The route answers admins only, so a member is told so instead.
import { pagedTable } from './paged-table.js';
import { orgPath, state } from './session.js';
import { $, capitalize, cell, el, time } from './ui.js';

/**
 * `keyName` is the key's name at the time of the change: null for entries written before Keygate
 * recorded it, absent from a Keygate that does not yet. The actor `scanner` reported a leak
 * (`github`: GitHub secret scanning).
 * @typedef {{ id: string, action: string, keyId: string, keyName?: string | null, keyKind: 'org' | 'project',
 *   projectId: string | null, actor: { type: 'user' | 'key' | 'scanner', id: string }, ip: string | null, createdAt: string }} AuditEntry
 */

/** The audit log's pages. */
const entries = pagedTable({
  table: 'audit-table',
  empty: 'audit-empty',
  error: 'audit-error',
  pager: 'audit',
  pageSize: 'audit-page-size',
  path: () => `${orgPath()}/audit-log`,
  row: auditRow,
});

/** Shown by the Audit log tab. */
export function loadAudit() {
  $('audit-admins-only').hidden = state.admin;
  $('audit-card').hidden = !state.admin;
  if (state.admin) void entries.load();
}

/** Empties the view (sign-out). */
export function clearAudit() {
  entries.clear();
}

/** @param {AuditEntry} entry */
function auditRow(entry) {
  const kind = entry.keyKind === 'org' ? 'organization key' : `project ${entry.projectId ?? ''}`;
  const key = entry.keyName
    ? [entry.keyName, el('br'), el('span', { class: 'help' }, `${kind} · `, el('code', {}, entry.keyId))]
    : [el('code', {}, entry.keyId), el('br'), el('span', { class: 'help' }, kind)];
  return el(
    'tr',
    { 'data-id': entry.id },
    cell('When', [time(entry.createdAt, '')]),
    cell('Action', [capitalize(entry.action)]),
    cell('Key', key),
    cell('Actor', [`${entry.actor.type} `, el('code', {}, entry.actor.id)]),
    cell('IP address', [entry.ip ?? '—']),
  );
}

export function wireAudit() {
  entries.wire();
}
