import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Agent, FormData, request } from 'undici';
import { startServerProcess, type ServerProcess } from '../../src/testing/server.ts';

/** Shared by the browser end-to-end test, the screenshots script and the UI benchmark. */

const ROOT = resolve(new URL('../../', import.meta.url).pathname);
// Imports of large files answer only when done: no header or body timeout.
const insecure = new Agent({ connect: { rejectUnauthorized: false }, headersTimeout: 0, bodyTimeout: 0 });

/** Debian's Chromium, started the way this machine's closed network needs. */
export const CHROMIUM_PATH = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A Portcullis to drive: one started here on a temp data dir, or PORTCULLIS_URL + PORTCULLIS_TOKEN. */
export interface Target {
  url: string;
  token: string;
  server?: ServerProcess;
  close(): Promise<void>;
}

export async function openTarget(opts: { env?: Record<string, string> } = {}): Promise<Target> {
  const url = process.env.PORTCULLIS_URL;
  if (url) {
    const token = process.env.PORTCULLIS_TOKEN;
    if (!token)
      throw new Error('PORTCULLIS_URL is set but PORTCULLIS_TOKEN is not: give the admin token too');
    return { url: url.replace(/\/+$/, ''), token, close: async () => {} };
  }
  const server = await startServerProcess(opts.env ? { env: opts.env } : {});
  return {
    url: server.url,
    token: server.token,
    server,
    async close() {
      await server.stop();
      server.cleanup();
    },
  };
}

/** One JSON call with the admin token; throws with the server's message on failure. */
export async function api<T = unknown>(t: Target, method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(`${t.url}${path}`, {
    method: method as 'GET',
    dispatcher: insecure,
    headers: {
      'ph-auth-token': t.token,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : null,
  });
  const text = await res.body.text();
  if (res.statusCode >= 400)
    throw new Error(`${method} ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Uploads an evidence file through `POST /api/imports` (multipart, as the browser does). */
export async function importFixture(
  t: Target,
  file: string,
  fields: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([readFileSync(file)]), basename(file));
  const res = await request(`${t.url}/api/imports`, {
    method: 'POST',
    dispatcher: insecure,
    headers: { 'ph-auth-token': t.token },
    body: form,
  });
  const text = await res.body.text();
  if (res.statusCode >= 400)
    throw new Error(`import ${basename(file)}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * A fixture file: the shared real-tool fixtures next to the checkout when present, else the
 * project's own copies under src/ingest (so CI without ../shared still works).
 */
export function fixture(name: string): string {
  const candidates = [
    join(ROOT, '..', 'shared', 'fixtures', 'real-tools', name),
    join(ROOT, '..', 'shared', 'fixtures', 'constructed', name),
    join(ROOT, '..', 'shared', 'fixtures', 'zeek', name),
    join(ROOT, 'src', 'ingest', 'nmap', 'testdata', name),
    join(ROOT, 'src', 'ingest', 'netcat', 'testdata', name),
    join(ROOT, 'src', 'ingest', 'stream', 'testdata', name),
    join(ROOT, 'test', 'e2e', 'testdata', name),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`fixture ${name} not found in ${candidates.join(', ')}`);
  return found;
}

export function fixtureExists(name: string): boolean {
  try {
    fixture(name);
    return true;
  } catch {
    return false;
  }
}

/** Gives the admin a password (a fresh server's admin has only the token) and returns it. */
export async function setAdminPassword(t: Target): Promise<string> {
  const password = `ui-${randomBytes(12).toString('base64url')}`;
  await api(t, 'PUT', '/api/users/admin/password', { password });
  return password;
}

/** A browser context on the target that trusts its self-signed certificate. */
export async function newContext(browser: Browser, opts: { dark?: boolean } = {}): Promise<BrowserContext> {
  return browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1440, height: 900 },
    colorScheme: opts.dark ? 'dark' : 'light',
    deviceScaleFactor: 1,
  });
}

/** Signs in through the sign-in form with a password, or with the API token when none is given. */
export async function signIn(page: Page, t: Target, password: string | null): Promise<void> {
  await page.goto(`${t.url}/`);
  if (password) {
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(password);
  } else {
    await page.getByRole('tab', { name: 'API token' }).click();
    await page.getByLabel('API token').fill(t.token);
  }
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15_000 });
}

/** The browser's globals, typed just enough for the functions these tests run in the page. */
export interface PageGlobals {
  document: {
    querySelectorAll(selector: string): { length: number };
    querySelector(selector: string): { textContent: string | null } | null;
    body: unknown;
  };
  getComputedStyle(element: unknown): { backgroundColor: string };
}

/** Waits until the page shows no loading placeholders. */
export async function settled(page: Page, timeout = 15_000): Promise<void> {
  // Functions, not strings: the console's CSP forbids eval, and string predicates are eval'd.
  await page.waitForFunction(
    () => (globalThis as unknown as PageGlobals).document.querySelectorAll('.loading').length === 0,
    undefined,
    { timeout },
  );
}
