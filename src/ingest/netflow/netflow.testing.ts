import { isIPv4 } from 'node:net';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { DatagramFramer } from './datagram-file.ts';
import { NetflowDecoder, type FlowRecord } from './netflow.decoder.ts';

/**
 * Encoders of NetFlow v5, v9 and IPFIX datagrams from flow records, written from the formats' specs
 * (Cisco's v5 record layout, RFC 3954, RFC 7011) for tests: generated exports and hostile variants.
 */

/** A flow to encode: the fields a {@link FlowRecord} carries, times in epoch ms. */
export type FlowSpec = Omit<FlowRecord, 'version' | 'offset'>;

/** The path of a file in the NetFlow reader's test data. */
export const netflowData = (name: string): string =>
  fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

/** The path of a capture the exports were made from, kept once with the capture reader's test data. */
export const captureData = (name: string): string =>
  fileURLToPath(new URL(`../pcap/testdata/${name}`, import.meta.url));

const addrBytes = (a: string): number[] => ipaddr.parse(a).toByteArray();

/** A NetFlow v5 datagram (IPv4 flows only, at most 30). Times are relative to `uptime` at `exportMs`. */
export function encodeV5(flows: FlowSpec[], exportMs = 1_795_529_900_000, uptime = 3_600_000): Buffer {
  const b = Buffer.alloc(24 + 48 * flows.length);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(flows.length, 2);
  b.writeUInt32BE(uptime, 4);
  b.writeUInt32BE(Math.floor(exportMs / 1000), 8);
  b.writeUInt32BE((exportMs % 1000) * 1_000_000, 12);
  b.writeUInt32BE(7, 16);
  flows.forEach((f, i) => {
    const r = 24 + i * 48;
    Buffer.from(addrBytes(f.srcAddr)).copy(b, r);
    Buffer.from(addrBytes(f.dstAddr)).copy(b, r + 4);
    b.writeUInt32BE(f.packets, r + 16);
    b.writeUInt32BE(f.bytes, r + 20);
    b.writeUInt32BE((uptime - (exportMs - (f.start ?? exportMs))) >>> 0, r + 24);
    b.writeUInt32BE((uptime - (exportMs - (f.end ?? exportMs))) >>> 0, r + 28);
    b.writeUInt16BE(f.srcPort, r + 32);
    b.writeUInt16BE(f.dstPort, r + 34);
    b[r + 37] = f.tcpFlags;
    b[r + 38] = f.protocol;
  });
  return b;
}

