import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureKind, readCapture, type CaptureEvent, type CapturedPacket } from './capture.reader.ts';
import { classicPcap, frame, ipPacket, PcapngWriter } from './capture.testing.ts';
import { LINKTYPE, TCP_ACK, TCP_SYN } from './packet.decoder.ts';

async function read(chunks: Buffer[]): Promise<{ packets: CapturedPacket[]; issues: CaptureEvent[] }> {
  async function* src() {
    yield* chunks;
  }
  const packets: CapturedPacket[] = [];
  const issues: CaptureEvent[] = [];
  for await (const e of readCapture(src())) {
    if (e.kind === 'packet') packets.push({ ...e.packet, data: Buffer.from(e.packet.data) });
    else issues.push(e);
  }
  return { packets, issues };
}

/** Every way to split `b` in two, plus byte by byte. */
function splits(b: Buffer): Buffer[][] {
  const out: Buffer[][] = [[b]];
  for (let i = 1; i < b.length; i += Math.max(1, Math.floor(b.length / 37)))
    out.push([b.subarray(0, i), b.subarray(i)]);
  out.push([...b].map((x) => Buffer.from([x])));
  return out;
}

const P1 = frame(
  LINKTYPE.ETHERNET,
  ipPacket({
    protocol: 'tcp',
    src: '198.18.0.2',
    dst: '198.18.0.1',
    srcPort: 22,
    dstPort: 50000,
    flags: TCP_SYN | TCP_ACK,
  }),
);
const P2 = frame(
  LINKTYPE.ETHERNET,
  ipPacket({ protocol: 'udp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 5000, dstPort: 53 }),
);
// 2023-11-14T22:13:20Z
const SEC = 1_700_000_000;

describe('readCapture: classic libpcap', () => {
  for (const littleEndian of [true, false])
    for (const variant of ['micro', 'nano', 'kuznetzov'] as const)
      it(`${littleEndian ? 'little' : 'big'}-endian, ${variant} magic, split anywhere`, async () => {
        const nano = variant === 'nano';
        const file = classicPcap(
          [
            { data: P1, sec: SEC, frac: nano ? 123_456_789 : 123_456 },
            { data: P2, sec: SEC + 1, frac: 0 },
          ],
          { linkType: LINKTYPE.ETHERNET, littleEndian, nano, kuznetzov: variant === 'kuznetzov' },
        );
        assert.equal(captureKind(file), 'pcap');
        const hl = variant === 'kuznetzov' ? 24 : 16;
        for (const chunks of splits(file)) {
          const { packets, issues } = await read(chunks);
          assert.deepEqual(issues, []);
          assert.equal(packets.length, 2);
          assert.deepEqual(packets[0]!.data, P1);
          assert.deepEqual(packets[1]!.data, P2);
          assert.equal(packets[0]!.linkType, 1);
          assert.equal(packets[0]!.offset, 24);
          assert.equal(packets[1]!.offset, 24 + hl + P1.length);
          assert.equal(new Date(Math.floor(packets[0]!.timeMs!)).toISOString(), '2023-11-14T22:13:20.123Z');
          assert.equal(packets[1]!.timeMs, (SEC + 1) * 1000);
        }
      });

  it('keeps a packet cut at the snapshot length with its length on the wire', async () => {
    const file = classicPcap([{ data: P1, sec: SEC, frac: 0, caplen: 40 }], { linkType: 1, snapLen: 40 });
    const { packets, issues } = await read([file]);
    assert.deepEqual(issues, []);
    assert.equal(packets[0]!.data.length, 40);
    assert.equal(packets[0]!.origLen, P1.length);
  });

  it('reports a capture cut inside a record, keeping the records before', async () => {
    const file = classicPcap(
      [
        { data: P1, sec: SEC, frac: 0 },
        { data: P2, sec: SEC, frac: 1 },
      ],
      { linkType: 1 },
    );
    const cut = file.length - 5;
    const { packets, issues } = await read([file.subarray(0, cut)]);
    assert.equal(packets.length, 1);
    assert.equal(issues.length, 1);
    const issue = issues[0]!.kind === 'issue' ? issues[0]!.issue : null;
    assert.match(issue!.message, /truncated/);
    assert.equal(issue!.offset, 24 + 16 + P1.length);
    // A header cut short is no capture at all.
    const head = await read([file.subarray(0, 10)]);
    assert.equal(head.packets.length, 0);
    assert.equal(head.issues.length, 1);
  });

  it('steps over a record whose length lies and finds the next one', async () => {
    const records = [0, 1, 2, 3].map((i) => ({ data: i % 2 ? P2 : P1, sec: SEC + i, frac: 0 }));
    const file = classicPcap(records, { linkType: 1, snapLen: 65535 });
    const second = 24 + 16 + P1.length;
    // The second record claims 3 MB.
    file.writeUInt32LE(3_000_000, second + 8);
    const { packets, issues } = await read([file]);
    assert.deepEqual(
      packets.map((p) => p.timeMs),
      [SEC, SEC + 2, SEC + 3].map((s) => s * 1000),
    );
    const issue = issues[0]!.kind === 'issue' ? issues[0]!.issue : null;
    assert.equal(issue!.offset, second);
    assert.match(issue!.message, /damaged record header/);
  });
});

describe('readCapture: pcapng', () => {
  for (const le of [true, false])
    it(`${le ? 'little' : 'big'}-endian sections with interfaces, if_tsresol, if_tsoffset, EPB, SPB, PB and unknown blocks`, async () => {
      const w = new PcapngWriter(le);
      const nanoRes: [number, Buffer] = [9, Buffer.from([9])];
      const binRes: [number, Buffer] = [9, Buffer.from([0x80 | 10])];
      const offset = Buffer.alloc(8);
      if (le) offset.writeBigInt64LE(10n);
      else offset.writeBigInt64BE(10n);
      const file = Buffer.concat([
        w.shb(),
        w.idb(LINKTYPE.ETHERNET, 0, [nanoRes, [2, Buffer.from('eth0')]]),
        w.idb(LINKTYPE.RAW, 0, [binRes, [14, offset]]),
        w.block(4, Buffer.alloc(16, 7)), // name resolution block: skipped
        w.epb(0, BigInt(SEC) * 1_000_000_000n + 5_000_000n, P1),
        w.epb(1, BigInt(SEC) * 1024n + 512n, P2.subarray(14)),
        w.block(0x40000bad, Buffer.alloc(8)), // unknown block type: skipped by its length
        w.spb(P1),
        w.pb(0, BigInt(SEC + 3) * 1_000_000_000n, P2),
      ]);
      assert.equal(captureKind(file), 'pcapng');
      for (const chunks of splits(file)) {
        const { packets, issues } = await read(chunks);
        assert.deepEqual(issues, []);
        assert.deepEqual(
          packets.map((p) => [p.linkType, p.timeMs, p.data.length]),
          [
            [1, SEC * 1000 + 5, P1.length],
            // Units of 2^-10 s, then if_tsoffset's 10 s.
            [101, (SEC + 10) * 1000 + 500, P2.length - 14],
            // A simple packet block has no time: the previous packet's is taken.
            [1, (SEC + 10) * 1000 + 500, P1.length],
            [1, (SEC + 3) * 1000, P2.length],
          ],
        );
        assert.deepEqual(packets[0]!.data, P1);
      }
    });

  it('reads a second section in the other byte order, with interfaces of its own', async () => {
    const a = new PcapngWriter(true);
    const b = new PcapngWriter(false);
    const file = Buffer.concat([
      a.shb(),
      a.idb(LINKTYPE.ETHERNET),
      a.epb(0, 1n, P1),
      b.shb(),
      b.idb(LINKTYPE.RAW),
      b.epb(0, 2n, P2.subarray(14)),
    ]);
    const { packets, issues } = await read([file]);
    assert.deepEqual(issues, []);
    assert.deepEqual(
      packets.map((p) => p.linkType),
      [1, 101],
    );
    assert.deepEqual(packets[1]!.data, P2.subarray(14));
  });

  it('reports a block whose length lies, steps over it and keeps the blocks around it', async () => {
    const w = new PcapngWriter(true);
    const good1 = w.epb(0, 1n, P1);
    const bad = Buffer.from(w.epb(0, 2n, P2));
    bad.writeUInt32LE(bad.length + 400, 4); // leading length lies
    const bad2 = Buffer.from(w.epb(0, 3n, P2));
    bad2.writeUInt32LE(0xfffffff0, 4); // impossible length
    const good2 = w.epb(0, 4n, P1);
    const head = Buffer.concat([w.shb(), w.idb(LINKTYPE.ETHERNET)]);
    const file = Buffer.concat([head, good1, bad, bad2, good2]);
    for (const chunks of splits(file)) {
      const { packets, issues } = await read(chunks);
      assert.deepEqual(
        packets.map((p) => p.timeMs),
        [0.001, 0.004],
      );
      const msgs = issues.map((e) => (e.kind === 'issue' ? e.issue : null)!);
      assert.equal(msgs[0]!.offset, head.length + good1.length);
      assert.match(
        msgs[0]!.message,
        /says \d+ bytes at its start and \d+ at its end|impossible length|length field lies/,
      );
    }
  });

  it('reports truncation, a packet of an undescribed interface, and input that is no capture', async () => {
    const w = new PcapngWriter(true);
    const file = Buffer.concat([w.shb(), w.idb(LINKTYPE.ETHERNET), w.epb(3, 1n, P1), w.epb(0, 2n, P1)]);
    const { packets, issues } = await read([file.subarray(0, file.length - 3)]);
    assert.equal(packets.length, 0);
    const msgs = issues.map((e) => (e.kind === 'issue' ? e.issue : null)!);
    assert.match(msgs[0]!.message, /interface 3/);
    assert.match(msgs[1]!.message, /truncated/);
    assert.equal(msgs[1]!.offset, file.length - w.epb(0, 2n, P1).length);
    const text = await read([Buffer.from('hello, this is text\n')]);
    assert.equal(text.packets.length, 0);
    assert.match((text.issues[0] as { issue: { message: string } }).issue.message, /not a packet capture/);
  });
});
