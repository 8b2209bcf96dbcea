import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { HOST_B_TCP_V4 } from '../common/host-b.testing.ts';
import {
  arbitraryBlob,
  arbitraryIpv4,
  arbitraryIpv6Groups,
  checkParserProperties,
  gradedKeys,
} from '../common/parser-properties.ts';
import { arbitraryPortState, expectedScanKeys } from './nmap-scan.testing.ts';
import { parseGrepHeader, parseNmapGrep } from './nmap-grep.parser.ts';

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseNmapGrep, Array.isArray(input) ? input : [input]);

describe('nmap greppable parser on real nmap output', () => {
  it('nmap -sT -sV -oG: exactly the TCP listeners of 198.18.0.2 (fixture README ground truth)', async () => {
    const r = await parse(data('nmap-sT-sV.gnmap'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4]);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), [
      '198.18.0.2 tcp/21',
      '198.18.0.2 tcp/80',
      '198.18.0.2 tcp/9999',
    ]);
    const ssh = r.observations.find((o) => o.port === 2222);
    assert.deepEqual(ssh?.service, { name: 'ssh', product: 'OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)' });
    // "# Nmap 7.93 scan initiated Tue Nov 24 14:18:05 2026" — the XML of the same run says start="1795529885".
    assert.equal(ssh?.seenAt?.getTime(), 1795529885 * 1000);
    assert.equal(ssh?.line, 3);
  });

  it('agrees with the XML of the same nmap run', async () => {
    const { parseNmapXml } = await import('./nmap-xml.parser.ts');
    const xml = await collectEvents(parseNmapXml, [data('nmap-sT-sV.xml')]);
    const grep = await parse(data('nmap-sT-sV.gnmap'));
    for (const g of ['strong', 'negative', 'weak'] as const) {
      assert.deepEqual(listenerKeys(grep.observations, g), listenerKeys(xml.observations, g));
    }
  });
});

describe('nmap greppable parser on constructed lines (layout from nmap’s grepable output docs)', () => {
  it('reads IPv6, UDP, hostnames, ignores Status: Down hosts and filtered ports', async () => {
    const text = [
      '# Nmap 7.93 scan initiated Mon Jan  6 09:05:01 2025 as: nmap -sU -sT -oG - hosts',
      'Host: 192.0.2.5 (www.example)\tStatus: Up',
      'Host: 192.0.2.5 (www.example)\tPorts: 53/open/udp//domain///, 161/open|filtered/udp//snmp///, 25/filtered/tcp//smtp///, 443/open/tcp//ssl|http//nginx 1.22|x (a, b)/\tIgnored State: closed (995)',
      'Host: 192.0.2.6 ()\tStatus: Down',
      'Host: 2001:DB8::0:7 ()\tPorts: 22/open/tcp//ssh///',
      '# Nmap done at Mon Jan  6 09:06:01 2025 -- 3 IP addresses (2 hosts up) scanned in 60.00 seconds',
    ].join('\n');
    const r = await parse(text);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), [
      '192.0.2.5 tcp/443',
      '192.0.2.5 udp/53',
      '2001:db8::7 tcp/22',
    ]);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), ['192.0.2.5 udp/161']);
    const https = r.observations.find((o) => o.port === 443);
    assert.deepEqual(https?.hostnames, ['www.example']);
    assert.equal(https?.service?.product, 'nginx 1.22/x (a, b)');
    assert.equal(https?.service?.name, 'ssl/http');
    assert.equal(https?.seenAt?.toISOString(), '2025-01-06T09:05:01.000Z');
  });

  it('reads masscan -oG lines (layout from masscan src/out-grepable.c)', async () => {
    const text = [
      '# Masscan 1.3.2 scan initiated Tue Nov 24 14:18:41 2026',
      '# Ports scanned: TCP(2;80-80,443-443) UDP(0;) SCTP(0;) PROTOCOLS(0;)',
      'Host: 192.0.2.9 ()\tPorts: 80/open/tcp////',
      'Host: 192.0.2.9 ()\tPort: 80\tService: http\tBanner: HTTP/1.0 200 OK',
      '# Masscan done at Tue Nov 24 14:18:52 2026',
    ].join('\n');
    const r = await parse(text);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.9 tcp/80']);
    assert.ok(r.observations.every((o) => o.source === 'masscan'));
    assert.deepEqual(r.observations[1]?.service, { name: 'http', banner: 'HTTP/1.0 200 OK' });
  });

  it('reports bad lines with their line number and byte offset, keeping the others', async () => {
    const lines = [
      'Host: 192.0.2.1 ()\tPorts: 22/open/tcp//ssh///',
      'Host: 192.0.2.300 ()\tPorts: 22/open/tcp//ssh///',
      'Host: 192.0.2.2 ()\tPorts: 70000/open/tcp//x///, 23/open/tcp//telnet///, 9/open/icmp////',
      'garbage here',
      '\u0000\u0001\u0002binary',
      'Host: 192.0.2.3 ()\tPorts: 24/open/tcp////',
    ];
    const r = await parse(lines.join('\n'));
    assert.deepEqual(listenerKeys(r.observations), [
      '192.0.2.1 tcp/22',
      '192.0.2.2 tcp/23',
      '192.0.2.3 tcp/24',
    ]);
    const offsets = lines.map((_, i) => Buffer.byteLength(lines.slice(0, i).join('\n')) + (i > 0 ? 1 : 0));
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.offset]),
      [
        [2, offsets[1]],
        [3, offsets[2]],
        [3, offsets[2]],
        [4, offsets[3]],
        [5, offsets[4]],
      ],
    );
    assert.match(r.issues[0]!.message, /line 2: invalid host address "192\.0\.2\.300"/);
    assert.match(r.issues[1]!.message, /line 3: invalid Ports entry "70000\/open/);
    assert.match(r.issues[2]!.message, /unknown protocol "icmp"/);
  });

  it('skips a 10 MB line with an issue and keeps the lines around it', async () => {
    const r = await parse([
      'Host: 192.0.2.1 ()\tPorts: 22/open/tcp////\nHost: 192.0.2.2 ()\tPorts: ',
      '1/open/tcp////, '.repeat(700_000),
      '\nHost: 192.0.2.3 ()\tPorts: 24/open/tcp////\n',
    ]);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22', '192.0.2.3 tcp/24']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /line 2 is longer than/);
  });

  it('parses header dates', () => {
    assert.equal(
      parseGrepHeader('# Nmap 7.93 scan initiated Tue Nov 24 14:18:05 2026 as: nmap x')?.start?.getTime(),
      1795529885000,
    );
    assert.equal(
      parseGrepHeader('# Masscan 1.3.2 scan initiated Tue Nov 24 14:18:41 2026')?.scanner,
      'masscan',
    );
    assert.equal(parseGrepHeader('# Nmap done at Tue Nov 24 14:18:41 2026'), null);
  });
});

