import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { HOST_B_TCP_V4, HOST_B_TCP_V6 } from '../common/host-b.testing.ts';
import { arbitraryIpv4, checkParserProperties, type GeneratedDocument } from '../common/parser-properties.ts';
import { detectFormat } from '../detect.ts';
import { ipv6At, NetflowDecoder, type FlowRecord } from './netflow.decoder.ts';
import { parseNetflow } from './netflow.parser.ts';
import {
  captureData,
  connectScanFlows,
  decodeFile,
  encodeIpfix,
  encodeV5,
  encodeV9,
  frame,
  netflowData,
  nfdumpFlags,
  type FlowSpec,
} from './netflow.testing.ts';

const run = promisify(execFile);
const fixture = (name: string): Buffer => gunzipSync(readFileSync(netflowData(name)));

/** `buf` in 64 KiB chunks, as a file stream delivers it. */
function chunks(buf: Buffer, size = 65_536): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const parse = (buf: Buffer | Buffer[]) => collectEvents(parseNetflow, Array.isArray(buf) ? buf : chunks(buf));

// Host B's listeners (the fixture README's ground truth). NetFlow v5 records hold IPv4 addresses
// only, so the v5 export of the capture cannot show the IPv6 listener.
const HOST_B_ALL: string[] = [...HOST_B_TCP_V4, ...HOST_B_TCP_V6].sort();
const HOST_A = ['198.18.0.1', 'fd00:198:18::1'];

describe('NetFlow fixtures made by softflowd from the real-tools capture', () => {
  for (const [file, expected] of [
    ['netflow-v5.bin.gz', [...HOST_B_TCP_V4]],
    ['netflow-v9.bin.gz', HOST_B_ALL],
    ['netflow-v10.bin.gz', HOST_B_ALL],
  ] as const) {
    it(`${file}: exactly host B's TCP listeners, strong, from netflow; no port of host A`, async () => {
      const buf = fixture(file);
      assert.equal(detectFormat(buf.subarray(0, 8192)), 'netflow');
      const r = await parse(buf);
      assert.deepEqual(r.issues, []);
      assert.ok(r.records > 80_000, `${r.records} flows`);
      assert.deepEqual(listenerKeys(r.observations), [...expected].sort());
      // udp/514 never answered: no UDP evidence at all.
      assert.deepEqual(listenerKeys(r.observations, 'weak'), []);
      for (const o of r.observations) {
        assert.equal(o.source, 'netflow');
        assert.ok(!HOST_A.includes(o.host), `host A ${o.host} ${o.protocol}/${o.port}`);
        if (o.grade === 'strong') assert.match(o.reason, /^syn-ack flow/);
      }
      // Closed ports of B answered the scan's SYNs with RST: negative evidence, never on a listener.
      const negatives = listenerKeys(r.observations, 'negative');
      assert.ok(negatives.length > 40_000, `${negatives.length} closed ports`);
      for (const k of negatives) assert.ok(!HOST_B_ALL.includes(k), `listener ${k} seen closed`);
      assert.ok(negatives.includes('198.18.0.2 tcp/21') || negatives.includes('198.18.0.2 tcp/80'));
    });
  }

  it('flow times fall inside the capture (first and last packet as capinfos reads them)', async (t) => {
    let out: string;
    try {
      ({ stdout: out } = await run('capinfos', ['-a', '-e', '-S', captureData('session.pcap.gz')]));
    } catch {
      t.skip('capinfos (wireshark-common) is not installed');
      return;
    }
    const first = Number(/First packet time:\s+([\d.]+)/.exec(out)![1]) * 1000;
    const last = Number(/Last packet time:\s+([\d.]+)/.exec(out)![1]) * 1000;
    // v5 headers give the export time to the nanosecond; v9 headers only in whole seconds, so v9
    // times can be up to 1 s early. IPFIX (softflowd) counts from a millisecond system init time; whole milliseconds
    // truncated twice make up to 2 ms.
    for (const [file, slack] of [
      ['netflow-v5.bin.gz', 2],
      ['netflow-v9.bin.gz', 1000],
      ['netflow-v10.bin.gz', 2],
    ] as const) {
      const { flows } = decodeFile(fixture(file));
      for (const f of flows) {
        assert.ok(
          f.start !== null && f.start >= first - slack && f.start <= last + 1,
          `${file} start ${f.start}`,
        );
        assert.ok(f.end !== null && f.end >= f.start && f.end <= last + 1, `${file} end ${f.end}`);
      }
    }
  });

  it('decoded v9 flows agree with nfdump -o csv of a second export of the same capture', () => {
    const csv = fixture('netflow-v9.nfdump.csv.gz').toString('utf8').split('\n');
    const header = csv[0]!.split(',');
    const col = (name: string) => header.indexOf(name);
    const [sa, da, sp, dp, pr, flg, ipkt, ibyt] = ['sa', 'da', 'sp', 'dp', 'pr', 'flg', 'ipkt', 'ibyt'].map(
      col,
    );
    const protocols: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMP6: 58 };
    const theirs = new Map<string, string>();
    for (const line of csv.slice(1)) {
      const c = line.split(',');
      if (c.length < header.length) continue; // the Summary lines at the end
      theirs.set(
        [c[sa!], c[da!], c[sp!], c[dp!], protocols[c[pr!]!] ?? c[pr!]].join(' '),
        [c[flg!], c[ipkt!], c[ibyt!]].join(' '),
      );
    }
    const { flows, issues } = decodeFile(fixture('netflow-v9.bin.gz'));
    assert.deepEqual(issues, []);
    let common = 0;
    for (const f of flows) {
      const key = [f.srcAddr, f.dstAddr, f.srcPort, f.dstPort, f.protocol].join(' ');
      const want = theirs.get(key);
      if (want === undefined) continue;
      common++;
      assert.equal([nfdumpFlags(f.tcpFlags), f.packets, f.bytes].join(' '), want, key);
    }
    // Both exports went over UDP at full speed and each lost datagrams on the way (the fixture's
    // v9 sequence numbers have gaps), so the two sets of flows overlap without being equal.
    assert.ok(common >= 0.85 * theirs.size, `${common} of ${theirs.size} flows in common`);
    const v6 = flows.filter((f) => f.srcAddr.includes(':'));
    assert.ok(v6.some((f) => f.srcAddr === 'fd00:198:18::2' && f.srcPort === 11211));
  });
});

