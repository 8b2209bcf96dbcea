import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { frame, ipPacket, PcapngWriter, type PacketSpec } from './capture.testing.ts';
import { decodePacket, ipv6Text, LINKTYPE, TCP_ACK, TCP_SYN } from './packet.decoder.ts';

const run = promisify(execFile);

const synAck: PacketSpec = {
  protocol: 'tcp',
  src: '198.18.0.2',
  dst: '198.18.0.1',
  srcPort: 2222,
  dstPort: 40000,
  flags: TCP_SYN | TCP_ACK,
};

describe('decodePacket', () => {
  it('reads TCP endpoints and flags under every supported link type', () => {
    const ip = ipPacket(synAck);
    for (const lt of Object.values(LINKTYPE)) {
      const d = decodePacket(lt, frame(lt, ip));
      assert.deepEqual(
        d,
        { protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 2222, dstPort: 40000, flags: 0x12 },
        `link type ${lt}`,
      );
    }
    // BSD NULL stores the family in host byte order: big-endian writers too.
    assert.equal(
      decodePacket(LINKTYPE.NULL, frame(LINKTYPE.NULL, ip, { littleEndianNull: false }))?.protocol,
      'tcp',
    );
  });

  it('skips 802.1Q and QinQ tags', () => {
    for (const vlans of [1, 2, 3]) {
      const d = decodePacket(LINKTYPE.ETHERNET, frame(LINKTYPE.ETHERNET, ipPacket(synAck), { vlans }));
      assert.equal(d?.protocol === 'tcp' && d.srcPort, 2222, `${vlans} tags`);
    }
  });

  it('honours IPv4 options (IHL) and reads only first fragments', () => {
    const opts = ipPacket({ ...synAck, ipOptions: Buffer.from([1, 1, 1, 0, 0x94, 4, 0, 0]) });
    assert.equal(decodePacket(LINKTYPE.RAW, opts)?.protocol, 'tcp');
    const d = decodePacket(LINKTYPE.RAW, opts);
    assert.ok(d && d.protocol === 'tcp' && d.srcPort === 2222 && d.flags === 0x12);
    assert.equal(decodePacket(LINKTYPE.RAW, ipPacket({ ...synAck, fragmentOffset: 185 })), null);
    // More-fragments set, offset 0: the first fragment, which carries the TCP header.
    assert.equal(
      decodePacket(LINKTYPE.RAW, ipPacket({ ...synAck, fragmentOffset: 0x2000 }))?.protocol,
      'tcp',
    );
  });

  it('walks IPv6 extension headers', () => {
    const v6 = { ...synAck, src: 'fd00:198:18::2', dst: 'fd00:198:18::1' };
    for (const exts of [[], [0], [0, 60], [0, 43, 44, 60], [51], [60, 51]]) {
      const d = decodePacket(LINKTYPE.IPV6, ipPacket({ ...v6, ipv6Extensions: exts }));
      assert.deepEqual(
        d,
        {
          protocol: 'tcp',
          src: 'fd00:198:18::2',
          dst: 'fd00:198:18::1',
          srcPort: 2222,
          dstPort: 40000,
          flags: 0x12,
        },
        `extensions ${exts.join(',')}`,
      );
    }
  });

  it('gives null for frames cut before the TCP flags, non-IP frames and unknown link types', () => {
    const f = frame(LINKTYPE.ETHERNET, ipPacket(synAck));
    // Ethernet 14 + IPv4 20 + TCP flags at 13: 48 bytes are needed.
    assert.equal(decodePacket(LINKTYPE.ETHERNET, f.subarray(0, 47)), null);
    assert.equal(decodePacket(LINKTYPE.ETHERNET, f.subarray(0, 48))?.protocol, 'tcp');
    for (let n = 0; n < 48; n++) assert.equal(decodePacket(LINKTYPE.ETHERNET, f.subarray(0, n)), null);
    const arp = Buffer.from(f);
    arp.writeUInt16BE(0x0806, 12);
    assert.equal(decodePacket(LINKTYPE.ETHERNET, arp), null);
    assert.equal(decodePacket(147, f), null);
  });

  it('reads the closed UDP port an ICMP port unreachable quotes', () => {
    const quoted = ipPacket({
      protocol: 'udp',
      src: '198.18.0.1',
      dst: '198.18.0.2',
      srcPort: 50000,
      dstPort: 53,
    });
    const icmp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), quoted.subarray(0, 28)]);
    const outer = ipPacket({ protocol: 'udp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 0, dstPort: 0 });
    const h = Buffer.from(outer.subarray(0, 20));
    h[9] = 1;
    h.writeUInt16BE(20 + icmp.length, 2);
    assert.deepEqual(decodePacket(LINKTYPE.RAW, Buffer.concat([h, icmp])), {
      protocol: 'port-unreachable',
      host: '198.18.0.2',
      port: 53,
    });
  });

  it('writes IPv6 addresses as RFC 5952 text, like canonicalIp', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 }),
        (groups) => {
          const b = Buffer.alloc(16);
          groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
          assert.equal(ipv6Text(b, 0), canonicalIp(groups.map((g) => g.toString(16)).join(':')));
        },
      ),
      { numRuns: 500 },
    );
  });
});

