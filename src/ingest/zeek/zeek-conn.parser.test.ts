import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { arbitraryChunks, arbitraryIpv4, checkParserProperties } from '../common/parser-properties.ts';
import { parseZeekConn, zeekEvidence } from './zeek-conn.parser.ts';

const data = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const run = promisify(execFile);
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseZeekConn, Array.isArray(input) ? input : [input]);

/** The TSV log as Zeek's JSON writer would print it (one object per line, unset fields left out). */
function toJson(tsv: string): string {
  let fields: string[] = [];
  let types: string[] = [];
  const out: string[] = [];
  for (const line of tsv.split('\n')) {
    if (line.startsWith('#fields\t')) fields = line.split('\t').slice(1);
    else if (line.startsWith('#types\t')) types = line.split('\t').slice(1);
    else if (line && !line.startsWith('#')) {
      const o: Record<string, unknown> = {};
      line.split('\t').forEach((v, i) => {
        if (v === '-') return;
        const t = types[i]!;
        o[fields[i]!] =
          t === 'port' || t === 'count'
            ? Number(v)
            : t === 'bool'
              ? v === 'T'
              : t.startsWith('set[')
                ? v.split(',')
                : v;
      });
      out.push(JSON.stringify(o));
    }
  }
  return out.join('\n') + '\n';
}

// Expected values come from reading each record of the fixtures against Zeek's documented
// conn_state and history letters (upper case: originator, lower case: responder).
const BASIC_STRONG = [
  // 141.142.220.118 -> 141.142.2.2:53 udp, conn_state SF, history Dd, service dns (14 records): the
  // server replied (`d`) and Zeek confirmed DNS; Zeek's known-services logs such a server.
  '141.142.2.2 udp/53',
  // 141.142.220.118:49996..50001 -> 208.80.152.118/.2/.3:80, conn_state S1, history ShADad: `h` is the
  // responder's SYN-ACK.
  '173.192.163.128 tcp/80', // history ^h (OTH): Zeek flipped the direction after seeing only a SYN-ACK from :80
  '208.80.152.118 tcp/80',
  '208.80.152.2 tcp/80', // S1 ShADad; its other record (OTH, DdA, no handshake) proves nothing by itself
  '208.80.152.3 tcp/80',
];
const SSH_STRONG = [
  '128.2.10.238 tcp/22', // SF ShADadFf (twice)
  '128.2.13.133 tcp/22', // SF ShADadFf
  '128.2.6.88 tcp/41644', // SF ShADadFf: an SSH server on a high port still answered the SYN
  '131.103.20.168 tcp/22', // SF ShADdaFf / ShADadFf (3 records)
  '131.159.21.1 tcp/22', // SF ShAdDaFf
  '192.168.1.32 tcp/22', // SF ShADadFf
  '192.168.2.158 tcp/22', // SF ShADadFf / ShAdDaFf (10 records)
  '192.168.2.158 tcp/2200', // RSTR ShADadFr: established, then the responder reset
];
// 192.168.1.31:51476 -> 192.168.1.32:8118 SF history DaFfA: Zeek saw no SYN and no SYN-ACK (picked
// up mid-stream), so the direction is Zeek's guess: weak.
const SSH_WEAK = ['192.168.1.32 tcp/8118'];

