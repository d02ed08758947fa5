// @ts-check
// Plan & usage: what the organization's plan allows (active keys against its key limit, the request
// budget of the organization and of the projects with one of their own) and the organization's
// usage, whole or of one project. The plan is the admins' to read: anyone else is told so in place.
import { ApiFailure, SessionEnded } from './api.js';
import { orgPath, read, state } from './session.js';
import { $, byId, cell, el, showFailure, showMessage } from './ui.js';
import { formatRateLimit, usagePanel } from './usage.js';
import { count } from './usage-chart.js';

/**
 * @typedef {import('./usage.js').RateLimit} RateLimit
 * @typedef {{ keyLimit: number, activeKeys: number, rateLimit: RateLimit, projects: Array<{ projectId: string, rateLimit: RateLimit }> }} Limits
 */

/** Bumped by every load and clear: an answer for an older one is dropped. */
let seq = 0;

/** The project whose usage is shown, or '' for the whole organization. */
function scope() {
  return byId('usage-scope', HTMLSelectElement).value;
}

const usage = usagePanel({
  id: 'org-usage',
  subject: () => (scope() ? `project ${scope()}` : (state.org ?? 'the organization')),
  path: () => (state.org ? `${orgPath()}/usage` : null),
  query: () => {
    /** @type {Record<string, string>} */
    const query = {};
    if (scope()) query.projectId = scope();
    return query;
  },
});

/** Shown by the Plan & usage tab: the plan, the choice of project, the usage. */
export function loadPlan() {
  const mine = ++seq;
  void loadLimits(mine);
  void usage.load();
}

/** @param {number} mine */
async function loadLimits(mine) {
  const facts = $('plan-facts');
  facts.setAttribute('aria-busy', 'true');
  try {
    const [limits, projects] = await Promise.all([
      read('GET', `${orgPath()}/limits`),
      read('GET', `${orgPath()}/projects`).catch(() => ({ data: [] })),
    ]);
    if (mine !== seq) return;
    showMessage('plan-error', null);
    showLimits(limits);
    showScopes([...limits.projects.map((/** @type {{ projectId: string }} */ p) => p.projectId), ...projectIds(projects)]);
  } catch (err) {
    if (mine !== seq || err instanceof SessionEnded) return;
    emptyLimits();
    if (err instanceof ApiFailure && err.status === 403) {
      showMessage('plan-error', 'The plan of the organization is for its admins: ask one, or sign in with an admin token.');
    } else {
      showFailure(err, 'plan-error');
    }
  } finally {
    if (mine === seq) facts.removeAttribute('aria-busy');
  }
}

/** @param {{ data?: Array<{ projectId: string }> }} body */
function projectIds(body) {
  return (body.data ?? []).map((p) => p.projectId);
}

/** @param {Limits} limits */
function showLimits(limits) {
  const meter = byId('plan-keys-meter', HTMLMeterElement);
  meter.max = Math.max(1, limits.keyLimit);
  meter.value = Math.min(limits.activeKeys, meter.max);
  meter.high = meter.max * 0.8;
  meter.hidden = false;
  const left = Math.max(0, limits.keyLimit - limits.activeKeys);
  $('plan-keys').textContent = `${count.format(limits.activeKeys)} of ${count.format(limits.keyLimit)}`;
  $('plan-keys-left').textContent =
    left === 0
      ? 'The limit is reached: new keys are refused until you revoke or delete keys you no longer use.'
      : `${count.format(left)} more can be created.`;
  $('plan-rate').textContent = formatRateLimit(limits.rateLimit);
  byId('plan-projects-table', HTMLTableElement).tBodies[0]?.replaceChildren(
    ...limits.projects.map((project) =>
      el('tr', {}, cell('Project', [el('code', {}, project.projectId)]), cell('Request budget', [formatRateLimit(project.rateLimit)])),
    ),
  );
  $('plan-projects-empty').hidden = limits.projects.length > 0;
}

function emptyLimits() {
  $('plan-keys').textContent = '—';
  $('plan-keys-left').textContent = '';
  $('plan-keys-meter').hidden = true;
  $('plan-rate').textContent = '—';
  byId('plan-projects-table', HTMLTableElement).tBodies[0]?.replaceChildren();
  $('plan-projects-empty').hidden = true;
}

/** The choices of whose usage to show: the organization, then each project known, once. @param {string[]} ids */
function showScopes(ids) {
  const select = byId('usage-scope', HTMLSelectElement);
  const current = select.value;
  const unique = [...new Set(ids)].sort();
  select.replaceChildren(
    el('option', { value: '' }, 'The whole organization'),
    ...unique.map((id) => el('option', { value: id }, `Project ${id}`)),
  );
  select.value = unique.includes(current) ? current : '';
}

/** Empties the view (sign-out). */
export function clearPlan() {
  seq++;
  emptyLimits();
  showMessage('plan-error', null);
  const select = byId('usage-scope', HTMLSelectElement);
  select.replaceChildren(el('option', { value: '' }, 'The whole organization'));
  usage.clear();
  usage.reset();
}

export function wirePlan() {
  $('org-usage-panel').replaceWith(usage.root);
  byId('usage-scope', HTMLSelectElement).addEventListener('change', () => void usage.load());
}
