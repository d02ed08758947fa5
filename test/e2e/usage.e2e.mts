// Rate limits and usage in the console, in a real browser against a real local service: real
// requests through the gateway with an organization key and a project key, their counts read back
// from the usage API, then the same counts in the console's charts (uPlot, vendored), totals and
// tables; the plan against the organization's key limit and budget. uPlot runs under the console's
// CSP with Trusted Types: no violation may be reported.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/wrangler.mjs';
import {
  adminToken,
  api,
  clipboardText,
  expectClean,
  launchBrowser,
  newContext,
  openConsole,
  type Service,
  screenshot,
  signIn,
  startService,
} from './support/harness.mjs';

/** An organization with a plan of its own: 6 keys, 200 requests a minute; project web 50 a minute. */
const ORG = 'e2e-usage';
const NOW = '2026-01-01T00:00:00.000Z';
const SEED = [
  `INSERT INTO organizations (id, key_limit, rate_limit_requests, rate_limit_window_seconds, created_at, updated_at) VALUES ('${ORG}', 6, 200, 60, '${NOW}', '${NOW}')`,
  `INSERT INTO projects (organization_id, project_id, rate_limit_requests, rate_limit_window_seconds, created_at, updated_at) VALUES ('${ORG}', 'web', 50, 60, '${NOW}', '${NOW}')`,
].join('; ');

const ACCESS_PROBE = '401 /v1/keys';
/** How long usage may take to reach the API: the service writes counts every USAGE_FLUSH_SECONDS. */
const USAGE_LAG = { timeout: 30_000, interval: 500 };

type Bucket = { start: string; requests: number; rateLimited: number };

let service: Service;
let browser: Browser;
let admin: Record<string, string>;

beforeAll(async () => {
  service = await startService('usage', { sql: SEED, vars: { USAGE_FLUSH_SECONDS: '1' } });
  browser = await launchBrowser();
  admin = { authorization: `Bearer ${adminToken(service, { org: ORG })}` };
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

async function signedIn() {
  const opened = await openConsole(await newContext(browser, service), service);
  await signIn(opened.page, adminToken(service, { org: ORG }));
  return opened;
}

/** The usage the API reports for `path` (with the console's admin JWT, which is not counted against a key). */
async function usage(path: string, query = '') {
  const res = await api<{ data: Bucket[] }>(service, 'GET', `${path}${query}`, admin);
  expect(res.status, res.text).toBe(200);
  return res.body.data;
}

function totals(buckets: Bucket[]) {
  return {
    requests: buckets.reduce((sum, b) => sum + b.requests, 0),
    rateLimited: buckets.reduce((sum, b) => sum + b.rateLimited, 0),
  };
}

/**
 * The query of the console's periods: the last 24 hours (30 days) are the current hour (UTC day)
 * and the 23 (29) before it, so 24 (30) buckets.
 */
function period(granularity: 'hour' | 'day', extra: Record<string, string> = {}) {
  const ms = granularity === 'hour' ? 3_600_000 : 86_400_000;
  const buckets = granularity === 'hour' ? 24 : 30;
  const current = Math.floor(Date.now() / ms) * ms;
  const from = new Date(current - (buckets - 1) * ms).toISOString();
  return `?${new URLSearchParams({ granularity, from, to: new Date(current + ms).toISOString(), ...extra })}`;
}

/** Waits until the usage API reports `expected` for `path` in the last 24 hours. */
async function untilCounted(path: string, expected: { requests: number; rateLimited: number }) {
  await expect.poll(async () => totals(await usage(path, period('hour'))), { ...USAGE_LAG, message: `usage of ${path}` }).toEqual(expected);
}

/** `count` GETs of `path` with `headers`, one after another; their statuses. */
async function send(count: number, path: string, headers: Record<string, string>) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await api(service, 'GET', path, headers)).status);
  return statuses;
}

/**
 * What the chart in `panel` shows: the totals and point count uPlot was given (its container's data
 * attributes), the canvas size, and how many of its pixels are drawn in each series' colour.
 */
async function chartOf(panel: Locator) {
  const chart = panel.locator('.chart');
  await chart.locator('canvas').waitFor();
  return chart.evaluate((node) => {
    const data = (node as HTMLElement).dataset;
    const canvas = node.querySelector('canvas');
    const pixels = canvas?.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
    const near = (i: number, [r, g, b]: number[]) =>
      Math.abs(pixels[i]! - r!) < 12 && Math.abs(pixels[i + 1]! - g!) < 12 && Math.abs(pixels[i + 2]! - b!) < 12 && pixels[i + 3]! > 200;
    let requests = 0;
    let limited = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (near(i, [0x1d, 0x4e, 0xd8])) requests++;
      if (near(i, [0xb4, 0x23, 0x18])) limited++;
    }
    return {
      requestsTotal: Number(data.requestsTotal),
      rateLimitedTotal: Number(data.rateLimitedTotal),
      points: Number(data.points),
      granularity: data.granularity,
      width: canvas?.width ?? 0,
      height: canvas?.height ?? 0,
      pixels: { requests, limited },
      label: node.getAttribute('aria-label') ?? '',
    };
  });
}

