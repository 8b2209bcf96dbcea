import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../logging/index.ts';
import type { Observation } from '../ingest/observation.ts';
import { testStores } from '../testing/stores.ts';
import { BaselineWriter } from './baseline.service.ts';
import {
  mergeObservation,
  serviceKeyString,
  type MergeOptions,
  type ServiceRecord,
} from './service.merge.ts';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const NOW = new Date(T0 + 3_600_000);

// A few hosts, ports and protocols so that services repeat; details and times vary per observation.
const observation = (): fc.Arbitrary<Observation> =>
  fc
    .record({
      h: fc.integer({ min: 0, max: 3 }),
      port: fc.constantFrom(22, 80, 443),
      protocol: fc.constantFrom('tcp', 'udp'),
      source: fc.constantFrom('stream', 'nmap'),
      grade: fc.constantFrom('strong', 'weak', 'negative'),
      minute: fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }),
      name: fc.option(fc.constantFrom('http', 'https', 'ssh'), { nil: undefined }),
    })
    .map(({ h, port, protocol, source, grade, minute, name }): Observation => ({
      host: `198.18.0.${h + 1}`,
      protocol: protocol as Observation['protocol'],
      port,
      source: source as Observation['source'],
      grade: grade as Observation['grade'],
      reason: `${source} ${grade}`,
      seenAt: minute === null ? null : new Date(T0 + minute * 60_000),
      ...(name ? { service: { name } } : {}),
    }));

/** The plain path: every observation merged one by one, in order, per service. */
function expected(list: Observation[], opts: MergeOptions): Map<string, ServiceRecord> {
  const rows = new Map<string, ServiceRecord>();
  for (const o of list) {
    const key = serviceKeyString(o);
    const r = mergeObservation(rows.get(key), o, opts);
    if (r.row) rows.set(key, r.row);
  }
  return rows;
}

for (const [name, makeStore] of testStores()) {
  describe(`BaselineWriter batches (${name})`, () => {
    it('gives the same baseline as merging each observation on its own, whatever the batch sizes', async () => {
      const store = await makeStore();
      try {
        const ctx = {
          db: store.db,
          config: { goneAfter: '7d' },
          logger: createLogger('silent', { write: () => {} }),
          now: () => NOW,
        };
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(observation(), { maxLength: 60 }),
            fc.integer({ min: 1, max: 40 }),
            fc.integer({ min: 1, max: 10 }),
            async (list, batchSize, batchKeys) => {
              // Each run writes its own hosts, so runs on one store do not see each other's rows.
              const tag = run++;
              const mine = list.map((o) => ({ ...o, host: o.host.replace('198.18.0.', `198.18.${tag}.`) }));
              const hostsOf = new Set(mine.map((o) => o.host));
              const w = new BaselineWriter(ctx, { learning: true, batchSize, batchKeys });
              await w.start();
              for (const o of mine) {
                assert.equal(w.push(o), null);
                if (w.full) await w.flush();
              }
              await w.flush();
              const want = expected(mine, {
                learning: true,
                now: NOW,
                goneAfterMs: 7 * 86_400_000,
                defaultSeenAt: NOW,
              });
              const rows =
                hostsOf.size === 0
                  ? []
                  : await store.db
                      .selectFrom('services')
                      .selectAll()
                      .where('host', 'in', [...hostsOf])
                      .execute();
              assert.equal(rows.length, want.size);
              for (const row of rows) {
                const key = `${row.host}|${row.protocol}|${row.port}`;
                const e = want.get(key);
                assert.ok(e, `unexpected row ${key}`);
                assert.deepEqual(
                  {
                    state: row.state,
                    evidence: row.evidence,
                    first: new Date(row.first_seen).getTime(),
                    last: new Date(row.last_seen).getTime(),
                    observations: row.observations,
                    sources: row.sources,
                    reason: row.reason,
                    last_source: row.last_source,
                    service: row.service,
                  },
                  {
                    state: e.state,
                    evidence: e.evidence,
                    first: e.first_seen.getTime(),
                    last: e.last_seen.getTime(),
                    observations: e.observations,
                    sources: e.sources,
                    reason: e.reason,
                    last_source: e.last_source,
                    service: e.service,
                  },
                );
              }
            },
          ),
          { numRuns: 25 },
        );
      } finally {
        await store.close();
      }
    });
  });
}
