import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { withHostB } from '../common/host-b.testing.ts';
import { checkParserProperties } from '../common/parser-properties.ts';
import type { ParseOptions } from '../observation.ts';
import { parseSs } from './ss.parser.ts';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const parse = (input: string | Buffer | Array<string | Buffer>, opts: ParseOptions = {}) =>
  collectEvents(parseSs, Array.isArray(input) ? input : [input], opts);
const run = promisify(execFile);

// Ground truth: the sockets testdata/listeners.py opens (see testdata/README.md).
const TCP = [
  '198.18.0.2 tcp/22',
  '198.18.0.2 tcp/3306',
  '198.18.0.2 tcp/8443',
  '198.18.0.2 tcp/9090',
  'fd00:198:18::2 tcp/11211',
];
const UDP = ['198.18.0.2 udp/514', '198.18.0.2 udp/5353', '198.18.0.2 udp/68'];
const ALL = [...TCP, ...UDP].sort();

describe('ss / netstat parser on real output', () => {
  for (const [file, want, rows] of [
    ['ss-ltnu.txt', ALL, 13],
    ['ss-ltnup.txt', ALL, 13],
    ['ss-ltn.txt', TCP, 9],
    ['netstat-ltnu.txt', ALL, 13],
    ['netstat-ltnup.txt', ALL, 13],
  ] as const) {
    it(`${file} with --host 198.18.0.2: exactly the listeners, loopback skipped`, async () => {
      const r = await parse(data(file), { host: '198.18.0.2' });
      assert.deepEqual(r.issues, []);
      assert.deepEqual(listenerKeys(r.observations), want);
      assert.equal(r.records, rows);
      assert.ok(r.observations.every((o) => o.source === 'ss' && o.grade === 'strong'));
    });
  }

  it('reasons name the tool and the socket state', async () => {
    const ss = await parse(data('ss-ltnu.txt'), { host: '198.18.0.2' });
    assert.equal(ss.observations.find((o) => o.port === 514)?.reason, 'ss UNCONN udp');
    assert.equal(ss.observations.find((o) => o.port === 9090)?.reason, 'ss LISTEN');
    const ns = await parse(data('netstat-ltnu.txt'), { host: '198.18.0.2' });
    assert.equal(ns.observations.find((o) => o.port === 9090)?.reason, 'netstat LISTEN');
    assert.equal(ns.observations.find((o) => o.port === 9090)?.line, 3);
  });

  it('without --host: specific binds kept, one issue for the wildcard rows', async () => {
    const r = await parse(data('ss-ltnu.txt'));
    assert.deepEqual(listenerKeys(r.observations), [
      '198.18.0.2 tcp/3306',
      '198.18.0.2 tcp/9090',
      '198.18.0.2 udp/514',
      'fd00:198:18::2 tcp/11211',
    ]);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /^5 wildcard listener\(s\).*--host/);
    assert.equal(r.issues[0]!.line, 3); // udp 0.0.0.0:68
  });

  it('ss without -n: port names are reported by line, numeric ports kept', async () => {
    const r = await parse(data('ss-ltu-names.txt'), { host: '198.18.0.2' });
    assert.deepEqual(listenerKeys(r.observations), [
      '198.18.0.2 tcp/8443',
      '198.18.0.2 tcp/9090',
      'fd00:198:18::2 tcp/11211',
    ]);
    assert.equal(r.issues.length, 10);
    assert.match(r.issues[0]!.message, /port name "domain" .*-n/);
    assert.equal(r.issues[0]!.line, 2);
  });

  it('netstat -a and ss -a: UNIX, raw and connected sockets are skipped quietly', async () => {
    const r = await parse(
      [
        'Active Internet connections (servers and established)',
        'Proto Recv-Q Send-Q Local Address           Foreign Address         State',
        'tcp        0      0 198.18.0.2:22           0.0.0.0:*               LISTEN',
        'tcp        0      0 198.18.0.2:22           198.18.0.1:50514        ESTABLISHED',
        'tcp        0      0 198.18.0.2:41000        198.18.0.9:443          TIME_WAIT',
        'udp        0      0 198.18.0.2:41001        198.18.0.9:53           ESTABLISHED',
        'raw6       0      0 :::58                   :::*                    7',
        'Active UNIX domain sockets (servers and established)',
        'Proto RefCnt Flags       Type       State         I-Node   Path',
        'unix  2      [ ACC ]     STREAM     LISTENING     14543    /run/systemd/private',
        'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process',
        'u_str LISTEN 0      4096   /run/systemd/private 14543 * 0',
        'icmp6 UNCONN 0      0      *:58 *:*',
        'tcp   ESTAB  0      0      198.18.0.2:22 198.18.0.1:50515',
        'udp   UNCONN 0      0      198.18.0.2:514 0.0.0.0:*',
      ].join('\n'),
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/22', '198.18.0.2 udp/514']);
  });

  it('connected sockets are never listeners; cut lines and junk are reported', async () => {
    const r = await parse(
      [
        'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
        'tcp   ESTAB  0      0      198.18.0.2:22       198.18.0.1:50514',
        'udp   ESTAB  0      0      198.18.0.2:41000    198.18.0.9:53',
        'tcp   LISTEN 0      16     [fe80::1%eth0]:8080 [::]:*',
        'udp   UNCONN 0      0      0.0.0.0%eth0:67     0.0.0.0:*',
        'tcp   LISTEN 0      16     198.18.0.2:80',
        'hello',
        'tcp        0      0 2001:db8:1234:5678::9:22 :::*                    LISTEN',
        'tcp   LISTEN 0      16     198.18.0.2:443      0.0.0.0:',
      ].join('\n'),
      { host: '198.18.0.2' },
    );
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 udp/67', 'fe80::1%eth0 tcp/8080']);
    assert.deepEqual(
      r.issues.map((i) => i.line),
      [6, 7, 8, 9],
    );
    assert.match(r.issues[2]!.message, /netstat with -W/);
  });
});

