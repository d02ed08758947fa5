// @ts-check
// Dialogs: native <dialog> (modal: focus moves in, the page behind is inert, Escape closes);
// focus goes back to what opened it, or to `fallback` when that is gone. The name dialog (create,
// with an expiry, an organization key's permissions and an optional rate limit; rename), the new
// key shown once, and the confirmation before a change that refuses a key.
import { ApiFailure, SessionEnded } from './api.js';
import { $, byId, el, sentence, showMessage, toast } from './ui.js';

/** A failure to show inside the dialog, as it is. */
export class DialogError extends Error {}

/** What each open dialog returns focus to when it closes; gone with the dialog. */
/** @type {WeakMap<HTMLDialogElement, { opener: Element | null, fallback: HTMLElement }>} */
const returnFocus = new WeakMap();

/** Opens `dialog` modal; focus returns to what had it, or to `fallback`. @param {HTMLDialogElement} dialog @param {HTMLElement} fallback */
export function openDialog(dialog, fallback) {
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

export function closeDialogs() {
  for (const dialog of document.querySelectorAll('dialog')) if (dialog.open) dialog.close();
}

/**
 * Saves the name dialog's name (and, when the dialog asked for them, the rate limit: null for
 * none, and the lifecycle fields of the create request: `expiresIn` absent for never,
 * `permissions` absent when not asked); resolves with the outcome to announce once the dialog has
 * closed, or with nothing when it announced itself (a new key opens the dialog that shows it).
 * @typedef {{ requests: number, windowSeconds: number }} RateLimit
 * @typedef {{ expiresIn?: number, permissions?: string[] }} CreateFields
 * @typedef {(name: string, rateLimit: RateLimit | null | undefined, fields: CreateFields) => Promise<string | undefined>} NameSave
 */

/** The save of the name dialog that is open; replaced by the next opening. */
/** @type {NameSave | null} */
let nameSave = null;

/**
 * The name dialog: create (both kinds) and rename. Create adds the expiry (`expiry`), an
 * organization key's permissions (`permissions`, all checked at first) and the optional rate
 * limit fields (`rateLimit`; `rateHelp` says what it must stay within).
 * @param {{ title: string, submit: string, value: string, fallback: HTMLElement, save: NameSave, rateLimit?: boolean, rateHelp?: string,
 *   expiry?: boolean, permissions?: boolean }} options
 */
export function openNameDialog(options) {
  const dialog = byId('name-dialog', HTMLDialogElement);
  const input = byId('key-name', HTMLInputElement);
  $('name-dialog-title').textContent = options.title;
  $('name-submit').textContent = options.submit;
  byId('name-submit', HTMLButtonElement).disabled = false;
  input.value = options.value;
  input.removeAttribute('aria-invalid');
  $('rate-fields').hidden = !options.rateLimit;
  $('rate-help').textContent = options.rateHelp ?? '';
  for (const field of rateInputs()) {
    field.value = '';
    field.removeAttribute('aria-invalid');
  }
  $('expiry-field').hidden = !options.expiry;
  const expiry = byId('key-expiry', HTMLSelectElement);
  expiry.value = '';
  expiry.removeAttribute('aria-invalid');
  $('permission-fields').hidden = !options.permissions;
  for (const box of permissionBoxes()) box.checked = true;
  showPermissionsError(false);
  showMessage('name-error', null);
  nameSave = options.save;
  openDialog(dialog, options.fallback);
  input.focus();
  input.select();
}

export function closeNameDialog() {
  const dialog = byId('name-dialog', HTMLDialogElement);
  if (dialog.open) dialog.close();
}

function rateInputs() {
  return [byId('rate-requests', HTMLInputElement), byId('rate-window', HTMLInputElement)];
}

/** The four permission checkboxes of an organization key. */
function permissionBoxes() {
  return Array.from($('permission-fields').querySelectorAll('input[type="checkbox"]'), (box) => /** @type {HTMLInputElement} */ (box));
}

/** Says in the permissions group that a key needs one (or takes that away). @param {boolean} shown */
function showPermissionsError(shown) {
  const group = $('permission-fields');
  if (shown) group.setAttribute('aria-invalid', 'true');
  else group.removeAttribute('aria-invalid');
  showMessage('permissions-error', shown ? 'Choose at least one permission: a key without any can do nothing.' : null);
}

/**
 * The create request's lifecycle fields from the dialog, or null when no permission is checked
 * (said inline, focus on the first checkbox).
 * @returns {CreateFields | null}
 */
function readCreateFields() {
  /** @type {CreateFields} */
  const fields = {};
  if (!$('expiry-field').hidden) {
    const seconds = byId('key-expiry', HTMLSelectElement).value;
    if (seconds) fields.expiresIn = Number(seconds);
  }
  if (!$('permission-fields').hidden) {
    const boxes = permissionBoxes();
    const checked = boxes.filter((box) => box.checked).map((box) => box.value);
    if (checked.length === 0) {
      showPermissionsError(true);
      boxes[0]?.focus();
      return null;
    }
    showPermissionsError(false);
    fields.permissions = checked;
  }
  return fields;
}

/**
 * The rate limit typed into the name dialog: undefined when the dialog does not ask for one, null
 * when both fields are empty, or the field to fix and why.
 * @returns {{ limit: RateLimit | null | undefined } | { field: HTMLInputElement, message: string }}
 */
function readRateLimit() {
  if ($('rate-fields').hidden) return { limit: undefined };
  const [requests, seconds] = rateInputs();
  const [r, w] = [requests.value.trim(), seconds.value.trim()];
  if (r === '' && w === '') return { limit: null };
  const whole = (/** @type {string} */ text) => /^[1-9][0-9]{0,9}$/.test(text);
  if (!whole(r))
    return {
      field: requests,
      message: 'Give the rate limit a number of requests (a whole number, at least 1), or leave both fields empty.',
    };
  if (!whole(w))
    return { field: seconds, message: 'Give the rate limit a window in seconds (a whole number, at least 1), or leave both fields empty.' };
  return { limit: { requests: Number(r), windowSeconds: Number(w) } };
}

/**
 * What a refused save says in the dialog: the API's message and the fields it names; the fields
 * it names are marked invalid.
 * @param {ApiFailure} err
 */
function refusal(err) {
  const rate = err.fields.some((f) => f.field.startsWith('rateLimit'));
  if (rate) for (const field of rateInputs()) field.setAttribute('aria-invalid', 'true');
  if (err.fields.some((f) => f.field.startsWith('expires'))) byId('key-expiry', HTMLSelectElement).setAttribute('aria-invalid', 'true');
  if (err.fields.some((f) => f.field.startsWith('permissions'))) $('permission-fields').setAttribute('aria-invalid', 'true');
  const fields = err.fields.map((f) => `${FIELD_NAMES[f.field.split('.')[0] ?? ''] ?? f.field}: ${f.message}`);
  return [sentence(err.message), ...fields.map(sentence)].join(' ');
}

/** The dialog's words for the body fields an API refusal names. @type {Record<string, string>} */
const FIELD_NAMES = { name: 'Name', rateLimit: 'Rate limit', expiresIn: 'Expires', expiresAt: 'Expires', permissions: 'Permissions' };

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
  for (const field of rateInputs()) field.removeAttribute('aria-invalid');
  byId('key-expiry', HTMLSelectElement).removeAttribute('aria-invalid');
  showMessage('name-error', null);
  const fields = readCreateFields();
  if (fields === null) return;
  const rate = readRateLimit();
  if ('field' in rate) {
    rate.field.setAttribute('aria-invalid', 'true');
    showMessage('name-error', rate.message);
    rate.field.focus();
    return;
  }
  showMessage('name-error', null);
  submit.disabled = true;
  try {
    const save = nameSave;
    dialog.setAttribute('aria-busy', 'true');
    if (dialog.open) {
      const outcome = await save(name, rate.limit, fields);
      if (dialog.open) dialog.close();
      if (outcome) toast(outcome);
    }
  } catch (err) {
    if (err instanceof SessionEnded) return;
    if (err instanceof DialogError) showMessage('name-error', err.message);
    else if (err instanceof ApiFailure) showMessage('name-error', refusal(err));
    else {
      console.error(err);
      showMessage('name-error', 'Something went wrong in the console.');
    }
    // The first field the refusal named (marked itself or by its group), else the name.
    const invalid = [...rateInputs(), byId('key-expiry', HTMLSelectElement), ...permissionBoxes()].find((field) =>
      field.closest('[aria-invalid="true"]'),
    );
    (invalid ?? input).focus();
  } finally {
    submit.disabled = false;
    dialog.removeAttribute('aria-busy');
  }
}