/** The non-zero rows of the panel's table of numbers: [start, requests, rate-limited]. */
async function tableOf(panel: Locator) {
  const rows = await panel.locator('.usage-table tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const [start, requests, limited] = Array.from(
        tr.querySelectorAll('td'),
        (td) => td.querySelector('time')?.dateTime ?? td.textContent,
      );
      return [start ?? '', Number((requests ?? '').replace(/,/g, '')), Number((limited ?? '').replace(/,/g, ''))] as const;
    }),
  );
  return { count: rows.length, used: rows.filter(([, r, l]) => r + l > 0) };
}

/** The non-zero buckets of an API answer, as the table lists them. */
function used(buckets: Bucket[]) {
  return buckets.filter((b) => b.requests + b.rateLimited > 0).map((b) => [b.start, b.requests, b.rateLimited] as const);
}

/** Chooses a period in `panel` and waits for its answer to be drawn. */
async function choosePeriod(panel: Locator, label: 'Last 24 hours' | 'Last 30 days') {
  await panel.getByLabel(label, { exact: true }).check();
  const granularity = label === 'Last 24 hours' ? 'hour' : 'day';
  await expect.poll(() => panel.locator('.chart').getAttribute('data-granularity')).toBe(granularity);
}

/** Asserts that what `panel` shows is exactly the API's answer for the same period. */
async function expectPanelShows(panel: Locator, buckets: Bucket[], within: string) {
  const { requests, rateLimited } = totals(buckets);
  const noun = requests === 1 ? 'request' : 'requests';
  await expect.poll(() => panel.locator('.usage-summary').innerText()).toBe(`${requests} ${noun} · ${rateLimited} rate-limited ${within}`);
  const chart = await chartOf(panel);
  expect(chart).toMatchObject({ requestsTotal: requests, rateLimitedTotal: rateLimited, points: buckets.length });
  expect(chart.width, 'the canvas has a size').toBeGreaterThan(200);
  expect(chart.height).toBeGreaterThan(100);
  if (requests > 0) expect(chart.pixels.requests, 'the requests series is drawn').toBeGreaterThan(50);
  if (rateLimited > 0) expect(chart.pixels.limited, 'the rate-limited series is drawn').toBeGreaterThan(50);
  expect(chart.label).toMatch(/^Chart of the requests and rate-limited requests of /);
  const table = await tableOf(panel);
  expect(table.count, 'one row per bucket').toBe(buckets.length);
  expect(table.used).toEqual(used(buckets));
}

/** Trusted Types are enforced on the page: a string assigned to innerHTML is refused. */
async function expectTrustedTypesEnforced(page: Page) {
  const outcome = await page.evaluate(() => {
    try {
      document.createElement('div').innerHTML = '<b>not a trusted value</b>';
      return 'assigned';
    } catch (err) {
      return (err as Error).name;
    }
  });
  expect(outcome).toBe('TypeError');
}

describe('uPlot, vendored', () => {
  it('is served from /console/vendor/uplot byte for byte as the npm package ships it, under the CSP', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/uplot/package.json'), 'utf8')) as { version: string };
    for (const [served, shipped] of [
      ['uPlot.iife.min.js', 'dist/uPlot.iife.min.js'],
      ['uPlot.min.css', 'dist/uPlot.min.css'],
      ['LICENSE', 'LICENSE'],
    ] as const) {
      const res = await fetch(`${service.url}/console/vendor/uplot/${served}`);
      expect(res.status, served).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("trusted-types 'none'");
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(ROOT, 'node_modules/uplot', shipped))), served).toBe(true);
    }
    expect(readFileSync(join(ROOT, 'public/console/vendor/uplot/uPlot.iife.min.js'), 'utf8')).toContain(`(v${pkg.version})`);
  });
});

