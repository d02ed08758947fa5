// @ts-check
// Building the page: elements from the DOM API only (no innerHTML, so the CSP's Trusted Types never
// see a string), table cells, dates, and the messages every section shows (errors, the toast).
import { ApiFailure, RESOURCE_ID, SessionEnded } from './api.js';

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing`);
  return node;
}
export const $ = (/** @type {string} */ id) => byId(id, HTMLElement);

/**
 * Builds an element: `props` are attributes (`class`, `data-*`, aria-*, ...) or `on<event>`
 * listeners; children are nodes or text.
 * @param {string} tag
 * @param {Record<string, string | boolean | ((event: Event) => void) | undefined>} [props]
 * @param {Array<Node | string | null | undefined>} children
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, ...children) {
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
export function time(iso, never = 'Never') {
  if (!iso) return never;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return el('time', { datetime: iso, title: iso }, dateFormat.format(date));
}

/**
 * A table cell with its column name for the narrow layout (one block per row, the name beside
 * the value): the value is one node, so it stays in one grid column. Nulls (a note a row does
 * not have) are left out.
 * @param {string} label @param {Array<Node | string | null>} parts @param {string} [cls]
 */
export function cell(label, parts, cls) {
  const content = parts.filter((part) => part !== null);
  const value = content.length === 1 || cls === 'row-actions' ? content : [el('span', {}, ...content)];
  return el('td', { 'data-label': label, class: cls }, ...value);
}

/** Shows `text` in a message element, or hides it for null. @param {string} id @param {string | null} text */
export function showMessage(id, text) {
  const node = $(id);
  node.textContent = text ?? '';
  node.hidden = text === null;
}

/** @param {string} text */
export function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** An API message as a sentence of its own. @param {string} text */
export function sentence(text) {
  return `${capitalize(text)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

/**
 * Shows a failure of a load or an action: nothing for a session that already ended.
 * @param {unknown} err @param {string} messageId @param {string} [extra]
 */
export function showFailure(err, messageId, extra = '') {
  if (err instanceof SessionEnded) return;
  const message = err instanceof ApiFailure ? err.message : 'Something went wrong in the console.';
  showMessage(messageId, `${sentence(message)}${extra ? ` ${extra}` : ''}`);
  if (!(err instanceof ApiFailure)) console.error(err);
}

/**
 * The organization or project id typed into `input`, or null when it does not match the
 * contract's pattern: then the field is marked invalid, `messageId` says why and focus goes back.
 * @param {HTMLInputElement} input @param {string} messageId @param {string} what e.g. "A project ID"
 * @returns {string | null}
 */
export function readId(input, messageId, what) {
  const id = input.value.trim();
  if (!RESOURCE_ID.test(id)) {
    input.setAttribute('aria-invalid', 'true');
    showMessage(messageId, `${what} is 1–64 characters: letters, digits, _ and -.`);
    input.focus();
    return null;
  }
  input.removeAttribute('aria-invalid');
  showMessage(messageId, null);
  return id;
}

/** Cleared by the next toast, a sign-out, or after six seconds. */
let toastTimer = 0;

/**
 * Announces the outcome of an action (role=status). While a modal dialog is open the page behind
 * it is inert, so the message goes into the dialog's own status line, below its fields, instead
 * of the floating toast: it is heard, and it never covers what the dialog shows.
 * @param {string} text
 */
export function toast(text) {
  clearToast();
  const node = document.querySelector('dialog[open] [data-status]') ?? $('toast');
  node.textContent = text;
  toastTimer = window.setTimeout(clearToast, 6000);
}

/** Takes every outcome message off the page (sign-out, session end). */
export function clearToast() {
  clearTimeout(toastTimer);
  for (const node of document.querySelectorAll('#toast, [data-status]')) node.textContent = '';
}