/**
 * The new key, shown once with Copy buttons, and what to do with it (`advice`: a server secret
 * and a key that ships inside apps are kept differently).
 * @param {{ title: string, clientId: string | null, apiKey: string, keyLabel: string, advice: string, fallback: HTMLElement }} secret
 */
export function showSecret(secret) {
  const dialog = byId('secret-dialog', HTMLDialogElement);
  $('secret-title').textContent = secret.title;
  $('secret-warning').replaceChildren(el('strong', {}, 'This is the only time the API key is shown.'), ' ', secret.advice);
  $('secret-key-label').textContent = secret.keyLabel;
  $('secret-client-row').hidden = secret.clientId === null;
  byId('secret-client-id', HTMLInputElement).value = secret.clientId ?? '';
  byId('secret-key', HTMLInputElement).value = secret.apiKey;
  for (const button of dialog.querySelectorAll('[data-copy]')) button.textContent = 'Copy';
  openDialog(dialog, secret.fallback);
  const first = secret.clientId === null ? dialog.querySelector('[data-copy="secret-key"]') : dialog.querySelector('[data-copy]');
  if (first instanceof HTMLElement) first.focus();
}

/**
 * Puts `text` on the clipboard and says so; when the browser refuses, selects `source` (the field
 * or the text on the page) for Ctrl+C instead.
 * @param {HTMLButtonElement} button @param {string} text @param {string} label @param {HTMLElement} source
 */
