import ipaddr from 'ipaddr.js';
import { LINKTYPE } from './packet.decoder.ts';

/**
 * Builders of packets and capture files for tests, written from the specifications (RFC 791, 8200,
 * 9293, 768; pcap-savefile(5); the pcapng draft) — independent of the reader and decoder they test.
 */

/** A TCP or UDP packet to build. */
export interface PacketSpec {
  protocol: 'tcp' | 'udp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** TCP flags byte. */
  flags?: number;
  payload?: Buffer;
  /** IPv4 options bytes (padded to 32 bits). */
  ipOptions?: Buffer;
  /** IPv6 extension headers to put before the transport header, by next-header number. */
  ipv6Extensions?: number[];
  /** IPv4 fragment offset in 8-byte units (0 = first fragment). */
  fragmentOffset?: number;
}

function addressBytes(a: string): Buffer {
  return Buffer.from(ipaddr.parse(a).toByteArray());
}

/** The transport header (and payload) of `p`. */
function transport(p: PacketSpec): Buffer {
  const payload = p.payload ?? Buffer.alloc(0);
  if (p.protocol === 'udp') {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(p.srcPort, 0);
    h.writeUInt16BE(p.dstPort, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([h, payload]);
  }
  const h = Buffer.alloc(20);
  h.writeUInt16BE(p.srcPort, 0);
  h.writeUInt16BE(p.dstPort, 2);
  h.writeUInt32BE(1000, 4);
  h[12] = 5 << 4;
  h[13] = p.flags ?? 0;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

/** An IP packet (v4 or v6 after the source address) carrying `p`. */
export function ipPacket(p: PacketSpec): Buffer {
  const proto = p.protocol === 'tcp' ? 6 : 17;
  const body = transport(p);
  const src = addressBytes(p.src);
  if (src.length === 4) {
    const opts = p.ipOptions ?? Buffer.alloc(0);
    const h = Buffer.alloc(20);
    h[0] = 0x40 | ((20 + opts.length) / 4);
    h.writeUInt16BE(20 + opts.length + body.length, 2);
    h.writeUInt16BE(p.fragmentOffset ?? 0, 6);
    h[8] = 64;
    h[9] = proto;
    src.copy(h, 12);
    addressBytes(p.dst).copy(h, 16);
    return Buffer.concat([h, opts, body]);
  }
  const exts = p.ipv6Extensions ?? [];
  const extBufs: Buffer[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? exts[i + 1]! : proto;
    const type = exts[i]!;
    // A fragment header is 8 bytes; the others here take one 8-byte unit (length field 0).
    const e = Buffer.alloc(8);
    e[0] = next;
    if (type === 51) e[1] = 0; // AH: (0 + 2) * 4 = 8 bytes
    extBufs.push(e);
  }
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  const ext = Buffer.concat(extBufs);
  h.writeUInt16BE(ext.length + body.length, 4);
  h[6] = exts.length ? exts[0]! : proto;
  h[7] = 64;
  src.copy(h, 8);
  addressBytes(p.dst).copy(h, 24);
  return Buffer.concat([h, ext, body]);
}

/** `ip` framed for link type `linkType` (Ethernet with optional VLAN tags, SLL, SLL2, NULL, LOOP, raw). */
export function frame(
  linkType: number,
  ip: Buffer,
  opts: { vlans?: number; littleEndianNull?: boolean } = {},
): Buffer {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      const tags: Buffer[] = [];
      for (let i = 0; i < (opts.vlans ?? 0); i++) {
        const t = Buffer.alloc(4);
        t.writeUInt16BE(i === 0 && (opts.vlans ?? 0) > 1 ? 0x88a8 : 0x8100, 0);
        t.writeUInt16BE(100 + i, 2);
        tags.push(t);
      }
      const mac = Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
      const type = Buffer.alloc(2);
      type.writeUInt16BE(etherType, 0);
      // Each tag's TPID sits where the EtherType would be; the real type follows the last tag.
      const parts: Buffer[] = [mac];
      for (const t of tags) parts.push(t);
      parts.push(type, ip);
      return Buffer.concat(parts);
    }
    case LINKTYPE.LINUX_SLL: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0);
      h.writeUInt16BE(1, 2);
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(etherType, 14);
      return Buffer.concat([h, ip]);
    }
    case LINKTYPE.LINUX_SLL2: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(etherType, 0);
      h.writeUInt32BE(2, 4);
      h.writeUInt16BE(1, 8);
      h[11] = 6;
      return Buffer.concat([h, ip]);
    }
    case LINKTYPE.NULL: {
      const h = Buffer.alloc(4);
      const fam = v6 ? 30 : 2;
      if (opts.littleEndianNull ?? true) h.writeUInt32LE(fam, 0);
      else h.writeUInt32BE(fam, 0);
      return Buffer.concat([h, ip]);
    }
    case LINKTYPE.LOOP: {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(v6 ? 24 : 2, 0);
      return Buffer.concat([h, ip]);
    }
    default:
      return ip;
  }
}

