import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import {
  arbitraryBlob,
  arbitraryIpv4,
  arbitraryIpv6Groups,
  checkParserProperties,
  gradedKeys,
} from '../common/parser-properties.ts';
import { parseMasscanJson } from './masscan-json.parser.ts';
import { parseMasscanList } from './masscan-list.parser.ts';
import { parseNmapGrep } from '../nmap/index.ts';

const json = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseMasscanJson, Array.isArray(input) ? input : [input]);
const list = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseMasscanList, Array.isArray(input) ? input : [input]);

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));

// Ground truth of the namespace the real masscan runs scanned (testdata/README.md).
const LISTENERS = [
  '198.19.213.2 tcp/2222',
  '198.19.213.2 tcp/3306',
  '198.19.213.2 tcp/9090',
  '198.19.213.2 tcp/9443',
];
const CLOSED = ['198.19.213.2 tcp/21', '198.19.213.2 tcp/9999'];
const SSH_BANNER = { name: 'ssh', banner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3' };

describe('masscan parsers on real masscan 1.3.2 output', () => {
  for (const [file, parser] of [
    ['masscan-banners.json', parseMasscanJson],
    ['masscan-banners.ndjson', parseMasscanJson],
    ['masscan-banners.list', parseMasscanList],
    ['masscan.gnmap', parseNmapGrep],
  ] as const) {
    it(`${file}: exactly the listeners, closed ports negative, banners kept`, async () => {
      const r = await collectEvents(parser, [data(file)]);
      assert.deepEqual(r.issues, []);
      assert.deepEqual(listenerKeys(r.observations), LISTENERS);
      assert.deepEqual(listenerKeys(r.observations, 'negative'), CLOSED);
      assert.ok(r.observations.every((o) => o.source === 'masscan'));
      assert.ok(r.observations.every((o) => o.seenAt !== null && o.seenAt.getUTCFullYear() === 2026));
      // masscan.gnmap: `Timestamp: 1795535452` on every line, the same second as its header (15:50:52 UTC).
      if (file === 'masscan.gnmap')
        assert.ok(r.observations.every((o) => o.seenAt?.getTime() === 1795535452000));
      if (file !== 'masscan.gnmap') {
        const banners = r.observations.filter((o) => o.reason === 'masscan banner');
        assert.deepEqual(
          banners.map((o) => [o.port, o.service]),
          [[2222, SSH_BANNER]],
        );
      }
    });
  }
});

// Record shapes below follow masscan's writers in robertdavidgraham/masscan: src/out-json.c (-oJ; bare keys
// and `{finished: 1}` in old versions, `},` after every record in 1.0.x, `,` before every record since),
// src/out-ndjson.c (-oD) and src/out-text.c (-oL). Addresses and times are invented.
const statusLine = (ip: string, port: number, status = 'open', proto = 'tcp', ts = 1700000000) =>
  `{   "ip": "${ip}",   "timestamp": "${ts}", "ports": [ {"port": ${port}, "proto": "${proto}", "status": "${status}", "reason": "syn-ack", "ttl": 64} ] }`;
const bannerLine = (ip: string, port: number, name: string, banner: string) =>
  `{   "ip": "${ip}",   "timestamp": "1700000001", "ports": [ {"port": ${port}, "proto": "tcp", "service": {"name": "${name}", "banner": "${banner}"} } ] }`;

describe('masscan -oJ parser', () => {
  const records = [
    statusLine('192.0.2.1', 80),
    statusLine('192.0.2.1', 443),
    statusLine('192.0.2.2', 22, 'closed'),
    statusLine('2001:db8::5', 8080),
    bannerLine('192.0.2.1', 80, 'http', 'HTTP/1.0 200 OK\\u000d\\u000aServer: nginx'),
  ];
  const want = ['192.0.2.1 tcp/443', '192.0.2.1 tcp/80', '2001:db8::5 tcp/8080'];

  it('reads 1.0.x output: a trailing comma after every record, also the last one before ]', async () => {
    const r = await json(`[\n${records.map((x) => `${x},\n`).join('')}]\n`);
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 5);
    assert.deepEqual(listenerKeys(r.observations), want);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['192.0.2.2 tcp/22']);
    const banner = r.observations.find((o) => o.reason === 'masscan banner');
    assert.deepEqual(banner?.service, { name: 'http', banner: 'HTTP/1.0 200 OK\r\nServer: nginx' });
    assert.equal(r.observations[0]?.seenAt?.getTime(), 1700000000000);
    assert.equal(r.observations[0]?.reason, 'masscan open (syn-ack)');
    assert.equal(r.observations[1]?.line, 3);
  });

  it('reads current output: a comma before every record but the first', async () => {
    const r = await json(`[\n${records.join('\n,\n')}\n]\n`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), want);
  });

  it('reads old output with bare keys and the {finished: 1} trailer', async () => {
    const r = await json(
      '{   ip: "192.0.2.7",   ports: [ {port: 443, proto: "tcp", status: "open", reason: "syn-ack", ttl: 48} ] },\n{finished: 1}\n',
    );
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 1);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.7 tcp/443']);
    assert.equal(r.observations[0]?.seenAt, null);
  });

  it('reads -oD ndjson status and banner records', async () => {
    const r = await json(
      '{"ip":"192.0.2.8","timestamp":"1700000000","port":25,"proto":"tcp","rec_type":"status","data":{"status":"open","reason":"syn-ack","ttl":64}}\n' +
        '{"ip":"192.0.2.8","timestamp":"1700000000","port":25,"proto":"tcp","rec_type":"banner","data":{"service_name":"smtp","banner":"220 mx ESMTP"}}\n' +
        '{"ip":"192.0.2.8","timestamp":"1700000000","port":0,"proto":"icmp","rec_type":"status","data":{"status":"open","reason":"none","ttl":64}}\n',
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.8 tcp/25']);
    assert.deepEqual(r.observations[1]?.service, { name: 'smtp', banner: '220 mx ESMTP' });
  });

  it('reads records split across chunks at every byte', async () => {
    const doc = Buffer.from(`[\n${records.map((x) => `${x},\n`).join('')}]\n`);
    const whole = await json(doc);
    const bytes = await json([...doc].map((b) => Buffer.from([b])));
    assert.deepEqual(bytes.events, whole.events);
  });

  it('reports bad records with line, byte offset and JSON pointer, keeping the rest', async () => {
    const lines = [
      '[',
      statusLine('192.0.2.1', 80) + ',',
      statusLine('192.0.2.300', 81) + ',',
      '{ "ip": "192.0.2.3", "timestamp": "1", "ports": [ {"port": 70000, "proto": "tcp", "status": "open"} ] },',
      '{ "ip": "192.0.2.3", "timestamp": "1", "ports": [ {"port": "x", "proto": "tcp", "status": "open"}, {"port": 1, "proto": 6, "status": "open"} ] },',
      'this is not json',
      '{ "ip": "192.0.2.4", "ports": [ {"port": 9, "proto": "tcp", "status": "open"',
      '{ "ip": 5, "ports": [] },',
      statusLine('192.0.2.5', 82) + ',',
      '{ "ip": "192.0.2.6", "ports": [ {"port": 1, "proto": "tcp" "status": "open"} ] },',
      ']',
    ];
    const r = await json(lines.join('\n'));
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80', '192.0.2.5 tcp/82']);
    const offset = (n: number) => Buffer.byteLength(lines.slice(0, n - 1).join('\n')) + (n > 1 ? 1 : 0);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.offset, i.pointer]),
      [
        [3, offset(3), '/ip'],
        [4, offset(4), '/ports/0/port'],
        [5, offset(5), '/ports/0/port'],
        [5, offset(5), '/ports/1/proto'],
        [6, offset(6), undefined],
        [7, offset(7), undefined],
        [8, offset(8), '/ip'],
        [10, offset(10), undefined],
      ],
    );
    for (const i of r.issues) assert.match(i.message, new RegExp(`^line ${i.line}\\b`));
    assert.match(r.issues[4]!.message, /text outside any JSON object: "this is not json"/);
    assert.match(r.issues[5]!.message, /incomplete JSON object \(line 8 starts a new object/);
  });

  it('reports a truncated last record', async () => {
    const doc = `[\n${statusLine('192.0.2.1', 80)},\n${statusLine('192.0.2.2', 81).slice(0, 50)}`;
    const r = await json(doc);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /^line 3 .*truncated input: unexpected end inside a JSON object/);
  });

  it('skips a 10 MB record with an issue and keeps the records around it', async () => {
    const big = `{ "ip": "192.0.2.9", "timestamp": "1", "ports": [ {"port": 1, "proto": "tcp", "service": {"name": "x", "banner": "${'A'.repeat(10 * 1024 * 1024)}"} } ] },\n`;
    const r = await json([`${statusLine('192.0.2.1', 80)},\n`, big, `${statusLine('192.0.2.2', 81)},\n`]);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80', '192.0.2.2 tcp/81']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /^line 2 .*longer than/);
  });
});

