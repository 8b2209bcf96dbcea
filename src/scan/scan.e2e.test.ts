// The scanner through the real server and CLI, against loopback listeners this test opens (and only
// their ports): scopes refuse and allow without a restart, results flow into the baseline with source
// `scan`, Ctrl-C cancels on the server, and schedules survive a restart.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BIN, runCli, startServerProcess, type ServerProcess } from '../testing/server.ts';

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => {
      // the scanner's probes close at once: a reset is expected here
      c.on('error', () => undefined);
      c.end('SSH-2.0-pcscan-test\r\n');
    });
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s: Server) => (s.address() as { port: number }).port;
const close = (s: Server) => new Promise((r) => s.close(r));

interface Row {
  host: string;
  protocol: string;
  port: number;
  state: string;
  reason: string;
  banner?: string;
}

describe('portcullis scan and scope (server + CLI)', () => {
  let srv: ServerProcess;
  let env: Record<string, string>;
  const servers: Server[] = [];
  let openPorts: number[] = [];
  let closedPort = 0;

  before(async () => {
    srv = await startServerProcess();
    env = {
      PORTCULLIS_URL: srv.url,
      PORTCULLIS_TOKEN: srv.token,
      PORTCULLIS_CA_CERT: `${srv.dataDir}/tls/cert.pem`,
    };
    for (let i = 0; i < 3; i++) servers.push(await listen());
    openPorts = servers.map(portOf).sort((a, b) => a - b);
    // a port this test owned and closed again: nothing listens there
    const tmp = await listen();
    closedPort = portOf(tmp);
    await close(tmp);
  });

  after(async () => {
    for (const s of servers) await close(s);
    await srv?.stop();
    srv?.cleanup();
  });

  it('refuses every target while the scope is empty, before scanning', async () => {
    const res = await srv.api<{ failed: boolean; code: string; message: string }>('POST', '/api/scans', {
      targets: ['127.0.0.1'],
      ports: String(openPorts[0]),
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'out_of_scope');
    assert.match(res.body.message, /no scan scope/);
    const cli = await runCli(['scan', '127.0.0.1', '-p', String(openPorts[0])], env);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /outside the scan scope/);
    const runs = await srv.api<{ count: number }>('GET', '/api/scans');
    assert.equal(runs.body.count, 0);
  });

  it('applies scope changes at once and finds the open ports with their banners', async () => {
    const add = await runCli(['scope', 'add', '127.0.0.0/8', '--json'], env);
    assert.equal(add.code, 0, add.stderr);
    assert.equal((JSON.parse(add.stdout) as { cidr: string }).cidr, '127.0.0.0/8');
    const ports = [...openPorts, closedPort].join(',');
    const scan = await runCli(['scan', '127.0.0.1', '-p', ports, '--json', '--all', '--banner'], env);
    assert.equal(scan.code, 0, scan.stderr);
    const out = JSON.parse(scan.stdout) as {
      data: Row[];
      scan: { id: number; status: string; open: number };
    };
    assert.equal(out.scan.status, 'completed');
    assert.deepEqual(
      out.data.filter((r) => r.state === 'open').map((r) => r.port),
      openPorts,
    );
    for (const r of out.data.filter((x) => x.state === 'open')) {
      assert.equal(r.protocol, 'tcp');
      assert.equal(r.reason, 'syn-ack');
      assert.equal(r.banner, 'SSH-2.0-pcscan-test');
    }
    assert.deepEqual(
      out.data.filter((r) => r.state !== 'open').map((r) => [r.port, r.state, r.reason]),
      [[closedPort, 'closed', 'conn-refused']],
    );

    // an exclusion inside the allowed block refuses again, without a restart
    assert.equal((await runCli(['scopes', 'add', '127.0.0.1', '--exclude'], env)).code, 0);
    const refused = await runCli(['scan', '127.0.0.1', '-p', String(openPorts[0])], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /excluded block 127\.0\.0\.1\/32/);
    assert.equal((await runCli(['scope', 'remove', '127.0.0.1', '--exclude'], env)).code, 0);
    const list = JSON.parse((await runCli(['scope', 'list', '--json'], env)).stdout) as {
      data: Array<{ cidr: string; kind: string }>;
    };
    assert.deepEqual(
      list.data.map((s) => [s.kind, s.cidr]),
      [['allow', '127.0.0.0/8']],
    );
  });

  it('records open ports in the baseline with source scan', async () => {
    let services: Array<{ host: string; port: number; sources: unknown }> = [];
    for (let i = 0; i < 50; i++) {
      const res = await srv.api<{ data: typeof services }>('GET', '/api/services?source=scan&host=127.0.0.1');
      services = res.body.data ?? [];
      if (services.length >= openPorts.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      services.map((s) => s.port).sort((a, b) => a - b),
      openPorts,
    );
    assert.ok(!services.some((s) => s.port === closedPort));
  });

  it('cancels the scan on the server when the CLI gets Ctrl-C, keeping partial results', async () => {
    // Two probes a second over ports this test owns: slow enough to interrupt.
    const ports = Array.from({ length: 12 }, () => [...openPorts, closedPort])
      .flat()
      .slice(0, 40);
    const uniq = [...new Set(ports)];
    const extra: Server[] = [];
    for (let i = 0; i < 16; i++) extra.push(await listen());
    const all = [...uniq, ...extra.map(portOf)].join(',');
    const child = spawn(process.execPath, [BIN, 'scan', '127.0.0.1', '-p', all, '--rate', '2', '--json'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    let runId = 0;
    for (let i = 0; i < 100 && !runId; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const runs = await srv.api<{ data: Array<{ id: number; status: string }> }>(
        'GET',
        '/api/scans?limit=1',
      );
      if (runs.body.data[0]?.status === 'running') runId = runs.body.data[0].id;
    }
    assert.ok(runId > 0, 'the scan started');
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await exited;
    for (const s of extra) await close(s);
    assert.equal(code, 130);
    const out = JSON.parse(stdout) as { scan: { id: number; status: string; done: number; total: number } };
    assert.equal(out.scan.id, runId);
    assert.equal(out.scan.status, 'cancelled');
    assert.ok(out.scan.done > 0 && out.scan.done < out.scan.total, JSON.stringify(out.scan));
    const run = await srv.api<{ status: string; done: number }>('GET', `/api/scans/${runId}`);
    assert.equal(run.body.status, 'cancelled');
    assert.equal(run.body.done, out.scan.done);
  });

  it('runs scheduled scans and keeps the schedules across a restart', async () => {
    const add = await runCli(
      [
        'scan',
        'schedule',
        'add',
        '127.0.0.1',
        '-p',
        openPorts.join(','),
        '--cron',
        '*/2 * * * * *',
        '--name',
        'loopback',
        '--json',
      ],
      env,
    );
    assert.equal(add.code, 0, add.stderr);
    const schedule = JSON.parse(add.stdout) as { id: number; next_run_at: string };
    assert.ok(schedule.next_run_at);
    const bad = await runCli(
      ['scan', 'schedule', 'add', '127.0.0.1', '-p', '22', '--cron', 'every day'],
      env,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /cron expression "every day" is invalid/);

    const dataDir = srv.dataDir;
    assert.equal(await srv.stop(), 0);
    srv = await startServerProcess({ dataDir });
    env.PORTCULLIS_URL = srv.url;
    env.PORTCULLIS_TOKEN = srv.token;
    const list = JSON.parse((await runCli(['scan', 'schedule', 'list', '--json'], env)).stdout) as {
      data: Array<{ id: number; name: string; next_run_at: string | null }>;
    };
    assert.deepEqual(
      list.data.map((s) => [s.id, s.name]),
      [[schedule.id, 'loopback']],
    );
    assert.ok(list.data[0]!.next_run_at);
    let runs: Array<{ id: number; schedule_id: number | null; status: string; open: number }> = [];
    for (let i = 0; i < 60; i++) {
      const res = await srv.api<{ data: typeof runs }>('GET', `/api/scans?schedule_id=${schedule.id}`);
      runs = res.body.data.filter((r) => r.status === 'completed');
      if (runs.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(runs.length > 0, 'a scheduled run completed after the restart');
    assert.equal(runs[0]!.open, openPorts.length);
    assert.equal((await runCli(['scan', 'schedule', 'remove', 'loopback'], env)).code, 0);
    const after = JSON.parse((await runCli(['scan', 'schedule', 'list', '--json'], env)).stdout) as {
      data: unknown[];
    };
    assert.equal(after.data.length, 0);
  });
});