describe('NetFlow decoding of generated exports', () => {
  const server = { addr: '198.18.0.2', port: 2222 };
  const client = { addr: '198.18.0.1', port: 40000 };
  const v6server = { addr: 'fd00:198:18::2', port: 11211 };
  const v6client = { addr: 'fd00:198:18::1', port: 50000 };

  it('v5, v9 and IPFIX (variable-length and enterprise fields, padding) give the same listeners', async () => {
    const v4 = connectScanFlows(server, client);
    const v6 = connectScanFlows(v6server, v6client);
    for (const buf of [
      frame(encodeV5(v4)),
      frame(encodeV9([...v4, ...v6])),
      frame(encodeIpfix([...v4, ...v6])),
      frame(encodeIpfix([...v4, ...v6], { label: 'x'.repeat(300) })),
    ]) {
      const r = await parse(buf);
      assert.deepEqual(r.issues, []);
      const want =
        buf.readUInt16BE(4) === 5
          ? ['198.18.0.2 tcp/2222']
          : ['198.18.0.2 tcp/2222', 'fd00:198:18::2 tcp/11211'];
      assert.deepEqual(listenerKeys(r.observations), want);
      const o = r.observations.find((x) => x.port === 2222)!;
      assert.equal(o.seenAt?.getTime(), 1_795_529_890_000);
      assert.equal(o.reason, 'syn-ack flow');
      assert.equal(o.offset, 4); // the datagram, after its length prefix
    }
  });

  it('v9 data that comes before its template is read once the template arrives', async () => {
    const early = encodeV9(connectScanFlows(server, client), { withTemplate: false });
    const later = encodeV9(connectScanFlows({ ...server, port: 3306 }, { ...client, port: 40001 }));
    const r = await parse(frame(early, later));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222', '198.18.0.2 tcp/3306']);
  });

  it('data whose template never comes is reported with its offset', async () => {
    const good = encodeV5(connectScanFlows(server, client));
    const orphan = encodeIpfix(connectScanFlows({ ...server, port: 9090 }, client), { withTemplate: false });
    const r = await parse(frame(good, orphan));
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222']);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]!.message, /template 300 came without its template/);
    assert.equal(r.issues[0]!.offset, 4 + good.length + 4 + 16);
  });

  it('templates are kept per source id: another exporter id does not reuse them', async () => {
    const a = encodeV9(connectScanFlows(server, client), { sourceId: 1 });
    const b = encodeV9(connectScanFlows({ ...server, port: 9443 }, client), {
      sourceId: 2,
      withTemplate: false,
    });
    const r = await parse(frame(a, b));
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222']);
    assert.equal(r.issues.length, 1);
  });

  it('a truncated file keeps every complete datagram and names the byte where it broke', async () => {
    const d1 = encodeV5(connectScanFlows(server, client));
    const d2 = encodeV9(connectScanFlows({ ...server, port: 9090 }, client));
    const whole = frame(d1, d2);
    const cut = whole.subarray(0, whole.length - 10);
    const r = await parse(cut);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222']);
    assert.equal(r.issues[0]!.offset, 4 + d1.length);
    assert.match(r.issues[0]!.message, /claims \d+ bytes but the input ends/);
  });

  it('a length beyond the file, junk between datagrams and an unknown version are located issues', async () => {
    const d1 = encodeV5(connectScanFlows(server, client));
    const d2 = encodeV5(connectScanFlows({ ...server, port: 3306 }, client));
    const junk = Buffer.from('this is not a datagram\n');
    const v7 = Buffer.from(d1);
    v7.writeUInt16BE(7, 0);
    const r = await parse(Buffer.concat([frame(d1), junk, frame(v7), frame(d2)]));
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222', '198.18.0.2 tcp/3306']);
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]!.offset, 4 + d1.length);
    assert.match(r.issues[0]!.message, /not a length-prefixed NetFlow\/IPFIX datagram/);

    const long = frame(d1);
    long.writeUInt32BE(60_000, 0);
    const r2 = await parse(long);
    // The records the datagram does hold are kept; the length is reported.
    assert.deepEqual(listenerKeys(r2.observations), ['198.18.0.2 tcp/2222']);
    assert.equal(r2.issues.length, 1);
    assert.equal(r2.issues[0]!.offset, 0);
    assert.match(r2.issues[0]!.message, /claims 60000 bytes/);
  });

  it('a template with a zero-length field is refused and its data reported, not decoded', async () => {
    const d = encodeV9(connectScanFlows(server, client));
    // The first template's first field (source address, 4 bytes) gets length 0.
    const bad = Buffer.from(d);
    bad.writeUInt16BE(0, 20 + 4 + 4 + 2);
    const r = await parse(frame(bad));
    assert.deepEqual(r.observations, []);
    assert.ok(r.issues.some((i) => /zero-length field/.test(i.message) && i.offset === 4 + 24));
    assert.ok(r.issues.some((i) => /came without its template/.test(i.message)));
  });

  it('a template with more fields than any exporter uses is refused (memory stays bounded)', async () => {
    const fields = 600;
    const set = Buffer.alloc(4 + 4 + fields * 4);
    set.writeUInt16BE(2, 0);
    set.writeUInt16BE(set.length, 2);
    set.writeUInt16BE(400, 4);
    set.writeUInt16BE(fields, 6);
    for (let i = 0; i < fields; i++) {
      set.writeUInt16BE(7, 8 + i * 4);
      set.writeUInt16BE(2, 10 + i * 4);
    }
    const head = Buffer.alloc(16);
    head.writeUInt16BE(10, 0);
    head.writeUInt16BE(16 + set.length, 2);
    const r = await parse(frame(Buffer.concat([head, set])));
    assert.deepEqual(
      r.issues.map((i) => [i.message, i.offset]),
      [['template 400 has 600 fields (at most 512 are accepted); the template is ignored', 4 + 16 + 4]],
    );
  });

  it('a v5 datagram announcing more records than it holds keeps the complete ones', () => {
    const d = encodeV5([
      ...connectScanFlows(server, client),
      ...connectScanFlows({ ...server, port: 9090 }, client),
    ]);
    const sink = { flows: [] as FlowRecord[], issues: [] as unknown[] };
    new NetflowDecoder().decode(
      d.subarray(0, 24 + 48 * 3 + 20),
      { exporter: 'x', offset: 100 },
      {
        flow: (f) => sink.flows.push(f),
        issue: (i) => sink.issues.push(i),
      },
    );
    assert.equal(sink.flows.length, 3);
    assert.deepEqual(sink.issues, [
      {
        message: 'NetFlow v5 datagram announces 4 records but holds 3; the 3 complete record(s) are kept',
        offset: 100,
      },
    ]);
  });

  it('text formats are not taken for NetFlow', () => {
    assert.notEqual(detectFormat(Buffer.from('<?xml version="1.0"?><nmaprun>')), 'netflow');
    assert.equal(detectFormat(Buffer.from('\0\0\0\x10\0\x09junk')), null);
  });
});

