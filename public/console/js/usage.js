// @ts-check
// Usage: a panel that shows one usage series of the API (a key's, an organization's, a project's)
// for the last 24 hours by hour or the last 30 days by day, as a chart, as totals in words and as a
// table of every bucket; and the dialog that opens it for one key of either kind.
import { openDialog } from './dialogs.js';
import { read } from './session.js';
import { cell, el, showFailure } from './ui.js';
import { bucketLabel, count, destroyChart, drawChart } from './usage-chart.js';

/** @typedef {import('./usage-chart.js').Bucket} Bucket */
/** @typedef {import('./usage-chart.js').Granularity} Granularity */
/** @typedef {{ requests: number, windowSeconds: number }} RateLimit */

/** The two periods: granularity, how many buckets back from the current one, and how they read. */
const PERIODS = /** @type {const} */ ({
  hour: { label: 'Last 24 hours', within: 'in the last 24 hours', buckets: 24, ms: 3_600_000, column: 'Hour starting' },
  day: { label: 'Last 30 days', within: 'in the last 30 days', buckets: 30, ms: 86_400_000, column: 'Day (UTC)' },
});

/**
 * The query of a period ending with the current bucket: from the start of the bucket 23 hours
 * (29 days) before it to the end of it (exclusive), so the answer has 24 (30) buckets, the current
 * one counted so far included; days are UTC days.
 * @param {Granularity} granularity @param {number} [now]
 */
export function periodQuery(granularity, now = Date.now()) {
  const { buckets, ms } = PERIODS[granularity];
  const current = Math.floor(now / ms) * ms;
  return new URLSearchParams({
    granularity,
    from: new Date(current - (buckets - 1) * ms).toISOString(),
    to: new Date(current + ms).toISOString(),
  });
}

/** "100 per 60 s", "5,000 per 1 h", or "—" for no budget of its own. @param {RateLimit | null | undefined} limit */
export function formatRateLimit(limit) {
  if (!limit) return '—';
  return `${count.format(limit.requests)} per ${formatWindow(limit.windowSeconds)}`;
}

