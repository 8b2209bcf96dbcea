import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { request } from 'undici';
import { freePort } from './testing/postgres.ts';
import { insecureAgent, runCli, startServerProcess, type ServerProcess } from './testing/server.ts';

describe('a standalone server started with `portcullis serve`', () => {
  let srv: ServerProcess;
  let redirectPort: number;
  before(async () => {
    redirectPort = await freePort();
    srv = await startServerProcess({ env: { PORTCULLIS_HTTP_REDIRECT_PORT: String(redirectPort) } });
  });
  after(async () => {
    await srv?.kill();
    srv?.cleanup();
  });

  it('answers /health without credentials with status, version, role and database', async () => {
    const res = await request(`${srv.url}/health`, { dispatcher: insecureAgent });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as Record<string, unknown>;
    assert.equal(body.status, 'ok');
    assert.equal(body.role, 'standalone');
    assert.equal(body.database, 'embedded');
    assert.match(String(body.version), /^\d+\.\d+\.\d+/);
  });

  it('refuses any other route without a token with a JSON 401, and accepts the admin token', async () => {
    for (const path of ['/rest/container', '/api/services', '/api/no/such/route']) {
      const res = await request(`${srv.url}${path}`, { dispatcher: insecureAgent });
      assert.equal(res.statusCode, 401, path);
      const body = (await res.body.json()) as Record<string, unknown>;
      assert.equal(body.failed, true);
      assert.equal(body.code, 'unauthenticated');
    }
    const bad = await srv.api('GET', '/api/no/such/route', undefined, {
      'ph-auth-token': 'pct_not-a-real-token',
    });
    assert.equal(bad.status, 401);
    const ok = await srv.api('GET', '/api/no/such/route');
    assert.equal(ok.status, 404);
  });

  it('writes the admin token with mode 0600 and never logs it', () => {
    const st = statSync(join(srv.dataDir, 'admin-token'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.ok(srv.token.length > 30);
    assert.ok(!srv.output().includes(srv.token), 'the admin token appears in the log');
  });

  it('sends security headers', async () => {
    const res = await request(`${srv.url}/health`, { dispatcher: insecureAgent });
    await res.body.text();
    assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(res.headers['content-security-policy']);
  });

  it('refuses TLS older than 1.2', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port: srv.port,
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
      });
      s.once('secureConnect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', () => resolve('refused'));
    });
    assert.equal(outcome, 'refused');
  });

  it('serves a certificate for 127.0.0.1 from the data dir', () => {
    const cert = new X509Certificate(readFileSync(join(srv.dataDir, 'tls', 'cert.pem')));
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  });

  it('plain HTTP only redirects browser paths, and never answers the API', async () => {
    const get = (path: string) =>
      new Promise<{ status: number; location?: string; body: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: redirectPort, path, headers: { host: `127.0.0.1:${redirectPort}` } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    const ui = await get('/services?x=1');
    assert.equal(ui.status, 301);
    assert.equal(ui.location, `https://127.0.0.1:${srv.port}/services?x=1`);
    for (const p of ['/rest/container', '/api/services', '/services/collector/event', '/health']) {
      const r = await get(p);
      assert.equal(r.status, 403, p);
      assert.doesNotMatch(r.body, /"status"/);
    }
  });

  it('`portcullis status` reaches it', async () => {
    const r = await runCli(['status', '--json'], {
      PORTCULLIS_URL: srv.url,
      PORTCULLIS_TOKEN: srv.token,
      PORTCULLIS_DATA_DIR: srv.dataDir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'ok');
  });

  it('a second server on the same data dir refuses to start and says why', async () => {
    const port = await freePort();
    const r = await runCli(['serve'], {
      PORTCULLIS_DATA_DIR: srv.dataDir,
      PORTCULLIS_PORT: String(port),
      PORTCULLIS_HOST: '127.0.0.1',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /in use by another Portcullis process/);
  });
});

describe('restarts', () => {
  it('a SIGTERM stops the server cleanly; the restart reuses certificate and token', async () => {
    const first = await startServerProcess();
    try {
      const cert = readFileSync(join(first.dataDir, 'tls', 'cert.pem'), 'utf8');
      const code = await first.stop();
      assert.equal(code, 0);
      const second = await startServerProcess({ dataDir: first.dataDir });
      try {
        assert.equal(readFileSync(join(second.dataDir, 'tls', 'cert.pem'), 'utf8'), cert);
        assert.equal(second.token, first.token);
        assert.equal((await second.api('GET', '/api/no/such')).status, 404);
      } finally {
        await second.stop();
      }
    } finally {
      first.cleanup();
    }
  });

  it('after kill -9 the next start takes over the stale lock', async () => {
    const first = await startServerProcess();
    try {
      await first.kill();
      const second = await startServerProcess({ dataDir: first.dataDir });
      await second.stop();
    } finally {
      first.cleanup();
    }
  });
});

describe('crash safety', () => {
  it('keeps every acknowledged container after the server is killed with SIGKILL during writes', async () => {
    const first = await startServerProcess();
    try {
      const acked: Array<{ id: number; sdi: string }> = [];
      let stop = false;
      // Four writers keep requests in flight while the process is killed.
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const sdi = `crash-${w}-${i}`;
          try {
            const r = await first.api<{ id?: number; success?: boolean }>('POST', '/rest/container', {
              name: `crash test ${sdi}`,
              label: 'events',
              source_data_identifier: sdi,
              artifacts: [{ name: 'a', cef: { destinationPort: i } }],
            });
            if (r.status === 200 && r.body.success === true && typeof r.body.id === 'number')
              acked.push({ id: r.body.id, sdi });
          } catch {
            return; // the connection died with the server: this write was never acknowledged
          }
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      while (acked.length < 150) await new Promise((r) => setTimeout(r, 20));
      await first.kill();
      stop = true;
      await Promise.all(writers);
      const second = await startServerProcess({ dataDir: first.dataDir });
      try {
        const list = await second.api<{
          count: number;
          data: Array<{ id: number; source_data_identifier: string }>;
        }>('GET', '/rest/container?page_size=0');
        assert.equal(list.status, 200);
        const have = new Map(list.body.data.map((c) => [c.id, c.source_data_identifier]));
        for (const a of acked)
          assert.equal(have.get(a.id), a.sdi, `acknowledged container ${a.id} (${a.sdi}) was lost`);
      } finally {
        await second.stop();
      }
    } finally {
      await first.kill();
      first.cleanup();
    }
  });
});

describe('invalid configuration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pc-badconf-'));
  it('PORTCULLIS_PORT=70000 exits non-zero naming the variable', async () => {
    const r = await runCli(['serve'], { PORTCULLIS_PORT: '70000', PORTCULLIS_DATA_DIR: dataDir });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PORTCULLIS_PORT/);
  });
  it('an unreachable PORTCULLIS_DATABASE_URL exits non-zero naming the variable', async () => {
    const port = await freePort();
    const r = await runCli(['serve'], {
      PORTCULLIS_DATABASE_URL: `postgres://nobody:secret@127.0.0.1:${port}/nothing`,
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_PORT: String(await freePort()),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PORTCULLIS_DATABASE_URL/);
    assert.doesNotMatch(r.stdout + r.stderr, /secret/, 'the database password leaked into the output');
  });
});
