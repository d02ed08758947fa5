// The console behind Cloudflare Access. Access adds Cf-Access-Jwt-Assertion to every request it
// lets through; here the browser context adds it, signed RS256 by a key whose JWKS a small local
// server publishes, and the service runs with JWT_JWKS_URL (and issuer and audience) pointing there.
import { createServer, type Server } from 'node:http';
import { sign } from 'hono/jwt';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rs256KeyPair } from '../../scripts/lib/rs256.mjs';
import {
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
  startService,
} from './support/harness.mjs';

const ISSUER = 'https://keygate-e2e.cloudflareaccess.com';
const AUDIENCE = 'keygate-e2e-aud-tag';

let jwks: Server;
let privateJwk: JsonWebKey & { kid: string };
let service: Service;
let browser: Browser;

beforeAll(async () => {
  const keys = await rs256KeyPair('e2e-access-key');
  const { publicJwk } = keys;
  privateJwk = keys.privateJwk;
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const address = jwks.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  service = await startService('access', {
    vars: { JWT_JWKS_URL: `http://127.0.0.1:${port}/cdn-cgi/access/certs`, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await new Promise((resolve) => jwks?.close(resolve));
});

/** An identity token as Access signs it, with the claims Keygate reads. */
function accessToken(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    { iss: ISSUER, aud: [AUDIENCE], sub: 'access|carol', role: 'admin', iat: now, exp: now + 3600, ...claims },
    privateJwk as never,
    'RS256',
  );
}

/** A browser context whose every request carries the assertion, as Access adds it. */
async function behindAccess(token: string, options: { readableCookie?: boolean } = {}): Promise<BrowserContext> {
  const context = await newContext(browser, service, { headers: { 'cf-access-jwt-assertion': token } });
  if (options.readableCookie) await context.addCookies([{ name: 'CF_Authorization', value: token, url: service.url }]);
  return context;
}

describe('behind Cloudflare Access', () => {
  it('signs in without a pasted token: asks for the organization, then manages its keys', async () => {
    const org = freshOrg('access');
    const { page, watcher } = await openConsole(await behindAccess(await accessToken({ org })), service);
    await page.getByRole('heading', { name: 'Choose your organization' }).waitFor();
    expect(await page.getByLabel('Admin token').isVisible(), 'no token to paste').toBe(false);
    await screenshot(page, 'access-organization');
    await page.getByLabel('Organization ID').fill(org);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'API & MCP Access' }).waitFor();
    expect(await page.locator('#who-text').innerText()).toBe(`Cloudflare Access · ${org}`);
    expect(await page.getByRole('link', { name: 'Sign out of Access' }).getAttribute('href')).toBe('/cdn-cgi/access/logout');
    expect(await page.evaluate(() => sessionStorage.getItem('keygate.token'))).toBeNull();

    await page.getByRole('button', { name: 'Create API Key' }).click();
    await page.locator('#name-dialog').getByLabel('Name', { exact: true }).fill('Made through Access');
    await page.locator('#name-submit').click();
    const secret = page.locator('#secret-dialog');
    await secret.getByRole('button', { name: 'Copy Client ID' }).click();
    const clientId = await clipboardText(page);
    await secret.getByRole('button', { name: 'Copy API Key' }).click();
    const apiKey = await clipboardText(page);
    await secret.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => focused(page)).toBe('create-org-key');

    const pair = { 'x-metal-client-id': clientId, 'x-metal-api-key': apiKey };
    const listed = await api<{ data: Array<{ name: string; createdBy: string }> }>(service, 'GET', '/v1/keys', pair);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ name: 'Made through Access', createdBy: 'access|carol' })]);

    await page.getByRole('button', { name: 'Revoke API key Made through Access' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Revoke API key' }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Made through Access' }).count()).toBe(0);
    expect((await api(service, 'GET', '/v1/keys', pair)).status).toBe(401);

    // The audit log, read with the same Access identity.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.locator('#audit-table tbody tr').count()).toBe(2);
    expect(await page.locator('#audit-table tbody tr').first().getByRole('cell').nth(3).innerText()).toBe('user access|carol');
    await expectClean(watcher, []);
  });

  it('takes the organization from a readable CF_Authorization cookie', async () => {
    const org = freshOrg('access');
    const { page, watcher } = await openConsole(await behindAccess(await accessToken({ org }), { readableCookie: true }), service);
    await page.getByRole('heading', { name: 'API & MCP Access' }).waitFor();
    expect(await page.locator('#who-text').innerText()).toBe(`Cloudflare Access · ${org}`);
    await expect.poll(() => page.locator('#org-keys-empty').isVisible()).toBe(true);
    await expectClean(watcher, []);
  });

  it('gives a member identity a read-only console (the role read from a readable cookie)', async () => {
    const org = freshOrg('access');
    const { page, watcher } = await openConsole(
      await behindAccess(await accessToken({ org, role: 'member' }), { readableCookie: true }),
      service,
    );
    await page.getByRole('heading', { name: 'API & MCP Access' }).waitFor();
    expect(await page.locator('#read-only').innerText()).toContain('Read-only: signed in as your Cloudflare Access identity');
    await expect.poll(() => page.locator('#org-keys-empty').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Create API Key' }).count()).toBe(0);
    await expectClean(watcher, []);
  });

  it('gives a member identity a read-only console when only Keygate knows the role (an HttpOnly cookie)', async () => {
    const org = freshOrg('access');
    const admin = await accessToken({ org });
    const created = await api(service, 'POST', '/v1/keys', { 'cf-access-jwt-assertion': admin }, { name: 'Listed for members' });
    expect(created.status, created.text).toBe(201);
    const { page, watcher } = await openConsole(await behindAccess(await accessToken({ org, role: 'member' })), service);
    await page.getByLabel('Organization ID').fill(org);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'API & MCP Access' }).waitFor();
    expect(await page.locator('#read-only').isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'Listed for members' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: /^(Create API Key|Rename|Revoke)/ }).count()).toBe(0);
    // The audit log's refusal told the console the identity is no admin.
    await expectClean(watcher, [`403 /app/v1/organizations/${org}/audit-log`]);
  });

  it('does not find an organization the identity does not belong to', async () => {
    const { page, watcher } = await openConsole(await behindAccess(await accessToken({ org: freshOrg('access') })), service);
    await page.getByLabel('Organization ID').fill('someone-else');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.locator('#org-message').innerText()).toContain('was not found');
    expect(await page.locator('#app-view').isVisible()).toBe(false);
    await expectClean(watcher, ['404 /app/v1/organizations/someone-else/audit-log']);
  });

  it('falls back to the sign-in form when Keygate refuses the identity (no org and role claims)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const plain = await sign(
      { iss: ISSUER, aud: [AUDIENCE], sub: 'access|dave', email: 'dave@example.com', iat: now, exp: now + 3600 },
      privateJwk as never,
      'RS256',
    );
    const { page, watcher } = await openConsole(await behindAccess(plain), service);
    await expect.poll(() => page.getByLabel('Admin token').isVisible()).toBe(true);
    expect(await page.locator('#signin-message').innerText()).toContain('Keygate refused your Cloudflare Access identity');
    expect(await page.locator('tbody tr').count()).toBe(0);
    await expectClean(watcher, ['401 /v1/keys']);
  });
});
