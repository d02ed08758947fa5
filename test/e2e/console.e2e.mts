// The console in a real browser against a real local service: sign-in, organization keys, project
// keys, the audit log, refusals, the CSP, the keyboard and a 360 px screen. Every key the console
// hands out is read back from the clipboard and used against the API.
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
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

type Box = { x: number; y: number; width: number; height: number };

function overlaps(a: Box | null, b: Box | null): boolean {
  if (!a || !b) return false;
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * While `dialog` is open, an outcome (`text`) is announced in the dialog's own status line: the
 * floating toast stays off the dialog, and the status line covers none of the dialog's fields.
 */
async function expectOutcomeClearOfFields(page: Page, dialog: Locator, text: string) {
  const status = dialog.getByRole('status');
  await expect.poll(() => status.innerText()).toContain(text);
  const dialogBox = await dialog.boundingBox();
  const toastBox = await page.locator('#toast').boundingBox();
  expect(overlaps(toastBox, dialogBox), `toast ${JSON.stringify(toastBox)} over dialog ${JSON.stringify(dialogBox)}`).toBe(false);
  const statusBox = await status.boundingBox();
  expect(statusBox, 'the status line is shown').not.toBeNull();
  for (const field of await dialog.locator('input').all()) {
    if (!(await field.isVisible())) continue;
    const fieldBox = await field.boundingBox();
    expect(overlaps(statusBox, fieldBox), `status ${JSON.stringify(statusBox)} over field ${JSON.stringify(fieldBox)}`).toBe(false);
  }
}

/** What the floating toast shows ('' when it is not shown). */
async function toastText(page: Page): Promise<string> {
  const toast = page.locator('#toast');
  return (await toast.isVisible()) ? toast.innerText() : '';
}

/** Buttons that change a key, as an admin sees them in a row or a card. */
const WRITE_BUTTON = /^(Create API Key|Rename|Revoke|Delete|Reactivate)/;

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
  it('creates a key, shows it once with Copy buttons, lists it masked, revokes it, and the API refuses it', async () => {
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
    const advice = await page.locator('#secret-warning').innerText();
    expect(advice).toContain('This is the only time the API key is shown');
    expect(advice, 'a server secret belongs in a secret manager').toContain('secret manager');
    // The outcome is announced inside the dialog, never over its fields.
    await expectOutcomeClearOfFields(page, secret, 'API key “Production sync” created.');
    await secret.getByRole('button', { name: 'Copy Client ID' }).click();
    const clientId = await clipboardText(page);
    await expectOutcomeClearOfFields(page, secret, 'Client ID copied to the clipboard.');
    await secret.getByRole('button', { name: 'Copy API Key' }).click();
    const apiKey = await clipboardText(page);
    await expectOutcomeClearOfFields(page, secret, 'API Key copied to the clipboard.');
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
    expect(await row.locator('td[data-label="Client ID"] code').innerText()).toBe(clientId);
    expect(cells[2]).toContain(`••••${apiKey.slice(-4)}`);
    expect(cells[4], "Created by: the token's sub").toBe('alice');
    expect(cells[5]).toMatch(/Never|\d/);
    await screenshot(page, 'api-key-created');

    // Revoke asks first; Escape cancels and focus goes back to the row's Revoke button.
    await page.getByRole('button', { name: 'Revoke API key Production sync' }).click();
    await expect.poll(() => focused(page), { message: 'Cancel is focused first' }).toBe('button:Cancel');
    expect(await page.locator('#confirm-dialog').innerText()).toContain('cannot be reactivated');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#confirm-dialog').isVisible()).toBe(false);
    await expect.poll(() => focused(page)).toBe('button:Revoke API key Production sync');
    expect(await row.count()).toBe(1);

    await page.getByRole('button', { name: 'Revoke API key Production sync' }).click();
    await confirm(page, 'Revoke API key');
    await expect.poll(() => row.count()).toBe(0);
    await expect.poll(() => toastText(page)).toBe('API key “Production sync” revoked.');

    const refused = await api(service, 'GET', '/v1/keys', pair);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(INVALID_PAIR);

    // Signing out forgets the token, shows no data, and takes the last outcome off the screen.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByLabel('Admin token').isVisible()).toBe(true);
    expect(await sessionToken(page)).toBeNull();
    expect(await page.locator('tbody tr').count()).toBe(0);
    expect(await toastText(page), 'the toast goes with the session').toBe('');
    expect(await page.locator('#toast').textContent()).toBe('');
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
    expect(message).toContain('revoke keys you no longer use with Revoke in the API Keys table');
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

  it('shows who created each key, copies a Client ID from the table and renames a key (acme, the README picture)', async () => {
    // The README's walkthrough: organization acme, signed in as alice.
    const org = 'acme';
    type Created = { data: { id: string; clientId: string; apiKey: string } };
    const as = (sub: string) => ({ authorization: `Bearer ${adminToken(service, { org, sub })}` });
    const sync = await api<Created>(service, 'POST', '/v1/keys', as('alice'), { name: 'Production sync' });
    const nightly = await api<Created>(service, 'POST', '/v1/keys', as('bob'), { name: 'Nightly export' });
    expect([sync.status, nightly.status], sync.text + nightly.text).toEqual([201, 201]);
    const pair = { 'x-metal-client-id': sync.body.data.clientId, 'x-metal-api-key': sync.body.data.apiKey };
    const deploy = await api(service, 'POST', '/v1/keys', pair, { name: 'CI deploy' });
    expect(deploy.status, deploy.text).toBe(201);

    const { page, watcher } = await signedIn(org);
    const rows = page.locator('#org-keys-table tbody tr');
    const row = (name: string) => rows.filter({ has: page.getByRole('cell', { name, exact: true }) });
    await expect.poll(() => rows.count()).toBe(3);
    const createdBy = (name: string) => row(name).locator('td[data-label="Created by"]').innerText();
    expect(await createdBy('Production sync')).toBe('alice');
    expect(await createdBy('Nightly export')).toBe('bob');
    expect(await createdBy('CI deploy'), 'a key made by a key is named').toBe('API key “Production sync”');

    // Copy the Client ID from the table.
    await page.getByRole('button', { name: 'Copy Client ID of Nightly export' }).click();
    expect(await clipboardText(page)).toBe(nightly.body.data.clientId);
    await expect.poll(() => toastText(page)).toBe('Client ID of “Nightly export” copied to the clipboard.');

    // Rename: the new name in the table and in the API; the pair is unchanged.
    await page.getByRole('button', { name: 'Rename API key Nightly export' }).click();
    const nameField = page.locator('#name-dialog').getByLabel('Name', { exact: true });
    expect(await nameField.inputValue()).toBe('Nightly export');
    await nameField.fill('Nightly export (EU)');
    await page.locator('#name-dialog').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#name-dialog').isVisible()).toBe(false);
    await expect.poll(() => row('Nightly export (EU)').count()).toBe(1);
    expect(await row('Nightly export (EU)').locator('td[data-label="Client ID"] code').innerText()).toBe(nightly.body.data.clientId);
    await expect.poll(() => toastText(page)).toContain('Renamed to “Nightly export (EU)”');
    await expect.poll(() => focused(page), { message: 'focus returns to the card' }).toBe('org-keys-title');
    const listed = await api<{ data: Array<{ id: string; name: string }> }>(service, 'GET', '/v1/keys', pair);
    expect(listed.body.data).toContainEqual(expect.objectContaining({ id: nightly.body.data.id, name: 'Nightly export (EU)' }));
    expect(await rows.count()).toBe(3);
    await screenshot(page, 'api-keys');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('Project → API Keys', () => {
  it('creates, copies, uses, renames, revokes, reactivates, filters, pages and deletes project keys', async () => {
    const org = freshOrg();
    const project = 'mobile-app';
    const { page, watcher } = await signedIn(org);
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    // No project of a new organization holds keys: there is nothing to choose yet, and it says so.
    const select = page.getByLabel('Projects with keys');
    await expect.poll(() => select.locator('option').allInnerTexts()).toEqual(['None yet']);
    expect(await select.isDisabled()).toBe(true);
    expect(await page.locator('#project-help').innerText()).toContain(`No project of ${org} has keys yet`);
    await page.getByLabel('Project ID').fill(project);
    await page.getByRole('button', { name: 'Open project' }).click();
    await expect.poll(() => page.locator('#project-keys-empty').isVisible()).toBe(true);
    expect(await page.locator('#project-keys-empty').innerText()).toContain(`“${project}” has no keys yet`);

    await submitName(page, 'Create API Key', 'iOS app');
    const secret = secretDialog(page);
    await expect.poll(() => secret.isVisible()).toBe(true);
    // A project key ships inside apps: config, not a secret manager; rotated by a new key.
    const advice = await page.locator('#secret-warning').innerText();
    expect(advice).toContain('This is the only time the API key is shown');
    expect(advice).toContain(`Put it in the configuration of the apps of ${project}`);
    expect(advice).toContain('It is not a secret like a server key');
    expect(advice).toContain(`it can only read published content of ${project}`);
    expect(advice).toContain('To rotate it, create a new key, ship it in the app, then revoke this one');
    expect(advice).not.toContain('secret manager');
    expect(await page.locator('#secret-client-row').isVisible()).toBe(false);
    await secret.getByRole('button', { name: 'Copy API Key' }).click();
    const key = await clipboardText(page);
    await expectOutcomeClearOfFields(page, secret, 'API Key (x-api-key) copied to the clipboard.');
    expect(key).toMatch(/^kg_pk_[0-9A-Za-z]{39}$/);
    await secret.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => focused(page)).toBe('create-project-key');

    const content = `/api/v1/organizations/${org}/projects/${project}/content`;
    const use = () => api(service, 'GET', content, { 'x-api-key': key });
    expect((await use()).status, 'the new key reads the project').toBe(200);

    const row = (name: string) => page.getByRole('row').filter({ hasText: name });
    await expect.poll(() => row('iOS app').getByRole('cell').nth(1).innerText()).toBe('Active');
    // Its first key makes the project one of the choices.
    await expect.poll(() => select.locator('option').allInnerTexts()).toEqual(['Choose a project (1)', `${project} · 1 active`]);
    expect(await select.inputValue()).toBe(project);

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
    expect(await page.locator('#project-keys-empty').innerText()).toBe(`No active keys in ${project}.`);
    await expect.poll(() => select.locator('option').allInnerTexts()).toContain(`${project} · 0 active, 1 revoked`);
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

  it('offers the projects that hold keys, opens the one chosen, and says when a typed project has none yet', async () => {
    const org = freshOrg();
    const admin = { authorization: `Bearer ${adminToken(service, { org })}` };
    const base = (project: string) => `/app/v1/organizations/${org}/projects/${project}/api-keys`;
    for (const [project, name] of [
      ['ios', 'iPhone'],
      ['ios', 'iPad'],
      ['web', 'Site'],
    ] as const) {
      const created = await api(service, 'POST', base(project), admin, { name });
      expect(created.status, created.text).toBe(201);
    }
    const site = await api<{ data: Array<{ id: string }> }>(service, 'GET', base('web'), admin);
    const revoked = await api(service, 'PUT', `${base('web')}/${site.body.data[0]?.id}`, admin, { status: 'revoked' });
    expect(revoked.status, revoked.text).toBe(200);

    const { page, watcher } = await signedIn(org);
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    const select = page.getByLabel('Projects with keys');
    await expect
      .poll(() => select.locator('option').allInnerTexts())
      .toEqual(['Choose a project (2)', 'ios · 2 active', 'web · 0 active, 1 revoked']);
    expect(await page.locator('#project-card').isVisible(), 'nothing opened yet').toBe(false);

    const rows = page.locator('#project-keys-table tbody tr');
    await select.selectOption('web');
    await expect.poll(() => page.locator('#project-name').innerText()).toBe('web');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getByRole('cell').nth(1).innerText()).toBe('Revoked');
    expect(await page.getByLabel('Project ID').inputValue()).toBe('web');
    await select.selectOption('ios');
    await expect.poll(() => page.locator('#project-name').innerText()).toBe('ios');
    await expect.poll(() => rows.count()).toBe(2);

    // Any other project ID can still be typed; one without keys says so.
    await page.getByLabel('Project ID').fill('brand-new');
    await page.getByRole('button', { name: 'Open project' }).click();
    const empty = page.locator('#project-keys-empty');
    await expect.poll(() => empty.isVisible()).toBe(true);
    expect(await empty.innerText()).toBe(
      "“brand-new” has no keys yet. Create its first key with Create API Key: the project's apps send it as x-api-key.",
    );
    expect(await rows.count()).toBe(0);
    expect(await select.inputValue(), 'not one of the choices').toBe('');
    await screenshot(page, 'project-choices');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('Audit log', () => {
  it("pages through the organization's entries, newest first, each key by the name it had then", async () => {
    const org = freshOrg();
    const admin = { authorization: `Bearer ${adminToken(service, { org, sub: 'auditor' })}` };
    const ids: string[] = [];
    for (let i = 1; i <= 11; i++) {
      const created = await api<{ data: { id: string } }>(service, 'POST', '/v1/keys', admin, { name: `Key ${i}` });
      expect(created.status, created.text).toBe(201);
      ids.push(created.body.data.id);
    }
    const renamed = await api(service, 'PATCH', `/v1/keys/${ids[1]}`, admin, { name: 'Key 2 (renamed)' });
    expect(renamed.status, renamed.text).toBe(200);
    expect((await api(service, 'DELETE', `/v1/keys/${ids[0]}`, admin)).status).toBe(200);

    // What the API says of each entry: the console shows its keyName, or its key id where the
    // entry has none (written before Keygate recorded names, or by a Keygate that does not yet).
    type Entry = { id: string; keyId: string; keyName?: string | null };
    const log = `/app/v1/organizations/${org}/audit-log?limit=20`;
    const entries = (await api<{ data: Entry[] }>(service, 'GET', log, admin)).body.data;
    expect(entries).toHaveLength(13);
    const named = entries.some((entry) => typeof entry.keyName === 'string');
    const keyCell = (entry: Entry) => page.locator(`#audit-table tbody tr[data-id="${entry.id}"] td[data-label="Key"]`);
    async function expectKeysNamed(shown: Entry[]) {
      for (const entry of shown) {
        const text = await keyCell(entry).innerText();
        expect(text.split('\n')[0], JSON.stringify(entry)).toBe(entry.keyName ?? entry.keyId);
        expect(text, 'the id stays readable').toContain(entry.keyId);
      }
    }

    const { page, watcher } = await signedIn(org);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Entries per page').selectOption('10');
    const rows = page.locator('#audit-table tbody tr');
    await expect.poll(() => rows.count()).toBe(10);
    const first = await rows.first().getByRole('cell').allInnerTexts();
    expect(first[1]).toBe('Revoked');
    expect(first[2]).toContain(ids[0]);
    expect(first[3]).toBe('user auditor');
    expect(await rows.nth(1).getByRole('cell').nth(1).innerText()).toBe('Updated');
    expect(await rows.nth(1).getByRole('cell').nth(2).innerText()).toContain(ids[1]);
    expect(await rows.nth(2).getByRole('cell').nth(2).innerText()).toContain(ids[10]);
    await expectKeysNamed(entries.slice(0, 10));
    if (named) expect((await keyCell(entries[0]!).innerText()).split('\n')[0], 'the revoked key by its name').toBe('Key 1');
    await screenshot(page, 'audit-log');

    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.locator('#audit-page').innerText()).toBe('Page 2');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.last().getByRole('cell').nth(2).innerText(), 'the oldest entry comes last').toContain(ids[0]);
    await expectKeysNamed(entries.slice(10));
    if (named) {
      // Created before the rename: the name it had then, not today's.
      const created = entries.slice(10).find((entry) => entry.keyId === ids[1]);
      expect(created && (await keyCell(created).innerText()).split('\n')[0]).toBe('Key 2');
    }
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => page.locator('#audit-page').innerText()).toBe('Page 1');
    await expectClean(watcher, [ACCESS_PROBE]);
  });
});

describe('refusals', () => {
  it('gives a member a read-only console: the lists, and no control that changes a key', async () => {
    const org = freshOrg();
    const admin = { authorization: `Bearer ${adminToken(service, { org })}` };
    expect((await api(service, 'POST', '/v1/keys', admin, { name: 'Server key' })).status).toBe(201);
    const base = `/app/v1/organizations/${org}/projects/ios/api-keys`;
    const created = await api<{ id: string }>(service, 'POST', base, admin, { name: 'iOS app' });
    expect(created.status, created.text).toBe(201);
    expect((await api(service, 'POST', base, admin, { name: 'Old build' })).status).toBe(201);
    expect((await api(service, 'PUT', `${base}/${created.body.id}`, admin, { status: 'revoked' })).status).toBe(200);

    const member = adminToken(service, { org, sub: 'bob', role: 'member' });
    const { page, watcher } = await openConsole(await context(), service);
    await signIn(page, member);
    const notice = page.locator('#read-only');
    expect(await notice.innerText()).toContain('Read-only: signed in as bob (member)');
    expect(await notice.innerText()).toContain('need the admin role');
    expect(await page.locator('#who-text').innerText()).toBe(`bob (member) · ${org}`);
    expect(await sessionToken(page), 'a member stays signed in').toMatch(/^ey/);

    // Organization keys: listed, Client ID copyable, nothing to create, rename or revoke.
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Server key' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: WRITE_BUTTON }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Copy Client ID of Server key' }).count()).toBe(1);
    expect(await page.locator('#org-keys-table thead th:visible').allInnerTexts()).toEqual([
      'Name',
      'Client ID',
      'Key',
      'Created',
      'Created by',
      'Last used',
      'Expires',
      'Permissions',
      'Rate limit',
      'Actions',
    ]);
    await screenshot(page, 'read-only');

    // Project keys: the choices and the list, active and revoked, without a write button.
    await page.getByRole('link', { name: 'Project API Keys' }).click();
    await page.getByLabel('Projects with keys').selectOption('ios');
    await expect.poll(() => page.locator('#project-keys-table tbody tr').count()).toBe(2);
    expect(await page.getByRole('button', { name: WRITE_BUTTON }).count()).toBe(0);
    await page.getByLabel('Project ID').fill('brand-new');
    await page.getByRole('button', { name: 'Open project' }).click();
    await expect
      .poll(() => page.locator('#project-keys-empty').innerText())
      .toBe('“brand-new” has no keys yet: an admin of the organization creates them.');

    // The audit log is for admins: said so, and not asked for.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.locator('#audit-admins-only').isVisible()).toBe(true);
    expect(await page.locator('#audit-card').isVisible()).toBe(false);

    // Keygate refuses a member's write whatever the page shows.
    const write = await api(service, 'POST', '/v1/keys', { authorization: `Bearer ${member}` }, { name: 'not allowed' });
    expect(write.status).toBe(403);
    expect(write.body).toEqual({ error: 'admin role required' });
    await expectClean(watcher, [ACCESS_PROBE]);
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
    await expectOutcomeClearOfFields(page, secretDialog(page), 'API key “Phone-made key” created.');
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