describe('masscan -oL parser', () => {
  it('reads status and banner lines', async () => {
    const r = await list(
      '#masscan\nopen tcp 80 192.0.2.1 1390953237\nopen udp 53 192.0.2.1 1390953238\nclosed tcp 23 192.0.2.1 1390953238\n' +
        'open tcp 22 2001:db8::1 1390953239\nbanner tcp 80 192.0.2.1 1390953240 http HTTP/1.0 200 OK\nopen icmp 0 192.0.2.1 1390953241\n# end\n',
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), [
      '192.0.2.1 tcp/80',
      '192.0.2.1 udp/53',
      '2001:db8::1 tcp/22',
    ]);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['192.0.2.1 tcp/23']);
    assert.equal(r.observations[0]?.seenAt?.getTime(), 1390953237000);
    const b = r.observations.find((o) => o.reason === 'masscan banner');
    assert.deepEqual(b?.service, { name: 'http', banner: 'HTTP/1.0 200 OK' });
  });

  it('skips a 10 MB line and binary junk with issues, keeping the lines around them', async () => {
    const r = await list([
      'open tcp 80 192.0.2.1 1390953237\n',
      'x'.repeat(10 * 1024 * 1024),
      '\n',
      Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a]),
      'open tcp 81 192.0.2.1 1390953237\n',
    ]);
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80', '192.0.2.1 tcp/81']);
    assert.deepEqual(
      r.issues.map((i) => i.line),
      [2, 3],
    );
    assert.match(r.issues[0]!.message, /line 2: longer than/);
    assert.match(r.issues[1]!.message, /line 3: binary data/);
  });

  it('reports bad lines with line and byte offset, keeping the rest', async () => {
    const lines = [
      '#masscan',
      'open tcp 80 192.0.2.1 1390953237',
      'open tcp 99999 192.0.2.1 1390953237',
      'open tcp 81 192.0.2.999 1390953237',
      'open tcp 82 192.0.2.1 yesterday',
      'hello world',
      'open tcp 83 192.0.2.1 1390953237',
    ];
    const r = await list(lines.join('\n'));
    assert.deepEqual(listenerKeys(r.observations), ['192.0.2.1 tcp/80', '192.0.2.1 tcp/83']);
    const offset = (n: number) => Buffer.byteLength(lines.slice(0, n - 1).join('\n')) + 1;
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.offset]),
      [3, 4, 5, 6].map((n) => [n, offset(n)]),
    );
    assert.match(r.issues[0]!.message, /line 3: invalid port "99999"/);
    assert.match(r.issues[1]!.message, /line 4: invalid address "192\.0\.2\.999"/);
  });
});

