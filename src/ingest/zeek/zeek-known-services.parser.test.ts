import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { arbitraryChunks, arbitraryIpv4, checkParserProperties } from '../common/parser-properties.ts';
import { parseZeekKnownServices } from './zeek-conn.parser.ts';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseZeekKnownServices, Array.isArray(input) ? input : [input]);

// Zeek's verdict for its test trace, from ../../../../shared/fixtures/zeek/README.md.
const ZEEK_TCP = [
  '141.142.192.39 tcp/22',
  '172.16.238.131 tcp/21',
  '172.16.238.131 tcp/22',
  '172.16.238.131 tcp/80',
  '74.125.225.81 tcp/80',
];

describe('Zeek known_services.log parser', () => {
  it("reads Zeek's own known_services log: its TCP verdict and its two UDP services, all strong", async () => {
    const r = await parse(data('var-services-std-ports.known_services-all.log'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 7);
    assert.deepEqual(
      listenerKeys(r.observations).filter((k) => k.includes(' tcp/')),
      ZEEK_TCP,
    );
    assert.deepEqual(
      listenerKeys(r.observations).filter((k) => k.includes(' udp/')),
      ['172.16.238.2 udp/53', '69.50.219.51 udp/123'],
    );
    assert.ok(r.observations.every((o) => o.source === 'zeek' && o.reason === 'zeek known_services'));
    assert.deepEqual(r.observations.find((o) => o.port === 21)?.service, { name: 'ftp' });
    // The btest baseline masks `ts`: no time.
    assert.ok(r.observations.every((o) => o.seenAt === null));
  });

  it('reads the JSON writer too (Zeek puts the service set in an array)', async () => {
    const r = await parse(
      [
        '{"ts":1795529885.25,"host":"198.18.0.2","port_num":2222,"port_proto":"tcp","service":["SSH"]}',
        '{"ts":"2026-11-24T14:18:05.250Z","host":"fd00:198:18:0::2","port_num":11211,"port_proto":"tcp"}',
        '{"ts":1,"host":"198.18.0.2","port_num":70000,"port_proto":"tcp"}',
        '{"ts":1,"host":"not an address","port_num":22,"port_proto":"tcp"}',
      ].join('\n'),
    );
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222', 'fd00:198:18::2 tcp/11211']);
    assert.equal(r.observations[0]?.seenAt?.getTime(), 1795529885250);
    assert.equal(r.observations[1]?.seenAt?.toISOString(), '2026-11-24T14:18:05.250Z');
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.pointer]),
      [
        [3, '/port_num'],
        [4, '/host'],
      ],
    );
    assert.match(r.issues[0]!.message, /port_num "70000" is not a port number/);
  });

  it('skips records of other logs with one issue naming the #path', async () => {
    const r = await parse(data('conn-ssh.log'));
    assert.deepEqual(r.observations, []);
    assert.match(r.issues[0]!.message, /#path "conn": not a known_services\.log/);
  });
});

const HEADER =
  '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tknown_services\n' +
  '#fields\tts\thost\tport_num\tport_proto\tservice\n#types\ttime\taddr\tport\tenum\tset[string]\n';
const record = fc.record({
  host: arbitraryIpv4,
  port: fc.integer({ min: 1, max: 65535 }),
  proto: fc.constantFrom('tcp', 'udp'),
  service: fc.constantFrom('-', 'SSH', 'HTTP,SSL'),
});
type Rec = typeof record extends fc.Arbitrary<infer R> ? R : never;
const row = (r: Rec) => `1795600000.000000\t${r.host}\t${r.port}\t${r.proto}\t${r.service}`;
const keysOf = (items: Rec[]) =>
  [...new Set(items.map((r) => `${canonicalIp(r.host)} ${r.proto}/${r.port}`))].sort();

checkParserProperties('Zeek known_services.log parser', parseZeekKnownServices, {
  arbitraryInput: fc
    .tuple(fc.boolean(), arbitraryChunks({ extra: fc.json() }))
    .map(([withHeader, chunks]) => (withHeader ? [HEADER, ...chunks] : chunks)),
  mixed: fc.array(fc.oneof(record, fc.constantFrom('garbage', 'a\tb', '{"x":', '{}'))).map((items) => {
    const records = items.filter((i): i is Rec => typeof i !== 'string');
    return {
      text: HEADER + items.map((i) => (typeof i === 'string' ? i : row(i))).join('\n') + '\n',
      keys: keysOf(records),
      issues: items.length - records.length,
    };
  }),
  truncatable: fc
    .array(record, { minLength: 1 })
    .map((items) => ({ text: HEADER + items.map(row).join('\n') + '\n', keys: keysOf(items) })),
  hostile: {
    header: '#fields\tts\thost\tport_num\tport_proto\tservice\n',
    good: '1\t198.18.0.2\t22\ttcp\tSSH',
    issueLines: [3, 4],
  },
});