/** One record of a capture to write. */
export interface RecordSpec {
  data: Buffer;
  /** Seconds since the epoch (integer). */
  sec: number;
  /** Sub-second part, in the file's units (µs or ns for classic, if_tsresol units for pcapng). */
  frac: number;
  /** pcapng interface index (default 0). */
  iface?: number;
  /** Captured length when cut at a snapshot length (default: all of `data`). */
  caplen?: number;
}

/** A classic libpcap file. */
export function classicPcap(
  records: RecordSpec[],
  opts: { linkType: number; littleEndian?: boolean; nano?: boolean; kuznetzov?: boolean; snapLen?: number },
): Buffer {
  const le = opts.littleEndian ?? true;
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const h = Buffer.alloc(24);
  w32(h, opts.kuznetzov ? 0xa1b2cd34 : opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, opts.snapLen ?? 262144, 16);
  w32(h, opts.linkType, 20);
  const parts: Buffer[] = [h];
  const hl = opts.kuznetzov ? 24 : 16;
  for (const r of records) {
    const cap = r.caplen ?? r.data.length;
    const rh = Buffer.alloc(hl);
    w32(rh, r.sec, 0);
    w32(rh, r.frac, 4);
    w32(rh, cap, 8);
    w32(rh, r.data.length, 12);
    parts.push(rh, r.data.subarray(0, cap));
  }
  return Buffer.concat(parts);
}

/** A pcapng option: code and value. */
export type PcapngOption = [code: number, value: Buffer];

/** Writer of pcapng blocks in one byte order. */
export class PcapngWriter {
  readonly le: boolean;
  constructor(littleEndian = true) {
    this.le = littleEndian;
  }

  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0, 0);
    else b.writeUInt32BE(v >>> 0, 0);
    return b;
  }

  u16pair(a: number, b: number): Buffer {
    const x = Buffer.alloc(4);
    if (this.le) {
      x.writeUInt16LE(a, 0);
      x.writeUInt16LE(b, 2);
    } else {
      x.writeUInt16BE(a, 0);
      x.writeUInt16BE(b, 2);
    }
    return x;
  }

  pad(b: Buffer): Buffer {
    const n = (4 - (b.length % 4)) % 4;
    return n ? Buffer.concat([b, Buffer.alloc(n)]) : b;
  }

  options(opts: PcapngOption[]): Buffer {
    if (!opts.length) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (const [code, value] of opts) parts.push(this.u16pair(code, value.length), this.pad(value));
    parts.push(this.u16pair(0, 0));
    return Buffer.concat(parts);
  }

  /** A block of `type` with `body` (already padded). */
  block(type: number, body: Buffer): Buffer {
    const len = 12 + body.length;
    return Buffer.concat([this.u32(type), this.u32(len), body, this.u32(len)]);
  }

  shb(): Buffer {
    const body = Buffer.concat([this.u32(0x1a2b3c4d), this.u16pair(1, 0), Buffer.alloc(8, 0xff)]);
    // The section header's type is the same in both byte orders.
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, snapLen = 262144, opts: PcapngOption[] = []): Buffer {
    return this.block(1, Buffer.concat([this.u16pair(linkType, 0), this.u32(snapLen), this.options(opts)]));
  }

  /** Enhanced packet block; `ts` in the interface's units. */
  epb(iface: number, ts: bigint, data: Buffer, caplen = data.length): Buffer {
    const hi = Number(ts >> 32n);
    const lo = Number(ts & 0xffffffffn);
    return this.block(
      6,
      Buffer.concat([
        this.u32(iface),
        this.u32(hi),
        this.u32(lo),
        this.u32(caplen),
        this.u32(data.length),
        this.pad(data.subarray(0, caplen)),
      ]),
    );
  }

  /** Obsolete packet block. */
  pb(iface: number, ts: bigint, data: Buffer): Buffer {
    const hi = Number(ts >> 32n);
    const lo = Number(ts & 0xffffffffn);
    return this.block(
      2,
      Buffer.concat([
        this.u16pair(iface, 0),
        this.u32(hi),
        this.u32(lo),
        this.u32(data.length),
        this.u32(data.length),
        this.pad(data),
      ]),
    );
  }

  spb(data: Buffer): Buffer {
    return this.block(3, Buffer.concat([this.u32(data.length), this.pad(data)]));
  }
}
