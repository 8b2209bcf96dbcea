import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, runCli, startServerProcess, type ServerProcess } from '../../testing/server.ts';

const data = (p: string) => new URL(`../${p}`, import.meta.url).pathname;

/** Runs the CLI with `input` on its standard input. */
function runCliWithStdin(
  args: string[],
  env: Record<string, string>,
  input: Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

describe('portcullis ingest and services against a running server', () => {
  let srv: ServerProcess;
  let env: Record<string, string>;
  let scratch: string;
  before(async () => {
    srv = await startServerProcess();
    env = { PORTCULLIS_URL: srv.url, PORTCULLIS_TOKEN: srv.token, PORTCULLIS_DATA_DIR: srv.dataDir };
    scratch = mkdtempSync(join(tmpdir(), 'portcullis-ingest-e2e-'));
  });
  after(async () => {
    await srv.stop();
    srv.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('imports real tool output: a learning run first, then first sightings raise containers', async () => {
    const first = await runCli(['ingest', data('nmap/testdata/nmap-sT-sV.xml')], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /nmap-xml: 1 records read, \d+ observations, 4 new services, .*learning run/);
    const more = await runCli(
      [
        'ingest',
        data('nmap/testdata/nmap-ipv6.xml'),
        data('netcat/testdata/ncat.txt'),
        data('stream/testdata/stream-tcp.ndjson'),
        '--json',
      ],
      env,
    );
    assert.equal(more.code, 0, more.stderr);
    const summaries = JSON.parse(more.stdout) as Array<{
      format: string;
      new_services: number;
      containers: number;
    }>;
    assert.deepEqual(
      summaries.map((s) => [s.format, s.new_services, s.containers]),
      [
        ['nmap-xml', 1, 1],
        ['netcat', 0, 0],
        ['stream', 3, 3],
      ],
    );
    const svc = await runCli(['services', '--port', '11211', '--json'], env);
    assert.equal(svc.code, 0, svc.stderr);
    const list = JSON.parse(svc.stdout) as {
      count: number;
      data: Array<{ host: string; protocol: string; port: number; evidence: string; sources: string[] }>;
    };
    assert.equal(list.count, 1);
    assert.deepEqual(
      [list.data[0]!.host, list.data[0]!.protocol, list.data[0]!.port, list.data[0]!.evidence],
      ['fd00:198:18::2', 'tcp', 11211, 'strong'],
    );
    const table = await runCli(['services', '--host', '198.18.0.0/15', '--protocol', 'tcp'], env);
    assert.equal(table.code, 0, table.stderr);
    for (const port of [2222, 3306, 9090, 9443])
      assert.match(table.stdout, new RegExp(`198\\.18\\.0\\.2\\s+tcp\\s+${port}\\s`));
    const containers = await srv.api<{ count: number }>('GET', '/rest/container?page_size=0');
    assert.equal(containers.body.count, 4);
  });

  it('names bad lines as FILE:LINE and still exits 0; reports truncated XML', async () => {
    const bad = await runCli(['ingest', data('stream/testdata/stream-tcp-badline.ndjson')], env);
    assert.equal(bad.code, 0, bad.stderr);
    assert.match(bad.stdout, /stream-tcp-badline\.ndjson:2: /);
    assert.match(bad.stdout, /stream-tcp-badline\.ndjson:3: /);
    assert.match(bad.stdout, /problems in the input/);
    const cut = await runCli(['ingest', data('nmap/testdata/nmap-truncated.xml')], env);
    assert.equal(cut.code, 0, cut.stderr);
    assert.match(cut.stdout, /nmap-truncated\.xml:\d+: .*truncated/i);
  });

  it('exits non-zero when nothing could be read: unknown format, missing file', async () => {
    const junk = join(scratch, 'notes.txt');
    writeFileSync(junk, 'nothing to see here\n');
    const unknown = await runCli(['ingest', junk], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /notes\.txt.*cannot tell the format/);
    const missing = await runCli(['ingest', join(scratch, 'absent.xml')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*absent\.xml: ENOENT/);
    const badFormat = await runCli(['ingest', junk, '--format', 'evtx'], env);
    assert.notEqual(badFormat.code, 0);
    assert.match(badFormat.stderr, /--format "evtx"/);
  });

  it("takes HEC events from curl, and refuses a bad token with HEC's code", async () => {
    const curl = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn('curl', ['-sk', '-w', '\\n%{http_code}', ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.on('exit', (code) => resolve({ code, out }));
      });
    const body = data('stream/testdata/stream-tcp-hec.json');
    const ok = await curl([
      '-H',
      `Authorization: Splunk ${srv.token}`,
      '--data-binary',
      `@${body}`,
      `${srv.url}/services/collector/event`,
    ]);
    assert.equal(ok.code, 0);
    assert.equal(ok.out, '{"text":"Success","code":0}\n200');
    const bad = await curl([
      '-H',
      'Authorization: Splunk not-a-token',
      '--data-binary',
      `@${body}`,
      `${srv.url}/services/collector/event`,
    ]);
    assert.equal(bad.out, '{"text":"Invalid token","code":4}\n403');
  });

  it('reads standard input with "-"', async () => {
    const res = await runCliWithStdin(
      ['ingest', '-', '--json'],
      env,
      readFileSync(data('nmap/testdata/nmap-host-down.xml')),
    );
    assert.equal(res.code, 0, res.stderr);
    const s = JSON.parse(res.stdout) as { format: string; file: string; records: number };
    assert.equal(s.format, 'nmap-xml');
    assert.equal(s.file, 'stdin');
    assert.equal(s.records, 2, 'both hosts of the scan, the one that was down too');
  });
});