describe('NetFlow addresses', () => {
  it('IPv6 addresses decode to the canonical text canonicalIp gives (RFC 5952, IPv4-mapped as IPv4)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xabc), { minLength: 8, maxLength: 8 }),
        (g) => {
          const b = Buffer.alloc(16);
          g.forEach((x, i) => b.writeUInt16BE(x, i * 2));
          assert.equal(ipv6At(b, 0), canonicalIp(g.map((x) => x.toString(16)).join(':')));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// Property tests over generated exports: connections to servers (connect scans: the client's SYN,
// ACK, RST flow and the server's lone SYN-ACK), encoded as v5, v9 or IPFIX datagrams.
const arbitraryServer = fc.record({ addr: arbitraryIpv4, port: fc.integer({ min: 1, max: 65535 }) });
const arbitraryV6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(':'));
const arbitraryConn = fc.record({
  server: fc.oneof(
    arbitraryServer,
    fc.record({ addr: arbitraryV6, port: fc.integer({ min: 1, max: 65535 }) }),
  ),
  clientPort: fc.integer({ min: 1, max: 65535 }),
});
const canonical = (a: string): string => canonicalIp(a) ?? a;

const generatedExport = fc
  .record({
    conns: fc.array(arbitraryConn, { minLength: 1, maxLength: 12 }),
    version: fc.constantFrom(5, 9, 10),
  })
  .map(({ conns, version }) => {
    const flows: FlowSpec[] = [];
    const keys = new Set<string>();
    conns.forEach((c, i) => {
      const v4 = !c.server.addr.includes(':');
      if (version === 5 && !v4) return;
      // Client addresses of the other family never collide with a server; ports distinct per connection.
      const client = { addr: v4 ? `198.19.${i}.1` : `fd00::c:${i}`, port: c.clientPort };
      if (client.addr === c.server.addr) return;
      flows.push(...connectScanFlows(c.server, client));
      keys.add(`${canonical(c.server.addr)} tcp/${c.server.port}`);
    });
    const datagrams: Buffer[] = [];
    for (let i = 0; i < flows.length; i += 6) {
      const part = flows.slice(i, i + 6);
      datagrams.push(version === 5 ? encodeV5(part) : version === 9 ? encodeV9(part) : encodeIpfix(part));
    }
    return { datagrams, keys: [...keys].sort() };
  })
  .filter((g) => g.datagrams.length > 0);

checkParserProperties('netflow', parseNetflow, {
  wellFormed: generatedExport.map(({ datagrams, keys }): GeneratedDocument => ({
    text: frame(...datagrams),
    keys,
    issues: 0,
  })),
  // Printable junk can never pass for a length prefix (its first byte would make it above 65,535).
  mixed: fc
    .tuple(
      generatedExport,
      fc.array(fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...'abc <>{}|\n!?') }), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([{ datagrams, keys }, junk]): GeneratedDocument => {
      const parts: Buffer[] = [];
      datagrams.forEach((d, i) => {
        parts.push(frame(d));
        if (junk[i]) parts.push(Buffer.from(junk[i]!));
      });
      return { text: Buffer.concat(parts), keys };
    }),
  truncatable: generatedExport.map(({ datagrams, keys }): GeneratedDocument => ({
    text: frame(...datagrams),
    keys,
  })),
  arbitraryInput: fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((b) => [Buffer.from(b)]),
    // Random bytes behind a valid-looking frame header: exercises the decoders, not just framing.
    fc
      .tuple(fc.constantFrom(5, 9, 10), fc.uint8Array({ minLength: 20, maxLength: 1500 }))
      .map(([v, body]) => {
        const d = Buffer.from(body);
        d.writeUInt16BE(v, 0);
        if (v === 10) d.writeUInt16BE(d.length, 2);
        return [frame(d)];
      }),
    fc.tuple(generatedExport, fc.nat(), fc.nat(255)).map(([{ datagrams }, at, byte]) => {
      const b = frame(...datagrams);
      b[at % b.length] = byte;
      return [b];
    }),
  ),
});