describe('Zeek conn.log parser on Zeek test-suite logs', () => {
  it('conn-basic.log: responders that answered, nothing from S0 or OTH without a handshake', async () => {
    const r = await parse(data('conn-basic.log'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 34);
    assert.deepEqual(listenerKeys(r.observations), BASIC_STRONG);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), []);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), []);
    // ts is masked (XXXXXXXXXX.XXXXXX) by Zeek's test tooling: no time, and no error.
    assert.ok(r.observations.every((o) => o.seenAt === null && o.source === 'zeek'));
    const oth = r.observations.filter((o) => o.host === '208.80.152.2');
    assert.equal(oth.length, 1);
    assert.equal(oth[0]!.line, 35); // the S1 record, not the OTH one on line 34
    assert.deepEqual(r.observations.find((o) => o.port === 53)?.service, { name: 'dns' });
    assert.equal(r.observations.filter((o) => o.port === 53).length, 14);
  });

  it('conn-ssh.log: every server that answered the SYN, the mid-stream one weak, no client port', async () => {
    const r = await parse(data('conn-ssh.log'));
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 25);
    assert.deepEqual(listenerKeys(r.observations), SSH_STRONG);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), SSH_WEAK);
    const origPorts = new Set(
      data('conn-ssh.log')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => Number(l.split('\t')[3])),
    );
    for (const o of r.observations)
      assert.ok(!origPorts.has(o.port) || o.port === 22, `client port ${o.port}`);
    assert.equal(r.observations.find((o) => o.port === 2200)?.reason, 'zeek history h (responder SYN-ACK)');
  });

  it('the same logs as Zeek JSON give the same answers', async () => {
    const basic = await parse(toJson(data('conn-basic.log')));
    assert.deepEqual(basic.issues, []);
    assert.deepEqual(listenerKeys(basic.observations), BASIC_STRONG);
    const ssh = await parse(toJson(data('conn-ssh.log')));
    assert.deepEqual(listenerKeys(ssh.observations), SSH_STRONG);
    assert.deepEqual(listenerKeys(ssh.observations, 'weak'), SSH_WEAK);
  });

  it('JSON with epoch or ISO timestamps, nested id, bad address named by pointer', async () => {
    const r = await parse(
      [
        '{"ts":1795600000.25,"id.orig_h":"10.0.0.1","id.orig_p":50000,"id.resp_h":"10.0.0.2","id.resp_p":443,"proto":"tcp","conn_state":"SF","history":"ShADadFf"}',
        '{"ts":"2026-11-20T10:00:00.100000Z","id":{"orig_h":"10.0.0.1","orig_p":50001,"resp_h":"fd00::0002","resp_p":22},"proto":"tcp","conn_state":"S1","history":"ShAD"}',
        '{"ts":1795600000,"id.resp_h":"10.0.0.999","id.resp_p":80,"proto":"tcp","conn_state":"SF","history":"Sh"}',
        '{"ts":1795600000,"id.resp_h":"10.0.0.3","id.resp_p":23,"proto":"tcp","conn_state":"REJ","history":"Sr"}',
        '{"ts":1795600000,"id.resp_h":"10.0.0.3","id.resp_p":',
      ].join('\n'),
    );
    assert.deepEqual(listenerKeys(r.observations), ['10.0.0.2 tcp/443', 'fd00::2 tcp/22']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['10.0.0.3 tcp/23']);
    assert.equal(r.observations[0]!.seenAt?.getTime(), 1795600000250);
    assert.equal(r.observations[1]!.seenAt?.toISOString(), '2026-11-20T10:00:00.100Z');
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.pointer ?? null]),
      [
        [3, '/id.resp_h'],
        [5, null],
      ],
    );
  });

  it('columns are found by name; custom separator and unset marker; cut and headerless records reported', async () => {
    const log = [
      '#separator \\x2c',
      '#set_separator,|',
      '#empty_field,EMPTY',
      '#unset_field,NONE',
      '#path,conn',
      '#fields,history,proto,id.resp_p,id.resp_h,ts,service',
      'ShADad,tcp,8080,198.18.0.2,1795600000.5,http|ssl',
      'S,tcp,8081,198.18.0.2,1795600000.5,NONE',
      'ShA,tcp,80', // cut short
      'Dd,udp,53,198.18.0.3,NONE,EMPTY',
      'Sh,tcp,9999,198.18.0.4,1795600000,NONE', // no line end: cut short
    ].join('\n');
    const r = await parse(log);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/8080']);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), ['198.18.0.3 udp/53']); // no confirmed service
    assert.deepEqual(r.observations[0]!.service, { name: 'http' });
    assert.equal(r.observations[0]!.seenAt?.getTime(), 1795600000500);
    assert.deepEqual(
      r.issues.map((i) => i.line),
      [9, 11],
    );
    const headerless = await parse('1\tx\t1.2.3.4\t5\t6.7.8.9\t22\ttcp\n2\ty\n');
    assert.equal(headerless.issues.length, 1);
    assert.match(headerless.issues[0]!.message, /2 TSV record\(s\) before any #fields header/);
    const dns = await parse('#path\tdns\n#fields\tts\tid.resp_h\tid.resp_p\tproto\n1\t1.2.3.4\t53\tudp\n');
    assert.equal(dns.observations.length, 0);
    assert.match(dns.issues[0]!.message, /not a conn\.log/);
  });

  it('zeekEvidence follows Zeek conn_state and history semantics', () => {
    const g = (proto: string, conn_state?: string, history?: string, service?: string) =>
      zeekEvidence({ proto, conn_state, history, service })?.grade ?? 'none';
    assert.equal(g('tcp', 'S0', 'S'), 'none'); // attempt, no reply
    assert.equal(g('tcp', 'REJ', 'Sr'), 'negative'); // rejected
    assert.equal(g('tcp', 'SH', 'SF'), 'none'); // SYN then FIN, no SYN-ACK
    assert.equal(g('tcp', 'RSTRH', 'hR'), 'strong'); // responder SYN-ACK then reset
    assert.equal(g('tcp', 'OTH', 'DdA'), 'none'); // midstream without a handshake
    assert.equal(g('tcp', 'SF'), 'strong'); // established, log without a history column
    assert.equal(g('tcp', 'SF', 'DaFfA'), 'weak');
    assert.equal(g('tcp', 'S0', 'H'), 'none'); // upper case H is the originator's SYN-ACK
    assert.equal(g('udp', 'S0', 'D', 'dns'), 'none'); // no reply
    assert.equal(g('udp', 'SF', 'Dd', 'dns'), 'strong');
    assert.equal(g('udp', 'SF', 'Dd'), 'weak');
    assert.equal(g('icmp', 'OTH', ''), 'none');
  });
});

