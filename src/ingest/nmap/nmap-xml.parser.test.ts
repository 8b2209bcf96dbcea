import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { HOST_B_TCP_V4, HOST_B_TCP_V6 } from '../common/host-b.testing.ts';
import {
  arbitraryIpv4,
  arbitraryIpv6Groups,
  checkParserProperties,
  gradedKeys,
} from '../common/parser-properties.ts';
import { arbitraryPortState, expectedScanKeys, type GeneratedScan } from './nmap-scan.testing.ts';
import { parseNmapXml } from './nmap-xml.parser.ts';

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseNmapXml, Array.isArray(input) ? input : [input]);

describe('nmap XML parser on real nmap output', () => {
  it('nmap -sT -sV: exactly the TCP listeners of 198.18.0.2, closed ports as negative evidence', async () => {
    const r = await parse(data('nmap-sT-sV.xml'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 1);
    assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4]);
    // -p 21,2222,80,3306,9090,9443,9999: the three ports nothing listens on are closed.
    assert.deepEqual(listenerKeys(r.observations, 'negative'), [
      '198.18.0.2 tcp/21',
      '198.18.0.2 tcp/80',
      '198.18.0.2 tcp/9999',
    ]);
    const ssh = r.observations.find((o) => o.port === 2222);
    assert.deepEqual(ssh?.service, {
      name: 'ssh',
      product: 'OpenSSH',
      version: '9.2p1 Debian 2+deb12u3',
      extrainfo: 'protocol 2.0',
      method: 'probed',
      conf: 10,
    });
    assert.equal(ssh?.reason, 'nmap open (syn-ack)');
    assert.equal(ssh?.source, 'nmap');
    // <host starttime="1795529885">
    assert.equal(ssh?.seenAt?.getTime(), 1795529885 * 1000);
    assert.equal(ssh?.line, 15);
  });

  it('nmap -p-: the four TCP listeners and nothing from the 65531 closed extraports', async () => {
    const r = await parse(data('nmap-sT-allports.xml'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4]);
    assert.equal(r.observations.length, 4);
  });

  it('nmap -6: the IPv6-only listener, ports bound to IPv4 only are closed', async () => {
    const r = await parse(data('nmap-ipv6.xml'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['fd00:198:18::2 tcp/11211']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), [
      'fd00:198:18::2 tcp/2222',
      'fd00:198:18::2 tcp/9443',
    ]);
  });

  it('a host that does not exist yields no observations', async () => {
    const r = await parse(data('nmap-host-down.xml'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 2);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222', '198.18.0.2 tcp/9090']);
    assert.ok(r.observations.every((o) => o.host === '198.18.0.2'));
  });

  it('UDP: open|filtered is weak, never strong; closed is negative', async () => {
    const r = await parse(data('nmap-udp.xml'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), []);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), ['198.18.0.2 udp/514']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['198.18.0.2 udp/53']);
  });

  it('truncated XML keeps the ports before the cut and says where the input ended', async () => {
    const buf = data('nmap-truncated.xml');
    const r = await parse(buf);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222', '198.18.0.2 tcp/3306']);
    assert.equal(r.issues.length, 1);
    const issue = r.issues[0]!;
    assert.match(issue.message, /truncated XML: unexpected end of input/);
    assert.equal(issue.offset, buf.length);
    assert.equal(issue.line, buf.toString().split('\n').length);
    assert.match(issue.message, new RegExp(`line ${issue.line}\\b.*byte offset ${buf.length}`));
  });

  it('reads every document of a file nmap --append-output wrote twice, with one issue', async () => {
    const first = data('nmap-sT-sV.xml');
    const r = await parse([first, data('nmap-ipv6.xml')]);
    assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4, ...HOST_B_TCP_V6].sort());
    assert.equal(r.records, 2);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /another XML document starts after the end of the first/);
    assert.equal(r.issues[0]!.line, first.toString().split('\n').length);
  });

  it('gives the same events whatever the chunking, even one byte at a time', async () => {
    const buf = data('nmap-sT-sV.xml');
    const whole = await parse(buf);
    const bytes = await parse([...buf].map((b) => Buffer.from([b])));
    assert.deepEqual(bytes.events, whole.events);
  });
});

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" start="1700000000">\n';
const host = (addr: string, ports: string, extra = '') =>
  `<host starttime="1700000001" endtime="1700000002"><status state="up" reason="echo-reply"/>\n` +
  `<address addr="${addr}" addrtype="${addr.includes(':') ? 'ipv6' : 'ipv4'}"/>\n${extra}<ports>${ports}</ports>\n</host>\n`;
