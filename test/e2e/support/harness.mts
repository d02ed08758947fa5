// The browser tests' harness: a local service of their own (as npm start runs it, in a temporary
// directory, on a free port, with a JWT_SECRET only the tests know), admin tokens from the code of
// npm run token, Debian's Chromium through playwright-core, and a watch on each page for console
// errors and CSP violations.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM, CHROMIUM_FLAGS, CHROMIUM_MISSING } from '../../../scripts/lib/chromium.mjs';
import { startLocalService } from '../../../scripts/lib/local-service.mjs';
import { ROOT } from '../../../scripts/lib/wrangler.mjs';

export const RESULTS = join(ROOT, 'test-results');
const DOCS = join(ROOT, 'docs');

export type Service = {
  url: string;
  /** The JWT_SECRET this service verifies admin tokens with. */
  secret: string;
  stop(): Promise<void>;
};

/**
 * Starts Keygate and the reference origin as npm start does, in a fresh temporary directory
 * (state and secrets), never the developer's .wrangler/state or .dev.vars. `vars` override
 * wrangler.toml's vars; `sql` is applied to Keygate's D1 before the start. Its log is
 * test-results/e2e-<name>-wrangler.log.
 */
export async function startService(name: string, options: { vars?: Record<string, string>; sql?: string } = {}): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), `keygate-e2e-${name}-`));
  const secret = randomBytes(32).toString('hex');
  const envFile = join(dir, '.env');
  const vars = { JWT_SECRET: secret, ...options.vars };
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    { mode: 0o600 },
  );
  mkdirSync(RESULTS, { recursive: true });
  try {
    const service = await startLocalService({
      persistTo: join(dir, 'state'),
      envFile,
      logFile: join(RESULTS, `e2e-${name}-wrangler.log`),
      sql: options.sql,
    });
    return {
      url: service.url,
      secret,
      async stop() {
        await service.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * An admin JWT from scripts/token.mjs, the code behind npm run token, signed with `secret`
 * (by default the service's own).
 */
export function adminToken(
  service: Service,
  claims: { org: string; sub?: string; role?: 'admin' | 'member'; ttl?: number },
  secret: string = service.secret,
): string {
  const args = [
    'scripts/token.mjs',
    '--org',
    claims.org,
    '--sub',
    claims.sub ?? 'alice',
    '--role',
    claims.role ?? 'admin',
    '--ttl',
    String(claims.ttl ?? 3600),
  ];
  return execFileSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, JWT_SECRET: secret }, encoding: 'utf8' }).trim();
}

/** A fresh organization id, so tests never share keys. */
export function freshOrg(prefix = 'e2e'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Launches Chromium; playwright-core gives every launch a fresh temporary profile (user data dir). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: 60_000 });
}

/** What a page reported: network refusals by status and path, and everything else that went wrong. */
export type Watch = {
  /** "401 /v1/keys": the API's documented refusals the test provoked (Chrome logs each as an error). */
  refusals: string[];
  /** Console errors other than those refusals, uncaught exceptions, CSP violations. */
  problems(): Promise<string[]>;
};

/**
 * A browser context for the console: clipboard permissions for its origin, and a recorder of
 * CSP violations in every page (added by the debugger, so not subject to the CSP itself).
 */
export async function newContext(
  browser: Browser,
  service: Service,
  options: { viewport?: { width: number; height: number }; headers?: Record<string, string> } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    extraHTTPHeaders: options.headers,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: service.url });
  await context.addInitScript(() => {
    const seen: string[] = [];
    Object.defineProperty(window, '__cspViolations', { value: seen });
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`);
    });
  });
  context.setDefaultTimeout(15_000);
  return context;
}

/** Records what `page` reports from now on. */
export function watch(page: Page): Watch {
  const refusals: string[] = [];
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const refused = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(message.text());
    if (refused) refusals.push(`${refused[1]} ${new URL(message.location().url).pathname}`);
    else errors.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return {
    refusals,
    async problems() {
      const violations = await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations.slice());
      return [...errors, ...violations.map((v) => `CSP violation: ${v}`)];
    },
  };
}

/** Asserts that nothing went wrong on the page and that it saw exactly the expected refusals. */
export async function expectClean(watcher: Watch, expectedRefusals: string[]): Promise<void> {
  expect(await watcher.problems()).toEqual([]);
  expect(watcher.refusals.slice().sort()).toEqual(expectedRefusals.slice().sort());
}

/** Opens the console signed out; the first answer it gets is the Cloudflare Access probe's 401. */
export async function openConsole(context: BrowserContext, service: Service) {
  const page = await context.newPage();
  const watcher = watch(page);
  const response = await page.goto(`${service.url}/console`);
  if (!response) throw new Error('no response for /console');
  return { page, watcher, response };
}

/** Signs in through the form with a pasted token and waits for the API Keys card. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API & MCP Access' }).waitFor();
}

/**
 * Writes test-results/console-<name>.png. With KEYGATE_UPDATE_DOCS=1 the API Keys card is also
 * copied to docs/console-api-keys.png, the screenshot the README shows.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(RESULTS, `console-${name}.png`);
  // The passing notice (role=status) would float over the middle of a full-page picture.
  await page.locator('#toast').evaluate((toast) => {
    toast.textContent = '';
  });
  // A modal dialog is pictured as the screen shows it; a page as a whole.
  const dialogOpen = (await page.locator('dialog[open]').count()) > 0;
  await page.screenshot({ path, fullPage: !dialogOpen });
  if (name === 'api-keys' && process.env.KEYGATE_UPDATE_DOCS === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(path, join(DOCS, 'console-api-keys.png'));
  }
  return path;
}

/** The id of the focused element (or its tag and text), for focus assertions. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = document.activeElement;
    if (!active) return '';
    return active.id || `${active.tagName.toLowerCase()}:${(active.getAttribute('aria-label') ?? active.textContent ?? '').trim()}`;
  });
}

/** The text the page would paste: what the Copy button put on the clipboard. */
export function clipboardText(page: Page): Promise<string> {
  return page.evaluate(() => navigator.clipboard.readText());
}

/** A JSON request against the service, as a client of the API would send it. */
export async function api<T = unknown>(
  service: Service,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the text tells
  }
  return { status: res.status, body: parsed as T, text };
}