// Property tests: generated scans rendered in each masscan format parse back to the same set.
const rec = fc.record({
  ip: fc.oneof(arbitraryIpv4, arbitraryIpv6Groups),
  port: fc.nat(65535),
  proto: fc.constantFrom('tcp', 'udp', 'sctp'),
  status: fc.constantFrom('open', 'closed'),
  ts: fc.integer({ min: 1, max: 2_000_000_000 }),
});
type Rec = { ip: string; port: number; proto: string; status: string; ts: number };
const renderJson = (rs: Rec[], style: number) => {
  const objs = rs.map((r) => statusLine(r.ip, r.port, r.status, r.proto, r.ts));
  if (style === 0) return `[\n${objs.map((o) => `${o},\n`).join('')}]\n`;
  if (style === 1) return `[\n${objs.join('\n,\n')}\n]\n`;
  return rs
    .map(
      (r) =>
        `{"ip":"${r.ip}","timestamp":"${r.ts}","port":${r.port},"proto":"${r.proto}","rec_type":"status","data":{"status":"${r.status}","reason":"syn-ack","ttl":64}}\n`,
    )
    .join('');
};
const renderList = (rs: Rec[]) =>
  `#masscan\n${rs.map((r) => `${r.status} ${r.proto} ${r.port} ${r.ip} ${r.ts}\n`).join('')}# end\n`;
const expected = (rs: Rec[]) =>
  [
    ...new Set(
      rs.map(
        (r) => `${canonicalIp(r.ip)} ${r.proto}/${r.port} ${r.status === 'open' ? 'strong' : 'negative'}`,
      ),
    ),
  ].sort();
const garbage = fc
  .string({ minLength: 1, maxLength: 60 })
  .filter(
    (g) =>
      !/[\n{}]/.test(g) &&
      !g.trim().startsWith('#') &&
      /[^\s,[\]]/.test(g) &&
      g.trim().split(/ +/).length < 5,
  );
const records = fc.tuple(fc.array(rec, { maxLength: 10 }), fc.nat(2));

for (const [name, parser, render] of [
  ['-oJ/-oD', parseMasscanJson, (rs: Rec[], style: number) => renderJson(rs, style)],
  ['-oL', parseMasscanList, (rs: Rec[]) => renderList(rs)],
] as const) {
  checkParserProperties(`masscan ${name}`, parser, {
    keysOf: gradedKeys,
    minPort: 0,
    arbitraryInput: arbitraryBlob(2000),
    wellFormed: fc
      .tuple(fc.array(rec, { maxLength: 20 }), fc.nat(2))
      .map(([rs, style]) => ({ text: render(rs, style), keys: expected(rs), issues: 0 })),
    // A garbage line after every other line of the rendered document.
    mixed: fc
      .tuple(records, fc.array(garbage, { minLength: 11, maxLength: 11 }))
      .map(([[rs, style], junk]) => {
        const lines = render(rs, style).split('\n');
        return {
          text: lines.flatMap((l, i) => (i % 2 === 1 ? [junk[i % 11]!, l] : [l])).join('\n'),
          keys: expected(rs),
          check: (r) => assert.ok(r.issues.length > 0 || lines.length < 2),
        };
      }),
    truncatable: records.map(([rs, style]) => ({ text: render(rs, style), keys: expected(rs) })),
    runs: { arbitrary: 300, wellFormed: 200, mixed: 150, truncation: 300 },
  });
}
