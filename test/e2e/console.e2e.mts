// The console in a real browser against a real local service: sign-in, organization keys, project
// keys, the audit log, refusals, the CSP, the keyboard and a 360 px screen. Every key the console
// hands out is read back from the clipboard and used against the API.
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
  screenshot,
  signIn,
  startService,
  type Service,
} from './support/harness.mjs';

/** An organization whose plan allows one key (set in D1 before the service starts). */
const LIMITED_ORG = 'e2e-limited';
const SEED = `INSERT INTO organizations (id, key_limit, created_at, updated_at) VALUES ('${LIMITED_ORG}', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`;

/** The Cloudflare Access probe: signed out and not behind Access, the console's first call is refused. */
const ACCESS_PROBE = '401 /v1/keys';
const INVALID_PAIR = { error: 'invalid api key or clientId' };
const INVALID_PROJECT_KEY = { error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } };

let service: Service;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  service = await startService('console', { sql: SEED });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

async function context(viewport?: { width: number; height: number }): Promise<BrowserContext> {
  const created = await newContext(browser, service, { viewport });
  contexts.push(created);
  return created;
}

/** Opens the console in a fresh context and signs in with an admin token of `org`. */
async function signedIn(org: string, viewport?: { width: number; height: number }) {
  const opened = await openConsole(await context(viewport), service);
  await signIn(opened.page, adminToken(service, { org }));
  return opened;
}

function secretDialog(page: Page) {
  return page.locator('#secret-dialog');
}

/** Opens the name dialog with `opener`, types `name` and submits it. */
async function submitName(page: Page, opener: string, name: string) {
  await page.getByRole('button', { name: opener, exact: true }).click();
  await page.locator('#name-dialog').getByLabel('Name', { exact: true }).fill(name);
  await page.locator('#name-submit').click();
}

/** Confirms the open confirmation dialog with its action button. */
async function confirm(page: Page, action: string) {
  const dialog = page.locator('#confirm-dialog');
  await expect.poll(() => dialog.isVisible()).toBe(true);
  await dialog.getByRole('button', { name: action, exact: true }).click();
  await expect.poll(() => dialog.isVisible()).toBe(false);
}

async function sessionToken(page: Page): Promise<string | null> {
  return page.evaluate(() => sessionStorage.getItem('keygate.token'));
}

