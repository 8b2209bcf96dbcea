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
import { parseNmapNormal } from './nmap-normal.parser.ts';

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseNmapNormal, Array.isArray(input) ? input : [input]);

describe('nmap normal-output parser on real nmap output', () => {
  it('nmap -sT -sV -oN: exactly the TCP listeners of 198.18.0.2 (fixture README ground truth)', async () => {
    const r = await parse(data('nmap-sT-sV.nmap'));
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
    assert.equal(ssh?.line, 8); // the 2222/tcp row is the file's eighth line
    assert.equal(r.records, 1);
  });

  it('agrees with the XML and the greppable output of the same nmap run', async () => {
    const { parseNmapXml, parseNmapGrep } = await import('./index.ts');
    const xml = await collectEvents(parseNmapXml, [data('nmap-sT-sV.xml')]);
    const grep = await collectEvents(parseNmapGrep, [data('nmap-sT-sV.gnmap')]);
    const normal = await parse(data('nmap-sT-sV.nmap'));
    for (const g of ['strong', 'negative', 'weak'] as const) {
      assert.deepEqual(listenerKeys(normal.observations, g), listenerKeys(xml.observations, g));
      assert.deepEqual(listenerKeys(normal.observations, g), listenerKeys(grep.observations, g));
    }
    // The greppable file's version column is the same text as the normal output's.
    for (const o of normal.observations.filter((x) => x.grade === 'strong')) {
      const g = grep.observations.find((x) => x.port === o.port && x.grade === 'strong');
      assert.deepEqual(o.service, g?.service, `port ${o.port}`);
    }
  });
});

describe('nmap normal-output parser on constructed reports (layout of nmap’s output.cc)', () => {
  it('reads names with addresses, IPv6, UDP, --reason, script output; skips hosts down and filtered ports', async () => {
    const text = [
      '# Nmap 7.93 scan initiated Mon Jan  6 09:05:01 2025 as: nmap -sU -sT --reason -sC hosts',
      'Nmap scan report for www.example (192.0.2.5)',
      'Host is up, received conn-refused (0.00020s latency).',
      'Other addresses for www.example (not scanned): 2001:db8::5',
      'Not shown: 995 closed tcp ports (conn-refused)',
      'PORT     STATE         SERVICE REASON          VERSION',
      '25/tcp   filtered      smtp    no-response',
      '53/udp   open          domain  udp-response ttl 64 dnsmasq 2.89',
      '| dns-nsid: ',
      '|_  bind.version: dnsmasq-2.89',
      '161/udp  open|filtered snmp    no-response',
      '443/tcp  open          https   syn-ack',
      'MAC Address: 02:00:00:00:00:05 (Unknown)',
      '',
      'Nmap scan report for 192.0.2.6 [host down, received no-response]',
      'Nmap scan report for 2001:DB8::0:7',
      'Host is up (0.00010s latency).',
      'PORT   STATE  SERVICE',
      '22/tcp open   ssh',
      '23/tcp closed telnet',
      '',
      '# Nmap done at Mon Jan  6 09:06:01 2025 -- 3 IP addresses (2 hosts up) scanned in 60.00 seconds',
    ].join('\r\n');
    const r = await parse(text);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), [
      '192.0.2.5 tcp/443',
      '192.0.2.5 udp/53',
      '2001:db8::7 tcp/22',
    ]);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), ['192.0.2.5 udp/161']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['2001:db8::7 tcp/23']);
    const dns = r.observations.find((o) => o.port === 53);
    assert.deepEqual(dns?.hostnames, ['www.example']);
    assert.deepEqual(dns?.service, { name: 'domain', product: 'dnsmasq 2.89' });
    assert.deepEqual(r.observations.find((o) => o.port === 443)?.service, { name: 'https' });
    assert.equal(dns?.seenAt?.toISOString(), '2025-01-06T09:05:01.000Z');
    assert.equal(r.records, 3);
  });

  it('does not read a last row the file was cut in (its state may be cut short)', async () => {
    const r = await parse(
      'Nmap scan report for 192.0.2.1\nPORT STATE SERVICE\n22/tcp open ssh\n161/udp open',
    );
    // `161/udp open|filtered` cut after `open` must not become strong evidence.
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22']);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), []);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /line 4: last port row has no line end/);
  });

  it('has no time without the header (a terminal copy)', async () => {
    const r = await parse('Nmap scan report for 192.0.2.1\nPORT STATE SERVICE\n80/tcp open http\n');
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80']);
    assert.equal(r.observations[0]?.seenAt, null);
  });

  it('reports bad reports and rows with their line and byte offset, keeping the others', async () => {
    const lines = [
      'Nmap scan report for 192.0.2.1',
      'PORT     STATE SERVICE',
      '22/tcp   open  ssh',
      '70000/tcp open x',
      '24/icmp  open  x',
      'Nmap scan report for some.name',
      'PORT     STATE SERVICE',
      '25/tcp   open  smtp',
      'Nmap scan report for 192.0.2.300',
      'Nmap scan report for 192.0.2.2',
      'PORT     STATE SERVICE',
      '\u0000\u0001binary',
      '26/tcp   open  x',
    ];
    const r = await parse(lines.join('\n'));
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22']);
    const offsets = lines.map((_, i) => Buffer.byteLength(lines.slice(0, i).join('\n')) + (i > 0 ? 1 : 0));
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.offset]),
      [
        [4, offsets[3]],
        [5, offsets[4]],
        [6, offsets[5]],
        [9, offsets[8]],
        [12, offsets[11]],
      ],
    );
    assert.match(r.issues[0]!.message, /line 4: invalid port row "70000\/tcp/);
    assert.match(r.issues[2]!.message, /line 6: expected "Nmap scan report for <address>"/);
    assert.match(r.issues[4]!.message, /binary/);
  });

  it('skips a 10 MB line with an issue and keeps the rows around it', async () => {
    const r = await parse([
      'Nmap scan report for 192.0.2.1\nPORT STATE SERVICE\n22/tcp open ssh\n',
      '| ' + 'x'.repeat(10 * 1024 * 1024),
      '\nNmap scan report for 192.0.2.3\nPORT STATE SERVICE\n24/tcp open x\n',
    ]);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22', '192.0.2.3 tcp/24']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /line 4 is longer than/);
  });
});

