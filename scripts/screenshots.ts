// Renders the web console's main pages in Debian's Chromium into a folder, as PNG:
//   npm run screenshots -- DIR
// Starts a server on a temporary data dir and a free port (or uses PORTCULLIS_URL and
// PORTCULLIS_TOKEN), seeds it through the real API with the fixtures, signs in through the sign-in
// form and captures the overview, inventory, host page, container page and a few more.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import {
  api,
  fixture,
  fixtureExists,
  importFixture,
  launchChromium,
  newContext,
  openTarget,
  setAdminPassword,
  settled,
  signIn,
  type Target,
} from '../test/e2e/console.harness.ts';

interface ListEnvelope<T> {
  count: number;
  data: T[];
}

async function seed(t: Target): Promise<void> {
  const existing = await api<ListEnvelope<unknown>>(t, 'GET', '/api/services?limit=1');
  if (existing.count > 0) {
    console.log(`server already has ${existing.count} services: not seeding`);
    return;
  }
  // The first import into an empty baseline is a learning run; later ones raise containers. Only the
  // fixtures of the lab network (198.18.0.2, fd00:198:18::2) raise containers: a container starts the
  // built-in playbook, which re-scans the port, and nothing here may probe other people's addresses
  // (the Zeek and Stream fixtures carry public and documentation addresses: recorded as learning runs).
  const plan: Array<[string, Record<string, string>]> = [
    ['nmap-host-down.xml', {}],
    ['stream-tcp.ndjson', { learning: 'true' }],
    ['conn-basic.log', { learning: 'true' }],
    ['nmap-sT-sV.xml', { learning: 'false' }],
    ['nmap-ipv6.xml', { learning: 'false' }],
    ['nmap-udp.xml', { learning: 'false' }],
    ['nc-openbsd.txt', { learning: 'false' }],
    ['ncat.txt', { learning: 'false' }],
  ];
  for (const [name, fields] of plan) {
    if (!fixtureExists(name)) {
      console.log(`fixture ${name} not found: skipped`);
      continue;
    }
    try {
      const s = await importFixture(t, fixture(name), fields);
      console.log(
        `imported ${name}: ${s.new_services ?? '?'} new services, ${s.containers ?? '?'} containers`,
      );
    } catch (e) {
      // A format this server cannot read yet should not stop the pictures of what it can show.
      console.log(`import of ${name} failed: ${(e as Error).message}`);
    }
  }
  const services = await api<ListEnvelope<{ id: number; host: string; port: number; state: string }>>(
    t,
    'GET',
    '/api/services?limit=100&sort=port',
  );
  const ssh = services.data.find((s) => s.port === 2222);
  if (ssh)
    await api(t, 'POST', `/api/services/${ssh.id}/state`, {
      state: 'approved',
      justification: 'Bastion SSH for the operations team (change CHG-1042)',
      expires_at: new Date(Date.now() + 180 * 86_400_000).toISOString(),
    }).catch((e: Error) => console.log(`approving a service failed: ${e.message}`));
  const containers = await api<ListEnvelope<{ id: number }>>(
    t,
    'GET',
    '/rest/container?page_size=1&sort=id&order=desc',
  ).catch(() => null);
  const first = containers?.data[0];
  if (first)
    await api(t, 'POST', '/rest/note', {
      container_id: first.id,
      title: 'Triage',
      content: 'Listener seen in the nmap import. Asked the service owner for a justification.',
    }).catch((e: Error) => console.log(`adding a note failed: ${e.message}`));
}

async function shot(
  page: Page,
  dir: string,
  name: string,
  path: string,
  t: Target,
  ready?: string,
): Promise<string> {
  await page.goto(`${t.url}${path}`);
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15_000 });
  if (ready) await page.locator(ready).first().waitFor({ timeout: 15_000 });
  await settled(page);
  // Let charts and live status settle (fonts, the event stream's first connect).
  await page.waitForTimeout(400);
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`wrote ${file}`);
  return file;
}

async function main(): Promise<void> {
  const dirArg = process.argv.slice(2).find((a) => !a.startsWith('-'));
  if (!dirArg) {
    console.error('usage: npm run screenshots -- DIR');
    process.exit(2);
  }
  const dir = resolve(dirArg);
  mkdirSync(dir, { recursive: true });
  const t = await openTarget();
  console.log(`using ${t.url}`);
  const browser = await launchChromium();
  try {
    await seed(t);
    let password: string | null = null;
    try {
      password = await setAdminPassword(t);
    } catch (e) {
      console.log(`cannot set the admin password (${(e as Error).message}); signing in with the API token`);
    }
    const services = await api<ListEnvelope<{ host: string }>>(t, 'GET', '/api/services?limit=1000');
    const hostCounts = new Map<string, number>();
    for (const s of services.data) hostCounts.set(s.host, (hostCounts.get(s.host) ?? 0) + 1);
    const host = [...hostCounts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const containers = await api<ListEnvelope<{ id: number }>>(
      t,
      'GET',
      '/rest/container?page_size=1&sort=id&order=desc',
    ).catch(() => null);
    const containerId = containers?.data[0]?.id;

    for (const theme of ['light', 'dark'] as const) {
      const context = await newContext(browser, { dark: theme === 'dark' });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await signIn(page, t, password);
      if (theme === 'light') {
        await shot(page, dir, '01-overview', '/', t, 'text=Services by state');
        await shot(page, dir, '02-inventory', '/inventory', t, 'table, .empty');
        if (host) await shot(page, dir, '03-host', `/hosts/${encodeURIComponent(host)}`, t, 'table');
        else console.log('no services: no host page');
        if (containerId)
          await shot(page, dir, '04-container', `/containers/${containerId}`, t, 'text=Artifacts');
        else console.log('no containers: no container page');
        await shot(page, dir, '05-containers', '/containers', t);
        await shot(page, dir, '06-imports', '/imports', t);
        await shot(page, dir, '07-scans', '/scans', t);
        await shot(page, dir, '08-admin', '/admin', t);
        await shot(page, dir, '09-playbooks', '/playbooks?tab=runs', t);
        await shot(page, dir, '10-apps', '/apps', t);
        await shot(page, dir, '13-audit', '/audit', t);
      } else {
        await shot(page, dir, '11-overview-dark', '/', t, 'text=Services by state');
        await shot(page, dir, '12-inventory-dark', '/inventory', t, 'table, .empty');
        if (containerId)
          await shot(page, dir, '14-container-dark', `/containers/${containerId}`, t, 'text=Artifacts');
      }
      if (errors.length) throw new Error(`the page threw: ${errors.join('; ')}`);
      await context.close();
    }
    // The sign-in page itself, signed out.
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${t.url}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.screenshot({ path: join(dir, '00-sign-in.png') });
    console.log(`wrote ${join(dir, '00-sign-in.png')}`);
    await context.close();
  } finally {
    await browser.close();
    await t.close();
  }
}

main().catch((e: unknown) => {
  console.error(`screenshots failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
