import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Observation } from '../ingest/observation.ts';
import { detectionContainer } from './detection.ts';
import {
  applyObservation,
  applyObservationSeq,
  cloneRecord,
  mergeObservation,
  serviceKeyString,
  type MergeEvent,
  type MergeOptions,
  type ServiceRecord,
} from './service.merge.ts';

const T0 = new Date('2026-11-20T10:00:00Z');
const at = (min: number) => new Date(T0.getTime() + min * 60_000);
const DAY = 86_400_000;

const opts = (o: Partial<MergeOptions> = {}): MergeOptions => ({
  learning: false,
  now: at(60),
  goneAfterMs: 7 * DAY,
  defaultSeenAt: at(60),
  ...o,
});

const obs = (o: Partial<Observation> = {}): Observation => ({
  host: '198.18.0.2',
  protocol: 'tcp',
  port: 9090,
  source: 'nmap',
  grade: 'strong',
  reason: 'nmap open (syn-ack)',
  seenAt: at(0),
  ...o,
});

/** Merges observations in order, returning the final row and every event. */
function run(
  list: Observation[],
  o = opts(),
  start?: ServiceRecord,
): { row: ServiceRecord | undefined; events: MergeEvent[] } {
  let row = start;
  const events: MergeEvent[] = [];
  for (const x of list) {
    const r = mergeObservation(row, x, o);
    row = r.row;
    events.push(...r.events);
  }
  return { row, events };
}

