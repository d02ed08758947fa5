// @ts-check
// Usage charts: requests and rate-limited requests per hour or per day, drawn by uPlot (vendored in
// vendor/uplot, loaded by index.html before the console). uPlot draws on a canvas and sets styles
// through CSSOM only, so it runs under the CSP's Trusted Types with no policy. Its legend is a table
// the console's narrow layout would take apart, so it is off: the legend below the chart is built
// here with DOM nodes (totals, or the values of the bucket under the cursor). The canvas says
// nothing to a screen reader: the panel around it (usage.js) says the totals in words and lists
// every bucket in a table.
import { el } from './ui.js';

/** @typedef {{ start: string, requests: number, rateLimited: number }} Bucket */
/** @typedef {'hour' | 'day'} Granularity */

/** The colours of the console's stylesheet (--primary, --danger, --line, --muted): a canvas reads no CSS. */
const COLORS = { requests: '#1d4ed8', requestsFill: 'rgba(29, 78, 216, 0.12)', limited: '#b42318', grid: '#dde1e6', axis: '#5b6470' };
const HEIGHT = 220;
/** Narrower than this the axes crowd the plot out; the dialog and the card are never narrower. */
const MIN_WIDTH = 240;

export const count = new Intl.NumberFormat();
const hourFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

/**
 * How a bucket's start reads: hours in the viewer's time, days as the UTC days Keygate counts.
 * @param {Granularity} granularity @param {number} ms
 */
export function bucketLabel(granularity, ms) {
  return granularity === 'hour' ? hourFormat.format(ms) : dayFormat.format(ms);
}

/** The uPlot constructor that vendor/uplot/uPlot.iife.min.js defines. */
function uPlotClass() {
  const uPlot = /** @type {{ uPlot?: typeof import('uplot') }} */ (/** @type {unknown} */ (globalThis)).uPlot;
  if (!uPlot) throw new Error('uPlot did not load (/console/vendor/uplot/uPlot.iife.min.js)');
  return uPlot;
}

/**
 * The chart drawn in each container, with the observer that keeps it as wide as its container;
 * gone with destroyChart (a closed dialog, another period, a sign-out).
 * @type {WeakMap<HTMLElement, { plot: import('uplot'), observer: ResizeObserver }>}
 */
const charts = new WeakMap();

/** Removes the chart of `container`, if any, and what uPlot attached to the page. @param {HTMLElement} container */
export function destroyChart(container) {
  const chart = charts.get(container);
  if (chart) {
    chart.observer.disconnect();
    chart.plot.destroy();
    charts.delete(container);
  }
  container.replaceChildren();
  for (const name of ['requestsTotal', 'rateLimitedTotal', 'points', 'granularity']) delete container.dataset[name];
}

/** @param {number[]} values */
const sum = (values) => values.reduce((total, value) => total + value, 0);

/**
 * The legend: each series' swatch, name and value (the total, or the bucket's under the cursor)
 * and which bucket that is.
 * @param {Granularity} granularity @param {number[]} xs @param {number[]} requests @param {number[]} limited
 */
function legend(granularity, xs, requests, limited) {
  const when = el('span', { class: 'legend-when' });
  const requestsValue = el('strong');
  const limitedValue = el('strong');
  const node = el(
    'p',
    { class: 'chart-legend' },
    el('span', {}, el('span', { class: 'swatch requests' }), ' Requests ', requestsValue),
    el('span', {}, el('span', { class: 'swatch limited' }), ' Rate-limited ', limitedValue),
    when,
  );
  /** @param {number | null | undefined} idx the bucket under the cursor, or none for the totals */
  const show = (idx) => {
    const at = idx === null || idx === undefined ? null : idx;
    requestsValue.textContent = count.format(at === null ? sum(requests) : (requests[at] ?? 0));
    limitedValue.textContent = count.format(at === null ? sum(limited) : (limited[at] ?? 0));
    when.textContent = at === null ? 'in total' : `at ${bucketLabel(granularity, (xs[at] ?? 0) * 1000)}`;
  };
  show(null);
  return { node, show };
}

/** A y range from 0 to a little above the highest count, at least 0–5 so a quiet key shows a flat line. @param {number} max */
function yRange(max) {
  return /** @type {[number, number]} */ ([0, Math.max(5, Math.ceil(max * 1.15))]);
}

/** Whole numbers only on the y axis: a request is never halved. */
const Y_STEPS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 2.5e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7,
];

/**
 * Draws `buckets` in `container` (replacing its chart): x the start of each bucket, one series of
 * requests, one of rate-limited requests. The plotted totals and the number of points are written to
 * the container's data-requests-total, data-rate-limited-total and data-points, read back from uPlot.
 * @param {HTMLElement} container
 * @param {Bucket[]} buckets
 * @param {Granularity} granularity
 */
export function drawChart(container, buckets, granularity) {
  destroyChart(container);
  const uPlot = uPlotClass();
  const xs = buckets.map((bucket) => Date.parse(bucket.start) / 1000);
  const requests = buckets.map((bucket) => bucket.requests);
  const limited = buckets.map((bucket) => bucket.rateLimited);
  /** @type {import('uplot').AlignedData} */
  const data = [xs, requests, limited];
  /** @type {import('uplot').Options} */
  const options = {
    width: Math.max(MIN_WIDTH, container.clientWidth),
    height: HEIGHT,
    // Hours in the viewer's time zone; days are UTC days, so they are drawn as such.
    tzDate: granularity === 'hour' ? (ts) => new Date(ts * 1000) : (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false }, points: { size: 7 } },
    legend: { show: false },
    hooks: { setCursor: [(u) => key.show(u.cursor.idx)] },
    scales: { x: { time: true }, y: { range: (_, _min, max) => yRange(max) } },
    axes: [
      { stroke: COLORS.axis, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid, width: 1 } },
      {
        stroke: COLORS.axis,
        grid: { stroke: COLORS.grid, width: 1 },
        ticks: { stroke: COLORS.grid, width: 1 },
        incrs: Y_STEPS,
        values: (_, splits) => splits.map((value) => count.format(value)),
        size: 56,
      },
    ],
    series: [
      { label: granularity === 'hour' ? 'Hour' : 'Day (UTC)' },
      { label: 'Requests', stroke: COLORS.requests, fill: COLORS.requestsFill, width: 2, points: { show: true, size: 5 } },
      { label: 'Rate-limited', stroke: COLORS.limited, width: 2, points: { show: true, size: 5 } },
    ],
  };
  const key = legend(granularity, xs, requests, limited);
  const plot = new uPlot(options, data, container);
  container.append(key.node);
  // What uPlot holds, not what was handed to it: the data attributes describe the drawn chart.
  const [, plotted, plottedLimited] = /** @type {number[][]} */ (plot.data);
  container.dataset.requestsTotal = String(sum(plotted ?? []));
  container.dataset.rateLimitedTotal = String(sum(plottedLimited ?? []));
  container.dataset.points = String(plot.data[0].length);
  container.dataset.granularity = granularity;
  let width = container.clientWidth;
  const observer = new ResizeObserver(() => {
    if (container.clientWidth === width || container.clientWidth === 0) return;
    width = container.clientWidth;
    plot.setSize({ width: Math.max(MIN_WIDTH, width), height: HEIGHT });
  });
  observer.observe(container);
  charts.set(container, { plot, observer });
}