const ip = fc.oneof(
  arbitraryIpv4,
  fc.ipV6().map((s) => canonicalIp(s) ?? '::1'),
);
const record = fc.record({
  resp_h: ip,
  resp_p: fc.integer({ min: 1, max: 65535 }),
  orig_p: fc.integer({ min: 1024, max: 65535 }),
  listens: fc.boolean(),
});
const HEADER =
  '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n' +
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tconn_state\thistory\n' +
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\n';
const row = (r: { resp_h: string; resp_p: number; orig_p: number; listens: boolean }) =>
  `1795600000.000000\tC1\t10.9.9.9\t${r.orig_p}\t${r.resp_h}\t${r.resp_p}\ttcp\t-\t${r.listens ? 'SF\tShADadFf' : 'S0\tS'}`;
const key = (r: { resp_h: string; resp_p: number }) => `${canonicalIp(r.resp_h)} tcp/${r.resp_p}`;

type Rec = typeof record extends fc.Arbitrary<infer R> ? R : never;
const keysOf = (items: Rec[]) => [...new Set(items.filter((i) => i.listens).map(key))].sort();

checkParserProperties('Zeek conn.log parser', parseZeekConn, {
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
    header: '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\thistory\n',
    good: '1\tC1\t10.0.0.1\t50000\t198.18.0.2\t22\ttcp\tSF\tShAD',
    issueLines: [3, 4],
  },
});

/**
 * Zeek-style conn.log JSON records from a pcap, made with tshark: one record per connection
 * (5-tuple), the originator being the sender of the first packet (of the first bare SYN for TCP),
 * `history` letters from each packet's flags and payload (upper case originator, lower case
 * responder, each letter once per direction as Zeek logs them), and for UDP the `service` tshark
 * dissected (a stand-in for Zeek's protocol confirmation).
 */
