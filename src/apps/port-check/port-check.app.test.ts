import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { runAppAction } from '../../automation/app.testing.ts';
import { parsePortList, portCheckApp } from './port-check.app.ts';

describe('port list parsing', () => {
  it('expands any list of ports and ranges into the same set', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 5 })), {
          minLength: 1,
          maxLength: 20,
        }),
        (items) => {
          const text = items
            .map(([p, n]) => (n === 0 || p + n > 65535 ? String(p) : `${p}-${p + n}`))
            .join(',');
          const want = new Set<number>();
          for (const [p, n] of items)
            for (let q = p; q <= (n === 0 || p + n > 65535 ? p : p + n); q++) want.add(q);
          assert.deepEqual(
            parsePortList(text),
            [...want].sort((a, b) => a - b),
          );
        },
      ),
    );
  });
  it('names the bad item', () => {
    assert.throws(() => parsePortList('22,abc'), /"abc" is not a port/);
    assert.throws(() => parsePortList('90-80'), /low to high/);
    assert.throws(() => parsePortList('0'), /1 to 65535/);
    assert.throws(() => parsePortList('1-2000'), /more than 1024 ports/);
  });
});

describe('port check app on loopback', () => {
  let open: Server;
  let openPort = 0;
  let closedPort = 0;
  before(async () => {
    open = createServer((s) => s.destroy());
    await new Promise<void>((r) => open.listen(0, '127.0.0.1', () => r()));
    openPort = (open.address() as { port: number }).port;
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
    closedPort = (tmp.address() as { port: number }).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  after(() => new Promise<void>((r) => open.close(() => r())));

  it('tells an open port from a closed one', async () => {
    const r = await runAppAction(portCheckApp, 'scan ports', {
      ip: '127.0.0.1',
      ports: `${openPort},${closedPort}`,
    });
    assert.equal(r.status, 'success');
    assert.deepEqual(
      r.data,
      [
        { ip: '127.0.0.1', port: openPort, state: 'open' },
        { ip: '127.0.0.1', port: closedPort, state: 'closed' },
      ].sort((a, b) => a.port - b.port),
    );
    assert.equal(r.summary!.open_ports, 1);
    assert.equal((await runAppAction(portCheckApp, 'test connectivity')).status, 'success');
  });
});

describe('port check app scopes', () => {
  it('refuses a target outside the scan scopes before any connection', async () => {
    let connections = 0;
    const srv = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      const r = await runAppAction(
        portCheckApp,
        'scan ports',
        { ip: '127.0.0.1', ports: String(port) },
        {},
        { scanScopes: ['198.18.0.0/15'] },
      );
      assert.equal(r.status, 'failed');
      assert.match(r.message, /refused to probe 127\.0\.0\.1: 127\.0\.0\.1 is outside every allowed scope/);
      const none = await runAppAction(
        portCheckApp,
        'scan ports',
        { ip: '127.0.0.1', ports: String(port) },
        {},
        { scanScopes: [] },
      );
      assert.match(none.message, /no scan scope is configured/);
      assert.equal(connections, 0);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