describe('a key’s usage', () => {
  it('charts the requests of an organization key through the gateway and the ones refused for its rate limit', async () => {
    const { page, watcher } = await signedIn();

    // Create the key in the console with a rate limit of its own: 5 requests an hour (an hour, so
    // the requests below never straddle a window by chance).
    await page.getByRole('button', { name: 'Create API Key' }).click();
    const dialog = page.locator('#name-dialog');
    const requests = dialog.getByLabel('Requests', { exact: true });
    await dialog.getByLabel('Name', { exact: true }).fill('Metered sync');
    // Only one field of the two: said in the dialog, nothing sent.
    await requests.fill('5');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => dialog.locator('#name-error').innerText()).toContain('Give the rate limit a window in seconds');
    expect(await dialog.getByLabel('Window (seconds)').getAttribute('aria-invalid')).toBe('true');
    // Looser than the organization's 200 a minute: the API's refusal, in the dialog.
    await requests.fill('500');
    await dialog.getByLabel('Window (seconds)').fill('60');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect
      .poll(() => dialog.locator('#name-error').innerText())
      .toBe("Invalid request body. Rate limit: a key's rate limit can only be tighter than its organization's (200 requests per 60 s).");
    expect(await requests.getAttribute('aria-invalid')).toBe('true');
    await requests.fill('5');
    await dialog.getByLabel('Window (seconds)').fill('3600');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = page.locator('#secret-dialog');
    await expect.poll(() => secret.isVisible()).toBe(true);
    await secret.getByRole('button', { name: 'Copy Client ID' }).click();
    const clientId = await clipboardText(page);
    await secret.getByRole('button', { name: 'Copy API Key' }).click();
    const apiKey = await clipboardText(page);
    await secret.getByRole('button', { name: 'Done' }).click();
    const pair = { 'x-metal-client-id': clientId, 'x-metal-api-key': apiKey };

    const listed = await api<{ data: Array<{ id: string; clientId: string; rateLimit: unknown }> }>(service, 'GET', '/v1/keys', admin);
    const key = listed.body.data.find((k) => k.clientId === clientId);
    expect(key?.rateLimit, 'the budget set in the dialog').toEqual({ requests: 5, windowSeconds: 3600 });
    const row = page.locator(`#org-keys-table tbody tr[data-id="${key?.id}"]`);
    await expect.poll(() => row.locator('td[data-label="Rate limit"]').innerText()).toBe('5 per 1 h');

    // Eight real requests through the gateway: five pass, three are refused for the key's budget.
    const statuses = await send(8, '/v1/companies', pair);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const path = `/v1/keys/${key?.id}/usage`;
    await untilCounted(path, { requests: 5, rateLimited: 3 });

    // The console draws what the API reports, by hour and by day.
    await row.getByRole('button', { name: 'Usage of Metered sync' }).click();
    const usageDialog = page.locator('#usage-dialog');
    await expect.poll(() => usageDialog.isVisible()).toBe(true);
    expect(await usageDialog.getByRole('heading').innerText()).toBe('Usage of “Metered sync”');
    expect(await usageDialog.locator('#usage-limit').innerText()).toContain('Rate limit of this key: 5 per 1 h');
    const panel = usageDialog.locator('#key-usage');
    expect(await panel.getByLabel('Last 24 hours', { exact: true }).isChecked(), 'the last 24 hours first').toBe(true);
    const hourly = await usage(path, period('hour'));
    expect(hourly).toHaveLength(24);
    await expectPanelShows(panel, hourly, 'in the last 24 hours');
    await panel.getByText('Show the numbers').click();
    await screenshot(page, 'usage-key-hours');

    await choosePeriod(panel, 'Last 30 days');
    const daily = await usage(path, period('day'));
    expect(daily).toHaveLength(30);
    await expectPanelShows(panel, daily, 'in the last 30 days');
    await screenshot(page, 'usage-key-days');

    await choosePeriod(panel, 'Last 24 hours');
    await expectPanelShows(panel, hourly, 'in the last 24 hours');
    await usageDialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => usageDialog.isVisible()).toBe(false);
    expect(await panel.locator('canvas').count(), 'the chart goes with the dialog').toBe(0);

    // uPlot drew all of this without a CSP or Trusted Types violation, and they are enforced.
    await expectClean(watcher, [ACCESS_PROBE, '400 /v1/keys']);
    await expectTrustedTypesEnforced(page);
  });

  it('charts the requests of a project key on the client routes', async () => {
    const project = 'web';
    const base = `/app/v1/organizations/${ORG}/projects/${project}/api-keys`;
    const created = await api<{ id: string; key: string }>(service, 'POST', base, admin, { name: 'Web app (usage)' });
    expect(created.status, created.text).toBe(201);
    const statuses = await send(4, `/api/v1/organizations/${ORG}/projects/${project}/content`, { 'x-api-key': created.body.key });
    expect(statuses).toEqual([200, 200, 200, 200]);
    const path = `${base}/${created.body.id}/usage`;
    await untilCounted(path, { requests: 4, rateLimited: 0 });

    const { page, watcher } = await signedIn();
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Project ID').fill(project);
    await page.getByRole('button', { name: 'Open project' }).click();
    const row = page.locator(`#project-keys-table tbody tr[data-id="${created.body.id}"]`);
    await expect.poll(() => row.locator('td[data-label="Rate limit"]').innerText()).toBe('—');
    await row.getByRole('button', { name: 'Usage of Web app (usage)' }).click();
    const panel = page.locator('#usage-dialog #key-usage');
    await expectPanelShows(panel, await usage(path, period('hour')), 'in the last 24 hours');
    expect(await page.locator('#usage-limit').innerText()).toContain('no rate limit of its own');
    await screenshot(page, 'usage-project-key');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#usage-dialog').isVisible()).toBe(false);
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('Plan & usage', () => {
  it('shows the keys against the key limit, the budgets, and the organization’s usage, whole or per project', async () => {
    // Usage of its own, so the test stands alone: one organization key, two requests.
    const created = await api<{ data: { id: string; clientId: string; apiKey: string } }>(service, 'POST', '/v1/keys', admin, {
      name: 'Plan test',
    });
    expect(created.status, created.text).toBe(201);
    const pair = { 'x-metal-client-id': created.body.data.clientId, 'x-metal-api-key': created.body.data.apiKey };
    expect(await send(2, '/v1/companies', pair)).toEqual([200, 200]);
    await untilCounted(`/v1/keys/${created.body.data.id}/usage`, { requests: 2, rateLimited: 0 });

    const limits = await api<{ keyLimit: number; activeKeys: number; rateLimit: unknown; projects: unknown[] }>(
      service,
      'GET',
      `/app/v1/organizations/${ORG}/limits`,
      admin,
    );
    expect(limits.status, limits.text).toBe(200);
    expect(limits.body).toMatchObject({
      keyLimit: 6,
      rateLimit: { requests: 200, windowSeconds: 60 },
      projects: [{ projectId: 'web', rateLimit: { requests: 50, windowSeconds: 60 } }],
    });
    expect(limits.body.activeKeys).toBeGreaterThanOrEqual(1);

    const { page, watcher } = await signedIn();
    await page.getByRole('link', { name: 'Plan & usage' }).click();
    await page.getByRole('heading', { name: 'Plan & usage' }).waitFor();
    await expect.poll(() => page.locator('#plan-keys').innerText()).toBe(`${limits.body.activeKeys} of 6`);
    expect(await page.locator('#plan-keys-meter').evaluate((m) => [(m as HTMLMeterElement).value, (m as HTMLMeterElement).max])).toEqual([
      limits.body.activeKeys,
      6,
    ]);
    expect(await page.locator('#plan-rate').innerText()).toBe('200 per 60 s');
    expect(await page.locator('#plan-projects-table tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/^web\s+50 per 60 s$/)]);

    const usagePath = `/app/v1/organizations/${ORG}/usage`;
    const panel = page.locator('#org-usage');
    const whole = await usage(usagePath, period('hour'));
    expect(totals(whole).requests).toBeGreaterThanOrEqual(2);
    await expectPanelShows(panel, whole, 'in the last 24 hours');
    await screenshot(page, 'plan');

    await page.getByLabel('Requests of', { exact: true }).selectOption('web');
    const web = await usage(usagePath, period('hour', { projectId: 'web' }));
    await expectPanelShows(panel, web, 'in the last 24 hours');
    expect(totals(web).requests, 'a project is part of its organization').toBeLessThanOrEqual(totals(whole).requests);
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('a member', () => {
  it('sees the usage of keys and the plan, and still nothing that changes a key', async () => {
    const created = await api<{ data: { id: string } }>(service, 'POST', '/v1/keys', admin, { name: 'Seen by a member' });
    expect(created.status, created.text).toBe(201);
    const { page, watcher } = await openConsole(await newContext(browser, service), service);
    await signIn(page, adminToken(service, { org: ORG, sub: 'bob', role: 'member' }));
    const row = page.locator(`#org-keys-table tbody tr[data-id="${created.body.data.id}"]`);
    await row.getByRole('button', { name: 'Usage of Seen by a member' }).click();
    const panel = page.locator('#usage-dialog #key-usage');
    await expectPanelShows(panel, await usage(`/v1/keys/${created.body.data.id}/usage`, period('hour')), 'in the last 24 hours');
    await page.keyboard.press('Escape');
    expect(await page.getByRole('button', { name: /^(Create API Key|Rename|Revoke|Delete|Reactivate)/ }).count()).toBe(0);

    await page.getByRole('link', { name: 'Plan & usage' }).click();
    await expect.poll(() => page.locator('#plan-keys').innerText()).toMatch(/^\d+ of 6$/);
    await expect.poll(() => page.locator('#org-usage .chart').getAttribute('data-points')).toBe('24');
    expect(await page.locator('#plan-error').isVisible()).toBe(false);
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});
