import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { HOST_B_TCP_V4, HOST_B_TCP_V6 } from '../common/host-b.testing.ts';
import { checkParserProperties, gradedKeys, type GeneratedDocument } from '../common/parser-properties.ts';
import { readCapture } from './capture.reader.ts';
import { classicPcap, frame, ipPacket, PcapngWriter, type PacketSpec } from './capture.testing.ts';
import { decodePacket, LINKTYPE, TCP_ACK, TCP_RST, TCP_SYN } from './packet.decoder.ts';
import { parsePcap } from './pcap.parser.ts';

const run = promisify(execFile);
const data = (name: string) => new URL(`testdata/${name}`, import.meta.url).pathname;
const SESSION = data('session.pcap.gz');
const ZEEK = data('var-services-std-ports.pcap');

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const s = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  for await (const c of s) yield c as Buffer;
}

const parseFile = (path: string) => collectEvents(parsePcap, fileChunks(path));

/** `host port` of every SYN-ACK the reader and decoder find, without the inference. */
async function decodedSynAcks(path: string): Promise<string[]> {
  const out = new Set<string>();
  for await (const e of readCapture(fileChunks(path))) {
    if (e.kind !== 'packet') continue;
    const d = decodePacket(e.packet.linkType, e.packet.data);
    if (d?.protocol === 'tcp' && (d.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK))
      out.add(`${d.src} ${d.srcPort}`);
  }
  return [...out].sort();
}

async function hasTool(t: TestContext, tool: string): Promise<boolean> {
  try {
    await run(tool, ['-v']);
    return true;
  } catch {
    t.skip(`${tool} is not installed`);
    return false;
  }
}

/** tshark's list of SYN-ACK sources (`host port`), deduplicated. */
async function tsharkSynAcks(path: string): Promise<string[]> {
  const { stdout } = await run(
    'tshark',
    [
      '-r',
      path,
      '-Y',
      'tcp.flags.syn==1 && tcp.flags.ack==1',
      '-T',
      'fields',
      '-e',
      'ip.src',
      '-e',
      'ipv6.src',
      '-e',
      'tcp.srcport',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const out = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [v4, v6, port] = line.split('\t');
    out.add(`${canonicalIp(v4 || v6!)} ${port}`);
  }
  return [...out].sort();
}

describe('parsePcap on real captures', () => {
  it('session.pcap.gz (tshark, pcapng): the strong set is exactly host B’s TCP listeners', async () => {
    const r = await parseFile(SESSION);
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 131520);
    assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4, ...HOST_B_TCP_V6].sort());
    for (const o of r.observations) {
      assert.equal(o.source, 'pcap');
      // Nothing listens on A: none of its (ephemeral) ports gets evidence of any grade.
      assert.ok(!['198.18.0.1', 'fd00:198:18::1'].includes(o.host), `${o.host} ${o.port} ${o.grade}`);
    }
    // No UDP service answered (udp/514 never does), so there is no weak evidence.
    assert.deepEqual(listenerKeys(r.observations, 'weak'), []);
    const negative = new Set(listenerKeys(r.observations, 'negative'));
    for (const k of [...HOST_B_TCP_V4, ...HOST_B_TCP_V6]) assert.ok(!negative.has(k), `${k} is a listener`);
    // The all-ports connect scan met RSTs on closed ports; nmap -sU met ICMP port unreachable on 53.
    assert.ok(negative.has('198.18.0.2 tcp/80') && negative.has('198.18.0.2 tcp/9999'));
    // 11211 listens on B's IPv6 address only, 9443 and 2222 on IPv4 only.
    assert.ok(negative.has('198.18.0.2 tcp/11211') && negative.has('fd00:198:18::2 tcp/9443'));
    assert.ok(negative.has('198.18.0.2 udp/53'));
    assert.ok(!negative.has('198.18.0.2 udp/514'));
    const ssh = r.observations.filter((o) => o.port === 2222 && o.grade === 'strong');
    assert.ok(ssh.every((o) => o.reason === 'syn-ack' && o.seenAt && o.seenAt.getUTCFullYear() === 2026));
  });

  it('Zeek’s var-services-std-ports.pcap (classic pcap): the strong set is Zeek’s known_services TCP verdict', async () => {
    // Zeek's own answer, read from its log rather than restated: host, port, proto per row.
    const log = readFileSync(
      new URL(
        '../../../../shared/fixtures/zeek/var-services-std-ports.known_services-all.log',
        import.meta.url,
      ),
      'utf8',
    );
    const verdict = { tcp: [] as string[], udp: [] as string[] };
    for (const line of log.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const [, host, port, proto] = line.split('\t');
      verdict[proto as 'tcp' | 'udp'].push(`${host} ${proto}/${port}`);
    }
    assert.equal(verdict.tcp.length, 5);
    const r = await parseFile(ZEEK);
    assert.deepEqual(r.issues, []);
    assert.equal(r.records, 263);
    assert.deepEqual(listenerKeys(r.observations), verdict.tcp.sort());
    // UDP replies are weak evidence; here they match Zeek's UDP services (DNS and NTP) exactly.
    assert.deepEqual(listenerKeys(r.observations, 'weak'), verdict.udp.sort());
  });

  for (const [name, path] of [
    ['session.pcap.gz', SESSION],
    ['var-services-std-ports.pcap', ZEEK],
  ] as const)
    it(`${name}: the decoder's SYN-ACKs are tshark's`, async (t) => {
      if (!(await hasTool(t, 'tshark'))) return;
      const mine = await decodedSynAcks(path);
      assert.ok(mine.length > 0);
      assert.deepEqual(mine, await tsharkSynAcks(path));
    });
});