describe('the page', () => {
  it('is served at /console with a strict CSP and security headers, and enforces the CSP', async () => {
    const { page, watcher, response } = await openConsole(await context(), service);
    expect(response.status()).toBe(200);
    const headers = response.headers();
    const csp = headers['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    });

    // Signed out: the sign-in form, labelled, and no organization data at all.
    await expect.poll(() => page.getByLabel('Admin token').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#app-view').isVisible()).toBe(false);
    expect(await page.locator('tbody tr').count()).toBe(0);
    await screenshot(page, 'signed-out');
    await expectClean(watcher, [ACCESS_PROBE]);

    // The files of the page carry the CSP too; the console's type-check config is not served.
    const script = await api(service, 'GET', '/console/console.js');
    expect(script.status).toBe(200);
    expect((await fetch(`${service.url}/console/console.js`)).headers.get('content-security-policy')).toBe(csp);
    expect((await fetch(`${service.url}/console/tsconfig.json`)).status).toBe(404);

    // The CSP is enforced: an inline script is refused, and the refusal is seen by the watch.
    await expect(page.addScriptTag({ content: 'document.title = "inline ran"' })).rejects.toThrow();
    expect(await page.title()).toBe('Keygate console');
    await expect.poll(() => watcher.problems()).toContainEqual(expect.stringMatching(/^CSP violation: /));
  });
});

describe('API & MCP Access → API Keys (organization keys)', () => {
  it('creates a key, shows it once with Copy buttons, lists it masked, deletes it, and the API refuses it', async () => {
    const org = freshOrg();
    const { page, watcher } = await signedIn(org);
    expect(await sessionToken(page), 'the token is kept in sessionStorage').toMatch(/^ey/);
    expect(page.url()).not.toContain('ey');
    expect(await page.context().cookies()).toEqual([]);
    await expect.poll(() => page.locator('#org-keys-empty').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Create API Key' }).click();
    const nameField = page.locator('#name-dialog').getByLabel('Name', { exact: true });
    await expect.poll(() => focused(page), { message: 'focus moves into the dialog' }).toBe('key-name');
    await nameField.fill('Production sync');
    await screenshot(page, 'create-dialog');
    await page.locator('#name-dialog').getByRole('button', { name: 'Create', exact: true }).click();

    const secret = secretDialog(page);
    await expect.poll(() => secret.isVisible()).toBe(true);
    expect(await secret.innerText()).toContain('This is the only time the API key is shown');
    await secret.getByRole('button', { name: 'Copy Client ID' }).click();
    const clientId = await clipboardText(page);
    await secret.getByRole('button', { name: 'Copy API Key' }).click();
    const apiKey = await clipboardText(page);
    expect(clientId).toMatch(/^kg_ci_[0-9A-Za-z]{39}$/);
    expect(apiKey).toMatch(/^kg_sk_[0-9A-Za-z]{39}$/);
    expect(await page.locator('#secret-client-id').inputValue()).toBe(clientId);
    await screenshot(page, 'key-shown-once');

    // The pair from the clipboard works against the API.
    const pair = { 'x-metal-client-id': clientId, 'x-metal-api-key': apiKey };
    const listed = await api<{ data: Array<{ clientId: string; keyLastFour: string }> }>(service, 'GET', '/v1/keys', pair);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ clientId, keyLastFour: apiKey.slice(-4) })]);

    // Closing the dialog returns focus to the button that opened it and takes the secret away.
    await secret.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => focused(page)).toBe('create-org-key');
    expect(await page.content()).not.toContain(apiKey);

    const row = page.getByRole('row').filter({ hasText: 'Production sync' });
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.getByRole('cell').allInnerTexts();
    expect(cells[0]).toBe('Production sync');
    expect(cells[1]).toBe(clientId);
    expect(cells[2]).toContain(`••••${apiKey.slice(-4)}`);
    expect(cells[4]).toMatch(/Never|\d/);
    await screenshot(page, 'api-keys');

    // Delete asks first; Escape cancels and focus goes back to the row's Delete button.
    await page.getByRole('button', { name: 'Delete API key Production sync' }).click();
    await expect.poll(() => focused(page), { message: 'Cancel is focused first' }).toBe('button:Cancel');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#confirm-dialog').isVisible()).toBe(false);
    await expect.poll(() => focused(page)).toBe('button:Delete API key Production sync');
    expect(await row.count()).toBe(1);

    await page.getByRole('button', { name: 'Delete API key Production sync' }).click();
    await confirm(page, 'Delete API key');
    await expect.poll(() => row.count()).toBe(0);
    await expect.poll(() => page.locator('#toast').innerText()).toContain('deleted');

    const refused = await api(service, 'GET', '/v1/keys', pair);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID_PAIR);

    // Signing out forgets the token and shows no data.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByLabel('Admin token').isVisible()).toBe(true);
    expect(await sessionToken(page)).toBeNull();
    expect(await page.locator('tbody tr').count()).toBe(0);
    await expectClean(watcher, [ACCESS_PROBE]);
  });

  it('says so at the plan limit and points to deleting unused keys', async () => {
    const { page, watcher } = await signedIn(LIMITED_ORG);
    await submitName(page, 'Create API Key', 'The only one');
    await expect.poll(() => secretDialog(page).isVisible()).toBe(true);
    await secretDialog(page).getByRole('button', { name: 'Done' }).click();

    await submitName(page, 'Create API Key', 'One too many');
    const error = page.locator('#name-error');
    await expect.poll(() => error.isVisible()).toBe(true);
    const message = await error.innerText();
    expect(message).toMatch(/limit/i);
    expect(message).toContain('remove keys you no longer use with Delete in the API Keys table');
    await screenshot(page, 'key-limit');
    await page.keyboard.press('Escape');
    await expect.poll(() => focused(page)).toBe('create-org-key');
    expect(await page.getByRole('row').filter({ hasText: 'One too many' }).count()).toBe(0);
    await expectClean(watcher, [ACCESS_PROBE, '422 /v1/keys']);
  });

  it('works by keyboard alone', async () => {
    const org = freshOrg();
    const { page, watcher } = await openConsole(await context(), service);
    await page.getByLabel('Admin token').waitFor();

    /** Presses Tab until the element with `id` (or matching `label`) has focus. */
    async function tabTo(target: string) {
      for (let i = 0; i < 40; i++) {
        if ((await focused(page)) === target) return;
        await page.keyboard.press('Tab');
      }
      throw new Error(`Tab never reached ${target}; focus is on ${await focused(page)}`);
    }

    await tabTo('token');
    await page.keyboard.type(adminToken(service, { org }));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'API & MCP Access' }).waitFor();

    await tabTo('create-org-key');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('key-name');
    await page.keyboard.press('Escape');
    await expect.poll(() => focused(page), { message: 'Escape closes and focus returns' }).toBe('create-org-key');

    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('key-name');
    await page.keyboard.type('Typed key');
    await page.keyboard.press('Enter');
    await expect.poll(() => secretDialog(page).isVisible()).toBe(true);
    await expect.poll(() => focused(page), { message: 'focus on the first Copy button' }).toBe('button:Copy Client ID');
    await page.keyboard.press('Enter');
    expect(await clipboardText(page)).toMatch(/^kg_ci_/);
    await page.keyboard.press('Escape');
    await expect.poll(() => focused(page)).toBe('create-org-key');
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Typed key' }).count()).toBe(1);

    // The section tabs are links: Enter follows them and focus lands on the new heading.
    await tabTo('a:Audit log');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('audit-title');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('Project → API Keys', () => {
  it('creates, copies, uses, renames, revokes, reactivates, filters, pages and deletes project keys', async () => {
    const org = freshOrg();
    const project = 'mobile-app';
    const { page, watcher } = await signedIn(org);
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Project ID').fill(project);
    await page.getByRole('button', { name: 'Open project' }).click();
    await expect.poll(() => page.locator('#project-keys-empty').isVisible()).toBe(true);

    await submitName(page, 'Create API Key', 'iOS app');
    const secret = secretDialog(page);
    await expect.poll(() => secret.isVisible()).toBe(true);
    expect(await secret.innerText()).toContain('This is the only time the API key is shown');
    expect(await page.locator('#secret-client-row').isVisible()).toBe(false);
    await secret.getByRole('button', { name: 'Copy API Key' }).click();
    const key = await clipboardText(page);
    expect(key).toMatch(/^kg_pk_[0-9A-Za-z]{39}$/);
    await secret.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => focused(page)).toBe('create-project-key');

    const content = `/api/v1/organizations/${org}/projects/${project}/content`;
    const use = () => api(service, 'GET', content, { 'x-api-key': key });
    expect((await use()).status, 'the new key reads the project').toBe(200);

    const row = (name: string) => page.getByRole('row').filter({ hasText: name });
    await expect.poll(() => row('iOS app').getByRole('cell').nth(1).innerText()).toBe('Active');

    // A name already taken in the project is refused in the dialog.
    await submitName(page, 'Create API Key', 'iOS app');
    await expect.poll(() => page.locator('#name-error').innerText()).toContain('already exists');
    await page.keyboard.press('Escape');

    // Rename.
    await page.getByRole('button', { name: 'Rename iOS app' }).click();
    const nameField = page.locator('#name-dialog').getByLabel('Name', { exact: true });
    expect(await nameField.inputValue()).toBe('iOS app');
    await nameField.fill('iOS app (production)');
    await page.locator('#name-dialog').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row('iOS app (production)').count()).toBe(1);

    // Revoke: the API refuses the key at once.
    await page.getByRole('button', { name: 'Revoke iOS app (production)' }).click();
    await confirm(page, 'Revoke');
    await expect.poll(() => row('iOS app (production)').getByRole('cell').nth(1).innerText()).toBe('Revoked');
    const revoked = await use();
    expect(revoked.status).toBe(401);
    expect(revoked.body).toEqual(INVALID_PROJECT_KEY);

    // Filter by status.
    await page.getByLabel('Status').selectOption('active');
    await expect.poll(() => page.locator('#project-keys-empty').isVisible()).toBe(true);
    await page.getByLabel('Status').selectOption('revoked');
    await expect.poll(() => row('iOS app (production)').count()).toBe(1);
    await page.getByLabel('Status').selectOption('');

    // Reactivate: accepted again.
    await page.getByRole('button', { name: 'Reactivate iOS app (production)' }).click();
    await expect.poll(() => row('iOS app (production)').getByRole('cell').nth(1).innerText()).toBe('Active');
    expect((await use()).status, 'the reactivated key reads again').toBe(200);

    // Pages: eleven more keys, ten per page.
    const admin = { authorization: `Bearer ${adminToken(service, { org })}` };
    for (let i = 1; i <= 11; i++) {
      const created = await api(service, 'POST', `/app/v1/organizations/${org}/projects/${project}/api-keys`, admin, { name: `Web ${i}` });
      expect(created.status, created.text).toBe(201);
    }
    await page.getByLabel('Keys per page').selectOption('10');
    await expect.poll(() => page.locator('#project-keys-table tbody tr').count()).toBe(10);
    expect(await page.locator('#project-page').innerText()).toBe('Page 1');
    expect(await row('Web 11').count(), 'newest first').toBe(1);
    expect(await page.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
    await screenshot(page, 'project-keys');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.locator('#project-page').innerText()).toBe('Page 2');
    await expect.poll(() => page.locator('#project-keys-table tbody tr').count()).toBe(2);
    expect(await row('iOS app (production)').count(), 'the oldest key is on the last page').toBe(1);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    // Delete with confirmation: the API refuses the key, and the page still shows page 2's rest.
    await page.getByRole('button', { name: 'Delete iOS app (production)' }).click();
    expect(await page.locator('#confirm-dialog').innerText()).toContain('cannot be undone');
    await confirm(page, 'Delete API key');
    await expect.poll(() => row('iOS app (production)').count()).toBe(0);
    expect((await use()).status).toBe(401);
    await expect.poll(() => page.locator('#project-keys-table tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => page.locator('#project-page').innerText()).toBe('Page 1');

    // The project id is remembered by this tab.
    expect(await page.evaluate(() => sessionStorage.getItem('keygate.project'))).toBe(project);
    await page.reload();
    await page.getByRole('heading', { name: 'API Keys', exact: true }).first().waitFor();
    await expect.poll(() => page.getByLabel('Project ID').inputValue()).toBe(project);
    await expect.poll(() => page.locator('#project-keys-table tbody tr').count()).toBeGreaterThan(0);
    await expectClean(watcher, [ACCESS_PROBE, `409 /app/v1/organizations/${org}/projects/${project}/api-keys`]);
  });
});

