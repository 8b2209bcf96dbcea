// The CLI's HTTP client against a loopback server started here.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { callApi, openRequest, readText, type ClientTarget } from './client.ts';

describe('CLI HTTP client', () => {
  let server: http.Server;
  let target: ClientTarget;
  const received: string[] = [];

  before(async () => {
    server = http.createServer(async (req, res) => {
      const body = await readText(req);
      received.push(body);
      if (req.url === '/fail') {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'ports: out of range' }));
      } else
        res.end(
          JSON.stringify({ got: body.length, method: req.method, token: req.headers['ph-auth-token'] }),
        );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    target = { url: `http://127.0.0.1:${port}`, token: 'tok', agent: new http.Agent() };
  });
  after(() => server.close());

  it('sends JSON with the token and reads the JSON answer', async () => {
    const r = await callApi<{ got: number; method: string; token: string }>(target, 'POST', '/x', {
      body: { a: 1 },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { got: '{"a":1}'.length, method: 'POST', token: 'tok' });
  });

  it('streams a body', async () => {
    const chunks = ['line 1\n', 'line 2\n'];
    const r = await callApi<{ got: number }>(target, 'POST', '/x', { raw: Readable.from(chunks) });
    assert.equal(r.body.got, chunks.join('').length);
    assert.equal(received.at(-1), chunks.join(''));
  });

  it("turns an error answer into the server's message", async () => {
    await assert.rejects(callApi(target, 'POST', '/fail', { body: {} }), {
      code: 'api_error',
      message: 'POST /fail: HTTP 422: ports: out of range',
    });
  });

  it('says the server cannot be reached when nothing listens', async () => {
    const closed = http.createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    await assert.rejects(openRequest({ ...target, url: `http://127.0.0.1:${port}` }, 'GET', '/x', {}), {
      code: 'server_unreachable',
      message: new RegExp(`^cannot reach Portcullis at http://127.0.0.1:${port}: connect ECONNREFUSED`),
    });
  });

  it('blames a body that fails to read on this side, not on the server', async () => {
    const body = new Readable({
      read() {
        this.destroy(new Error('EIO: i/o error, read'));
      },
    });
    await assert.rejects(openRequest(target, 'POST', '/x', {}, body), {
      code: 'upload_failed',
      message: 'reading what was to be sent failed: EIO: i/o error, read',
    });
  });
});
