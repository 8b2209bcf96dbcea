import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation } from '../ingest/observation.ts';
import { createLogger } from '../logging/index.ts';
import type { Store } from '../store/index.ts';
import { testStores } from '../testing/stores.ts';
import { recordObservations, type BaselineContext } from './baseline.service.ts';
import { parseHostFilter, parseSince } from './service.query.ts';
import {
  approveService,
  getService,
  listChanges,
  listServices,
  type ServiceQuery,
} from './service.repository.ts';
import { runBaselineSweep } from './sweep.ts';

const T0 = new Date('2026-11-20T10:00:00Z');
const at = (min: number) => new Date(T0.getTime() + min * 60_000);
const DAY = 86_400_000;

function ctxOf(store: Store, clock: { now: Date }): BaselineContext {
  return {
    db: store.db,
    config: { goneAfter: '7d' },
    logger: createLogger('silent', { write: () => {} }),
    now: () => clock.now,
  };
}

const obs = (host: string, port: number, o: Partial<Observation> = {}): Observation => ({
  host,
  protocol: 'tcp',
  port,
  source: 'nmap',
  grade: 'strong',
  reason: 'nmap open (syn-ack)',
  seenAt: at(0),
  ...o,
});

const q = (o: Partial<ServiceQuery> = {}): ServiceQuery => ({
  limit: 0,
  offset: 0,
  sort: 'host',
  order: 'asc',
  ...o,
});
const keys = (r: { data: Array<{ host: string; protocol: string; port: number }> }) =>
  r.data.map((s) => `${s.host} ${s.protocol}/${s.port}`);

async function containerSdis(store: Store): Promise<string[]> {
  const rows = await store.db
    .selectFrom('containers')
    .select('source_data_identifier')
    .orderBy('id')
    .execute();
  return rows.map((r) => r.source_data_identifier ?? '');
}