export async function copy(button, text, label, source) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
    toast(`${label} copied to the clipboard.`);
  } catch {
    if (source instanceof HTMLInputElement) {
      source.focus();
      source.select();
    } else {
      getSelection()?.selectAllChildren(source);
    }
    toast(`Could not copy: the ${label} is selected, copy it with Ctrl+C (⌘C).`);
  }
}

/** @param {HTMLButtonElement} button */
function copyField(button) {
  const input = byId(button.getAttribute('data-copy') ?? '', HTMLInputElement);
  void copy(button, input.value, input.labels?.[0]?.textContent ?? 'Value', input);
}

/** The change the open confirmation makes; replaced by the next opening. */
/** @type {(() => Promise<string>) | null} */
let confirmRun = null;

/**
 * A confirmation before a destructive action; the action's failure is shown in the dialog, its
 * outcome (what `run` resolves with) announced once the dialog has closed.
 * @param {{ title: string, text: string, ok: string, fallback: HTMLElement, run: () => Promise<string> }} options
 */
export function openConfirm(options) {
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
    const outcome = await confirmRun();
    if (dialog.open) dialog.close();
    toast(outcome);
  } catch (err) {
    if (err instanceof SessionEnded) return;
    showMessage('confirm-error', err instanceof ApiFailure ? sentence(err.message) : 'Something went wrong in the console.');
    if (!(err instanceof ApiFailure)) console.error(err);
    ok.disabled = false;
  }
}

export function wireDialogs() {
  byId('name-form', HTMLFormElement).addEventListener('submit', (e) => void onNameSubmit(e));
  // Said as soon as the last permission is unchecked, gone with the first one checked again.
  for (const box of permissionBoxes())
    box.addEventListener('change', () => showPermissionsError(!permissionBoxes().some((b) => b.checked)));
  $('confirm-ok').addEventListener('click', () => void onConfirm());
  for (const dialog of document.querySelectorAll('dialog')) {
    dialog.addEventListener('close', () => {
      if (dialog.id === 'secret-dialog') {
        // The secret leaves the page with the dialog.
        byId('secret-client-id', HTMLInputElement).value = '';
        byId('secret-key', HTMLInputElement).value = '';
      }
      const status = dialog.querySelector('[data-status]');
      if (status) status.textContent = '';
      onDialogClose(dialog);
    });
    for (const button of dialog.querySelectorAll('[data-close]')) button.addEventListener('click', () => dialog.close());
  }
  for (const button of document.querySelectorAll('[data-copy]')) {
    if (button instanceof HTMLButtonElement) button.addEventListener('click', () => copyField(button));
  }
}
