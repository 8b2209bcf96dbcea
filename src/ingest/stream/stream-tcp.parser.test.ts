import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { arbitraryChunks, arbitraryIpv4, checkParserProperties } from '../common/parser-properties.ts';
import { parseStream, parseStreamBatches, streamEventToEvents } from './stream-tcp.parser.ts';

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseStream, Array.isArray(input) ? input : [input]);

// Ground truth from ../shared/fixtures/constructed/README.md.
const LISTENERS = ['198.51.100.80 tcp/25', '198.51.100.81 tcp/1433', '2001:db8:1::81 tcp/993'];

describe('Stream stream:tcp parser on the fixtures', () => {
  it('NDJSON: exactly the three listeners, strong, with time and service', async () => {
    const r = await parse(data('stream-tcp.ndjson'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 5);
    assert.deepEqual(listenerKeys(r.observations), LISTENERS);
    assert.equal(r.observations.length, 3);
    const smtp = r.observations[0]!;
    assert.equal(smtp.reason, 'tcp_status=0 ack_packets_out>0');
    assert.equal(smtp.source, 'stream');
    assert.equal(smtp.line, 1);
    assert.equal(smtp.offset, 0);
    assert.equal(smtp.seenAt?.toISOString(), '2026-11-20T10:00:00.100Z');
    assert.deepEqual(smtp.service, { name: 'smtp' });
    assert.equal(r.observations[1]!.service, undefined); // ip:tcp:unknown
  });

  it('concatenated HEC envelopes on one line: the same three listeners', async () => {
    const r = await parse(data('stream-tcp-hec.json'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 5);
    assert.deepEqual(listenerKeys(r.observations), LISTENERS);
    assert.equal(r.observations.length, 3);
    // The third envelope starts after two others on line 1.
    assert.equal(r.observations[1]!.line, 1);
    assert.ok(r.observations[1]!.offset! > 0);
  });

  it('a bad line and a truncated line are reported by line; lines 1 and 4 are kept', async () => {
    const r = await parse(data('stream-tcp-badline.ndjson'));
    assert.deepEqual(listenerKeys(r.observations), ['198.51.100.80 tcp/25', '198.51.100.81 tcp/1433']);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.pointer]),
      [
        [2, '/dest_ip'],
        [2, '/dest_port'],
        [3, undefined],
      ],
    );
    assert.match(r.issues[0]!.message, /999\.1\.1\.1/);
    assert.match(r.issues[1]!.message, /-4/);
    assert.match(r.issues[2]!.message, /cut short/);
    assert.equal(r.records, 4);
  });

  it('the same events pretty-printed, as a JSON array, or split into tiny chunks give the same answer', async () => {
    const events = data('stream-tcp.ndjson')
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    const pretty = events.map((e) => JSON.stringify(e, null, 2)).join('\n');
    const array = JSON.stringify(events, null, 2);
    const osqueryStyle = `[\n${events.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}\n]\n`;
    const hec = data('stream-tcp-hec.json').toString();
    const hecPretty = (JSON.parse(`[${hec.replace(/\}\{"time"/g, '},{"time"')}]`) as unknown[])
      .map((e) => JSON.stringify(e, null, 4))
      .join('');
    for (const text of [pretty, array, osqueryStyle, hecPretty]) {
      const r = await parse(text.match(/[\s\S]{1,7}/g)!);
      assert.deepEqual(r.issues, [], text.slice(0, 80));
      assert.deepEqual(listenerKeys(r.observations), LISTENERS);
      assert.equal(r.records, 5);
    }
  });
});

describe('parseStreamBatches', () => {
  it('gives the same events as parseStream, in arrays', async () => {
    const input = data('stream-tcp-badline.ndjson');
    const one = await parse(input);
    const batches: unknown[] = [];
    async function* src() {
      yield input.subarray(0, 300);
      yield input.subarray(300);
    }
    for await (const b of parseStreamBatches(src())) batches.push(...b);
    assert.deepEqual(batches, one.events);
  });
});