const portSpec = fc.record({
  proto: fc.constantFrom('tcp', 'udp', 'sctp'),
  port: fc.nat(65535),
  state: arbitraryPortState,
  service: fc.constantFrom('', 'ssh', 'http', 'ssl|http'),
});
const scan = fc.array(
  fc.record({
    addr: fc.oneof(arbitraryIpv4, arbitraryIpv6Groups),
    ports: fc.array(portSpec, { minLength: 1, maxLength: 6 }),
  }),
  {
    maxLength: 6,
  },
);
type Scan = Array<{
  addr: string;
  ports: Array<{ proto: string; port: number; state: string; service: string }>;
}>;
const renderLines = (s: Scan) =>
  s.map(
    (h) =>
      `Host: ${h.addr} ()\tPorts: ${h.ports.map((p) => `${p.port}/${p.state}/${p.proto}//${p.service}///`).join(', ')}`,
  );
const garbage = fc
  .string({ maxLength: 80 })
  .filter((g) => !g.includes('\n') && !g.startsWith('Host: ') && g.trim() !== '' && !g.startsWith('#'));

checkParserProperties('nmap greppable parser', parseNmapGrep, {
  keysOf: gradedKeys,
  minPort: 0,
  arbitraryInput: arbitraryBlob(2000),
  wellFormed: scan.map((s) => ({
    text: renderLines(s).join('\n') + '\n',
    keys: expectedScanKeys(s),
    issues: 0,
  })),
  // A garbage line before every host line: one issue each, on the odd lines.
  mixed: fc.tuple(scan, fc.array(garbage, { minLength: 7, maxLength: 7 })).map(([s, junk]) => ({
    text: renderLines(s)
      .flatMap((l, i) => [junk[i]!, l])
      .join('\n'),
    keys: expectedScanKeys(s),
    issues: s.length,
    check: (r) => assert.ok(r.issues.every((i) => i.line !== undefined && i.line % 2 === 1)),
  })),
  truncatable: scan.map((s) => ({ text: renderLines(s).join('\n'), keys: expectedScanKeys(s) })),
  runs: { arbitrary: 300, wellFormed: 200, mixed: 150, truncation: 300 },
});
