/** Link types (LINKTYPE_ values of tcpdump.org's registry) the decoder understands. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const SUPPORTED = new Set<number>(Object.values(LINKTYPE));

/** True when the decoder reads packets of link type `linkType`. */
export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

/** TCP flag bits (RFC 9293). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** What the listener inference needs of one packet: the transport endpoints and, for TCP, the flags. */
export interface TransportSegment {
  protocol: 'tcp' | 'udp';
  /** Canonical address text (dotted quad, or RFC 5952 IPv6). */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** TCP flags byte; 0 for UDP. */
  flags: number;
}

/**
 * An ICMP/ICMPv6 "port unreachable" error: the quoted datagram was sent to `host`:`port`/udp and
 * nothing listened there.
 */
export interface PortUnreachable {
  protocol: 'port-unreachable';
  host: string;
  port: number;
}

/** A decoded packet the listener inference can use, or null for anything else. */
export type DecodedPacket = TransportSegment | PortUnreachable;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = new Set([0x8100, 0x88a8, 0x9100, 0x9200]);

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;

/** Dotted quad of the 4 bytes at `o`. */
function ipv4Text(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text of the 16 bytes at `o`; IPv4-mapped addresses become dotted quads, as elsewhere. */
export function ipv6Text(b: Buffer, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + 2 * i));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff)
    return ipv4Text(b, o + 12);
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Offset and version of the IP header inside a link-layer frame, or null when it carries no IP. */
function ipStart(linkType: number, b: Buffer): number | null {
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      let o = 12;
      if (b.length < o + 2) return null;
      let type = b.readUInt16BE(o);
      // 802.1Q, 802.1ad (QinQ) and the older QinQ types: each tag is 4 bytes before the real type.
      while (ETHERTYPE_VLAN.has(type)) {
        o += 4;
        if (b.length < o + 2) return null;
        type = b.readUInt16BE(o);
      }
      return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? o + 2 : null;
    }
    case LINKTYPE.LINUX_SLL: {
      if (b.length < 16) return null;
      const type = b.readUInt16BE(14);
      return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? 16 : null;
    }
    case LINKTYPE.LINUX_SLL2: {
      if (b.length < 20) return null;
      const type = b.readUInt16BE(0);
      return type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? 20 : null;
    }
    // The 4-byte address family of NULL (host byte order) and LOOP (network order) differs between
    // BSDs for IPv6 (24, 28, 30); the IP version nibble that follows tells the same without a table.
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      return b.length > 4 ? 4 : null;
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return 0;
    default:
      return null;
  }
}

/** The transport header of an IP packet at `o`: protocol, addresses and where the header starts. */
function ipPayload(b: Buffer, o: number): { proto: number; src: string; dst: string; at: number } | null {
  if (b.length <= o) return null;
  const version = b[o]! >> 4;
  if (version === 4) {
    if (b.length < o + 20) return null;
    const ihl = (b[o]! & 0x0f) * 4;
    if (ihl < 20) return null;
    // Only the first fragment (offset 0) carries the transport header.
    if ((b.readUInt16BE(o + 6) & 0x1fff) !== 0) return null;
    return { proto: b[o + 9]!, src: ipv4Text(b, o + 12), dst: ipv4Text(b, o + 16), at: o + ihl };
  }
  if (version === 6) {
    if (b.length < o + 40) return null;
    let next = b[o + 6]!;
    let at = o + 40;
    // Walk the extension headers to the upper-layer header (RFC 8200 section 4).
    for (let hops = 0; hops < 16; hops++) {
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        if (b.length < at + 2) return null;
        const n = b[at]!;
        at += (b[at + 1]! + 1) * 8;
        next = n;
      } else if (next === 44) {
        if (b.length < at + 8) return null;
        if ((b.readUInt16BE(at + 2) & 0xfff8) !== 0) return null;
        next = b[at]!;
        at += 8;
      } else if (next === 51) {
        if (b.length < at + 2) return null;
        const n = b[at]!;
        at += (b[at + 1]! + 2) * 4;
        next = n;
      } else {
        return { proto: next, src: ipv6Text(b, o + 8), dst: ipv6Text(b, o + 24), at };
      }
    }
    return null;
  }
  return null;
}

/**
 * The TCP/UDP endpoints (and TCP flags) of one captured frame of link type `linkType`, an ICMP port
 * unreachable error, or null when the frame is something else or was cut (snapshot length) before
 * the fields needed. Never throws.
 */
export function decodePacket(linkType: number, frame: Buffer): DecodedPacket | null {
  const o = ipStart(linkType, frame);
  if (o === null) return null;
  const ip = ipPayload(frame, o);
  if (!ip) return null;
  const at = ip.at;
  if (ip.proto === PROTO_TCP) {
    if (frame.length < at + 14) return null;
    return {
      protocol: 'tcp',
      src: ip.src,
      dst: ip.dst,
      srcPort: frame.readUInt16BE(at),
      dstPort: frame.readUInt16BE(at + 2),
      flags: frame[at + 13]!,
    };
  }
  if (ip.proto === PROTO_UDP) {
    if (frame.length < at + 4) return null;
    return {
      protocol: 'udp',
      src: ip.src,
      dst: ip.dst,
      srcPort: frame.readUInt16BE(at),
      dstPort: frame.readUInt16BE(at + 2),
      flags: 0,
    };
  }
  // ICMP destination unreachable / port unreachable (3/3) and ICMPv6 (1/4) quote the datagram that
  // found no listener: the quoted destination is the closed UDP port.
  const unreachable =
    (ip.proto === PROTO_ICMP && frame[at] === 3 && frame[at + 1] === 3) ||
    (ip.proto === PROTO_ICMPV6 && frame[at] === 1 && frame[at + 1] === 4);
  if (unreachable) {
    const inner = ipPayload(frame, at + 8);
    if (!inner || inner.proto !== PROTO_UDP || frame.length < inner.at + 4) return null;
    return { protocol: 'port-unreachable', host: inner.dst, port: frame.readUInt16BE(inner.at + 2) };
  }
  return null;
}