type Field = [id: number, length: number];
// The fields softflowd puts in its v9 templates, in its order (IPv4 and IPv6).
const V9_FIELDS_4: Field[] = [
  [8, 4],
  [12, 4],
  [22, 4],
  [21, 4],
  [1, 4],
  [2, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [60, 1],
];
const V9_FIELDS_6: Field[] = [
  [27, 16],
  [28, 16],
  [22, 4],
  [21, 4],
  [1, 4],
  [2, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [60, 1],
];

function set(id: number, body: Buffer, pad = 0): Buffer {
  const b = Buffer.alloc(4 + body.length + pad);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(b.length, 2);
  body.copy(b, 4);
  return b;
}

function templateBody(id: number, fields: Array<[number, number, number?]>): Buffer {
  const parts: number[] = [];
  const push16 = (v: number) => parts.push(v >> 8, v & 0xff);
  push16(id);
  push16(fields.length);
  for (const [fid, len, pen] of fields) {
    push16(pen !== undefined ? fid | 0x8000 : fid);
    push16(len);
    if (pen !== undefined) parts.push((pen >>> 24) & 0xff, (pen >> 16) & 0xff, (pen >> 8) & 0xff, pen & 0xff);
  }
  return Buffer.from(parts);
}

function writeField(
  b: Buffer,
  at: number,
  id: number,
  len: number,
  f: FlowSpec,
  up: (t: number | null) => number,
) {
  const v: Record<number, () => void> = {
    8: () => Buffer.from(addrBytes(f.srcAddr)).copy(b, at),
    12: () => Buffer.from(addrBytes(f.dstAddr)).copy(b, at),
    27: () => Buffer.from(addrBytes(f.srcAddr)).copy(b, at),
    28: () => Buffer.from(addrBytes(f.dstAddr)).copy(b, at),
    22: () => b.writeUInt32BE(up(f.start), at),
    21: () => b.writeUInt32BE(up(f.end), at),
    152: () => b.writeBigUInt64BE(BigInt(f.start ?? 0), at),
    153: () => b.writeBigUInt64BE(BigInt(f.end ?? 0), at),
    1: () => (len === 8 ? b.writeBigUInt64BE(BigInt(f.bytes), at) : b.writeUInt32BE(f.bytes, at)),
    2: () => (len === 8 ? b.writeBigUInt64BE(BigInt(f.packets), at) : b.writeUInt32BE(f.packets, at)),
    7: () => b.writeUInt16BE(f.srcPort, at),
    11: () => b.writeUInt16BE(f.dstPort, at),
    4: () => (b[at] = f.protocol),
    6: () => (len === 2 ? b.writeUInt16BE(f.tcpFlags, at) : (b[at] = f.tcpFlags)),
    60: () => (b[at] = isIPv4(f.srcAddr) ? 4 : 6),
  };
  v[id]?.();
}

/**
 * A NetFlow v9 datagram: a template FlowSet (unless `withTemplate` is false), then one data FlowSet
 * per address family, padded to 4 bytes. Template ids 1024 (IPv4) and 2048 (IPv6), as softflowd uses.
 */
export function encodeV9(
  flows: FlowSpec[],
  opts: { withTemplate?: boolean; sourceId?: number; exportMs?: number; uptime?: number } = {},
): Buffer {
  const exportMs = opts.exportMs ?? 1_795_529_900_000;
  const uptime = opts.uptime ?? 3_600_000;
  const up = (t: number | null) => (uptime - (exportMs - (t ?? exportMs))) >>> 0;
  const sets: Buffer[] = [];
  let records = 0;
  if (opts.withTemplate !== false) {
    sets.push(set(0, Buffer.concat([templateBody(1024, V9_FIELDS_4), templateBody(2048, V9_FIELDS_6)])));
    records += 2;
  }
  for (const [tid, fields, v4] of [
    [1024, V9_FIELDS_4, true],
    [2048, V9_FIELDS_6, false],
  ] as const) {
    const mine = flows.filter((f) => isIPv4(f.srcAddr) === v4);
    if (!mine.length) continue;
    const recLen = fields.reduce((n, [, l]) => n + l, 0);
    const body = Buffer.alloc(recLen * mine.length);
    mine.forEach((f, i) => {
      let at = i * recLen;
      for (const [id, len] of fields) {
        writeField(body, at, id, len, f, up);
        at += len;
      }
    });
    sets.push(set(tid, body, (4 - ((4 + body.length) % 4)) % 4));
    records += mine.length;
  }
  const head = Buffer.alloc(20);
  head.writeUInt16BE(9, 0);
  head.writeUInt16BE(records, 2);
  head.writeUInt32BE(uptime, 4);
  head.writeUInt32BE(Math.floor(exportMs / 1000), 8);
  head.writeUInt32BE(1, 12);
  head.writeUInt32BE(opts.sourceId ?? 0, 16);
  return Buffer.concat([head, ...sets]);
}

// IPFIX template 300: absolute millisecond times, 8-byte counters, a variable-length
// applicationName-like element (96) and an enterprise-specific element (PEN 29305, 4 bytes).
const IPFIX_FIELDS: Array<[number, number, number?]> = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 2],
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
  [96, 0xffff],
  [5, 4, 29305],
];
const IPFIX_FIELDS_6: Array<[number, number, number?]> = IPFIX_FIELDS.map(([id, len, pen]) =>
  id === 8 ? [27, 16] : id === 12 ? [28, 16] : [id, len, pen],
) as Array<[number, number, number?]>;

/**
 * An IPFIX message: a template set (unless `withTemplate` is false) and data sets with a
 * variable-length field (`label`, long labels use the 3-byte length form), an enterprise-specific
 * field, and set padding.
 */