const port = (proto: string, id: string | number, state: string, reason = 'syn-ack', inner = '') =>
  `<port protocol="${proto}" portid="${id}"><state state="${state}" reason="${reason}" reason_ttl="0"/>${inner}</port>\n`;

describe('nmap XML parser on constructed documents (shapes from nmap.dtd)', () => {
  it('reads many hosts, IPv6 in canonical form, hostnames, UDP responses and SCTP', async () => {
    const doc =
      HEAD +
      host(
        '192.0.2.10',
        port('tcp', 22, 'open') +
          port('udp', 53, 'open', 'udp-response') +
          port('sctp', 38412, 'open', 'init-ack'),
        '<hostnames><hostname name="gw.example" type="user"/><hostname name="gw.example" type="PTR"/></hostnames>\n',
      ) +
      host(
        '2001:DB8:0:0::0:1',
        port(
          'tcp',
          443,
          'open',
          'syn-ack',
          '<service name="http" tunnel="ssl"/><script id="banner" output="hello"/>',
        ),
      ) +
      '</nmaprun>\n';
    const r = await parse(doc);
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 2);
    assert.deepEqual(listenerKeys(r.observations), [
      '192.0.2.10 sctp/38412',
      '192.0.2.10 tcp/22',
      '192.0.2.10 udp/53',
      '2001:db8::1 tcp/443',
    ]);
    assert.deepEqual(r.observations[0]?.hostnames, ['gw.example']);
    assert.deepEqual(r.observations[3]?.service, { name: 'ssl/http', banner: 'hello' });
    assert.equal(r.observations[0]?.seenAt?.getTime(), 1700000001000);
  });

  it('reads masscan -oX (shapes from masscan src/out-xml.c): source masscan, endtime, banner', async () => {
    const doc =
      '<?xml version="1.0"?>\r\n<!-- masscan v1.0 scan -->\r\n' +
      '<nmaprun scanner="masscan" start="1700000000" version="1.0-BETA"  xmloutputversion="1.03">\r\n' +
      '<scaninfo type="syn" protocol="tcp" />\r\n' +
      '<host endtime="1700000005"><address addr="192.0.2.4" addrtype="ipv4"/><ports><port protocol="tcp" portid="80">' +
      '<state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>\r\n' +
      '<host endtime="1700000006"><address addr="192.0.2.4" addrtype="ipv4"/><ports><port protocol="tcp" portid="22">' +
      '<state state="open" reason="syn-ack" reason_ttl="64" /><service name="ssh" banner="SSH-2.0-OpenSSH_9.2p1"></service>' +
      '</port></ports></host>\r\n' +
      '<runstats>\r\n<finished time="1700000010" timestr="2023-11-14 22:13:30" elapsed="10" />\r\n' +
      '<hosts up="2" down="0" total="2" />\r\n</runstats>\r\n</nmaprun>\r\n';
    const r = await parse(doc);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.4 tcp/22', '192.0.2.4 tcp/80']);
    assert.ok(r.observations.every((o) => o.source === 'masscan'));
    assert.equal(r.observations[0]?.reason, 'masscan open (syn-ack)');
    assert.equal(r.observations[0]?.seenAt?.getTime(), 1700000005000);
    assert.deepEqual(r.observations[1]?.service, { name: 'ssh', banner: 'SSH-2.0-OpenSSH_9.2p1' });
  });

  it('uses <nmaprun start> when the host has no times, and ignores hosts that are down', async () => {
    const doc =
      HEAD +
      '<host><status state="up"/><address addr="192.0.2.1" addrtype="ipv4"/><ports>' +
      port('tcp', 80, 'open') +
      '</ports></host>\n<host><status state="down" reason="no-response"/><address addr="192.0.2.2" addrtype="ipv4"/><ports>' +
      port('tcp', 81, 'open') +
      '</ports></host>\n</nmaprun>';
    const r = await parse(doc);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80']);
    assert.equal(r.observations[0]?.seenAt?.getTime(), 1700000000000);
  });

  it('reports invalid addresses, ports out of range and unknown protocols, keeping the rest', async () => {
    const doc =
      HEAD +
      host('192.0.2.300', port('tcp', 22, 'open')) +
      host(
        '192.0.2.7',
        port('tcp', 70000, 'open') +
          port('tcp', 'x', 'open') +
          port('tcpx', 1, 'open') +
          port('tcp', 8080, 'open'),
      ) +
      '</nmaprun>';
    const r = await parse(doc);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.7 tcp/8080']);
    const msgs = r.issues.map((i) => `${i.line}: ${i.message}`);
    assert.equal(msgs.length, 4, msgs.join('\n'));
    assert.match(msgs[0]!, /^4: .*invalid address "192\.0\.2\.300"; 1 port\(s\) skipped/);
    assert.match(msgs[1]!, /^11: .*invalid portid "70000"/);
    assert.match(msgs[2]!, /^12: .*invalid portid "x"/);
    assert.match(msgs[3]!, /^13: .*unknown protocol "tcpx"/);
  });

  it('malformed XML mid-file: an issue with line and column, ports before it kept', async () => {
    const doc =
      HEAD +
      host('192.0.2.1', port('tcp', 22, 'open')) +
      '<host <<< ="\n' +
      host('192.0.2.2', port('tcp', 23, 'open'));
    const r = await parse(doc);
    assert.ok(listenerKeys(r.observations).includes('192.0.2.1 tcp/22'));
    assert.ok(r.issues.length >= 1);
    assert.match(r.issues[0]!.message, /^malformed XML at line 9, column \d+ \(byte offset \d+\)/);
    assert.equal(r.issues[0]!.line, 9);
    assert.ok(r.observations.every((o) => canonicalIp(o.host) === o.host));
  });

  it('does not expand entities (billion laughs, external entities)', async () => {
    const doc =
      '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' +
      '<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<nmaprun start="1">' +
      host('192.0.2.1', port('tcp', 22, 'open', 'syn-ack', '<service name="&b;&x;"/>')) +
      '</nmaprun>';
    const r = await parse(doc);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22']);
    assert.ok(!JSON.stringify(r.observations).includes('aaaaaaaaaa'));
    assert.ok(!JSON.stringify(r.observations).includes('root:'));
    assert.ok(r.issues.some((i) => /undefined entity/i.test(i.message)));
  });

  it('stops with an issue on a huge attribute value instead of holding it', async () => {
    const big = 'A'.repeat(10 * 1024 * 1024);
    const doc = [HEAD, host('192.0.2.1', port('tcp', 22, 'open')), `<host comment="${big}`, big, '">'];
    const r = await parse(doc);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /longer than \d+ characters at line 9/);
  });

  it('reads a document written on one line over 10 MB (no line length limit for XML)', async () => {
    const hosts = Array.from({ length: 50_000 }, (_, i) =>
      host(`10.0.${i >> 8}.${i & 255}`, port('tcp', 22, 'open')).replace(/\n/g, ''),
    );
    const doc = HEAD.replace(/\n/g, '') + hosts.join('') + '</nmaprun>';
    assert.ok(doc.length > 10e6);
    const r = await parse(doc);
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 50_000);
    assert.equal(new Set(r.observations.map((o) => o.host)).size, 50_000);
  });

  it('stops with an issue on absurdly deep nesting', async () => {
    const r = await parse([HEAD, host('192.0.2.1', port('tcp', 22, 'open')), '<a>'.repeat(100_000)]);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/22']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /nested deeper than 256/);
  });

  it('empty input and binary junk give one clear issue', async () => {
    const empty = await parse('');
    assert.equal(empty.issues.length, 1);
    assert.match(empty.issues[0]!.message, /no XML element found/);
    const junk = await parse(Buffer.from([0, 1, 2, 0xff, 0xfe, 0x3c, 0x00, 0x3e]));
    assert.ok(junk.issues.length >= 1);
    assert.equal(junk.observations.length, 0);
  });
});

