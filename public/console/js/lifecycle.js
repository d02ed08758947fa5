// @ts-check
// Key lifecycle in the key tables: when a key expires, what an organization key may do, a reported
// leak, the key a roll replaced it with; and the roll dialog (how long the current key keeps
// working; the new key is then shown once by the caller).
import { ApiFailure, SessionEnded } from './api.js';
import { DialogError, openDialog } from './dialogs.js';
import { $, byId, el, sentence, showMessage } from './ui.js';

/**
 * What every key object says of its lifecycle; absent from a Keygate without it.
 * @typedef {{ expiresAt?: string | null, rolledFrom?: string | null, rolledTo?: string | null, leakedAt?: string | null,
 *   leakSource?: string | null }} Lifecycle
 */

/** The permissions an organization key can hold, in the API's order. */
export const ORG_PERMISSIONS = ['keys:read', 'keys:write', 'api:read', 'api:write'];

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'always' });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/**
 * "in 20 minutes", "in 5 hours", "in 30 days": the nearest whole unit, hours up to two days.
 * @param {number} ms how far ahead, more than 0
 */
export function fromNow(ms) {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 60) return relative.format(minutes, 'minute');
  const hours = Math.round(ms / 3_600_000);
  if (hours < 48) return relative.format(hours, 'hour');
  return relative.format(Math.round(ms / 86_400_000), 'day');
}

/** Whether the key's expiry has passed. @param {Lifecycle} key @param {number} [now] */
export function isExpired(key, now = Date.now()) {
  return typeof key.expiresAt === 'string' && Date.parse(key.expiresAt) <= now;
}

/**
 * When a key stops working by itself: "Never", "in 30 days" or "Expired", with the exact time
 * as its tooltip and, for screen readers, as text.
 * @param {string | null | undefined} expiresAt @param {number} [now]
 */
export function expiry(expiresAt, now = Date.now()) {
  if (!expiresAt) return 'Never';
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return expiresAt;
  const when = exact.format(at);
  return el(
    'span',
    {},
    el('time', { datetime: expiresAt, title: when }, at <= now ? 'Expired' : fromNow(at - now)),
    el('span', { class: 'visually-hidden' }, ` (${when})`),
  );
}

/**
 * An organization key's permissions, short: "All" for the four, else the list.
 * @param {string[] | undefined} permissions
 */
export function permissionsText(permissions) {
  if (!permissions) return '—';
  if (ORG_PERMISSIONS.every((p) => permissions.includes(p))) return el('span', { title: ORG_PERMISSIONS.join(', ') }, 'All');
  return permissions.length ? permissions.join(', ') : 'None';
}

/** How much of a leak's URL the table shows (host and path; the whole URL is the link's tooltip). */
const SOURCE_CHARS = 32;

/**
 * Where a leak was found: a link for an https URL (opened apart from the console, sending it
 * nothing), else the text as it is.
 * @param {string} source
 */
function leakSource(source) {
  let url = null;
  try {
    url = new URL(source);
  } catch {
    // not a URL: shown as text
  }
  if (url?.protocol !== 'https:') return el('code', {}, source);
  const where = `${url.host}${url.pathname}`;
  const shown = where.length > SOURCE_CHARS ? `${where.slice(0, SOURCE_CHARS - 1)}…` : where;
  return el('a', { href: url.href, rel: 'noopener noreferrer', target: '_blank', title: url.href }, shown);
}

/** The day a leak was reported, the exact time as its tooltip. @param {string} iso */
function reportedOn(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return el('time', { datetime: iso, title: exact.format(at) }, day.format(at));
}

/**
 * The red Leaked badge with when and where the leak was reported, or null for a key without one.
 * @param {Lifecycle} key
 */
export function leakNote(key) {
  if (!key.leakedAt) return null;
  return el(
    'span',
    { class: 'leak' },
    el('span', { class: 'badge leaked' }, 'Leaked'),
    el('span', { class: 'visually-hidden' }, ' —'),
    ' reported ',
    reportedOn(key.leakedAt),
    ...(key.leakSource ? [' at ', leakSource(key.leakSource)] : []),
  );
}

/**
 * "Rolled → <the key that replaced it>" (the arrow is read as "to"), or null for a key that was
 * not rolled.
 * @param {Lifecycle} key @param {(id: string) => Node | string | null} successor the new key as the table names it, null when it is not shown
 */
export function rolledNote(key, successor) {
  if (!key.rolledTo) return null;
  const named = successor(key.rolledTo) ?? el('span', {}, 'key ', el('code', {}, key.rolledTo));
  return el(
    'span',
    { class: 'rolled' },
    'Rolled',
    el('span', { class: 'visually-hidden' }, ' to'),
    ' ',
    el('span', { 'aria-hidden': 'true' }, '→'),
    ' ',
    named,
  );
}