// The same answer from ss and netstat run during the test, in a network namespace it creates.
describe('ss / netstat parser on output made during the test', () => {
  it('ss -ltnu and netstat -ltnu in a fresh namespace give exactly the sockets opened there', (t) =>
    withHostB(
      t,
      { prefix: 'ingp2-ss', script: fileURLToPath(new URL('./testdata/listeners.py', import.meta.url)) },
      async (ns) => {
        const ss = await run('ip', ['netns', 'exec', ns, 'ss', '-ltnu']);
        const r1 = await parse(ss.stdout, { host: '198.18.0.2' });
        assert.deepEqual(r1.issues, [], ss.stdout);
        assert.deepEqual(listenerKeys(r1.observations), ALL, ss.stdout);
        const netstat = await run('ip', ['netns', 'exec', ns, 'netstat', '-ltnu']).catch(() => undefined);
        if (netstat) {
          const r2 = await parse(netstat.stdout, { host: '198.18.0.2' });
          assert.deepEqual(r2.issues, [], netstat.stdout);
          assert.deepEqual(listenerKeys(r2.observations), ALL, netstat.stdout);
        }
      },
    ));
});

const v4 = fc.tuple(fc.nat(1), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `198.${18 + a}.${b}.${c}`);
const v6 = fc
  .tuple(fc.nat(0xffff), fc.nat(0xffff))
  .map(([a, b]) => canonicalIp(`fd00::${a.toString(16)}:${b.toString(16)}`)!);
const sock = fc.record({
  v6: fc.boolean(),
  a4: v4,
  a6: v6,
  port: fc.integer({ min: 1, max: 65535 }),
  udp: fc.boolean(),
});
type Sock = { v6: boolean; a4: string; a6: string; port: number; udp: boolean };
const ssLine = (s: Sock) =>
  `${s.udp ? 'udp   UNCONN' : 'tcp   LISTEN'} 0      16     ${s.v6 ? `[${s.a6}]` : s.a4}:${s.port}   ${s.v6 ? '[::]' : '0.0.0.0'}:*   `;
const netstatLine = (s: Sock) =>
  `${s.udp ? 'udp' : 'tcp'}${s.v6 ? '6' : ''}        0      0 ${s.v6 ? s.a6 : s.a4}:${s.port}  ${s.v6 ? ':::*' : '0.0.0.0:*'}  ${s.udp ? '' : 'LISTEN'}`;
const key = (s: Sock) => `${s.v6 ? s.a6 : s.a4} ${s.udp ? 'udp' : 'tcp'}/${s.port}`;

const SS_HEADER = 'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n';
const NETSTAT_HEADER =
  'Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address Foreign Address State\n';
const keysOf = (socks: Sock[]) => [...new Set(socks.map(key))].sort();

checkParserProperties('ss / netstat parser', parseSs, {
  arbitraryOptions: { host: '198.18.0.1' },
  mixed: fc
    .tuple(fc.array(fc.oneof(sock, fc.constantFrom('garbage', 'tcp LISTEN 0', '%%%'))), fc.boolean())
    .map(([items, netstat]) => {
      const socks = items.filter((i): i is Sock => typeof i !== 'string');
      return {
        text:
          (netstat ? NETSTAT_HEADER : SS_HEADER) +
          items.map((i) => (typeof i === 'string' ? i : netstat ? netstatLine(i) : ssLine(i))).join('\n'),
        keys: keysOf(socks),
        issues: items.length - socks.length,
      };
    }),
  truncatable: fc.tuple(fc.array(sock, { minLength: 1 }), fc.boolean()).map(([socks, netstat]) => ({
    text: socks.map((s) => (netstat ? netstatLine(s) : ssLine(s))).join('\n'),
    keys: keysOf(socks),
  })),
  hostile: {
    header: 'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n',
    good: 'tcp   LISTEN 0      16     198.18.0.2:22       0.0.0.0:*',
    issueLines: [3, 4],
  },
});