describe('Audit log', () => {
  it("pages through the organization's entries, newest first", async () => {
    const org = freshOrg();
    const admin = { authorization: `Bearer ${adminToken(service, { org, sub: 'auditor' })}` };
    const ids: string[] = [];
    for (let i = 1; i <= 11; i++) {
      const created = await api<{ data: { id: string } }>(service, 'POST', '/v1/keys', admin, { name: `Key ${i}` });
      expect(created.status, created.text).toBe(201);
      ids.push(created.body.data.id);
    }
    expect((await api(service, 'DELETE', `/v1/keys/${ids[0]}`, admin)).status).toBe(200);

    const { page, watcher } = await signedIn(org);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Entries per page').selectOption('10');
    const rows = page.locator('#audit-table tbody tr');
    await expect.poll(() => rows.count()).toBe(10);
    const first = await rows.first().getByRole('cell').allInnerTexts();
    expect(first[1]).toBe('Revoked');
    expect(first[2]).toContain(ids[0]);
    expect(first[3]).toBe('user auditor');
    expect(await rows.nth(1).getByRole('cell').nth(2).innerText()).toContain(ids[10]);
    await screenshot(page, 'audit-log');

    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.locator('#audit-page').innerText()).toBe('Page 2');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.last().getByRole('cell').nth(2).innerText(), 'the oldest entry comes last').toContain(ids[0]);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => page.locator('#audit-page').innerText()).toBe('Page 1');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('refusals', () => {
  it('refuses a member: a clear message, no data, and writes are refused', async () => {
    const org = freshOrg();
    const member = adminToken(service, { org, sub: 'bob', role: 'member' });
    const { page, watcher } = await openConsole(await context(), service);
    await page.getByLabel('Admin token').fill(member);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Access refused' }).waitFor();
    const message = await page.locator('#refused-message').innerText();
    expect(message).toContain('admin role required');
    expect(message).toContain('bob (member)');
    await expect.poll(() => focused(page)).toBe('refused-title');
    expect(await page.locator('#app-view').isVisible()).toBe(false);
    expect(await page.locator('tbody tr').count()).toBe(0);
    expect(await sessionToken(page)).toBeNull();
    await screenshot(page, 'refused');

    const write = await api(service, 'POST', '/v1/keys', { authorization: `Bearer ${member}` }, { name: 'not allowed' });
    expect(write.status).toBe(403);
    expect(write.body).toEqual({ error: 'admin role required' });
    await expectClean(watcher, [ACCESS_PROBE, `403 /app/v1/organizations/${org}/audit-log`]);
  });

  it('refuses a garbage token and a token signed with another secret, and keeps neither', async () => {
    const org = freshOrg();
    const { page, watcher } = await openConsole(await context(), service);
    const message = page.locator('#signin-message');

    await page.getByLabel('Admin token').fill('garbage');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => message.innerText()).toContain('not a Keygate admin token');

    const forged = adminToken(service, { org }, 'another-secret-0123456789abcdef0123456789abcdef');
    await page.getByLabel('Admin token').fill(forged);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => message.innerText()).toContain('Keygate refused this token');
    await expect.poll(() => focused(page)).toBe('signin-message');
    expect(await page.locator('#app-view').isVisible()).toBe(false);
    expect(await sessionToken(page)).toBeNull();
    expect(await page.context().cookies()).toEqual([]);
    await expectClean(watcher, [ACCESS_PROBE, `401 /app/v1/organizations/${org}/audit-log`]);
  });

  it('ends an expired session with a message and removes the data', async () => {
    const org = freshOrg();
    const admin = { authorization: `Bearer ${adminToken(service, { org })}` };
    expect((await api(service, 'POST', '/v1/keys', admin, { name: 'Before expiry' })).status).toBe(201);

    const { page, watcher } = await openConsole(await context(), service);
    const token = adminToken(service, { org, ttl: 4 });
    const expires = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    await signIn(page, token);
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Before expiry' }).count()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires * 1000 - Date.now()) + 1200));

    // The next request is refused: the session ends, the data goes.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.locator('#signin-message').innerText()).toContain('Your session has ended');
    expect(await page.locator('#app-view').isVisible()).toBe(false);
    expect(await page.locator('tbody tr').count()).toBe(0);
    expect(await sessionToken(page)).toBeNull();
    await expectClean(watcher, [ACCESS_PROBE, `401 /app/v1/organizations/${org}/audit-log`]);
  });
});

