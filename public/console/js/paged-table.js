// @ts-check
// A card with a table of a cursor-paged list (project keys, the audit log): page size, filters,
// Previous / Next over the API's `lastKey`, its empty and error messages, and answers that arrive
// after the user moved on dropped.
import { call } from './session.js';
import { $, byId, showFailure, showMessage } from './ui.js';

/**
 * @template T
 * @typedef {object} PagedTableOptions
 * @property {string} table id of the <table>
 * @property {string} empty id of the message shown when the page is empty
 * @property {string} error id of the error message
 * @property {string} pager prefix of the pager's ids: `${pager}-prev`, `${pager}-next`, `${pager}-page`
 * @property {string} pageSize id of the page-size <select>
 * @property {string[]} [filters] ids of <select>s whose change starts again at page 1
 * @property {() => string} path the list's path, without its query
 * @property {() => Record<string, string>} [query] the filters' query parameters
 * @property {(item: T, index: number, items: T[]) => HTMLElement} row one row of the table (`items`: the whole page)
 * @property {() => string} [emptyText] what the empty message says, when it depends on the filters
 * @property {() => void} [before] runs before each load
 * @property {(err: unknown) => boolean} [failed] handles a failure itself (true) or leaves it to the card
 */

/**
 * @template T
 * @param {PagedTableOptions<T>} options
 */
export function pagedTable(options) {
  /** The cursor of each page seen so far (null: the first), the page shown, the next page's cursor. */
  let cursors = /** @type {Array<string | null>} */ ([null]);
  let index = 0;
  let next = /** @type {string | null} */ (null);
  /** Bumped by every load and clear: an answer for an older one is dropped. */
  let seq = 0;

  const table = () => byId(options.table, HTMLTableElement);

  function reset() {
    cursors = [null];
    index = 0;
    next = null;
  }

  /** Empties the card and forgets the pages (sign-out, another project). */
  function clear() {
    reset();
    seq++;
    table().tBodies[0]?.replaceChildren();
    $(options.empty).hidden = true;
    showMessage(options.error, null);
  }

  function updatePager() {
    byId(`${options.pager}-prev`, HTMLButtonElement).disabled = index === 0;
    byId(`${options.pager}-next`, HTMLButtonElement).disabled = next === null;
    $(`${options.pager}-page`).textContent = `Page ${index + 1}`;
  }

  async function load() {
    const mine = ++seq;
    const node = table();
    const query = new URLSearchParams({ limit: byId(options.pageSize, HTMLSelectElement).value, ...options.query?.() });
    const cursor = cursors[index];
    if (cursor) query.set('lastKey', cursor);
    options.before?.();
    node.setAttribute('aria-busy', 'true');
    try {
      const body = await call('GET', `${options.path()}?${query}`);
      if (mine !== seq) return;
      /** @type {T[]} */
      const items = body.data;
      if (items.length === 0 && index > 0) {
        // The last entry of this page went away: show the page before it.
        index--;
        return void load();
      }
      showMessage(options.error, null);
      next = body.pagination.lastKey;
      node.tBodies[0]?.replaceChildren(...items.map(options.row));
      const empty = $(options.empty);
      if (options.emptyText) empty.textContent = options.emptyText();
      empty.hidden = items.length > 0;
      updatePager();
    } catch (err) {
      if (mine !== seq) return;
      if (options.failed?.(err)) return;
      showFailure(err, options.error);
    } finally {
      node.removeAttribute('aria-busy');
    }
  }

  /** Previous / Next, and filters and page size that start again at page 1. */
  function wire() {
    $(`${options.pager}-prev`).addEventListener('click', () => {
      if (index === 0) return;
      index--;
      void load();
    });
    $(`${options.pager}-next`).addEventListener('click', () => {
      if (next === null) return;
      cursors[index + 1] = next;
      index++;
      void load();
    });
    for (const id of [...(options.filters ?? []), options.pageSize]) {
      $(id).addEventListener('change', () => {
        reset();
        void load();
      });
    }
  }

  return { load, reset, clear, wire };
}
