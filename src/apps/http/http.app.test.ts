import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { runAppAction } from '../../automation/app.testing.ts';
import { parseAllowlist } from '../../automation/app.http.ts';
import { httpApp } from './http.app.ts';

describe('HTTP app against a local HTTP server', () => {
  let server: Server;
  let port = 0;
  const received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> =
    [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(req.url === '/fail' ? 500 : 200, {
          'content-type': 'application/json',
          'x-test': 'yes',
        });
        res.end(JSON.stringify({ ok: req.url !== '/fail' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('posts a webhook as JSON with the bearer token', async () => {
    const base = `http://127.0.0.1:${port}/hook`;
    const r = await runAppAction(
      httpApp,
      'send webhook',
      { message: 'new port', data: '{"port":9090}' },
      { allowed_destinations: '127.0.0.1', base_url: base, auth_token: 's3cret' },
    );
    assert.equal(r.status, 'success', r.message);
    const got = received.at(-1)!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook');
    assert.equal(got.headers.authorization, 'Bearer s3cret');
    assert.deepEqual(JSON.parse(got.body), { text: 'new port', data: { port: 9090 } });
  });

  it('makes requests relative to the base URL and fails on a 5xx answer', async () => {
    const asset = { allowed_destinations: '127.0.0.0/8', base_url: `http://127.0.0.1:${port}/` };
    const ok = await runAppAction(
      httpApp,
      'http request',
      { url: 'items?x=1', method: 'PUT', body: 'hello', content_type: 'text/plain' },
      asset,
    );
    assert.equal(ok.status, 'success');
    assert.equal((ok.data![0] as { headers: Record<string, string> }).headers['x-test'], 'yes');
    assert.equal(received.at(-1)!.body, 'hello');
    assert.equal(received.at(-1)!.url, '/items?x=1');
    const bad = await runAppAction(httpApp, 'http request', { url: '/fail' }, asset);
    assert.equal(bad.status, 'failed');
    assert.match(bad.message, /HTTP 500/);
  });

  it('refuses destinations outside the allowlist before connecting', async () => {
    const before = received.length;
    await assert.rejects(
      runAppAction(
        httpApp,
        'http request',
        { url: `http://127.0.0.1:${port}/x` },
        { allowed_destinations: '10.0.0.0/8' },
      ),
      /destination 127\.0\.0\.1 is not in the asset's allowed_destinations/,
    );
    await assert.rejects(
      runAppAction(
        httpApp,
        'http request',
        { url: `http://localhost:${port}/x` },
        { allowed_destinations: '' },
      ),
      /not in the asset's allowed_destinations/,
    );
    await assert.rejects(
      runAppAction(
        httpApp,
        'http request',
        { url: 'file:///etc/passwd' },
        { allowed_destinations: '127.0.0.1' },
      ),
      /file: URLs are not allowed/,
    );
    assert.equal(received.length, before);
  });

  it('parses allowlists and rejects bad entries', () => {
    const a = parseAllowlist('hooks.example.com, *.corp.example, 10.0.0.0/8, fd00::/8');
    assert.ok(
      a.allowsName('hooks.example.com') &&
        a.allowsName('x.corp.example') &&
        !a.allowsName('corp.example.org'),
    );
    assert.ok(a.allowsAddress('10.1.2.3') && a.allowsAddress('fd00::1') && !a.allowsAddress('11.0.0.1'));
    assert.ok(a.allowsAddress('::ffff:10.0.0.1'), 'IPv4-mapped IPv6 is checked as IPv4');
    assert.throws(() => parseAllowlist('10.0.0.0/99'), /not a valid CIDR/);
    assert.throws(() => parseAllowlist('http://x'), /not a host name, address or CIDR/);
  });
});