const LINK_TYPES = [
  LINKTYPE.ETHERNET,
  LINKTYPE.LINUX_SLL,
  LINKTYPE.LINUX_SLL2,
  LINKTYPE.NULL,
  LINKTYPE.LOOP,
  LINKTYPE.RAW,
] as const;

const arbitraryPacket = fc.record({
  v6: fc.boolean(),
  protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
  a: fc.nat(0xffff),
  b: fc.nat(0xffff),
  srcPort: fc.nat(65535),
  dstPort: fc.nat(65535),
  flags: fc.nat(0x3f),
  link: fc.nat(LINK_TYPES.length - 1),
  vlans: fc.nat(2),
  exts: fc.array(fc.constantFrom(0, 43, 60), { maxLength: 2 }),
});

describe('decodePacket against tshark', () => {
  it('decodes generated frames of every link type as tshark does', async (t) => {
    try {
      await run('tshark', ['-v']);
    } catch {
      t.skip('tshark is not installed');
      return;
    }
    const samples = fc.sample(arbitraryPacket, { numRuns: 300, seed: 4242 });
    const w = new PcapngWriter(true);
    const parts = [w.shb(), ...LINK_TYPES.map((lt) => w.idb(lt))];
    const expected: Array<ReturnType<typeof decodePacket>> = [];
    for (const s of samples) {
      const spec: PacketSpec = {
        protocol: s.protocol,
        src: s.v6 ? `fd00::${s.a.toString(16)}` : `198.18.${s.a >> 8}.${s.a & 0xff}`,
        dst: s.v6 ? `fd00:1::${s.b.toString(16)}` : `198.19.${s.b >> 8}.${s.b & 0xff}`,
        srcPort: s.srcPort,
        dstPort: s.dstPort,
        flags: s.flags,
        ...(s.v6 ? { ipv6Extensions: s.exts } : {}),
      };
      const lt = LINK_TYPES[s.link]!;
      const f = frame(lt, ipPacket(spec), { vlans: s.vlans });
      parts.push(w.epb(s.link, 1_700_000_000_000_000n + BigInt(expected.length), f));
      expected.push(decodePacket(lt, f));
    }
    const dir = mkdtempSync(join(tmpdir(), 'pcap-decoder-'));
    try {
      const file = join(dir, 'generated.pcapng');
      writeFileSync(file, Buffer.concat(parts));
      const fields = [
        'ip.src',
        'ipv6.src',
        'ip.dst',
        'ipv6.dst',
        'tcp.srcport',
        'tcp.dstport',
        'tcp.flags',
        'udp.srcport',
        'udp.dstport',
      ];
      const { stdout } = await run(
        'tshark',
        ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const rows = stdout.trimEnd().split('\n');
      assert.equal(rows.length, expected.length);
      rows.forEach((row, i) => {
        const [ip4s, ip6s, ip4d, ip6d, tsp, tdp, tfl, usp, udp] = row.split('\t');
        const want = expected[i];
        const tcp = tsp !== '';
        const got = {
          protocol: tcp ? 'tcp' : 'udp',
          src: canonicalIp(ip4s || ip6s!),
          dst: canonicalIp(ip4d || ip6d!),
          srcPort: Number(tcp ? tsp : usp),
          dstPort: Number(tcp ? tdp : udp),
          flags: tcp ? Number(tfl) : 0,
        };
        assert.deepEqual(want, got, `packet ${i + 1}: ${row}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
