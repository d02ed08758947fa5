// Key lifecycle in the console, in a real browser against a real local service: a key created with
// an expiry and one permission through the dialog, rolled with a grace period (both pairs used
// against the API), a project key rolled with none (the old key refused at once), and keys whose
// leak was reported (seeded in D1: the report itself comes signed by GitHub) shown with the badge.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  api,
  clipboardText,
  expectClean,
  focused,
  freshOrg,
  launchBrowser,
  newContext,
  openConsole,
  type Service,
  screenshot,
  signIn,
  startService,
} from './support/harness.mjs';

const ACCESS_PROBE = '401 /v1/keys';
const DAY = 86_400_000;
const ALL = ['keys:read', 'keys:write', 'api:read', 'api:write'];

/** An organization with an organization key and a project key whose leaks were reported (as LEAKED_*_ACTION = "flag" leaves them). */
const LEAKY_ORG = 'e2e-leaky';
const LEAK = {
  at: new Date(Date.now() - 3_600_000).toISOString(),
  orgSource: 'https://github.com/acme/app/blob/main/config/production.js',
  projectSource: 'https://github.com/acme/ios-app/blob/main/Sources/Config.swift',
  orgKey: `key_${randomBytes(12).toString('hex').slice(0, 24)}`,
  projectKey: randomUUID(),
};
const SEED = [
  `INSERT INTO api_keys (id, kind, organization_id, project_id, name, client_id, secret_hash, key_last_four, permissions, status,
     created_by, created_at, updated_at, leaked_at, leak_source)
   VALUES ('${LEAK.orgKey}', 'org', '${LEAKY_ORG}', NULL, 'Leaked server key', 'kg_ci_${randomBytes(20).toString('hex').slice(0, 39)}',
     '${randomBytes(32).toString('hex')}', 'Lk42', '${JSON.stringify(ALL)}', 'active', 'alice', '${LEAK.at}', '${LEAK.at}',
     '${LEAK.at}', '${LEAK.orgSource}')`,
  `INSERT INTO api_keys (id, kind, organization_id, project_id, name, client_id, secret_hash, key_last_four, permissions, status,
     created_by, created_at, updated_at, leaked_at, leak_source)
   VALUES ('${LEAK.projectKey}', 'project', '${LEAKY_ORG}', 'ios', 'iOS app', NULL, '${randomBytes(32).toString('hex')}', 'Pk42',
     '["content.read","packages.read","assets.read"]', 'active', 'alice', '${LEAK.at}', '${LEAK.at}', '${LEAK.at}', '${LEAK.projectSource}')`,
].join('; ');

type OrgKey = {
  id: string;
  name: string;
  clientId: string;
  expiresAt: string | null;
  permissions: string[];
  rolledFrom: string | null;
  rolledTo: string | null;
};
type ProjectKey = { id: string; name: string; expiresAt: string | null; rolledFrom: string | null; rolledTo: string | null };

let service: Service;
let browser: Browser;