async function connLogFromPcap(pcap: string): Promise<string> {
  const { stdout } = await run(
    'tshark',
    [
      '-r',
      pcap,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      ...[
        'ip.src',
        'ipv6.src',
        'ip.dst',
        'ipv6.dst',
        'tcp.srcport',
        'tcp.dstport',
        'udp.srcport',
        'udp.dstport',
        'tcp.flags.syn',
        'tcp.flags.ack',
        'tcp.flags.fin',
        'tcp.flags.reset',
        'tcp.len',
        'udp.length',
        'frame.protocols',
      ].flatMap((f) => ['-e', f]),
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  interface Conn {
    orig: string;
    origP: number;
    resp: string;
    respP: number;
    proto: string;
    history: string;
    service: string;
    synSeen: boolean;
  }
  const conns = new Map<string, Conn>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const [s4, s6, d4, d6, tsp, tdp, usp, udp, syn, ack, fin, rst, tlen, ulen, protos] = line.split('\t');
    const src = s4 || s6!;
    const dst = d4 || d6!;
    const proto = tsp ? 'tcp' : usp ? 'udp' : '';
    if (!proto || !src || !dst) continue;
    const sp = Number(tsp || usp);
    const dp = Number(tdp || udp);
    const a = `${proto} ${src} ${sp}`;
    const b = `${proto} ${dst} ${dp}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let c = conns.get(key);
    const bareSyn = syn === '1' && ack !== '1';
    if (!c || (proto === 'tcp' && bareSyn && !c.synSeen && c.history === '')) {
      c = { orig: src, origP: sp, resp: dst, respP: dp, proto, history: '', service: '', synSeen: false };
      conns.set(key, c);
    }
    const fromOrig = src === c.orig && sp === c.origP;
    const letters: string[] = [];
    if (proto === 'tcp') {
      if (bareSyn) letters.push('S');
      else if (syn === '1') letters.push('H');
      if (Number(tlen) > 0) letters.push('D');
      else if (ack === '1' && syn !== '1' && fin !== '1' && rst !== '1') letters.push('A');
      if (fin === '1') letters.push('F');
      if (rst === '1') letters.push('R');
      if (bareSyn) c.synSeen = true;
    } else {
      if (Number(ulen) > 8) letters.push('D');
      const app = (protos ?? '').split(':').pop() ?? '';
      if (!fromOrig && app !== 'udp' && app !== 'data' && !c.service) c.service = app;
    }
    for (const l of letters) {
      const letter = fromOrig ? l : l.toLowerCase();
      if (!c.history.includes(letter)) c.history += letter;
    }
  }
  return [...conns.values()]
    .map((c) =>
      JSON.stringify({
        'id.orig_h': c.orig,
        'id.orig_p': c.origP,
        'id.resp_h': c.resp,
        'id.resp_p': c.respP,
        proto: c.proto,
        history: c.history,
        ...(c.service ? { service: c.service } : {}),
      }),
    )
    .join('\n');
}

describe('listener inference against Zeek known-services on a real capture', () => {
  it('var-services-std-ports.pcap: the strong listeners are exactly the services Zeek logged', async (t) => {
    const tshark = await run('tshark', ['-v']).catch(() => undefined);
    if (!tshark) {
      t.skip('tshark is not installed');
      return;
    }
    const pcap = fileURLToPath(new URL('./testdata/var-services-std-ports.pcap', import.meta.url));
    const r = await parse(await connLogFromPcap(pcap));
    assert.deepEqual(r.issues, []);
    const oracle = data('var-services-std-ports.known_services-all.log')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const [, host, port, proto] = l.split('\t');
        return `${host} ${proto}/${port}`;
      })
      .sort();
    assert.equal(oracle.length, 7);
    assert.deepEqual(listenerKeys(r.observations), oracle);
    assert.deepEqual(listenerKeys(r.observations, 'weak'), []);
  });
});
