import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Observation } from '../ingest/observation.ts';
import { createLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { recordObservations, type BaselineContext } from './baseline.service.ts';
import { applyObservation, serviceKeyString, type MergeEvent, type ServiceRecord } from './service.merge.ts';
import { getService } from './service.repository.ts';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const NOW = new Date(T0 + 3_600_000);

describe('BaselineWriter', () => {
  let store: Store;
  let ctx: BaselineContext;
  before(async () => {
    store = await openStore({ databaseUrl: 'memory://' });
    ctx = {
      db: store.db,
      config: { goneAfter: '7d' },
      logger: createLogger('silent', { write: () => {} }),
      now: () => NOW,
    };
  });
  after(() => store.close());

  it('property: batched, compacted writing gives the rows and alerts of merging one by one', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            h: fc.integer({ min: 0, max: 2 }),
            port: fc.constantFrom(22, 443),
            source: fc.constantFrom('nmap' as const, 'stream' as const),
            grade: fc.constantFrom(
              'strong' as const,
              'strong' as const,
              'weak' as const,
              'negative' as const,
            ),
            reason: fc.constantFrom('r1', 'r2'),
            service: fc.option(fc.constantFrom('ssh', 'http'), { nil: undefined }),
            t: fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 7 }),
        async (specs, batch) => {
          run++;
          const list: Observation[] = specs.map((x) => ({
            host: `198.18.${run % 250}.${x.h + 10 * Math.floor(run / 250)}`,
            protocol: 'tcp',
            port: x.port,
            source: x.source,
            grade: x.grade,
            reason: x.reason,
            seenAt: x.t === null ? null : new Date(T0 + x.t * 60_000),
            ...(x.service ? { service: { name: x.service } } : {}),
          }));
          // The oracle: the pure merge, one observation after another.
          const expected = new Map<string, ServiceRecord>();
          let alerts = 0;
          const opts = { learning: false, now: NOW, goneAfterMs: 7 * 86_400_000, defaultSeenAt: NOW };
          for (const o of list) {
            const evs: MergeEvent[] = [];
            const r = applyObservation(expected.get(serviceKeyString(o)), o, opts, evs);
            if (r.row) expected.set(serviceKeyString(o), r.row);
            alerts += evs.filter((e) => e.alert).length;
          }
          const sum = await recordObservations(ctx, list, {
            learning: false,
            batchSize: batch,
            batchKeys: 2,
            defaultSeenAt: NOW,
          });
          assert.equal(sum.containers, alerts);
          for (const [, want] of expected) {
            const got = await getService(store.db, want);
            assert.ok(got);
            const pick = (r: ServiceRecord) => ({
              state: r.state,
              evidence: r.evidence,
              first_seen: r.first_seen.getTime(),
              last_seen: r.last_seen.getTime(),
              observations: r.observations,
              sources: r.sources,
              reason: r.reason,
              last_source: r.last_source,
              service: r.service,
              detection: r.detection,
              gone_at: r.gone_at?.getTime() ?? null,
            });
            assert.deepEqual(pick(got), pick(want));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
