import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { listServices } from '../../baseline/index.ts';
import { createLogger } from '../../logging/index.ts';
import type { Store } from '../../store/index.ts';
import { testStores } from '../../testing/stores.ts';
import {
  startConfiguredFlowCollector,
  startFlowCollector,
  type CollectorOptions,
  type RunningCollector,
} from './collector.ts';
import { freeUdpPort } from './exporters.testing.ts';
import { connectScanFlows, encodeIpfix, encodeV5, encodeV9 } from './netflow.testing.ts';

const logger = createLogger('silent');
const server = { addr: '198.18.0.2', port: 2222 };
const client = { addr: '198.18.0.1', port: 40000 };

async function withCollector(
  store: Store,
  opts: Partial<CollectorOptions>,
  body: (c: RunningCollector, send: (d: Buffer, from?: dgram.Socket) => Promise<void>) => Promise<void>,
): Promise<void> {
  const ctx = { db: store.db, config: { goneAfter: '7d' }, logger, now: () => new Date() };
  // Port 0: the system picks free loopback ports; the test reads them back.
  const c = await startFlowCollector(ctx, {
    host: '127.0.0.1',
    netflowPort: 0,
    ipfixPort: 0,
    flushMs: 60_000,
    ...opts,
  });
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', r));
  let sent = 0;
  const send = async (d: Buffer, from = sender) => {
    const port = d.length >= 2 && d.readUInt16BE(0) === 10 ? c.ports.ipfix! : c.ports.netflow!;
    await new Promise<void>((resolve, reject) =>
      from.send(d, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
    sent++;
    // Loopback delivery is immediate but asynchronous: wait until the collector has taken it.
    for (let i = 0; i < 200 && c.stats.datagrams + c.stats.refused < sent; i++)
      await new Promise((r) => setTimeout(r, 5));
  };
  try {
    await body(c, send);
  } finally {
    sender.close();
    await c.stop();
  }
}

const services = async (store: Store) =>
  (
    await listServices(store.db, { limit: 0, offset: 0, sort: 'port', order: 'asc', source: 'netflow' })
  ).data.map((s) => `${s.host} ${s.protocol}/${s.port} ${s.evidence}`);

for (const [name, makeStore] of testStores()) {
  describe(`flow collector (${name})`, () => {
    it('records listeners from v5, v9 and IPFIX exports; a first sighting after learning raises one container', async () => {
      const store = await makeStore();
      try {
        await withCollector(store, {}, async (c, send) => {
          const now = Date.now();
          await send(encodeV9(connectScanFlows(server, client, now - 2000), { exportMs: now }));
          await c.flush();
          // The first write into an empty baseline is a learning run: recorded, no container.
          assert.deepEqual(await services(store), ['198.18.0.2 tcp/2222 strong']);
          assert.equal(c.stats.containers, 0);
          await send(
            encodeIpfix(connectScanFlows({ ...server, port: 3306 }, client, now - 1000), { exportMs: now }),
          );
          await send(
            encodeV5(
              connectScanFlows({ ...server, port: 9090 }, { ...client, port: 40001 }, now - 1000),
              now,
            ),
          );
          await c.flush();
          assert.deepEqual(await services(store), [
            '198.18.0.2 tcp/2222 strong',
            '198.18.0.2 tcp/3306 strong',
            '198.18.0.2 tcp/9090 strong',
          ]);
          assert.equal(c.stats.containers, 2);
          // The same evidence again raises nothing new.
          await send(
            encodeIpfix(connectScanFlows({ ...server, port: 3306 }, { ...client, port: 40002 }, now), {
              exportMs: now,
            }),
          );
          await c.flush();
          assert.equal(c.stats.containers, 2);
          assert.equal(c.stats.flows, 8);
          assert.equal(c.stats.issues, 0);
        });
      } finally {
        await store.close();
      }
    });

    it('hostile datagrams are counted and the collector keeps working', async () => {
      const store = await makeStore();
      try {
        await withCollector(store, {}, async (c, send) => {
          const good = encodeV9(connectScanFlows(server, client, Date.now()), { exportMs: Date.now() });
          const zeroField = Buffer.from(good);
          zeroField.writeUInt16BE(0, 30);
          const v7 = Buffer.from(good);
          v7.writeUInt16BE(7, 0);
          const badIpfixLength = encodeIpfix(connectScanFlows(server, client));
          badIpfixLength.writeUInt16BE(9000, 2);
          for (const d of [
            Buffer.from('GET / HTTP/1.1\r\n\r\n'),
            Buffer.alloc(1),
            good.subarray(0, 30),
            v7,
            zeroField,
            badIpfixLength.subarray(0, 40),
          ])
            await send(d);
          assert.ok(c.stats.issues >= 6, `${c.stats.issues} issues`);
          await send(good);
          await c.flush();
          assert.deepEqual(await services(store), ['198.18.0.2 tcp/2222 strong']);
        });
      } finally {
        await store.close();
      }
    });

    it('exporters outside the allow-list are refused; templates are not shared between exporters', async () => {
      const store = await makeStore();
      try {
        await withCollector(store, { exporters: ['192.0.2.0/24'] }, async (c, send) => {
          await send(encodeV9(connectScanFlows(server, client)));
          await c.flush();
          assert.equal(c.stats.refused, 1);
          assert.equal(c.stats.datagrams, 0);
          assert.deepEqual(await services(store), []);
        });
        await withCollector(store, { exporters: ['127.0.0.1'] }, async (c, send) => {
          const other = dgram.createSocket('udp4');
          await new Promise<void>((r) => other.bind(0, '127.0.0.1', r));
          try {
            const now = Date.now();
            await send(encodeV9([], { exportMs: now })); // templates only, from the first exporter
            await send(
              encodeV9(connectScanFlows(server, client, now), { withTemplate: false, exportMs: now }),
              other,
            );
            await c.flush();
            assert.equal(c.stats.flows, 0, 'data of one exporter was read with the template of another');
          } finally {
            other.close();
          }
        });
      } finally {
        await store.close();
      }
    });
  });
}

describe('flow collector configuration', () => {
  const config = (over: Record<string, unknown>) => ({
    goneAfter: '7d',
    netflowPort: undefined,
    ipfixPort: undefined,
    netflowHost: '127.0.0.1',
    netflowExporters: [],
    ...over,
  });
  const hooks: Array<() => Promise<void> | void> = [];
  const ctx = (over: Record<string, unknown>) => ({
    db: undefined as never,
    logger,
    now: () => new Date(),
    config: config(over),
    onShutdown: (fn: () => Promise<void> | void) => hooks.push(fn),
  });

  it('is off without ports; one port named for both is bound once; a busy port is a clear error', async () => {
    assert.equal(await startConfiguredFlowCollector(ctx({})), null);
    const port = await freeUdpPort();
    const c = await startConfiguredFlowCollector(ctx({ netflowPort: port, ipfixPort: port }));
    assert.deepEqual(c?.ports, { netflow: port });
    try {
      await assert.rejects(startConfiguredFlowCollector(ctx({ ipfixPort: port })), (e: Error) => {
        assert.match(
          e.message,
          /cannot listen for flows on 127\.0\.0\.1 .*UDP \d+ .*PORTCULLIS_IPFIX_PORT.*EADDRINUSE/,
        );
        return true;
      });
    } finally {
      for (const h of hooks.splice(0)) await h();
    }
  });
});