/** @param {number} seconds */
function formatWindow(seconds) {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${count.format(seconds / 3600)} h`;
  if (seconds > 120 && seconds % 60 === 0) return `${count.format(seconds / 60)} min`;
  return `${count.format(seconds)} s`;
}

/** @param {number} n @param {string} one @param {string} many */
function plural(n, one, many) {
  return `${count.format(n)} ${n === 1 ? one : many}`;
}

/**
 * One usage panel: the period switch, the totals in words (a status line, so a new period is
 * announced), the chart and the table of buckets. `path` is the usage route without its query;
 * `query` adds parameters of its own (a project).
 * @param {{ id: string, subject: () => string, path: () => string | null, query?: () => Record<string, string> }} options
 */
export function usagePanel(options) {
  const { id } = options;
  /** Bumped by every load and clear: an answer for an older one is dropped. */
  let seq = 0;
  /** @type {Granularity} */
  let granularity = 'hour';

  const radios = /** @type {Granularity[]} */ (['hour', 'day']).map((value) => {
    const input = /** @type {HTMLInputElement} */ (
      el('input', { type: 'radio', name: `${id}-period`, value, id: `${id}-${value}`, checked: value === granularity })
    );
    input.addEventListener('change', () => {
      if (!input.checked) return;
      granularity = value;
      void load();
    });
    return el('label', { for: input.id, class: 'segment' }, input, ' ', PERIODS[value].label);
  });
  const summary = el('p', { class: 'usage-summary', role: 'status', id: `${id}-summary` });
  const error = el('p', { class: 'notice error', role: 'alert', id: `${id}-error`, hidden: true });
  const chart = el('div', { class: 'chart', role: 'img', id: `${id}-chart` });
  const caption = el('caption', { class: 'visually-hidden' });
  const head = el('tr');
  const body = el('tbody');
  const tableBox = el(
    'details',
    { class: 'usage-table' },
    el('summary', {}, 'Show the numbers'),
    el('div', { class: 'table-wrap' }, el('table', {}, caption, el('thead', {}, head), body)),
  );
  const root = el(
    'div',
    { class: 'usage', id },
    el('fieldset', { class: 'segmented' }, el('legend', { class: 'visually-hidden' }, 'Period'), ...radios),
    summary,
    error,
    el('figure', { class: 'chart-figure' }, chart),
    tableBox,
    el('p', { class: 'help' }, 'Counted per minute; the last minute can take up to a minute to appear.'),
  );

  /** Empties the panel: nothing of the last subject stays (a closed dialog, a sign-out). */
  function clear() {
    seq++;
    destroyChart(chart);
    summary.textContent = '';
    error.hidden = true;
    body.replaceChildren();
    head.replaceChildren();
    root.removeAttribute('aria-busy');
  }

  /** Back to the default period, for the next subject. */
  function reset() {
    granularity = 'hour';
    for (const label of radios) {
      const input = label.querySelector('input');
      if (input) input.checked = input.value === granularity;
    }
  }

  async function load() {
    const path = options.path();
    if (path === null) return;
    const mine = ++seq;
    const period = PERIODS[granularity];
    const shown = granularity;
    const query = periodQuery(shown);
    for (const [name, value] of Object.entries(options.query?.() ?? {})) query.set(name, value);
    root.setAttribute('aria-busy', 'true');
    summary.textContent = `Loading the usage of ${options.subject()}…`;
    error.hidden = true;
    error.textContent = '';
    try {
      const answer = await read('GET', `${path}?${query}`);
      if (mine !== seq) return;
      /** @type {Bucket[]} */
      const buckets = answer.data;
      const requests = buckets.reduce((total, bucket) => total + bucket.requests, 0);
      const limited = buckets.reduce((total, bucket) => total + bucket.rateLimited, 0);
      summary.textContent = `${plural(requests, 'request', 'requests')} · ${count.format(limited)} rate-limited ${period.within}`;
      chart.setAttribute(
        'aria-label',
        `Chart of the requests and rate-limited requests of ${options.subject()} per ${shown}, ${period.label.toLowerCase()}`,
      );
      drawChart(chart, buckets, shown);
      caption.textContent = `Requests of ${options.subject()} per ${shown}, ${period.label.toLowerCase()}`;
      head.replaceChildren(
        el('th', { scope: 'col' }, period.column),
        el('th', { scope: 'col' }, 'Requests'),
        el('th', { scope: 'col' }, 'Rate-limited'),
      );
      body.replaceChildren(
        ...buckets.map((bucket) =>
          el(
            'tr',
            {},
            cell(period.column, [el('time', { datetime: bucket.start }, bucketLabel(shown, Date.parse(bucket.start)))]),
            cell('Requests', [count.format(bucket.requests)]),
            cell('Rate-limited', [count.format(bucket.rateLimited)]),
          ),
        ),
      );
    } catch (err) {
      if (mine !== seq) return;
      destroyChart(chart);
      body.replaceChildren();
      summary.textContent = '';
      showFailure(err, error.id);
    } finally {
      if (mine === seq) root.removeAttribute('aria-busy');
    }
  }

  return { root, load, clear, reset };
}

/** The key usage dialog's panel; its subject and path change with the key it shows. */
let dialogKey = { subject: '', path: '' };
const keyUsage = usagePanel({ id: 'key-usage', subject: () => dialogKey.subject, path: () => dialogKey.path || null });

/**
 * Opens the usage of one key in the usage dialog, last 24 hours first.
 * @param {{ name: string, path: string, rateLimit: RateLimit | null | undefined, budget: string, fallback: HTMLElement }} key
 *   `path`: the key's usage route; `budget`: what limits the key when it has no budget of its own
 */
export function openKeyUsage(key) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('usage-dialog'));
  dialogKey = { subject: `“${key.name}”`, path: key.path };
  const title = document.getElementById('usage-title');
  if (title) title.textContent = `Usage of “${key.name}”`;
  const limit = document.getElementById('usage-limit');
  if (limit) {
    limit.textContent = key.rateLimit
      ? `Rate limit of this key: ${formatRateLimit(key.rateLimit)}, within ${key.budget}.`
      : `This key has no rate limit of its own: ${key.budget} applies.`;
  }
  keyUsage.clear();
  keyUsage.reset();
  openDialog(dialog, key.fallback);
  const first = dialog.querySelector('input[type="radio"]:checked');
  if (first instanceof HTMLElement) first.focus();
  void keyUsage.load();
}

/** Puts the key usage panel into its dialog; what it showed goes when the dialog closes. */
export function wireUsage() {
  document.getElementById('usage-panel')?.replaceWith(keyUsage.root);
  document.getElementById('usage-dialog')?.addEventListener('close', () => {
    keyUsage.clear();
    dialogKey = { subject: '', path: '' };
  });
}