describe('at 360 px wide', () => {
  it('fits the screen in every view, dialogs included', async () => {
    const org = freshOrg();
    const { page, watcher } = await signedIn(org, { width: 360, height: 780 });
    const overflow = () =>
      page.evaluate(() => {
        const tabs = document.querySelector('nav.tabs');
        const tabsOverflow = tabs ? tabs.scrollWidth - tabs.clientWidth : 0;
        return Math.max(document.documentElement.scrollWidth - window.innerWidth, tabsOverflow);
      });

    await submitName(page, 'Create API Key', 'Phone-made key');
    await expect.poll(() => secretDialog(page).isVisible()).toBe(true);
    expect(await overflow()).toBeLessThanOrEqual(0);
    const box = await secretDialog(page).boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 360, JSON.stringify(box)).toBe(true);
    await screenshot(page, 'key-shown-once-360');
    await secretDialog(page).getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Phone-made key' }).count()).toBe(1);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, 'api-keys-360');

    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Project ID').fill('web');
    await page.getByRole('button', { name: 'Open project' }).click();
    await submitName(page, 'Create API Key', 'Phone web key');
    await secretDialog(page).getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Phone web key' }).count()).toBe(1);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, 'project-keys-360');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.locator('#audit-table tbody tr').count()).toBe(2);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, 'audit-log-360');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});