beforeAll(async () => {
  service = await startService('lifecycle', { sql: SEED });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

async function signedIn(org: string, options: { role?: 'admin' | 'member'; viewport?: { width: number; height: number } } = {}) {
  const opened = await openConsole(await newContext(browser, service, { viewport: options.viewport }), service);
  await signIn(opened.page, adminToken(service, { org, role: options.role }));
  return opened;
}

/** Expects `iso` within `toleranceMs` of `expectedMs`. */
function expectNear(iso: string | null, expectedMs: number, toleranceMs = 120_000) {
  expect(iso, 'an expiry').not.toBeNull();
  const delta = Date.parse(iso ?? '') - expectedMs;
  expect(Math.abs(delta), `${iso} is ${Math.round(delta / 1000)} s from ${new Date(expectedMs).toISOString()}`).toBeLessThan(toleranceMs);
}

/** The secret dialog's Client ID (when shown) and key, each read back from the clipboard after Copy. */
async function copySecret(page: Page, withClientId: boolean) {
  const secret = page.locator('#secret-dialog');
  await expect.poll(() => secret.isVisible()).toBe(true);
  let clientId = '';
  if (withClientId) {
    await secret.getByRole('button', { name: 'Copy Client ID' }).click();
    clientId = await clipboardText(page);
  }
  await secret.getByRole('button', { name: 'Copy API Key' }).click();
  const apiKey = await clipboardText(page);
  return {
    clientId,
    apiKey,
    title: await page.locator('#secret-title').innerText(),
    advice: await page.locator('#secret-warning').innerText(),
  };
}

/** Closes the secret dialog; the secret leaves the page with it. */
async function done(page: Page, secret: string) {
  await page.locator('#secret-dialog').getByRole('button', { name: 'Done' }).click();
  await expect.poll(() => page.locator('#secret-dialog').isVisible()).toBe(false);
  expect(await page.content(), 'the secret is shown once').not.toContain(secret);
}

function orgRow(page: Page, id: string) {
  return page.locator(`#org-keys-table tbody tr[data-id="${id}"]`);
}

describe('organization keys', () => {
  it('creates a key with an expiry and one permission, and rolls it with an hour of grace: both pairs work', async () => {
    const org = freshOrg('life');
    const admin = { authorization: `Bearer ${adminToken(service, { org })}` };
    const { page, watcher } = await signedIn(org);

    await page.getByRole('button', { name: 'Create API Key' }).click();
    const dialog = page.locator('#name-dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Reporting job');
    // Never and all four permissions unless chosen otherwise.
    const expires = dialog.getByLabel('Expires');
    expect(await expires.inputValue()).toBe('');
    expect(await expires.locator('option').allInnerTexts()).toEqual(['Never', 'In 7 days', 'In 30 days', 'In 90 days', 'In 365 days']);
    const box = (permission: string) => dialog.getByRole('checkbox', { name: permission });
    for (const permission of ALL) expect(await box(permission).isChecked(), permission).toBe(true);

    // No permission at all is said inline, and nothing is sent.
    for (const permission of ALL) await box(permission).uncheck();
    const needOne = dialog.locator('#permissions-error');
    await expect.poll(() => needOne.isVisible()).toBe(true);
    expect(await needOne.innerText()).toContain('Choose at least one permission');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => focused(page), { message: 'focus on the first permission' }).toBe('permission-keys-read');
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.locator('#permission-fields').getAttribute('aria-invalid')).toBe('true');
    await box('api:read').check();
    await expect.poll(() => needOne.isVisible()).toBe(false);

    await expires.selectOption({ label: 'In 30 days' });
    await screenshot(page, 'lifecycle-create');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const created = await copySecret(page, true);
    await done(page, created.apiKey);

    // The API: an expiry 30 days out and api:read only.
    const listed = await api<{ data: OrgKey[] }>(service, 'GET', '/v1/keys', admin);
    expect(listed.status, listed.text).toBe(200);
    const key = listed.body.data.find((k) => k.clientId === created.clientId);
    expect(key, listed.text).toBeDefined();
    if (!key) return;
    expect(key.permissions).toEqual(['api:read']);
    expectNear(key.expiresAt, Date.now() + 30 * DAY);
    const oldPair = { 'x-metal-client-id': created.clientId, 'x-metal-api-key': created.apiKey };
    const companies = await api(service, 'GET', '/v1/companies', oldPair);
    expect(companies.status, companies.text).toBe(200);
    const keysRead = await api(service, 'GET', '/v1/keys', oldPair);
    expect(keysRead.status, 'api:read only: no key management').toBe(403);
    expect(keysRead.body).toEqual({ error: 'this API key lacks the keys:read permission' });

    // The row: the expiry in words (the exact time in its tooltip and for screen readers), the permission.
    const row = orgRow(page, key.id);
    await expect.poll(() => row.count()).toBe(1);
    const expiresCell = row.locator('td[data-label="Expires"]');
    expect(await expiresCell.innerText()).toMatch(/^in (30|29) days/);
    expect(await expiresCell.locator('time').getAttribute('datetime')).toBe(key.expiresAt);
    expect(await expiresCell.locator('time').getAttribute('title')).toMatch(/\d{4}/);
    expect(await row.locator('td[data-label="Permissions"]').innerText()).toBe('api:read');
    expect(await row.locator('td[data-label="Name"]').innerText()).toBe('Reporting job');

    // Roll: the grace period asked for, explained, an hour chosen.
    await page.getByRole('button', { name: 'Roll API key Reporting job' }).click();
    const roll = page.locator('#roll-dialog');
    await expect.poll(() => roll.isVisible()).toBe(true);
    await expect.poll(() => focused(page), { message: 'focus on the grace period' }).toBe('roll-grace');
    const grace = roll.getByLabel('The current key keeps working');
    expect(await grace.locator('option').allInnerTexts()).toEqual(['None: stop it now', '1 hour', '24 hours', '7 days']);
    expect(await roll.locator('#roll-text').innerText()).toContain('shown once');
    await grace.selectOption({ label: 'None: stop it now' });
    expect(await roll.locator('#roll-grace-help').innerText()).toContain('refused as soon as the new one is made');
    await grace.selectOption({ label: '1 hour' });
    expect(await roll.locator('#roll-grace-help').innerText()).toContain('works until about');
    await screenshot(page, 'lifecycle-roll');
    await roll.getByRole('button', { name: 'Roll key' }).click();

    // The new pair, shown once.
    const rolled = await copySecret(page, true);
    expect(rolled.title).toBe('API Key rolled');
    expect(rolled.advice).toContain('This is the only time the API key is shown');
    expect(rolled.advice).toContain('The key it replaces works until about');
    expect(rolled.clientId).toMatch(/^kg_ci_/);
    expect(rolled.apiKey).toMatch(/^kg_sk_/);
    expect(rolled.apiKey).not.toBe(created.apiKey);
    await expect.poll(() => roll.isVisible()).toBe(false);
    await screenshot(page, 'lifecycle-rolled-secret');
    await done(page, rolled.apiKey);

    // Both pairs work during the grace period.
    const newPair = { 'x-metal-client-id': rolled.clientId, 'x-metal-api-key': rolled.apiKey };
    for (const [name, pair] of [
      ['old', oldPair],
      ['new', newPair],
    ] as const) {
      const res = await api(service, 'GET', '/v1/companies', pair);
      expect(res.status, `${name} pair: ${res.text}`).toBe(200);
    }

    // The API: linked, the old key expiring in an hour, the new one with the permission and the same lifetime.
    const after = await api<{ data: OrgKey[] }>(service, 'GET', '/v1/keys', admin);
    const old = after.body.data.find((k) => k.id === key.id);
    const fresh = after.body.data.find((k) => k.clientId === rolled.clientId);
    expect(old, after.text).toBeDefined();
    expect(fresh, after.text).toBeDefined();
    if (!old || !fresh) return;
    expect(old.rolledTo).toBe(fresh.id);
    expect(fresh.rolledFrom).toBe(old.id);
    expectNear(old.expiresAt, Date.now() + 3_600_000);
    expect(fresh).toMatchObject({ name: 'Reporting job', permissions: ['api:read'] });
    expectNear(fresh.expiresAt, Date.now() + 30 * DAY);

    // The rows: the old one expiring in an hour, rolled to the new key (by its key ending), no longer offered a roll.
    const oldExpires = orgRow(page, old.id).locator('td[data-label="Expires"]');
    await expect.poll(() => oldExpires.innerText()).toContain('Rolled');
    const oldText = await oldExpires.innerText();
    expect(oldText).toMatch(/^in (1 hour|60 minutes|59 minutes)/);
    expect(oldText).toContain(`••••${rolled.apiKey.slice(-4)}`);
    expect(await orgRow(page, old.id).getByRole('button', { name: /^Roll/ }).count()).toBe(0);
    const freshRow = orgRow(page, fresh.id);
    expect(await freshRow.locator('td[data-label="Expires"]').innerText()).toMatch(/^in (30|29) days/);
    expect(await freshRow.locator('td[data-label="Permissions"]').innerText()).toBe('api:read');
    expect(await freshRow.locator('td[data-label="Client ID"] code').innerText()).toBe(rolled.clientId);
    expect(await page.getByRole('button', { name: 'Roll API key Reporting job' }).count(), 'the new key only').toBe(1);
    await screenshot(page, 'lifecycle-rolled');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('project keys', () => {
  it('creates a key with an expiry and rolls it with no grace: the old key is refused at once, the new one works', async () => {
    const org = freshOrg('life');
    const project = 'web';
    const admin = { authorization: `Bearer ${adminToken(service, { org })}` };
    const { page, watcher } = await signedIn(org);
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Project ID').fill(project);
    await page.getByRole('button', { name: 'Open project' }).click();
    await expect.poll(() => page.locator('#project-keys-empty').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Create API Key' }).click();
    const dialog = page.locator('#name-dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Web app');
    expect(await dialog.locator('#permission-fields').isVisible(), 'permissions are for organization keys').toBe(false);
    await dialog.getByLabel('Expires').selectOption({ label: 'In 7 days' });
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const created = await copySecret(page, false);
    await done(page, created.apiKey);

    const base = `/app/v1/organizations/${org}/projects/${project}/api-keys`;
    const list = async () => {
      const res = await api<{ data: ProjectKey[] }>(service, 'GET', base, admin);
      expect(res.status, res.text).toBe(200);
      return res.body.data;
    };
    const [key] = await list();
    expect(key?.name).toBe('Web app');
    if (!key) return;
    expectNear(key.expiresAt, Date.now() + 7 * DAY);
    const row = (id: string) => page.locator(`#project-keys-table tbody tr[data-id="${id}"]`);
    await expect.poll(() => row(key.id).locator('td[data-label="Expires"]').innerText()).toMatch(/^in (7|6) days/);

    const content = `/api/v1/organizations/${org}/projects/${project}/content`;
    expect((await api(service, 'GET', content, { 'x-api-key': created.apiKey })).status).toBe(200);

    // Roll with no grace.
    await page.getByRole('button', { name: 'Roll Web app' }).click();
    const roll = page.locator('#roll-dialog');
    await expect.poll(() => roll.isVisible()).toBe(true);
    const grace = roll.getByLabel('The current key keeps working');
    expect(await grace.locator('option').allInnerTexts()).toEqual(['None: stop it now', '1 day', '7 days', '30 days', '90 days']);
    await grace.selectOption({ label: 'None: stop it now' });
    await roll.getByRole('button', { name: 'Roll key' }).click();
    const rolled = await copySecret(page, false);
    expect(rolled.title).toBe('Project API key rolled');
    expect(rolled.advice).toContain('The key it replaces is refused from now on');
    expect(rolled.apiKey).toMatch(/^kg_pk_/);
    await done(page, rolled.apiKey);

    const old = await api(service, 'GET', content, { 'x-api-key': created.apiKey });
    expect(old.status, 'the old key is refused at once').toBe(401);
    expect(old.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } });
    const fresh = await api(service, 'GET', content, { 'x-api-key': rolled.apiKey });
    expect(fresh.status, fresh.text).toBe(200);

    // The API and the rows: the new key has the name and the expiry policy; the old one is renamed, expired, rolled to it.
    const keys = await list();
    const next = keys.find((k) => k.rolledFrom === key.id);
    const retired = keys.find((k) => k.id === key.id);
    expect(next, JSON.stringify(keys)).toMatchObject({ name: 'Web app' });
    expect(retired?.rolledTo).toBe(next?.id);
    expect(retired?.name).toMatch(/^Web app \(rolled /);
    expectNear(next?.expiresAt ?? null, Date.now() + 7 * DAY);
    if (!next || !retired) return;
    await expect.poll(() => row(retired.id).locator('td[data-label="Name"]').innerText()).toBe(retired.name);
    expect(await row(retired.id).locator('td[data-label="Status"]').innerText()).toBe('Expired');
    const retiredExpires = await row(retired.id).locator('td[data-label="Expires"]').innerText();
    expect(retiredExpires).toMatch(/^Expired/);
    expect(retiredExpires).toContain('Rolled');
    expect(retiredExpires).toContain('“Web app”');
    expect(await row(retired.id).getByRole('button', { name: /^Roll/ }).count()).toBe(0);
    expect(await row(next.id).locator('td[data-label="Status"]').innerText()).toBe('Active');
    expect(await row(next.id).locator('td[data-label="Expires"]').innerText()).toMatch(/^in (7|6) days/);
    expect(await row(next.id).getByRole('button', { name: 'Roll Web app' }).count()).toBe(1);
    await screenshot(page, 'lifecycle-project-rolled');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('leaks and roles', () => {
  it('marks leaked keys with a red badge and the report, and offers their roll with no grace first', async () => {
    const { page, watcher } = await signedIn(LEAKY_ORG);
    const row = orgRow(page, LEAK.orgKey);
    await expect.poll(() => row.count()).toBe(1);
    const name = row.locator('td[data-label="Name"]');
    // The name, then the report as a screen reader reads it (the dash is for it only).
    expect((await name.innerText()).split('\n')[0]).toBe('Leaked server key');
    expect(await name.locator('.leak').textContent()).toMatch(/^Leaked — reported .+ at github\.com\/acme\/app\/blob\/.*…$/);
    const badge = name.locator('.badge.leaked');
    expect(await badge.innerText()).toBe('Leaked');
    const colours = await badge.evaluate((node) => {
      const style = getComputedStyle(node);
      return { background: style.backgroundColor, color: style.color };
    });
    expect(colours, 'a red badge').toEqual({ background: 'rgb(180, 35, 24)', color: 'rgb(255, 255, 255)' });
    const link = name.getByRole('link');
    expect(await link.getAttribute('href')).toBe(LEAK.orgSource);
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('title'), 'the whole URL').toBe(LEAK.orgSource);
    expect(await row.locator('td[data-label="Permissions"]').innerText()).toBe('All');
    expect(await row.locator('td[data-label="Expires"]').innerText()).toBe('Never');

    // A leaked key's roll stops it at once unless the admin chooses a grace period.
    await page.getByRole('button', { name: 'Roll API key Leaked server key' }).click();
    await expect.poll(() => page.locator('#roll-dialog').isVisible()).toBe(true);
    expect(await page.locator('#roll-grace').inputValue()).toBe('0');
    await screenshot(page, 'lifecycle-leaked-roll');
    await page.keyboard.press('Escape');
    await expect.poll(() => focused(page)).toBe('button:Roll API key Leaked server key');
    await screenshot(page, 'lifecycle-leaked');

    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Projects with keys').selectOption('ios');
    const projectName = page.locator(`#project-keys-table tbody tr[data-id="${LEAK.projectKey}"] td[data-label="Name"]`);
    await expect.poll(() => projectName.count()).toBe(1);
    expect((await projectName.innerText()).split('\n')[0]).toBe('iOS app');
    expect(await projectName.locator('.leak').textContent()).toMatch(/^Leaked — reported .+ at github\.com\/acme\/ios-app\//);
    expect(await projectName.getByRole('link').getAttribute('href')).toBe(LEAK.projectSource);
    await expectClean(watcher, [ACCESS_PROBE]);
  });

  it('shows a member the lifecycle but no Roll, and fits a 360 px screen', async () => {
    const { page, watcher } = await signedIn(LEAKY_ORG, { role: 'member', viewport: { width: 360, height: 780 } });
    const row = orgRow(page, LEAK.orgKey);
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('.badge.leaked').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /^Roll/ }).count()).toBe(0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'lifecycle-leaked-360');
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Projects with keys').selectOption('ios');
    await expect.poll(() => page.locator('#project-keys-table tbody tr').count()).toBe(1);
    expect(await page.getByRole('button', { name: /^Roll/ }).count()).toBe(0);
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});