describe('streamEventToEvents (one event, as the HEC endpoint gets it)', () => {
  const base = {
    src_ip: '10.0.0.1',
    src_port: 50000,
    dest_ip: '10.0.0.2',
    dest_port: '443',
    transport: 'tcp',
  };
  it('grades: strong, weak, and no evidence for tcp_status 1 and 2; numbers may be strings', () => {
    const grade = (extra: object) =>
      streamEventToEvents({ ...base, ...extra }).map((e) =>
        e.kind === 'observation' ? `${e.observation.grade} ${e.observation.reason}` : e.kind,
      );
    assert.deepEqual(grade({ tcp_status: '0', ack_packets_out: '3' }), [
      'strong tcp_status=0 ack_packets_out>0',
    ]);
    assert.deepEqual(grade({ tcp_status: 0, ack_packets_out: 0, ack_packets_in: 2 }), [
      'weak ack_packets_in>0',
    ]);
    assert.deepEqual(grade({ ack_packets_in: 2 }), ['weak ack_packets_in>0']);
    assert.deepEqual(grade({ tcp_status: 1, ack_packets_out: 1, ack_packets_in: 1 }), []);
    assert.deepEqual(grade({ tcp_status: 2, ack_packets_in: 1 }), []);
    assert.deepEqual(grade({ tcp_status: 0 }), []);
  });

  it('an HEC envelope: pointer under /event, the envelope time when the event has none', () => {
    const out = streamEventToEvents(
      {
        time: '1795600000.5',
        sourcetype: 'stream:tcp',
        event: { ...base, tcp_status: 0, ack_packets_out: 1, ack_packets_in: 'x' },
      },
      { pointer: '/3' },
    );
    assert.deepEqual(
      out.map((e) => (e.kind === 'issue' ? e.issue.pointer : e.kind)),
      ['/3/event/ack_packets_in'],
    );
    const ok = streamEventToEvents({
      time: 1795600000.5,
      sourcetype: 'stream:tcp',
      event: { ...base, tcp_status: 0, ack_packets_out: 1 },
    });
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.kind === 'observation' && ok[0]!.observation.seenAt?.getTime(), 1795600000500);
    assert.equal(ok[0]!.kind === 'observation' && ok[0]!.observation.port, 443);
  });

  it('an HEC event given as JSON text is read like an object', () => {
    const event = JSON.stringify({ ...base, tcp_status: 0, ack_packets_out: 2 });
    const out = streamEventToEvents({ time: 1795600000, sourcetype: 'stream:tcp', event });
    assert.equal(out.length, 1);
    assert.equal(out[0]!.kind === 'observation' && out[0]!.observation.host, '10.0.0.2');
  });

  it('other sourcetypes, non-objects and missing fields are issues, never exceptions', () => {
    assert.match(
      (streamEventToEvents({ sourcetype: 'stream:udp', event: {} })[0] as { issue: { message: string } })
        .issue.message,
      /not stream:tcp/,
    );
    for (const bad of [null, 42, 'x', [], {}, { dest_ip: '10.0.0.2' }, { event: 'x' }]) {
      const out = streamEventToEvents(bad, { line: 7 });
      assert.ok(
        out.length > 0 && out.every((e) => e.kind === 'issue' && e.issue.line === 7),
        JSON.stringify(bad),
      );
    }
  });
});

const ip = fc.oneof(
  arbitraryIpv4,
  fc.ipV6().map((s) => canonicalIp(s) ?? '::1'),
);
const event = fc.record({
  src_ip: ip,
  src_port: fc.integer({ min: 1024, max: 65535 }),
  dest_ip: ip,
  dest_port: fc.integer({ min: 1, max: 65535 }),
  tcp_status: fc.constantFrom(0, 1, 2, '0'),
  ack_packets_in: fc.nat(5),
  ack_packets_out: fc.oneof(fc.nat(5), fc.nat(5).map(String)),
  timestamp: fc.constant('2026-11-20T10:00:00.100000Z'),
});
const expectedKey = (e: {
  dest_ip: string;
  dest_port: number;
  tcp_status: number | string;
  ack_packets_out: number | string;
}) =>
  Number(e.tcp_status) === 0 && Number(e.ack_packets_out) > 0
    ? `${canonicalIp(e.dest_ip)} tcp/${e.dest_port}`
    : undefined;

type Event = typeof event extends fc.Arbitrary<infer E> ? E : never;
const keysOf = (events: Event[]) =>
  [...new Set(events.map(expectedKey).filter((k) => k !== undefined))].sort();

checkParserProperties('Stream parser', parseStream, {
  arbitraryInput: arbitraryChunks({ maxLength: 300, extra: fc.json().map((j) => j + '\n') }),
  // Concatenated HEC envelopes, pretty-printed or not.
  wellFormed: fc.array(event).map((events) => ({
    text: events
      .map((e, i) =>
        JSON.stringify(
          { time: 1795600000 + i, sourcetype: 'stream:tcp', event: e },
          null,
          i % 2 ? 2 : undefined,
        ),
      )
      .join(''),
    keys: keysOf(events),
    issues: 0,
  })),
  mixed: fc
    .array(fc.oneof(event, fc.constantFrom('garbage', '{"cut": [1,2', '{"a":', '}}}', '42')))
    .map((items) => {
      const events = items.filter((i): i is Event => typeof i !== 'string');
      return {
        text: items.map((i) => (typeof i === 'string' ? i : JSON.stringify(i))).join('\n'),
        keys: keysOf(events),
        issues: items.length - events.length,
      };
    }),
  truncatable: fc.array(event, { minLength: 1 }).map((events) => ({
    text: events.map((e) => JSON.stringify(e)).join('\n'),
    keys: keysOf(events),
  })),
  hostile: {
    good: JSON.stringify({ dest_ip: '198.18.0.2', dest_port: 22, tcp_status: 0, ack_packets_out: 1 }),
    issueLines: [2, 3],
  },
});