/**
 * Whether a key can be rolled: active, not expired, not rolled already.
 * @param {Lifecycle & { status?: string }} key
 */
export function rollable(key) {
  return (key.status ?? 'active') === 'active' && !key.rolledTo && !isExpired(key);
}

/**
 * The grace periods of a roll, none first.
 * @typedef {{ seconds: number, label: string }} Grace
 */

/**
 * @typedef {object} RollOptions
 * @property {string} title
 * @property {string} text what a roll makes and keeps
 * @property {Grace[]} graces the choices, none first
 * @property {number} grace the choice selected at first (seconds)
 * @property {string | null} expiresAt the current key's expiry: a grace never makes it work longer
 * @property {HTMLElement} fallback
 * @property {(graceSeconds: number) => Promise<void>} run rolls; closes the dialog and shows the new key itself
 */

/** The open roll dialog's options; replaced by the next opening. */
/** @type {RollOptions | null} */
let rolling = null;

/**
 * When the current key stops working after a grace of `seconds` (an expiry sooner wins).
 * @param {string | null | undefined} expiresAt @param {number} seconds @param {number} [now]
 */
function graceEnd(expiresAt, seconds, now = Date.now()) {
  const end = now + seconds * 1000;
  const expires = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  return Number.isNaN(expires) ? end : Math.min(end, expires);
}

function showGraceHelp() {
  if (!rolling) return;
  const seconds = Number(byId('roll-grace', HTMLSelectElement).value);
  $('roll-grace-help').textContent =
    seconds === 0
      ? 'The current key is refused as soon as the new one is made: choose this when the key leaked.'
      : `The current key works until about ${exact.format(graceEnd(rolling.expiresAt, seconds))}, then it is refused: ` +
        'put the new key everywhere the current one is used before then.';
}

/** Opens the roll dialog, focus on the grace period. @param {RollOptions} options */
export function openRollDialog(options) {
  rolling = options;
  $('roll-title').textContent = options.title;
  $('roll-text').textContent = options.text;
  const select = byId('roll-grace', HTMLSelectElement);
  select.replaceChildren(
    ...options.graces.map((g) => el('option', { value: String(g.seconds), selected: g.seconds === options.grace }, g.label)),
  );
  select.value = String(options.grace);
  showGraceHelp();
  showMessage('roll-error', null);
  byId('roll-submit', HTMLButtonElement).disabled = false;
  const dialog = byId('roll-dialog', HTMLDialogElement);
  openDialog(dialog, options.fallback);
  select.focus();
}

export function closeRollDialog() {
  const dialog = byId('roll-dialog', HTMLDialogElement);
  if (dialog.open) dialog.close();
}

/** @param {SubmitEvent} event */
async function onRollSubmit(event) {
  event.preventDefault();
  const submit = byId('roll-submit', HTMLButtonElement);
  const dialog = byId('roll-dialog', HTMLDialogElement);
  if (!rolling || !dialog.open) return;
  const run = rolling.run;
  submit.disabled = true;
  dialog.setAttribute('aria-busy', 'true');
  try {
    await run(Number(byId('roll-grace', HTMLSelectElement).value));
  } catch (err) {
    if (err instanceof SessionEnded) return;
    if (err instanceof DialogError) showMessage('roll-error', err.message);
    else if (err instanceof ApiFailure) showMessage('roll-error', sentence(err.message));
    else {
      console.error(err);
      showMessage('roll-error', 'Something went wrong in the console.');
    }
    byId('roll-grace', HTMLSelectElement).focus();
  } finally {
    submit.disabled = false;
    dialog.removeAttribute('aria-busy');
  }
}

/**
 * The failure of a roll the key no longer allows (409: revoked, expired or rolled meanwhile),
 * said in the dialog; anything else as it is.
 * @param {unknown} err
 */
export function rollError(err) {
  if (err instanceof ApiFailure && err.status === 409) {
    return new DialogError(`${sentence(err.message)} The list now shows the key as it is: only an active key that was not rolled can be.`);
  }
  return err;
}

/**
 * What the new key's dialog says of the key it replaces: refused now, or until when it works.
 * @param {string | null | undefined} expiresAt the replaced key's expiry @param {number} seconds the grace chosen
 */
export function rolledAdvice(expiresAt, seconds) {
  return seconds === 0
    ? 'The key it replaces is refused from now on.'
    : `The key it replaces works until about ${exact.format(graceEnd(expiresAt, seconds))}: replace it everywhere before then.`;
}

export function wireLifecycle() {
  byId('roll-form', HTMLFormElement).addEventListener('submit', (e) => void onRollSubmit(e));
  byId('roll-grace', HTMLSelectElement).addEventListener('change', showGraceHelp);
  byId('roll-dialog', HTMLDialogElement).addEventListener('close', () => {
    rolling = null;
  });
}
