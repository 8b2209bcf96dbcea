import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import {
  api,
  fixture,
  importFixture,
  launchChromium,
  newContext,
  openTarget,
  setAdminPassword,
  settled,
  signIn,
  type PageGlobals,
  type Target,
} from './console.harness.ts';

// The analyst's main path, in Debian's Chromium against a real server: sign in, upload an nmap XML,
// see the new services, open the container the detection raised, answer its prompt with a
// justification, see the service approved. Expected listeners come from the fixture's ground truth
// (../shared/fixtures/real-tools/README.md): nmap-sT-sV.xml finds 2222, 3306, 9090 and 9443 open on
// 198.18.0.2 (21, 80 and 9999 closed).
const HOST = '198.18.0.2';
const OPEN_PORTS = [2222, 3306, 9090, 9443];
const CLOSED_PORTS = [21, 80, 9999];
const PORT = 9090;
const JUSTIFICATION = 'Prometheus UI for the monitoring team (ticket OPS-7)';

const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();

interface ServiceRow {
  id: number;
  host: string;
  port: number;
  protocol: string;
  state: string;
  justification: string | null;
}

describe('web console in Chromium', { timeout: 240_000 }, () => {
  let t: Target;
  let browser: Browser;
  let page: Page;
  let password: string;
  let containerUrl = '';
  const pageErrors: string[] = [];

  before(async () => {
    t = await openTarget();
    password = await setAdminPassword(t);
    browser = await launchChromium();
    const context = await newContext(browser);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in with a password and shows the overview', async () => {
    await page.goto(`${t.url}/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
    await signIn(page, t, password);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByText('No services yet').first().waitFor();
  });

  it('uploads an nmap XML and shows its listeners as new services', async () => {
    await nav(page, 'Imports');
    await page.getByLabel('Evidence file').setInputFiles(fixture('nmap-sT-sV.xml'));
    await page.getByLabel('Alerting').selectOption('false');
    await page.getByRole('button', { name: 'Import' }).click();
    const summary = page.getByRole('status', { name: 'Import summary' });
    await summary.waitFor({ timeout: 60_000 });
    assert.match(await summary.innerText(), /New services\s+4/);

    await page.getByRole('link', { name: 'See the services' }).click();
    await page.getByRole('table', { name: 'Services' }).waitFor();
    await settled(page);
    const rows = page.getByRole('table', { name: 'Services' }).locator('tbody tr');
    assert.equal(await rows.count(), OPEN_PORTS.length);
    const text = await page.getByRole('table', { name: 'Services' }).innerText();
    for (const port of OPEN_PORTS) assert.match(text, new RegExp(`${HOST}\\s+${port}\\s+tcp\\s+new`));
    for (const port of CLOSED_PORTS) assert.doesNotMatch(text, new RegExp(`\\s${port}\\s+tcp`));
  });

  it('opens the container the detection raised', async () => {
    await nav(page, 'Containers');
    const link = page.getByRole('link', { name: `New listening port ${HOST}:${PORT}/tcp` });
    await link.waitFor({ timeout: 30_000 });
    await link.click();
    await page.getByRole('heading', { level: 1, name: `New listening port ${HOST}:${PORT}/tcp` }).waitFor();
    await page.getByRole('heading', { name: 'Artifacts' }).waitFor();
    containerUrl = page.url();
    await settled(page);
    const artifacts = await page.getByRole('table', { name: 'Artifacts' }).innerText();
    assert.match(artifacts, /destinationAddress\s+198\.18\.0\.2/);
    assert.match(artifacts, /destinationPort\s+9090/);
  });

  it('answers the playbook prompt with a justification and the service turns approved', async () => {
    const prompt = page.locator('form.prompt').first();
    // The built-in playbook confirms the port first, then asks: wait for its prompt to arrive live.
    await prompt.waitFor({ timeout: 90_000 });
    await prompt.getByRole('radio', { name: 'approve', exact: true }).check();
    await prompt.getByLabel(/Justification/).fill(JUSTIFICATION);
    await prompt.getByLabel(/expires/i).fill('2031-12-31');
    await prompt.getByRole('button', { name: 'Answer' }).click();
    await page.getByRole('heading', { name: 'Answered prompts' }).waitFor({ timeout: 30_000 });
    await page.goto(`${t.url}/hosts/${HOST}`);
    const row = page
      .getByRole('table', { name: `Ports of ${HOST}` })
      .locator('tbody tr', { hasText: `${PORT}` })
      .first();
    await row.getByText('approved').waitFor({ timeout: 60_000 });
    const services = await api<{ data: ServiceRow[] }>(t, 'GET', `/api/services?host=${HOST}&port=${PORT}`);
    assert.equal(services.data[0]?.state, 'approved');
    assert.equal(services.data[0]?.justification, JUSTIFICATION);
  });

  it('runs an app action on the container by hand and shows its result', async () => {
    // The Utility app's "no op" touches nothing outside the server.
    await page.goto(containerUrl);
    await page.getByRole('button', { name: 'Run an action…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Action').selectOption({ label: 'no op (Utility)' });
    await dialog.getByRole('button', { name: 'Run action' }).click();
    const result = page.getByRole('listitem').filter({ hasText: 'no op' }).first();
    await result.getByText('success').waitFor({ timeout: 30_000 });
  });

  it('approves a service with a justification and an expiry from the host page', async () => {
    const approvePort = 3306;
    await page.goto(`${t.url}/hosts/${HOST}`);
    await page.getByRole('heading', { level: 1, name: HOST }).waitFor();
    await settled(page);
    await page.getByRole('button', { name: `Approve port ${approvePort}/tcp` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Business justification').fill('MySQL replica for reporting (ticket DB-12)');
    await dialog.getByLabel('Approval expires').fill('2031-01-31');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: 'Approved 1 service' }).waitFor();
    const row = page
      .getByRole('table', { name: `Ports of ${HOST}` })
      .locator('tbody tr')
      .filter({ hasText: String(approvePort) });
    await row.getByText('MySQL replica for reporting').waitFor();
    const services = await api<{ data: ServiceRow[] }>(
      t,
      'GET',
      `/api/services?host=${HOST}&port=${approvePort}`,
    );
    assert.equal(services.data[0]?.state, 'approved');
    assert.equal(services.data[0]?.justification, 'MySQL replica for reporting (ticket DB-12)');
  });

  it('approves several services at once from the inventory', async () => {
    await page.goto(`${t.url}/inventory?host=${HOST}&state=new`);
    await page.getByRole('table', { name: 'Services' }).waitFor();
    await settled(page);
    await page.getByRole('checkbox', { name: 'Select all rows on this page' }).check();
    await page.getByRole('button', { name: 'Approve selected…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Business justification').fill('Lab host 198.18.0.2: all listeners expected');
    await dialog.getByRole('button', { name: /^Approve \d+$/ }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Approved \d+ services?/ })
      .waitFor();
    const services = await api<{ data: ServiceRow[] }>(t, 'GET', `/api/services?host=${HOST}&protocol=tcp`);
    assert.deepEqual(
      services.data.map((s) => s.state),
      services.data.map(() => 'approved'),
    );
  });

  it('shows a listener imported elsewhere live, without reloading', async () => {
    await page.goto(`${t.url}/inventory`);
    await page.getByRole('table', { name: 'Services' }).waitFor();
    await settled(page);
    await page.getByText('Live', { exact: true }).waitFor();
    // nmap-ipv6.xml: fd00:198:18::2 listens on tcp/11211 (fixture ground truth).
    await importFixture(t, fixture('nmap-ipv6.xml'), { learning: 'false' });
    await page
      .getByRole('table', { name: 'Services' })
      .getByRole('link', { name: 'fd00:198:18::2' })
      .first()
      .waitFor({ timeout: 30_000 });
    await nav(page, 'Containers');
    await page
      .getByRole('link', { name: 'New listening port [fd00:198:18::2]:11211/tcp' })
      .waitFor({ timeout: 20_000 });
  });

  it('scans a loopback listener it opened, inside a scope added on the Scans page', async () => {
    // Only a port this test listens on, on loopback, is ever scanned.
    const listener = createServer((sock) => sock.end());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const port = (listener.address() as AddressInfo).port;
    try {
      await nav(page, 'Scans');
      await page.getByText('No scope yet').waitFor();
      const scopeForm = page.getByRole('form', { name: 'Add a scope' });
      await scopeForm.getByLabel('CIDR').fill('127.0.0.1/32');
      await scopeForm.getByRole('button', { name: 'Add scope' }).click();
      await page.getByRole('table', { name: 'Scopes' }).getByText('127.0.0.1/32').waitFor();
      const scanForm = page.getByRole('form', { name: 'Run a scan' });
      await scanForm.getByLabel('Targets').fill('127.0.0.1');
      await scanForm.getByLabel('Ports').fill(String(port));
      await scanForm.getByRole('button', { name: 'Run now' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: /Scan \d+ started/ })
        .waitFor();
      const row = page.getByRole('table', { name: 'Scans' }).locator('tbody tr').first();
      await row.getByText(/^(success|done|finished|completed)$/).waitFor({ timeout: 60_000 });
      assert.match(await row.innerText(), new RegExp(`127\\.0\\.0\\.1\\s+${port}[\\s\\S]*1/1\\s+1`));
    } finally {
      listener.close();
    }
  });

  it('moves through the inventory with the keyboard', async () => {
    await page.goto(`${t.url}/inventory`);
    await page.getByRole('table', { name: 'Services' }).waitFor();
    await settled(page);
    await page.keyboard.press('g');
    await page.keyboard.press('c');
    await page.getByRole('heading', { level: 1, name: 'Containers' }).waitFor();
    await page.keyboard.press('g');
    await page.keyboard.press('s');
    await page.getByRole('heading', { level: 1, name: 'Services' }).waitFor();
    await settled(page);
    await page.locator('tbody tr').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/hosts\//);
  });

  it('turns on a TOTP second factor and signs in with a code', async () => {
    await page.goto(`${t.url}/admin`);
    await page.getByRole('button', { name: 'Set up TOTP…' }).click();
    const key = (await page.getByLabel('TOTP key').innerText()).trim();
    await page.getByLabel('Code from the app').fill(await generate({ secret: key }));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('Two-factor sign-in (TOTP) is on.').waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    // The Users page has a "User name" field too: wait for the sign-in form itself.
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.waitFor();
    await form.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByLabel('Authenticator code')
      .waitFor({ timeout: 10_000 })
      .catch(async (e: unknown) => {
        const alert = await page.getByRole('alert').allInnerTexts();
        throw new Error(
          `no TOTP field after the password; the page says: ${alert.join(' | ') || '(nothing)'} (${String(e)})`,
        );
      });
    await page.getByLabel('Authenticator code').fill(await generate({ secret: key }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('switches between light and dark themes', async () => {
    const before = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return g.getComputedStyle(g.document.body).backgroundColor;
    });
    await page.getByRole('button', { name: /Switch to (dark|light) theme/ }).click();
    const afterToggle = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return g.getComputedStyle(g.document.body).backgroundColor;
    });
    assert.notEqual(afterToggle, before);
  });

  it('configures an asset whose secret is write-only, and tests its connectivity', async () => {
    // The webhook target is a loopback server this test runs.
    const hits: string[] = [];
    const hook = createHttpServer((req, res) => {
      hits.push(`${req.method} ${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const hookPort = (hook.address() as AddressInfo).port;
    const SECRET = 'hook-secret-e2e-0042';
    try {
      await nav(page, 'Apps & assets');
      await page.getByRole('button', { name: 'Configure an asset for HTTP' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Asset name').fill('e2e-webhook');
      await dialog.getByLabel(/^allowed_destinations/).fill('127.0.0.1');
      await dialog.getByLabel(/^base_url/).fill(`http://127.0.0.1:${hookPort}/hook`);
      await dialog.getByLabel(/^auth_token/).fill(SECRET);
      await dialog.getByRole('button', { name: 'Save asset' }).click();
      const row = page
        .getByRole('table', { name: 'Assets' })
        .locator('tbody tr')
        .filter({ hasText: 'e2e-webhook' });
      await row.waitFor();
      assert.match(await row.innerText(), /auth_token: secret set/);
      assert.doesNotMatch(await page.content(), new RegExp(SECRET));
      const assets = JSON.stringify(await api(t, 'GET', '/rest/asset?page_size=0'));
      assert.doesNotMatch(assets, new RegExp(SECRET));

      await row.getByRole('button', { name: 'Edit asset e2e-webhook' }).click();
      assert.equal(
        await page
          .getByRole('dialog')
          .getByLabel(/^auth_token/)
          .inputValue(),
        '',
      );
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

      await row.getByRole('button', { name: 'Test connectivity of e2e-webhook' }).click();
      await row
        .getByRole('status')
        .getByText(/^(success|failed)$/)
        .waitFor({ timeout: 60_000 });
      assert.match(await row.getByRole('status').innerText(), /success/);
    } finally {
      hook.close();
    }
  });

  it('labels every form control on every page', async () => {
    for (const path of [
      '/',
      '/inventory',
      `/hosts/${HOST}`,
      containerUrl.replace(t.url, ''),
      '/containers',
      '/playbooks',
      '/playbooks?tab=runs',
      '/apps',
      '/imports',
      '/scans',
      '/audit',
      '/admin',
    ]) {
      await page.goto(`${t.url}${path}`);
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await settled(page);
      const unlabelled = await page.evaluate(() => {
        type El = {
          tagName: string;
          type?: string;
          id: string;
          name?: string;
          labels?: { length: number } | null;
          getAttribute(n: string): string | null;
          closest(s: string): unknown;
        };
        const d = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<El> } })
          .document;
        const out: string[] = [];
        const els = d.querySelectorAll('input, select, textarea, button');
        for (let i = 0; i < els.length; i++) {
          const el = els[i]!;
          if (el.type === 'hidden') continue;
          const named =
            (el.labels && el.labels.length > 0) ||
            el.getAttribute('aria-label') ||
            el.getAttribute('aria-labelledby') ||
            (el.tagName === 'BUTTON' &&
              ((el as unknown as { textContent: string }).textContent ?? '').trim() !== '');
          if (!named) out.push(`${el.tagName.toLowerCase()}[name=${el.name ?? ''}]`);
        }
        return out;
      });
      assert.deepEqual(unlabelled, [], `unlabelled controls on ${path}`);
    }
  });

  it('threw no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