export function encodeIpfix(
  flows: FlowSpec[],
  opts: { withTemplate?: boolean; domain?: number; exportMs?: number; label?: string } = {},
): Buffer {
  const exportMs = opts.exportMs ?? 1_795_529_900_000;
  const label = Buffer.from(opts.label ?? 'flow');
  const sets: Buffer[] = [];
  if (opts.withTemplate !== false)
    sets.push(set(2, Buffer.concat([templateBody(300, IPFIX_FIELDS), templateBody(301, IPFIX_FIELDS_6)])));
  for (const [tid, fields, v4] of [
    [300, IPFIX_FIELDS, true],
    [301, IPFIX_FIELDS_6, false],
  ] as const) {
    const mine = flows.filter((f) => isIPv4(f.srcAddr) === v4);
    if (!mine.length) continue;
    const recs: Buffer[] = [];
    for (const f of mine) {
      const parts: Buffer[] = [];
      for (const [id, len] of fields) {
        if (len === 0xffff) {
          const prefix =
            label.length < 255
              ? Buffer.from([label.length])
              : Buffer.from([255, label.length >> 8, label.length & 0xff]);
          parts.push(prefix, label);
          continue;
        }
        const b = Buffer.alloc(len);
        if (id === 5) b.writeUInt32BE(0xdeadbeef, 0);
        else writeField(b, 0, id, len, f, () => 0);
        parts.push(b);
      }
      recs.push(Buffer.concat(parts));
    }
    const body = Buffer.concat(recs);
    sets.push(set(tid, body, (4 - ((4 + body.length) % 4)) % 4));
  }
  const payload = Buffer.concat(sets);
  const head = Buffer.alloc(16);
  head.writeUInt16BE(10, 0);
  head.writeUInt16BE(16 + payload.length, 2);
  head.writeUInt32BE(Math.floor(exportMs / 1000), 4);
  head.writeUInt32BE(1, 8);
  head.writeUInt32BE(opts.domain ?? 0, 12);
  return Buffer.concat([head, payload]);
}

/** Datagrams in the stored-datagram file format (4-byte big-endian length, then the datagram). */
export function frame(...datagrams: Buffer[]): Buffer {
  return Buffer.concat(
    datagrams.flatMap((d) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(d.length, 0);
      return [len, d];
    }),
  );
}

/**
 * The two flows of a connection a TCP client made to a listening server, as softflowd reports an
 * nmap connect scan of an open port: the client's SYN, ACK, RST (3 packets) and the server's lone
 * SYN-ACK, with the same start and end time.
 */
export function connectScanFlows(
  server: { addr: string; port: number },
  client: { addr: string; port: number },
  at = 1_795_529_890_000,
): [FlowSpec, FlowSpec] {
  const base = { protocol: 6, start: at, end: at };
  return [
    {
      ...base,
      srcAddr: client.addr,
      dstAddr: server.addr,
      srcPort: client.port,
      dstPort: server.port,
      tcpFlags: 0x16,
      packets: 3,
      bytes: 164,
    },
    {
      ...base,
      srcAddr: server.addr,
      dstAddr: client.addr,
      srcPort: server.port,
      dstPort: client.port,
      tcpFlags: 0x12,
      packets: 1,
      bytes: 60,
    },
  ];
}

/** Every flow record of a stored-datagram file, decoded. */
export function decodeFile(buf: Buffer): { flows: FlowRecord[]; issues: unknown[] } {
  const flows: FlowRecord[] = [];
  const issues: unknown[] = [];
  const decoder = new NetflowDecoder();
  const sink = { flow: (f: FlowRecord) => flows.push(f), issue: (i: unknown) => issues.push(i) };
  const framer = new DatagramFramer();
  const datagram = (d: Buffer, offset: number) => decoder.decode(d, { exporter: '', offset }, sink);
  framer.push(buf, datagram, sink.issue);
  framer.end(datagram, sink.issue);
  decoder.finish(sink);
  return { flows, issues };
}

/** nfdump's way of writing TCP flags (`-o csv` column `flg`): CWR ECE URG ACK PSH RST SYN FIN. */
export function nfdumpFlags(flags: number): string {
  return 'CEUAPRSF'
    .split('')
    .map((c, i) => (flags & (0x80 >> i) ? c : '.'))
    .join('');
}