const portSpec = fc.record({
  proto: fc.constantFrom('tcp', 'udp', 'sctp'),
  port: fc.integer({ min: 1, max: 65535 }),
  state: arbitraryPortState,
  service: fc.constantFrom('ssh', 'http', 'ssl/http', 'unknown'),
  version: fc.constantFrom('', 'OpenSSH 9.2p1 (protocol 2.0)', 'nginx 1.22'),
});
const scan = fc.array(
  fc.record({
    addr: fc.oneof(arbitraryIpv4, arbitraryIpv6Groups),
    name: fc.constantFrom('', 'host.example'),
    ports: fc.array(portSpec, { minLength: 1, maxLength: 6 }),
  }),
  { maxLength: 6 },
);
type Scan = Array<{
  addr: string;
  name: string;
  ports: Array<{ proto: string; port: number; state: string; service: string; version: string }>;
}>;
const renderLines = (s: Scan) =>
  s.flatMap((h) => [
    h.name ? `Nmap scan report for ${h.name} (${h.addr})` : `Nmap scan report for ${h.addr}`,
    'Host is up (0.00012s latency).',
    'PORT      STATE         SERVICE  VERSION',
    ...h.ports.map(
      (p) => `${`${p.port}/${p.proto}`.padEnd(9)} ${p.state.padEnd(13)} ${p.service} ${p.version}`,
    ),
    '',
  ]);

checkParserProperties('nmap normal-output parser', parseNmapNormal, {
  keysOf: gradedKeys,
  arbitraryInput: arbitraryBlob(2000),
  wellFormed: scan.map((s) => ({
    text: renderLines(s).join('\n') + '\n',
    keys: expectedScanKeys(s),
    issues: 0,
  })),
  // A report whose address is a name (scanned without keeping addresses) before every host: one issue each.
  mixed: scan.map((s) => ({
    text: s.flatMap((h) => ['Nmap scan report for not-an-address', ...renderLines([h])]).join('\n'),
    keys: expectedScanKeys(s),
    issues: s.length,
  })),
  truncatable: scan.map((s) => ({ text: renderLines(s).join('\n'), keys: expectedScanKeys(s) })),
  runs: { arbitrary: 300, wellFormed: 200, mixed: 150, truncation: 300 },
});