// Generators for property tests: a scan is hosts with ports in the states nmap writes.
const portSpec = fc.record({
  proto: fc.constantFrom('tcp', 'udp', 'sctp'),
  port: fc.nat(65535),
  state: arbitraryPortState,
});
const scan = fc.uniqueArray(
  fc.record({
    addr: fc.oneof(arbitraryIpv4, arbitraryIpv6Groups),
    ports: fc.array(portSpec, { maxLength: 6 }),
  }),
  {
    maxLength: 6,
    selector: (h) => canonicalIp(h.addr),
  },
);
const render = (s: GeneratedScan, between = (_i: number) => '') =>
  HEAD +
  s
    .map((h, i) => between(i) + host(h.addr, h.ports.map((p) => port(p.proto, p.port, p.state)).join('')))
    .join('') +
  '</nmaprun>\n';

checkParserProperties('nmap XML parser', parseNmapXml, {
  keysOf: gradedKeys,
  minPort: 0,
  arbitraryInput: fc.tuple(fc.uint8Array({ maxLength: 2000 }), fc.nat(3)).map(([bytes, split]) => {
    const buf = Buffer.from(bytes);
    const cut = Math.floor((buf.length * split) / 3);
    return [buf.subarray(0, cut), buf.subarray(cut)];
  }),
  wellFormed: scan.map((s) => ({
    text: render(s),
    keys: expectedScanKeys(s),
    issues: 0,
    check: (r) => assert.equal(r.records, s.length),
  })),
  // Junk text and undefined entities between hosts.
  mixed: fc
    .tuple(
      scan,
      fc.array(
        fc.stringMatching(/^[a-zA-Z0-9 >;=\n]{0,40}$/).map((t) => `${t}&junk;`),
        { minLength: 7, maxLength: 7 },
      ),
    )
    .map(([s, junks]) => ({
      text: render(s, (i) => junks[i] ?? ''),
      keys: expectedScanKeys(s),
      check: (r) => assert.ok(s.length === 0 || r.issues.length > 0),
    })),
  truncatable: scan.map((s) => ({ text: render(s), keys: expectedScanKeys(s) })),
  onTruncated: (r, cut, length) => {
    if (cut < length - 1) assert.ok(r.issues.length > 0, 'truncation not reported');
  },
  runs: { arbitrary: 300, wellFormed: 200, mixed: 150, truncation: 300 },
});

describe('nmap XML parser on XML-looking noise', () => {
  it('never throws on XML-looking noise (tags and attributes of nmap XML shuffled)', async () => {
    const piece = fc.constantFrom(
      '<nmaprun>',
      '<host>',
      '</host>',
      '<ports>',
      '</ports>',
      '<port protocol="tcp" portid="80">',
      '</port>',
      '<state state="open"/>',
      '<address addr="192.0.2.1" addrtype="ipv4"/>',
      '<status state="up"/>',
      '&amp;',
      '&x;',
      '<',
      '>',
      '"',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 60 }), async (pieces) => {
        const r = await parse(pieces.join(''));
        for (const o of r.observations) {
          assert.equal(o.host, '192.0.2.1');
          assert.equal(o.port, 80);
        }
      }),
      { numRuns: 300 },
    );
  });
});
