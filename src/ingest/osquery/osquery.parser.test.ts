import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { arbitraryChunks, checkParserProperties } from '../common/parser-properties.ts';
import type { ParseOptions } from '../observation.ts';
import { parseOsquery } from './osquery.parser.ts';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const parse = (input: string | Buffer | Array<string | Buffer>, opts: ParseOptions = {}) =>
  collectEvents(parseOsquery, Array.isArray(input) ? input : [input], opts);

describe('osquery listening_ports parser', () => {
  it('osqueryi --json with --host: wildcard binds belong to the host, loopback and port 0 skipped', async () => {
    const r = await parse(data('osqueryi-listening-ports.json'), { host: '198.18.0.2' });
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 11);
    // Ground truth in testdata/README.md.
    assert.deepEqual(listenerKeys(r.observations), [
      '198.18.0.2 tcp/22',
      '198.18.0.2 tcp/3306',
      '198.18.0.2 tcp/9090',
      '198.18.0.2 udp/514',
      'fd00:198:18::2 tcp/11211',
    ]);
    assert.equal(r.observations.length, 6); // 0.0.0.0:22 and [::]:22 both
    assert.ok(r.observations.every((o) => o.source === 'osquery' && o.seenAt === null));
    assert.equal(r.observations[0]!.line, 2);
  });

  it('osqueryi --json without a host: specific binds kept, one issue for the wildcard ones', async () => {
    const r = await parse(data('osqueryi-listening-ports.json'));
    assert.deepEqual(listenerKeys(r.observations), [
      '198.18.0.2 tcp/3306',
      '198.18.0.2 tcp/9090',
      'fd00:198:18::2 tcp/11211',
    ]);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /^3 wildcard listener\(s\).*--host/);
    assert.equal(r.issues[0]!.line, 2);
    assert.equal(r.issues[0]!.pointer, '/address');
  });

  it('osqueryd result logs: event, snapshot and batch formats; reporter from hostIdentifier or decorations', async () => {
    const r = await parse(data('osqueryd-results.log'));
    assert.deepEqual(listenerKeys(r.observations), [
      '198.18.0.2 tcp/22',
      '198.18.0.3 tcp/443',
      '198.18.0.4 tcp/25',
      '198.18.0.4 udp/123',
    ]);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['198.18.0.3 tcp/8080']);
    // cache-01 names no address: its two rows need --host.
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]!.line, 6);
    assert.equal(r.issues[0]!.pointer, '/diffResults/added/0/address');
    assert.equal(r.records, 8);
    const ssh = r.observations[0]!;
    assert.equal(ssh.seenAt?.getTime(), 1795618800 * 1000);
    assert.deepEqual(ssh.hostnames, ['web-01']);
    assert.equal(r.observations.find((o) => o.port === 443)?.seenAt?.getTime(), 1795619100 * 1000);
  });

  it('--host overrides the envelope; a host given by name is named when wildcard rows need it', async () => {
    const r = await parse(data('osqueryd-results.log'), { host: '198.18.0.9' });
    assert.deepEqual(r.issues, []);
    assert.ok(listenerKeys(r.observations).includes('198.18.0.9 tcp/6379'));
    // cache-01's rows need a reporter; the name alone cannot place them. The others have one.
    const named = await parse(data('osqueryd-results.log'), { host: 'cache-01' });
    assert.equal(named.issues.length, 1);
    assert.match(named.issues[0]!.message, /the given host "cache-01" is not an IP address/);
    assert.ok(listenerKeys(named.observations).includes('198.18.0.3 tcp/443'));
    const specific = data('osqueryi-listening-ports.json').replace(
      /"address":"(?:0\.0\.0\.0|::)"/g,
      '"address":"198.18.0.2"',
    );
    const fine = await parse(specific, { host: 'web-01' });
    assert.deepEqual(fine.issues, []);
  });

  it('bad rows are named by line and JSON pointer; the rest is kept', async () => {
    const r = await parse(
      [
        '{"address":"198.18.0.2","family":"2","port":"99999","protocol":"6"}',
        '{"address":"999.1.1.1","family":"2","port":"80","protocol":"6"}',
        '{"snapshot":"x","hostIdentifier":"198.18.0.2"}',
        '{"address":"198.18.0.2","family":"2","port":"443","pro',
        '[1,2]',
        '{"address":"198.18.0.2","family":"2","port":443,"protocol":6}',
      ].join('\n'),
    );
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/443']);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.pointer ?? null]),
      [
        [1, '/port'],
        [2, '/address'],
        [3, '/snapshot'],
        [4, null],
        [5, null],
      ],
    );
  });
});

const ip = fc.oneof(
  fc.tuple(fc.nat(1), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `198.${18 + a}.${b}.${c}`),
  fc
    .tuple(fc.nat(0xffff), fc.nat(0xffff))
    .map(([a, b]) => canonicalIp(`fd00::${a.toString(16)}:${b.toString(16)}`)!),
);
const row = fc.record({
  address: ip,
  port: fc.integer({ min: 1, max: 65535 }),
  protocol: fc.constantFrom('6', '17'),
  pid: fc.nat(99999).map(String),
});
const fullRow = (r: { address: string; port: number; protocol: string; pid: string }) => ({
  address: r.address,
  family: r.address.includes(':') ? '10' : '2',
  fd: '3',
  net_namespace: '0',
  path: '',
  pid: r.pid,
  port: String(r.port),
  protocol: r.protocol,
  socket: '1',
});
const key = (r: { address: string; port: number; protocol: string }) =>
  `${canonicalIp(r.address)} ${r.protocol === '6' ? 'tcp' : 'udp'}/${r.port}`;

type Row = typeof row extends fc.Arbitrary<infer R> ? R : never;
const keysOf = (rows: Row[]) => [...new Set(rows.map(key))].sort();
const osqueryiArray = (rows: Row[]) =>
  `[\n${rows.map((r) => `  ${JSON.stringify(fullRow(r))}`).join(',\n')}\n]\n`;

checkParserProperties('osquery parser', parseOsquery, {
  arbitraryInput: arbitraryChunks({ extra: fc.json() }),
  arbitraryOptions: { host: '198.18.0.1' },
  wellFormed: fc.array(row).map((rows) => ({ text: osqueryiArray(rows), keys: keysOf(rows), issues: 0 })),
  mixed: fc.array(fc.oneof(row, fc.constantFrom('garbage', '{"a":', '[1]'))).map((items) => {
    const rows = items.filter((i): i is Row => typeof i !== 'string');
    return {
      text: items
        .map((i) =>
          typeof i === 'string'
            ? i
            : JSON.stringify({
                name: 'lp',
                hostIdentifier: 'h',
                unixTime: 1795600000,
                columns: fullRow(i),
                action: 'added',
              }),
        )
        .join('\n'),
      keys: keysOf(rows),
      issues: items.length - rows.length,
    };
  }),
  truncatable: fc
    .array(row, { minLength: 1 })
    .map((rows) => ({ text: osqueryiArray(rows), keys: keysOf(rows) })),
  hostile: {
    good: JSON.stringify({ address: '198.18.0.2', family: '2', port: '22', protocol: '6' }),
    issueLines: [2, 3],
  },
});