describe('parsePcap on a capture made during the test', () => {
  it(
    'dumpcap on loopback (pcap, pcapng and the cooked "any" interface) sees the test’s listener',
    { timeout: 120_000 },
    async (t) => {
      if (!(await hasTool(t, 'dumpcap'))) return;
      const dir = mkdtempSync(join(tmpdir(), 'pcap-live-'));
      // The client resets the connection once it is up, so the server's socket sees an error to ignore.
      const server = createServer((s) => s.on('error', () => undefined));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const open = (server.address() as AddressInfo).port;
      // A port nothing listens on: bind, note the number, close.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const closed = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const filter = `tcp port ${open} or tcp port ${closed}`;
      const captures = [
        { iface: 'lo', file: join(dir, 'lo.pcap'), args: ['-P'] },
        { iface: 'lo', file: join(dir, 'lo.pcapng'), args: [] },
        { iface: 'any', file: join(dir, 'any.pcapng'), args: [] },
      ];
      const procs = captures.map((c) =>
        // Exactly six packets: SYN, SYN-ACK, ACK, RST to the listener; SYN, RST-ACK from the closed port.
        // dumpcap stops by itself after them: no waiting for a ring buffer to flush.
        spawn('dumpcap', ['-i', c.iface, '-c', '6', '-f', filter, '-w', c.file, ...c.args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
      );
      try {
        // dumpcap names its output file once the capture runs; packets sent before would be missed.
        const started = await Promise.all(
          procs.map(
            (p) =>
              new Promise<string | null>((resolve) => {
                let err = '';
                p.stderr!.on('data', (d: Buffer) => {
                  err += d.toString();
                  if (err.includes('Capturing on') && err.includes('File:')) resolve(null);
                });
                p.once('exit', () => resolve(err.trim() || 'dumpcap exited'));
              }),
          ),
        );
        const failed = started.find((s) => s !== null);
        if (failed) {
          t.skip(`cannot capture on loopback here: ${failed}`);
          return;
        }
        const exited = procs.map((p) => new Promise((resolve) => p.once('exit', resolve)));
        await new Promise<void>((resolve, reject) => {
          const c = connect(open, '127.0.0.1', () => c.resetAndDestroy());
          c.on('close', () => resolve());
          c.on('error', reject);
        });
        await new Promise<void>((resolve) => {
          const c = connect(closed, '127.0.0.1');
          c.on('error', () => resolve());
          c.on('connect', () => {
            c.destroy();
            resolve();
          });
        });
        await Promise.all(exited);
        for (const c of captures) {
          const head = readFileSync(c.file).subarray(0, 4).readUInt32BE(0);
          assert.equal(head === 0x0a0d0d0a, c.file.endsWith('.pcapng'), `${c.file} container`);
          const r = await parseFile(c.file);
          assert.deepEqual(r.issues, [], c.file);
          assert.deepEqual(listenerKeys(r.observations), [`127.0.0.1 tcp/${open}`], c.file);
          assert.deepEqual(listenerKeys(r.observations, 'negative'), [`127.0.0.1 tcp/${closed}`], c.file);
          // What tshark reads from the same file agrees with the decoder.
          assert.deepEqual(await decodedSynAcks(c.file), await tsharkSynAcks(c.file), c.file);
        }
      } finally {
        for (const p of procs) p.kill('SIGKILL');
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

// ---- Generated captures for the property tests ----

const arbitraryConversation = fc.record({
  v6: fc.boolean(),
  server: fc.nat(0xffff),
  client: fc.nat(0xffff),
  port: fc.integer({ min: 1, max: 65535 }),
  clientPort: fc.integer({ min: 1024, max: 65535 }),
  kind: fc.constantFrom('open', 'closed', 'udp-reply', 'udp-silent'),
  sec: fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }),
});
type Conversation = typeof arbitraryConversation extends fc.Arbitrary<infer T> ? T : never;

function addresses(c: Conversation): { server: string; client: string } {
  return c.v6
    ? {
        server: canonicalIp(`fd00::1:${c.server.toString(16)}`)!,
        client: canonicalIp(`fd00::2:${c.client.toString(16)}`)!,
      }
    : {
        server: `198.18.${c.server >> 8}.${c.server & 0xff}`,
        client: `198.19.${c.client >> 8}.${c.client & 0xff}`,
      };
}

/** The IP packets of a conversation, and the graded key it proves. */
function conversationPackets(c: Conversation): { packets: Buffer[]; key: string | null } {
  const { server, client } = addresses(c);
  const toServer = { src: client, dst: server, srcPort: c.clientPort, dstPort: c.port };
  const toClient = { src: server, dst: client, srcPort: c.port, dstPort: c.clientPort };
  const p = (spec: PacketSpec) => ipPacket(spec);
  switch (c.kind) {
    case 'open':
      return {
        packets: [
          p({ protocol: 'tcp', ...toServer, flags: TCP_SYN }),
          p({ protocol: 'tcp', ...toClient, flags: TCP_SYN | TCP_ACK }),
          p({ protocol: 'tcp', ...toServer, flags: TCP_ACK }),
          p({ protocol: 'tcp', ...toServer, flags: TCP_RST | TCP_ACK }),
        ],
        key: `${server} tcp/${c.port} strong`,
      };
    case 'closed':
      return {
        packets: [
          p({ protocol: 'tcp', ...toServer, flags: TCP_SYN }),
          p({ protocol: 'tcp', ...toClient, flags: TCP_RST | TCP_ACK }),
        ],
        key: `${server} tcp/${c.port} negative`,
      };
    case 'udp-reply':
      return {
        packets: [
          p({ protocol: 'udp', ...toServer }),
          p({ protocol: 'udp', ...toClient }),
          p({ protocol: 'udp', ...toServer }),
        ],
        key: `${server} udp/${c.port} weak`,
      };
    default:
      return {
        packets: [p({ protocol: 'udp', ...toServer }), p({ protocol: 'udp', ...toServer })],
        key: null,
      };
  }
}

const CAPTURE_LINKS = [
  LINKTYPE.ETHERNET,
  LINKTYPE.LINUX_SLL,
  LINKTYPE.LINUX_SLL2,
  LINKTYPE.NULL,
  LINKTYPE.LOOP,
  LINKTYPE.RAW,
];

const arbitraryLayout = fc.record({
  pcapng: fc.boolean(),
  littleEndian: fc.boolean(),
  nano: fc.boolean(),
  link: fc.nat(CAPTURE_LINKS.length - 1),
  vlans: fc.nat(2),
});

/**
 * Conversations whose keys are distinct per (host, proto, port) — otherwise a port both open and
 * closed in one capture would be a legitimate mix of grades, not a round trip.
 */
const arbitraryConversations = fc.uniqueArray(arbitraryConversation, {
  maxLength: 12,
  selector: (c) => `${c.v6} ${c.server} ${c.port} ${c.kind.startsWith('udp')}`,
});

type Layout = typeof arbitraryLayout extends fc.Arbitrary<infer T> ? T : never;

interface BuiltCapture {
  bytes: Buffer;
  keys: string[];
}

/** A capture of `convs` (each conversation's packets in order), with `junk` blocks/records between them. */
function buildCapture(convs: Conversation[], layout: Layout, junk: Buffer[] = []): BuiltCapture {
  const lt = CAPTURE_LINKS[layout.link]!;
  const keys = new Set<string>();
  const records: Array<{ data: Buffer; sec: number; junk?: boolean }> = [];
  convs.forEach((c, i) => {
    const { packets, key } = conversationPackets(c);
    if (key) keys.add(key);
    for (const ip of packets) records.push({ data: frame(lt, ip, { vlans: layout.vlans }), sec: c.sec });
    if (junk[i]) records.push({ data: junk[i]!, sec: c.sec, junk: true });
  });
  if (!layout.pcapng) {
    const bytes = classicPcap(
      records.map((r) => ({ data: r.data, sec: r.sec, frac: 0 })),
      { linkType: lt, littleEndian: layout.littleEndian, nano: layout.nano },
    );
    return { bytes, keys: [...keys].sort() };
  }
  const w = new PcapngWriter(layout.littleEndian);
  const parts = [w.shb(), w.idb(lt, 0, layout.nano ? [[9, Buffer.from([9])]] : [])];
  const unit = layout.nano ? 1_000_000_000n : 1_000_000n;
  for (const r of records) {
    // Junk goes into blocks the reader must step over by their length.
    if (r.junk) parts.push(w.block(0x0bad0000 + (r.data.length % 7), w.pad(r.data)));
    else parts.push(w.epb(0, BigInt(r.sec) * unit, r.data));
  }
  return { bytes: Buffer.concat(parts), keys: [...keys].sort() };
}

const wellFormed: fc.Arbitrary<GeneratedDocument> = fc
  .tuple(arbitraryConversations, arbitraryLayout)
  .map(([convs, layout]) => {
    const c = buildCapture(convs, layout);
    return { text: c.bytes, keys: c.keys, issues: 0 };
  });

const mixed: fc.Arbitrary<GeneratedDocument> = fc
  .tuple(
    arbitraryConversations,
    arbitraryLayout,
    fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 12 }),
  )
  .map(([convs, layout, junk]) => {
    // In a classic capture junk becomes non-IP frames (ARP on Ethernet); in pcapng unknown blocks.
    const lt = CAPTURE_LINKS[layout.link]!;
    const junkFrames = junk.map((j) =>
      layout.pcapng
        ? Buffer.from(j)
        : lt === LINKTYPE.ETHERNET
          ? Buffer.concat([Buffer.alloc(12), Buffer.from([8, 6]), j])
          : Buffer.concat([Buffer.from([lt === LINKTYPE.RAW ? 0x10 : 0]), Buffer.alloc(20), j]),
    );
    const c = buildCapture(convs, layout, junkFrames);
    return { text: c.bytes, keys: c.keys, issues: 0 };
  });

checkParserProperties('parsePcap', parsePcap, {
  keysOf: gradedKeys,
  arbitraryInput: fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((b) => [Buffer.from(b)]),
    // Valid headers followed by random bytes reach the record and packet decoding.
    fc.tuple(arbitraryLayout, fc.uint8Array({ maxLength: 600 })).map(([layout, b]) => {
      const head = buildCapture([], layout).bytes;
      return [head, Buffer.from(b)];
    }),
    fc.tuple(wellFormed, fc.nat(), fc.nat(255)).map(([doc, at, x]) => {
      // One byte of a valid capture flipped.
      const b = Buffer.from(doc.text);
      if (b.length) b[at % b.length] = b[at % b.length]! ^ x;
      return [b];
    }),
  ),
  wellFormed,
  mixed,
  truncatable: wellFormed,
});

describe('parsePcap truncation', () => {
  it('keeps every conversation that ended before the cut', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryConversations, arbitraryLayout, fc.nat(), async (convs, layout, n) => {
        const whole = buildCapture(convs, layout).bytes;
        const cut = n % (whole.length + 1);
        // The conversations whose packets all lie before the cut must all be found.
        const expected = new Set<string>();
        for (let i = 1; i <= convs.length; i++) {
          const prefix = buildCapture(convs.slice(0, i), layout);
          if (prefix.bytes.length <= cut) for (const k of prefix.keys) expected.add(k);
        }
        const r = await collectEvents(parsePcap, [whole.subarray(0, cut)]);
        const got = new Set(gradedKeys(r.observations));
        for (const k of expected) assert.ok(got.has(k), `lost ${k}`);
      }),
      { numRuns: 100 },
    );
  });

  it('reports an unknown link type once, with its offset, and reads the other interfaces', async () => {
    const w = new PcapngWriter(true);
    const ip = ipPacket({
      protocol: 'tcp',
      src: '198.18.0.2',
      dst: '198.18.0.1',
      srcPort: 22,
      dstPort: 40000,
      flags: 0x12,
    });
    const head = Buffer.concat([w.shb(), w.idb(147), w.idb(LINKTYPE.RAW)]);
    const file = Buffer.concat([head, w.epb(0, 1n, ip), w.epb(0, 2n, ip), w.epb(1, 3n, ip)]);
    const r = await collectEvents(parsePcap, [file]);
    assert.deepEqual(r.issues, [{ message: r.issues[0]!.message, offset: head.length }]);
    assert.match(r.issues[0]!.message, /link type 147 is not supported/);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/22']);
    assert.equal(r.records, 3);
  });
});
