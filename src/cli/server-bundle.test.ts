// The server bundle that `serve` starts from (scripts/build-cli.mjs, dist/server/): what it records
// for the freshness check, and a server started from it finding every file it locates at run time
// (initdb script, apps' manifests, web console, the scanner's worker and native module).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServerProcess, type ServerProcess } from '../testing/server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NATIVE = join(ROOT, 'build', 'Release', 'portcullis_scan.node');

describe('server bundle', () => {
  const out = join(ROOT, 'dist', `server-test-${process.pid}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-server-bundle-'));
  let srv: ServerProcess | undefined;
  let listener: Server | undefined;

  before(async () => {
    const built = execFileSync(
      process.execPath,
      [join(ROOT, 'scripts', 'build-cli.mjs'), '--server-outdir', out],
      { encoding: 'utf8' },
    );
    assert.match(built, /Server bundle: /);
  });

  after(async () => {
    await srv?.stop();
    await new Promise((r) => (listener ? listener.close(r) : r(undefined)));
    rmSync(out, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("lists the server's sources for `serve`, not the other commands' modules", () => {
    const { inputs, commands } = JSON.parse(readFileSync(join(out, 'inputs.json'), 'utf8')) as {
      inputs: Array<{ path: string }>;
      commands: Record<string, string[]>;
    };
    const paths = new Set(inputs.map((i) => i.path));
    const serve = commands.serve!;
    for (const p of [
      'src/cli/main.ts',
      'src/app.ts',
      'src/store/store.ts',
      'src/scan/engine/connect-scan.ts',
    ])
      assert.ok(serve.includes(p), p);
    // loaded lazily by the server: reached through a dynamic import
    assert.ok(serve.includes('src/store/pglite-dialect.ts'));
    // `portcullis ingest`'s command module is in the bundle, but `serve` never runs it
    assert.ok(paths.has('src/ingest/cli/ingest.commands.ts'));
    assert.ok(!serve.includes('src/ingest/cli/ingest.commands.ts'));
    for (const p of serve) assert.ok(paths.has(p), p);
  });

  it('serves from the bundle with every file it finds at run time', async () => {
    const native = existsSync(NATIVE);
    srv = await startServerProcess({
      dataDir,
      args: [
        '--input-type=module',
        '-e',
        'const { main } = await import(process.argv[1]); await main(["node", "portcullis", "serve"]);',
        pathToFileURL(join(out, 'main.js')).href,
      ],
      // refuses to scan when the native module cannot be loaded from the worker
      env: { PORTCULLIS_SCAN_ENGINE: native ? 'native' : 'js' },
      timeoutMs: 90_000,
    });
    // a new data dir: initdb ran from src/store/pglite-initdb.mjs
    assert.ok(existsSync(join(dataDir, 'pgdata', 'PG_VERSION')));
    const api = srv.api.bind(srv);

    const apps = (await api<{ data: Array<{ name: string }> }>('GET', '/rest/app')).body;
    assert.ok(
      apps.data.some((a) => a.name === 'Port Check'),
      'apps read their manifests beside their sources',
    );
    if (existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
      const page = await api<string>('GET', '/');
      assert.equal(page.status, 200);
      assert.match(page.body, /<html/i);
    }

    listener = createServer((s) => s.end());
    await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', r));
    const open = (listener.address() as { port: number }).port;
    assert.equal((await api('POST', '/api/scopes', { cidr: '127.0.0.1/32' })).status, 201);
    // the answer is NDJSON (several lines), so it comes back as text
    const scan = await api<string>('POST', '/api/scans', {
      targets: ['127.0.0.1'],
      ports: String(open),
      wait: true,
    });
    assert.equal(scan.status, 200);
    const last = JSON.parse(scan.body.trim().split('\n').at(-1)!) as {
      event: string;
      data?: Array<{ port: number; state: string }>;
    };
    assert.equal(last.event, 'finished', scan.body);
    assert.deepEqual(
      last.data?.map((r) => [r.port, r.state]),
      [[open, 'open']],
    );
    if (native) {
      // the server's log reaches this process through a pipe, maybe after the answer
      for (let i = 0; i < 50 && !/"msg":"scan probed"/.test(srv.output()); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(srv.output(), /"engine":"native"[^\n]*"msg":"scan probed"/);
    }
  });
});