for (const [name, makeStore] of testStores()) {
  describe(`baseline repository on ${name}`, () => {
    it('learns an empty baseline silently, then raises one container per new strong listener, idempotently', async () => {
      const store = await makeStore();
      try {
        const clock = { now: at(60) };
        const ctx = ctxOf(store, clock);
        const first = await recordObservations(ctx, [
          obs('198.18.0.2', 22),
          obs('198.18.0.2', 80),
          obs('198.18.0.2', 81, { grade: 'negative', reason: 'nmap closed' }),
        ]);
        assert.equal(first.learning, true);
        assert.equal(first.new_services, 2);
        assert.equal(first.containers, 0);
        const batch = [
          obs('198.18.0.2', 22, { seenAt: at(10) }),
          obs('198.18.0.3', 443, { seenAt: at(10), service: { name: 'https' } }),
          obs('198.18.0.3', 514, {
            protocol: 'udp',
            grade: 'weak',
            reason: 'nmap open|filtered',
            seenAt: at(10),
          }),
        ];
        const second = await recordObservations(ctx, batch);
        assert.equal(second.learning, false);
        assert.equal(second.new_services, 2);
        assert.equal(second.updated_services, 1);
        assert.equal(second.containers, 1, 'only the new strong listener alerts; weak UDP does not');
        const again = await recordObservations(ctx, batch);
        assert.deepEqual([again.new_services, again.updated_services, again.containers], [0, 0, 0]);
        assert.deepEqual(await containerSdis(store), ['svc:198.18.0.3:tcp:443']);
        const s22 = await getService(store.db, { host: '198.18.0.2', protocol: 'tcp', port: 22 });
        assert.equal(s22?.observations, 2);
        assert.deepEqual(s22?.last_seen, at(10));
        const s443 = await getService(store.db, { host: '198.18.0.3', protocol: 'tcp', port: 443 });
        assert.ok(s443?.container_id, 'the row links to its container');
        assert.equal((await listServices(store.db, q())).count, 4);
      } finally {
        await store.close();
      }
    });

    it('filters by CIDR (IPv4 and IPv6), address, port, source, evidence and time, with counts and paging', async () => {
      const store = await makeStore();
      try {
        const ctx = ctxOf(store, { now: at(60) });
        await recordObservations(
          ctx,
          [
            obs('198.18.0.2', 22),
            obs('198.18.1.7', 22, {
              source: 'stream',
              reason: 'tcp_status=0 ack_packets_out>0',
              seenAt: at(50),
            }),
            obs('198.19.255.1', 8080),
            obs('10.0.0.1', 22, { seenAt: at(-3000) }),
            obs('fd00:198:18::2', 11211),
            obs('2001:db8::1', 22, { hostnames: ['mail.example'] }),
            obs('198.18.0.2', 514, { protocol: 'udp', grade: 'weak', reason: 'nmap open|filtered' }),
          ],
          { learning: true },
        );
        assert.deepEqual(keys(await listServices(store.db, q({ host: parseHostFilter('198.18.0.0/15') }))), [
          '198.18.0.2 tcp/22',
          '198.18.0.2 udp/514',
          '198.18.1.7 tcp/22',
          '198.19.255.1 tcp/8080',
        ]);
        assert.deepEqual(
          keys(await listServices(store.db, q({ host: parseHostFilter('198.18.1.200/24') }))),
          ['198.18.1.7 tcp/22'],
        );
        assert.deepEqual(keys(await listServices(store.db, q({ host: parseHostFilter('fd00::/8') }))), [
          'fd00:198:18::2 tcp/11211',
        ]);
        assert.deepEqual(
          keys(await listServices(store.db, q({ host: parseHostFilter('FD00:198:18:0::2') }))),
          ['fd00:198:18::2 tcp/11211'],
        );
        assert.deepEqual(keys(await listServices(store.db, q({ host: parseHostFilter('mail.example') }))), [
          '2001:db8::1 tcp/22',
        ]);
        assert.deepEqual(keys(await listServices(store.db, q({ port: 22 }))), [
          '10.0.0.1 tcp/22',
          '198.18.0.2 tcp/22',
          '198.18.1.7 tcp/22',
          '2001:db8::1 tcp/22',
        ]);
        assert.deepEqual(keys(await listServices(store.db, q({ source: 'stream' }))), ['198.18.1.7 tcp/22']);
        assert.deepEqual(keys(await listServices(store.db, q({ evidence: 'weak' }))), ['198.18.0.2 udp/514']);
        assert.deepEqual(
          keys(
            await listServices(
              store.db,
              q({
                host: parseHostFilter('198.18.0.0/15'),
                seenSince: parseSince('-24h', at(60)),
                protocol: 'tcp',
              }),
            ),
          ),
          ['198.18.0.2 tcp/22', '198.18.1.7 tcp/22', '198.19.255.1 tcp/8080'],
        );
        assert.deepEqual(keys(await listServices(store.db, q({ seenSince: parseSince('20m', at(60)) }))), [
          '198.18.1.7 tcp/22',
        ]);
        const page = await listServices(store.db, q({ port: 22, limit: 2, offset: 2 }));
        assert.equal(page.count, 4);
        assert.deepEqual(keys(page), ['198.18.1.7 tcp/22', '2001:db8::1 tcp/22']);
        const bySeen = await listServices(store.db, q({ sort: 'last_seen', order: 'desc', limit: 1 }));
        assert.deepEqual(keys(bySeen), ['198.18.1.7 tcp/22']);
      } finally {
        await store.close();
      }
    });

    it('marks listeners gone after goneAfter and raises a "reopened" detection when they come back', async () => {
      const store = await makeStore();
      try {
        const clock = { now: at(60) };
        const ctx = ctxOf(store, clock);
        await recordObservations(ctx, [obs('198.18.0.2', 22)], { learning: false });
        clock.now = new Date(at(0).getTime() + 6 * DAY);
        assert.deepEqual(await runBaselineSweep(ctx), { gone: 0, expired: 0 });
        clock.now = new Date(at(0).getTime() + 8 * DAY);
        assert.deepEqual(await runBaselineSweep(ctx), { gone: 1, expired: 0 });
        assert.equal(
          (await getService(store.db, { host: '198.18.0.2', protocol: 'tcp', port: 22 }))?.state,
          'gone',
        );
        const seenAgain = new Date(clock.now.getTime() - 60_000);
        const res = await recordObservations(ctx, [obs('198.18.0.2', 22, { seenAt: seenAgain })]);
        assert.equal(res.containers, 1);
        assert.deepEqual(await containerSdis(store), [
          'svc:198.18.0.2:tcp:22',
          `svc:198.18.0.2:tcp:22:reopened:${seenAgain.toISOString()}`,
        ]);
        const changes = await listChanges(store.db, { limit: 0, offset: 0 });
        assert.deepEqual(
          changes.data.map((c) => c.change),
          ['opened', 'gone', 'reopened'],
        );
        const since = await listChanges(store.db, {
          since: new Date(at(0).getTime() + DAY),
          limit: 0,
          offset: 0,
        });
        assert.deepEqual(
          since.data.map((c) => c.change),
          ['gone', 'reopened'],
        );
      } finally {
        await store.close();
      }
    });

    it('approves a service with justification and expiry; an expired approval lapses to unapproved', async () => {
      const store = await makeStore();
      try {
        const clock = { now: at(60) };
        const ctx = ctxOf(store, clock);
        await recordObservations(ctx, [obs('198.18.0.2', 443)]);
        const s = await approveService(
          store.db,
          { host: '198.18.0.2', protocol: 'tcp', port: 443 },
          { justification: 'public web server', approver: 'alice', expires_at: at(120) },
          at(61),
        );
        assert.equal(s?.state, 'approved');
        assert.equal(s?.justification, 'public web server');
        assert.equal(s?.approver, 'alice');
        assert.deepEqual(s?.expires_at, at(120));
        clock.now = at(121);
        assert.deepEqual(await runBaselineSweep(ctx), { gone: 0, expired: 1 });
        assert.equal((await getService(store.db, s!.id!))?.state, 'unapproved');
        const changes = (await listChanges(store.db, { limit: 0, offset: 0 })).data.map((c) => c.change);
        assert.deepEqual(changes, ['opened', 'approved', 'approval_expired']);
        // New evidence does not undo a decision.
        await recordObservations(ctx, [obs('198.18.0.2', 443, { seenAt: at(122) })]);
        assert.equal((await getService(store.db, s!.id!))?.state, 'unapproved');
      } finally {
        await store.close();
      }
    });

    it('stores any text a banner or host name may hold (quotes, backslashes, braces, NULL, NUL bytes)', async () => {
      const store = await makeStore();
      try {
        const ctx = ctxOf(store, { now: at(60) });
        const banner = 'He said "hi" \\ {a,b} NULL \u0000end ✓';
        await recordObservations(ctx, [
          obs('198.18.0.2', 23, {
            service: { name: 'telnet', banner },
            hostnames: ['a"b', 'c\\d', 'NULL'],
            reason: 'x,{y}',
          }),
        ]);
        const s = await getService(store.db, { host: '198.18.0.2', protocol: 'tcp', port: 23 });
        assert.equal(s?.service.banner, 'He said "hi" \\ {a,b} NULL end ✓');
        assert.deepEqual(s?.hostnames, ['a"b', 'c\\d', 'NULL']);
        assert.equal(s?.reason, 'x,{y}');
      } finally {
        await store.close();
      }
    });

    it('records 65,000 observations in batches (one row per port of an all-ports scan)', async () => {
      const store = await makeStore();
      try {
        const ctx = ctxOf(store, { now: at(60) });
        function* many(): Generator<Observation> {
          for (let p = 1; p <= 65_000; p++) yield obs('198.18.0.9', p);
        }
        const res = await recordObservations(ctx, many(), { learning: true });
        assert.equal(res.new_services, 65_000);
        assert.equal(
          (await listServices(store.db, q({ host: parseHostFilter('198.18.0.9'), limit: 1 }))).count,
          65_000,
        );
        const again = await recordObservations(ctx, many());
        assert.deepEqual([again.new_services, again.updated_services, again.containers], [0, 0, 0]);
      } finally {
        await store.close();
      }
    });
  });
}