describe('mergeObservation', () => {
  it('creates a row on the first strong sighting and raises one "new" alert', () => {
    const r = mergeObservation(undefined, obs(), opts());
    assert.ok(r.row);
    assert.equal(r.changed, true);
    assert.equal(r.row.state, 'new');
    assert.equal(r.row.evidence, 'strong');
    assert.equal(r.row.observations, 1);
    assert.deepEqual(r.row.first_seen, at(0));
    assert.deepEqual(r.row.last_seen, at(0));
    assert.deepEqual(Object.keys(r.row.sources), ['nmap']);
    assert.deepEqual(
      r.events.map((e) => [e.change, e.alert]),
      [['opened', 'new']],
    );
  });

  it('records but never alerts in a learning run', () => {
    const r = mergeObservation(undefined, obs(), opts({ learning: true }));
    assert.equal(r.row?.detection, 'learned');
    assert.equal(r.events.filter((e) => e.alert).length, 0);
    // The learned row does not alert later either: it was already known.
    const again = mergeObservation(r.row, obs({ seenAt: at(5) }), opts());
    assert.equal(again.events.filter((e) => e.alert).length, 0);
  });

  it('never creates a row from negative evidence', () => {
    const r = mergeObservation(undefined, obs({ grade: 'negative', reason: 'nmap closed' }), opts());
    assert.equal(r.row, undefined);
    assert.equal(r.changed, false);
    assert.deepEqual(r.events, []);
  });

  it('weak evidence never alerts by itself; a later strong sighting alerts once', () => {
    const udp = { protocol: 'udp' as const, port: 514, grade: 'weak' as const, reason: 'nmap open|filtered' };
    const { row, events } = run([obs({ ...udp, seenAt: at(0) }), obs({ ...udp, seenAt: at(1) })]);
    assert.equal(row?.evidence, 'weak');
    assert.equal(events.filter((e) => e.alert).length, 0);
    const up = run(
      [
        obs({ ...udp, grade: 'strong', reason: 'udp response', seenAt: at(2) }),
        obs({ ...udp, grade: 'strong', reason: 'udp response', seenAt: at(3) }),
      ],
      opts(),
      row,
    );
    assert.equal(up.row?.evidence, 'strong');
    assert.deepEqual(
      up.events.map((e) => [e.change, e.alert]),
      [['upgraded', 'new']],
    );
  });

  it('does not touch the row it is given', () => {
    const first = mergeObservation(undefined, obs(), opts()).row!;
    const snapshot = structuredClone(first);
    mergeObservation(
      first,
      obs({ seenAt: at(10), source: 'netcat', reason: 'nc connect succeeded', hostnames: ['b.example'] }),
      opts(),
    );
    assert.deepEqual(first, snapshot);
  });

  it('re-ingesting the same evidence changes nothing', () => {
    const list = [obs({ seenAt: at(0) }), obs({ seenAt: at(5) }), obs({ port: 2222, seenAt: at(0) })];
    const rows = new Map<string, ServiceRecord>();
    for (const x of list) {
      const k = serviceKeyString(x);
      rows.set(k, mergeObservation(rows.get(k), x, opts()).row!);
    }
    for (const x of list) {
      const k = serviceKeyString(x);
      const r = mergeObservation(rows.get(k), x, opts());
      assert.equal(r.changed, false);
      assert.deepEqual(r.events, []);
    }
    assert.equal(rows.get(serviceKeyString(list[0]!))!.observations, 2);
  });

  it('counts newer and older evidence, moving last and first seen', () => {
    const { row } = run([
      obs({ seenAt: at(10) }),
      obs({ seenAt: at(20) }),
      obs({ seenAt: at(0) }),
      obs({ seenAt: at(15) }),
    ]);
    assert.equal(row?.observations, 3, 'the one inside the already covered window is not counted');
    assert.deepEqual(row?.first_seen, at(0));
    assert.deepEqual(row?.last_seen, at(20));
    assert.equal(row?.sources.nmap?.observations, 3);
  });

  it('uses the default time for observations without their own', () => {
    const r = mergeObservation(
      undefined,
      obs({ seenAt: null, source: 'netcat' }),
      opts({ defaultSeenAt: at(42) }),
    );
    assert.deepEqual(r.row?.last_seen, at(42));
  });

  it('keeps service details a later source does not give, and takes the latest evidence reason', () => {
    const { row } = run([
      obs({ service: { name: 'ssh', product: 'OpenSSH', version: '9.2p1' }, hostnames: ['b.example'] }),
      obs({ source: 'netcat', reason: 'nc connect succeeded', seenAt: at(5) }),
    ]);
    assert.deepEqual(row?.service, { name: 'ssh', product: 'OpenSSH', version: '9.2p1' });
    assert.equal(row?.reason, 'nc connect succeeded');
    assert.equal(row?.last_source, 'netcat');
    assert.deepEqual(row?.hostnames, ['b.example']);
    assert.deepEqual(Object.keys(row!.sources).sort(), ['netcat', 'nmap']);
  });

  it('closes an active row on newer negative evidence, ignores older', () => {
    const open = mergeObservation(undefined, obs({ seenAt: at(10) }), opts()).row!;
    const older = mergeObservation(
      open,
      obs({ grade: 'negative', reason: 'nmap closed', seenAt: at(5) }),
      opts(),
    );
    assert.equal(older.changed, false);
    const closed = mergeObservation(
      open,
      obs({ grade: 'negative', reason: 'nmap closed', seenAt: at(20) }),
      opts(),
    );
    assert.equal(closed.row?.state, 'gone');
    assert.deepEqual(closed.row?.gone_at, at(20));
    assert.deepEqual(
      closed.events.map((e) => e.change),
      ['closed'],
    );
  });

  it('reopens a gone listener on fresh evidence with a "reopened" alert, not on stale evidence', () => {
    const open = mergeObservation(undefined, obs({ seenAt: at(10) }), opts()).row!;
    const gone = mergeObservation(
      open,
      obs({ grade: 'negative', reason: 'nmap closed', seenAt: at(20) }),
      opts(),
    ).row!;
    // Evidence from between the last sighting and the closing is no reopening.
    const between = mergeObservation(gone, obs({ seenAt: at(15) }), opts());
    assert.equal(between.row?.state, 'gone');
    assert.equal(between.events.length, 0);
    // Evidence older than goneAfter is no reopening either.
    const stale = mergeObservation(
      gone,
      obs({ seenAt: at(30) }),
      opts({ now: new Date(at(30).getTime() + 8 * DAY) }),
    );
    assert.equal(stale.row?.state, 'gone');
    const re = mergeObservation(gone, obs({ seenAt: at(30) }), opts());
    assert.equal(re.row?.state, 'new');
    assert.equal(re.row?.gone_at, null);
    assert.deepEqual(
      re.events.map((e) => [e.change, e.alert]),
      [['reopened', 'reopened']],
    );
  });

  it('property: any sequence merged again changes nothing, and each listener alerts "new" at most once', () => {
    const arbObs = fc.record({
      host: fc.constantFrom('198.18.0.2', '198.18.0.3', 'fd00:198:18::2'),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      port: fc.constantFrom(22, 443, 9090),
      source: fc.constantFrom('nmap' as const, 'stream' as const, 'netcat' as const),
      grade: fc.constantFrom('strong' as const, 'weak' as const, 'negative' as const),
      reason: fc.constantFrom('a', 'b'),
      seenAt: fc.option(fc.integer({ min: 0, max: 100 }).map(at), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(arbObs, { maxLength: 40 }), (list) => {
        const rows = new Map<string, ServiceRecord>();
        const alerts = new Map<string, number>();
        const o = opts({ now: at(100) });
        for (const x of list) {
          const k = serviceKeyString(x);
          const evs: MergeEvent[] = [];
          const r = applyObservation(rows.get(k), x, o, evs);
          if (r.row) rows.set(k, r.row);
          for (const e of evs) if (e.alert === 'new') alerts.set(k, (alerts.get(k) ?? 0) + 1);
          if (r.row) assert.ok(r.row.first_seen <= r.row.last_seen);
        }
        for (const n of alerts.values()) assert.equal(n, 1);
        const before = structuredClone([...rows.entries()]);
        for (const x of list) {
          const k = serviceKeyString(x);
          const r = mergeObservation(rows.get(k), x, o);
          // Negative evidence may close a row again only if it is newer than everything: it is not.
          assert.equal(r.events.filter((e) => e.alert).length, 0);
          if (r.row) rows.set(k, r.row);
        }
        const obsCounts = (m: Array<[string, ServiceRecord]>) =>
          m.map(([k, r]) => [k, r.observations, r.last_seen.getTime(), r.first_seen.getTime()]);
        assert.deepEqual(obsCounts([...rows.entries()]), obsCounts(before));
      }),
    );
  });
});

describe('applyObservationSeq', () => {
  // Templates of one service: sources, grades, reasons and details vary, so that the row's description
  // changes hands and grades upgrade.
  const arbTemplate = fc.record({
    source: fc.constantFrom('stream' as const, 'nmap' as const),
    grade: fc.constantFrom('strong' as const, 'weak' as const, 'negative' as const),
    reason: fc.constantFrom('a', 'b'),
    name: fc.option(fc.constantFrom('http', 'ssh'), { nil: undefined }),
    hostnames: fc.option(fc.constantFrom(['a.example'], ['b.example', 'a.example']), { nil: undefined }),
  });
  // Times as flows give them: mostly rising by small steps, with repeats, steps back, jumps far into the
  // past (stale evidence for gone rows) and records without a time.
  const arbStep = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -5, max: -1 }) },
    { weight: 1, arbitrary: fc.constant(-20 * 24 * 60) },
    { weight: 1, arbitrary: fc.constant(Number.NaN) },
  );

  it('property: equals applying each observation in turn, from no row, a stored row or a gone one', () => {
    fc.assert(
      fc.property(
        fc.array(arbTemplate, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), arbStep), { maxLength: 60 }),
        fc.constantFrom('none', 'stored', 'gone-closed', 'gone-unseen'),
        fc.boolean(),
        (tpls, steps, startKind, learning) => {
          const templates: Observation[] = tpls.map((t) =>
            obs({
              source: t.source,
              grade: t.grade,
              reason: t.reason,
              ...(t.name ? { service: { name: t.name } } : {}),
              ...(t.hostnames ? { hostnames: [...t.hostnames] } : {}),
            }),
          );
          const o = opts({ learning, now: at(200) });
          let start: ServiceRecord | undefined;
          if (startKind !== 'none') {
            start = mergeObservation(
              undefined,
              obs({ source: 'stream', grade: 'weak', seenAt: at(10) }),
              o,
            ).row!;
            start = mergeObservation(start, obs({ seenAt: at(20) }), o).row!;
            if (startKind !== 'stored') {
              start.state = 'gone';
              start.gone_reason = startKind === 'gone-closed' ? 'closed' : 'unseen';
              start.gone_at = at(25);
            }
          }
          const seq: number[] = [];
          let minute = 15;
          for (const [n, step] of steps) {
            if (Number.isNaN(step)) seq.push(n % templates.length, Number.NaN);
            else {
              minute += step;
              seq.push(n % templates.length, at(minute).getTime());
            }
          }
          // The plain way: one applyObservation per observation.
          let row = start ? cloneRecord(start) : undefined;
          let changed = false;
          const events: MergeEvent[] = [];
          for (let i = 0; i < seq.length; i += 2) {
            const t = seq[i + 1]!;
            const x = { ...templates[seq[i]!]!, seenAt: Number.isNaN(t) ? null : new Date(t) };
            const r = applyObservation(row, x, o, events);
            row = r.row;
            changed ||= r.changed;
          }
          const got: MergeEvent[] = [];
          const r = applyObservationSeq(start ? cloneRecord(start) : undefined, templates, seq, o, got);
          assert.deepEqual(r.row, row);
          assert.deepEqual(got, events);
          assert.equal(r.changed, changed);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('detectionContainer', () => {
  it('has the Splunk SOAR shape of REST-COMPAT.md', () => {
    const r = mergeObservation(undefined, obs({ service: { name: 'http' } }), opts());
    const ev = r.events[0] as MergeEvent & { alert: 'new' };
    const c = detectionContainer(r.row!, ev);
    assert.equal(c.name, 'New listening port 198.18.0.2:9090/tcp');
    assert.equal(c.label, 'network_exposure');
    assert.equal(c.severity, 'medium');
    assert.equal(c.source_data_identifier, 'svc:198.18.0.2:tcp:9090');
    assert.equal(c.artifacts?.length, 1);
    const a = c.artifacts![0]!;
    assert.equal(a.name, 'listener');
    assert.equal(a.label, 'service');
    assert.equal(a.cef?.destinationAddress, '198.18.0.2');
    assert.equal(a.cef?.destinationPort, 9090);
    assert.equal(a.cef?.transportProtocol, 'TCP');
    assert.deepEqual(a.cef_types, { destinationAddress: ['ip'], destinationPort: ['port'] });
    assert.equal(a.data?.source, 'nmap');
    assert.equal(a.data?.reason, 'nmap open (syn-ack)');
  });

  it('names IPv6 endpoints in brackets and gives reopened detections their own identifier', () => {
    const first = mergeObservation(
      undefined,
      obs({ host: 'fd00:198:18::2', port: 11211, seenAt: at(0) }),
      opts(),
    ).row!;
    const gone = mergeObservation(
      first,
      obs({ host: 'fd00:198:18::2', port: 11211, grade: 'negative', reason: 'closed', seenAt: at(1) }),
      opts(),
    ).row!;
    const re = mergeObservation(gone, obs({ host: 'fd00:198:18::2', port: 11211, seenAt: at(2) }), opts());
    const c = detectionContainer(re.row!, re.events[0] as MergeEvent & { alert: 'reopened' });
    assert.equal(c.name, 'Reopened listening port [fd00:198:18::2]:11211/tcp');
    assert.equal(c.source_data_identifier, `svc:fd00:198:18::2:tcp:11211:reopened:${at(2).toISOString()}`);
  });
});
