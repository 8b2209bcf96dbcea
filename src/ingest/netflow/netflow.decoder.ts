import type { ParseIssue } from '../observation.ts';

/**
 * Decoding of NetFlow v5 (Cisco's fixed record), NetFlow v9 (RFC 3954) and IPFIX (RFC 7011, version
 * 10) export datagrams into flow records. Pure: no sockets, no clock. Templates are kept per exporter
 * and source id (v9) or observation domain (IPFIX), as both RFCs scope them.
 */

/** One unidirectional flow as an exporter reported it. */
export interface FlowRecord {
  version: 5 | 9 | 10;
  /** Canonical addresses (dotted quad, RFC 5952 IPv6). */
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP…). */
  protocol: number;
  /** Cumulative TCP flags of every packet of the flow (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32). */
  tcpFlags: number;
  packets: number;
  bytes: number;
  /** First and last packet, epoch milliseconds; null when the record does not say. */
  start: number | null;
  end: number | null;
  /** Byte offset of the datagram that carried the record, in its input. */
  offset: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Where a datagram came from: template caches are kept apart per exporter. */
export interface DatagramSource {
  /** Exporter identity (address, or address:port); '' for a file with no exporter address. */
  exporter: string;
  /** Byte offset of the datagram in its input (files), for issues and records. */
  offset: number;
}

export interface DecodeSink {
  flow(f: FlowRecord): void;
  issue(i: ParseIssue): void;
}

/** Limits that keep hostile exporters from growing memory without bound. */
export interface DecoderLimits {
  /** Templates kept over all exporters; the oldest are forgotten beyond it. Default 2048. */
  maxTemplates?: number;
  /** Fields a template may have; real ones have a few dozen. Default 512. */
  maxTemplateFields?: number;
  /** Data sets held back while their template has not arrived. Default 256. */
  maxPendingSets?: number;
  /** Bytes of held-back data sets. Default 4 MiB. */
  maxPendingBytes?: number;
}

interface TemplateField {
  id: number;
  /** Byte length, or -1 for an IPFIX variable-length field. */
  length: number;
  /** True for enterprise-specific IPFIX elements (never interpreted, skipped by length). */
  enterprise: boolean;
}

interface Template {
  fields: TemplateField[];
  /** Sum of the fixed lengths (variable-length fields counted as their smallest encoding, 1). */
  minLength: number;
  variable: boolean;
  /** Options templates: their records describe the exporter, not flows. */
  options: boolean;
}

interface PendingSet {
  key: string;
  version: 9 | 10;
  data: Buffer;
  source: DatagramSource;
  /** Header time base of the datagram that carried it. */
  base: TimeBase;
  setOffset: number;
}

interface TimeBase {
  /** Export time (epoch ms). */
  exportMs: number;
  /** Exporter uptime at export (ms), v9 only; null for IPFIX. */
  uptimeMs: number | null;
  /** Scope of per-exporter state (system init time). */
  scope: string;
}

// Information element ids shared by v9 (RFC 3954 field types) and IPFIX (IANA IPFIX registry).
const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  octetTotalCount: 85,
  packetTotalCount: 86,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  systemInitTimeMilliseconds: 160,
  udpSourcePort: 180,
  udpDestinationPort: 181,
  tcpSourcePort: 182,
  tcpDestinationPort: 183,
} as const;

const V5_HEADER = 24;
const V5_RECORD = 48;
const V9_HEADER = 20;
const IPFIX_HEADER = 16;
// Seconds between the NTP era (1900) and the Unix epoch, for IPFIX dateTimeMicroseconds/Nanoseconds.
const NTP_UNIX_OFFSET = 2_208_988_800;

/** Reads an unsigned big-endian integer of 1–8 bytes (reduced-size encoding, RFC 7011 §6.2). */
function readUnsigned(buf: Buffer, at: number, len: number): number {
  switch (len) {
    case 1:
      return buf[at]!;
    case 2:
      return buf.readUInt16BE(at);
    case 4:
      return buf.readUInt32BE(at);
    case 8:
      return Number(buf.readBigUInt64BE(at));
    default: {
      let v = 0;
      for (let i = 0; i < len && i < 8; i++) v = v * 256 + buf[at + i]!;
      return v;
    }
  }
}

/** Dotted quad of 4 bytes at `at`. */
export function ipv4At(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** Canonical text of the IPv6 address at `at`: RFC 5952 (the first longest run of two or more zero groups compressed). */
export function ipv6At(buf: Buffer, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + i * 2));
  // An IPv4-mapped address is the IPv4 address, as canonicalIp writes it.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return ipv4At(buf, at + 12);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** Fields of a record being decoded, before they become a {@link FlowRecord}. */
interface Draft {
  src: string | null;
  dst: string | null;
  srcPort: number;
  dstPort: number;
  protocol: number;
  flags: number;
  packets: number;
  bytes: number;
  startUp: number | null;
  endUp: number | null;
  startAbs: number | null;
  endAbs: number | null;
  sysInit: number | null;
}

function newDraft(): Draft {
  return {
    src: null,
    dst: null,
    srcPort: 0,
    dstPort: 0,
    protocol: -1,
    flags: 0,
    packets: 0,
    bytes: 0,
    startUp: null,
    endUp: null,
    startAbs: null,
    endAbs: null,
    sysInit: null,
  };
}

/** NTP-format timestamp (seconds since 1900, then 2^-32 fractions) at `at`, as epoch ms. */
function ntpMs(buf: Buffer, at: number): number {
  const secs = buf.readUInt32BE(at);
  const frac = buf.readUInt32BE(at + 4);
  return (secs - NTP_UNIX_OFFSET) * 1000 + Math.floor((frac / 0x1_0000_0000) * 1000);
}

function applyField(d: Draft, f: TemplateField, buf: Buffer, at: number, len: number): void {
  if (f.enterprise || len === 0) return;
  switch (f.id) {
    case IE.sourceIPv4Address:
      if (len === 4) d.src = ipv4At(buf, at);
      return;
    case IE.destinationIPv4Address:
      if (len === 4) d.dst = ipv4At(buf, at);
      return;
    case IE.sourceIPv6Address:
      if (len === 16) d.src = ipv6At(buf, at);
      return;
    case IE.destinationIPv6Address:
      if (len === 16) d.dst = ipv6At(buf, at);
      return;
    case IE.sourceTransportPort:
    case IE.udpSourcePort:
    case IE.tcpSourcePort:
      if (len <= 2) d.srcPort = readUnsigned(buf, at, len);
      return;
    case IE.destinationTransportPort:
    case IE.udpDestinationPort:
    case IE.tcpDestinationPort:
      if (len <= 2) d.dstPort = readUnsigned(buf, at, len);
      return;
    case IE.protocolIdentifier:
      if (len === 1) d.protocol = buf[at]!;
      return;
    case IE.tcpControlBits:
      // One byte in v9 and old IPFIX, two in RFC 7125 (flags in the low byte).
      if (len <= 2) d.flags = readUnsigned(buf, at, len) & 0xff;
      return;
    case IE.octetDeltaCount:
    case IE.octetTotalCount:
      if (len <= 8) d.bytes = readUnsigned(buf, at, len);
      return;
    case IE.packetDeltaCount:
    case IE.packetTotalCount:
      if (len <= 8) d.packets = readUnsigned(buf, at, len);
      return;
    case IE.flowStartSysUpTime:
      if (len <= 4) d.startUp = readUnsigned(buf, at, len);
      return;
    case IE.flowEndSysUpTime:
      if (len <= 4) d.endUp = readUnsigned(buf, at, len);
      return;
    case IE.flowStartSeconds:
      if (len <= 4) d.startAbs = readUnsigned(buf, at, len) * 1000;
      return;
    case IE.flowEndSeconds:
      if (len <= 4) d.endAbs = readUnsigned(buf, at, len) * 1000;
      return;
    case IE.flowStartMilliseconds:
      if (len <= 8) d.startAbs = readUnsigned(buf, at, len);
      return;
    case IE.flowEndMilliseconds:
      if (len <= 8) d.endAbs = readUnsigned(buf, at, len);
      return;
    case IE.flowStartMicroseconds:
    case IE.flowStartNanoseconds:
      if (len === 8) d.startAbs = ntpMs(buf, at);
      return;
    case IE.flowEndMicroseconds:
    case IE.flowEndNanoseconds:
      if (len === 8) d.endAbs = ntpMs(buf, at);
      return;
    case IE.systemInitTimeMilliseconds:
      if (len <= 8) d.sysInit = readUnsigned(buf, at, len);
      return;
  }
}

/**
 * A NetFlow v5/v9/IPFIX decoder with its template caches. Feed it datagrams in arrival order with
 * {@link NetflowDecoder.decode}; call {@link NetflowDecoder.finish} at the end of an input to report
 * data sets whose template never came. Never throws on bad bytes: problems go to the sink as issues
 * with the byte offset of the datagram (plus the offset inside it), and every valid record is kept.
 */
export class NetflowDecoder {
  readonly #templates = new Map<string, Template>();
  readonly #sysInit = new Map<string, number>();
  readonly #pending: PendingSet[] = [];
  #pendingBytes = 0;
  readonly #maxTemplates: number;
  readonly #maxTemplateFields: number;
  readonly #maxPendingSets: number;
  readonly #maxPendingBytes: number;
  /** Datagrams decoded, and records (flows) they gave. */
  datagrams = 0;
  flows = 0;

  constructor(limits: DecoderLimits = {}) {
    this.#maxTemplates = limits.maxTemplates ?? 2048;
    this.#maxTemplateFields = limits.maxTemplateFields ?? 512;
    this.#maxPendingSets = limits.maxPendingSets ?? 256;
    this.#maxPendingBytes = limits.maxPendingBytes ?? 4 * 1024 * 1024;
  }

  /** Decodes one export datagram. */
  decode(dgram: Buffer, source: DatagramSource, sink: DecodeSink): void {
    this.datagrams++;
    const at = (n: number) => source.offset + n;
    if (dgram.length < 2) {
      sink.issue({ message: `datagram of ${dgram.length} byte(s) is too short for a header`, offset: at(0) });
      return;
    }
    const version = dgram.readUInt16BE(0);
    if (version === 5) this.#decodeV5(dgram, source, sink);
    else if (version === 9) this.#decodeV9(dgram, source, sink);
    else if (version === 10) this.#decodeIpfix(dgram, source, sink);
    else
      sink.issue({
        message: `unknown export version ${version} (NetFlow v5, v9 and IPFIX are read)`,
        offset: at(0),
      });
  }

  /** Reports the data sets still waiting for a template (end of a file). */
  finish(sink: DecodeSink): void {
    for (const p of this.#pending.splice(0)) this.#reportOrphan(p, sink);
    this.#pendingBytes = 0;
  }

  #emit(d: Draft, version: 5 | 9 | 10, base: TimeBase, offset: number, sink: DecodeSink): void {
    if (d.src === null || d.dst === null || d.protocol < 0) return;
    let start = d.startAbs;
    let end = d.endAbs;
    if (start === null && d.startUp !== null) start = this.#fromUptime(d.startUp, base);
    if (end === null && d.endUp !== null) end = this.#fromUptime(d.endUp, base);
    this.flows++;
    sink.flow({
      version,
      srcAddr: d.src,
      dstAddr: d.dst,
      srcPort: d.srcPort,
      dstPort: d.dstPort,
      protocol: d.protocol,
      tcpFlags: d.flags,
      packets: d.packets,
      bytes: d.bytes,
      start,
      end,
      offset,
    });
  }

  #fromUptime(upMs: number, base: TimeBase): number | null {
    if (base.uptimeMs !== null) {
      // v9/v5: relative to the exporter's uptime in the header; uptime is a 32-bit counter that wraps.
      let delta = base.uptimeMs - upMs;
      if (delta < -0x8000_0000) delta += 0x1_0000_0000;
      return base.exportMs - delta;
    }
    const init = this.#sysInit.get(base.scope);
    if (init === undefined) return null;
    // flowStartSysUpTime is an unsigned 32-bit count: an exporter whose flows began before its own
    // start (softflowd reading a capture file) wraps it. A flow cannot begin after the message that
    // reports it was exported (1 s resolution), so such a time is taken as wrapped once.
    const t = init + upMs;
    return t > base.exportMs + 1000 && t - 0x1_0000_0000 >= 0 ? t - 0x1_0000_0000 : t;
  }

  #decodeV5(dgram: Buffer, source: DatagramSource, sink: DecodeSink): void {
    if (dgram.length < V5_HEADER) {
      sink.issue({
        message: `NetFlow v5 datagram of ${dgram.length} bytes is shorter than its 24-byte header`,
        offset: source.offset,
      });
      return;
    }
    const count = dgram.readUInt16BE(2);
    const uptimeMs = dgram.readUInt32BE(4);
    const exportMs = dgram.readUInt32BE(8) * 1000 + Math.floor(dgram.readUInt32BE(12) / 1e6);
    const base: TimeBase = { exportMs, uptimeMs, scope: '' };
    let n = count;
    const room = Math.floor((dgram.length - V5_HEADER) / V5_RECORD);
    if (room < count) {
      sink.issue({
        message: `NetFlow v5 datagram announces ${count} records but holds ${room}; the ${room} complete record(s) are kept`,
        offset: source.offset,
      });
      n = room;
    }
    for (let i = 0; i < n; i++) {
      const r = V5_HEADER + i * V5_RECORD;
      const d = newDraft();
      d.src = ipv4At(dgram, r);
      d.dst = ipv4At(dgram, r + 4);
      d.packets = dgram.readUInt32BE(r + 16);
      d.bytes = dgram.readUInt32BE(r + 20);
      d.startUp = dgram.readUInt32BE(r + 24);
      d.endUp = dgram.readUInt32BE(r + 28);
      d.srcPort = dgram.readUInt16BE(r + 32);
      d.dstPort = dgram.readUInt16BE(r + 34);
      d.flags = dgram[r + 37]!;
      d.protocol = dgram[r + 38]!;
      this.#emit(d, 5, base, source.offset, sink);
    }
  }

  #decodeV9(dgram: Buffer, source: DatagramSource, sink: DecodeSink): void {
    if (dgram.length < V9_HEADER) {
      sink.issue({
        message: `NetFlow v9 datagram of ${dgram.length} bytes is shorter than its 20-byte header`,
        offset: source.offset,
      });
      return;
    }
    const uptimeMs = dgram.readUInt32BE(4);
    const exportMs = dgram.readUInt32BE(8) * 1000;
    const sourceId = dgram.readUInt32BE(16);
    const scope = `9|${source.exporter}|${sourceId}`;
    const base: TimeBase = { exportMs, uptimeMs, scope };
    this.#walkSets(dgram, V9_HEADER, dgram.length, 9, scope, base, source, sink);
  }

  #decodeIpfix(dgram: Buffer, source: DatagramSource, sink: DecodeSink): void {
    if (dgram.length < IPFIX_HEADER) {
      sink.issue({
        message: `IPFIX message of ${dgram.length} bytes is shorter than its 16-byte header`,
        offset: source.offset,
      });
      return;
    }
    let end = dgram.readUInt16BE(2);
    if (end < IPFIX_HEADER || end > dgram.length) {
      sink.issue({
        message: `IPFIX message length ${end} does not fit the ${dgram.length}-byte datagram; the sets that fit are read`,
        offset: source.offset,
      });
      end = Math.max(IPFIX_HEADER, Math.min(end, dgram.length));
    }
    const exportMs = dgram.readUInt32BE(4) * 1000;
    const domain = dgram.readUInt32BE(12);
    const scope = `10|${source.exporter}|${domain}`;
    this.#walkSets(dgram, IPFIX_HEADER, end, 10, scope, { exportMs, uptimeMs: null, scope }, source, sink);
  }

  #walkSets(
    dgram: Buffer,
    from: number,
    end: number,
    version: 9 | 10,
    scope: string,
    base: TimeBase,
    source: DatagramSource,
    sink: DecodeSink,
  ): void {
    const name = version === 9 ? 'FlowSet' : 'set';
    let p = from;
    while (p + 4 <= end) {
      const setId = dgram.readUInt16BE(p);
      const len = dgram.readUInt16BE(p + 2);
      if (len < 4 || p + len > end) {
        sink.issue({
          message: `${name} ${setId} at +${p} claims ${len} bytes but ${end - p} remain in the datagram; the rest of the datagram is skipped`,
          offset: source.offset + p,
        });
        return;
      }
      const body = dgram.subarray(p + 4, p + len);
      const templateSet = version === 9 ? setId === 0 : setId === 2;
      const optionsSet = version === 9 ? setId === 1 : setId === 3;
      if (templateSet || optionsSet)
        this.#readTemplates(body, version, optionsSet, scope, source, p + 4, sink);
      else if (setId >= 256) this.#readData(body, version, `${scope}|${setId}`, base, source, p + 4, sink);
      // Set ids 2–255 (v9) and 0, 1, 4–255 (IPFIX) are reserved: skipped by length.
      p += len;
    }
    // Fewer than 4 bytes remain: padding when zero, else a cut-off set header.
    if (end - p > 0 && !isZero(dgram, p, end))
      sink.issue({ message: `${end - p} stray byte(s) after the last ${name}`, offset: source.offset + p });
  }

  #readTemplates(
    body: Buffer,
    version: 9 | 10,
    options: boolean,
    scope: string,
    source: DatagramSource,
    bodyAt: number,
    sink: DecodeSink,
  ): void {
    let p = 0;
    const where = (n: number) => source.offset + bodyAt + n;
    // A template record needs at least its id and field count (v9 options: id and two lengths).
    const headLen = options ? 6 : 4;
    while (p + headLen <= body.length) {
      const id = body.readUInt16BE(p);
      if (id === 0 && isZero(body, p, body.length)) return; // padding
      const fields: TemplateField[] = [];
      let q: number;
      let bad: string | null = null;
      if (version === 9 && options) {
        const scopeLen = body.readUInt16BE(p + 2);
        const optLen = body.readUInt16BE(p + 4);
        q = p + 6;
        const stop = q + scopeLen + optLen;
        if ((scopeLen + optLen) % 4 !== 0 || stop > body.length) {
          sink.issue({
            message: `options template ${id} has bad lengths ${scopeLen}/${optLen}`,
            offset: where(p),
          });
          return;
        }
        for (; q + 4 <= stop; q += 4) {
          const fid = body.readUInt16BE(q);
          const flen = body.readUInt16BE(q + 2);
          fields.push({ id: q < p + 6 + scopeLen ? 0x10000 + fid : fid, length: flen, enterprise: false });
        }
        q = stop;
      } else {
        const count = body.readUInt16BE(p + 2);
        q = p + (version === 10 && options ? 6 : 4);
        if (version === 10 && count === 0) {
          // Template withdrawal (RFC 7011 §8.1).
          this.#templates.delete(`${scope}|${id}`);
          p = q;
          continue;
        }
        for (let i = 0; i < count; i++) {
          if (q + 4 > body.length) {
            bad = `template ${id} announces ${count} fields but the set ends after ${i}`;
            break;
          }
          let fid = body.readUInt16BE(q);
          const flen = body.readUInt16BE(q + 2);
          q += 4;
          let enterprise = false;
          if (version === 10 && fid & 0x8000) {
            if (q + 4 > body.length) {
              bad = `template ${id} field ${i} lacks its enterprise number`;
              break;
            }
            enterprise = true;
            fid &= 0x7fff;
            q += 4;
          }
          fields.push({ id: fid, length: version === 10 && flen === 0xffff ? -1 : flen, enterprise });
        }
      }
      if (bad) {
        sink.issue({ message: bad, offset: where(p) });
        return;
      }
      if (id < 256) bad = `template id ${id} is reserved (data templates start at 256)`;
      else if (fields.length > this.#maxTemplateFields)
        bad = `template ${id} has ${fields.length} fields (at most ${this.#maxTemplateFields} are accepted)`;
      else if (fields.length === 0 || fields.some((f) => f.length === 0))
        bad = `template ${id} has a zero-length field (or none)`;
      if (bad) sink.issue({ message: `${bad}; the template is ignored`, offset: where(p) });
      else this.#setTemplate(`${scope}|${id}`, fields, options, sink);
      p = q;
    }
  }

  #setTemplate(key: string, fields: TemplateField[], options: boolean, sink: DecodeSink): void {
    let minLength = 0;
    let variable = false;
    for (const f of fields) {
      if (f.length < 0) {
        variable = true;
        minLength += 1;
      } else minLength += f.length;
    }
    this.#templates.delete(key);
    this.#templates.set(key, { fields, minLength, variable, options });
    if (this.#templates.size > this.#maxTemplates) {
      const oldest = this.#templates.keys().next().value;
      if (oldest !== undefined) this.#templates.delete(oldest);
    }
    // Data sets that arrived before this template can be read now.
    if (this.#pending.some((p) => p.key === key)) {
      const waiting = this.#pending.filter((p) => p.key === key);
      for (const p of waiting) {
        this.#pending.splice(this.#pending.indexOf(p), 1);
        this.#pendingBytes -= p.data.length;
        this.#readData(p.data, p.version, p.key, p.base, p.source, p.setOffset, sink);
      }
    }
  }

  #reportOrphan(p: PendingSet, sink: DecodeSink): void {
    const id = p.key.slice(p.key.lastIndexOf('|') + 1);
    sink.issue({
      message: `data set for template ${id} came without its template (${p.data.length} bytes skipped)`,
      offset: p.source.offset + p.setOffset - 4,
    });
  }

  #readData(
    body: Buffer,
    version: 9 | 10,
    key: string,
    base: TimeBase,
    source: DatagramSource,
    bodyAt: number,
    sink: DecodeSink,
  ): void {
    const t = this.#templates.get(key);
    if (!t) {
      // Exporters send templates only now and then: hold the set until its template comes.
      const copy = Buffer.from(body);
      this.#pending.push({ key, version, data: copy, source, base, setOffset: bodyAt });
      this.#pendingBytes += copy.length;
      while (this.#pending.length > this.#maxPendingSets || this.#pendingBytes > this.#maxPendingBytes) {
        const old = this.#pending.shift()!;
        this.#pendingBytes -= old.data.length;
        this.#reportOrphan(old, sink);
      }
      return;
    }
    let p = 0;
    while (p + t.minLength <= body.length) {
      const d = newDraft();
      let q = p;
      let broken = false;
      for (const f of t.fields) {
        let len = f.length;
        if (len < 0) {
          if (q + 1 > body.length) {
            broken = true;
            break;
          }
          len = body[q]!;
          q += 1;
          if (len === 255) {
            if (q + 2 > body.length) {
              broken = true;
              break;
            }
            len = body.readUInt16BE(q);
            q += 2;
          }
        }
        if (q + len > body.length) {
          broken = true;
          break;
        }
        if (f.id < 0x10000) applyField(d, f, body, q, len);
        q += len;
      }
      if (broken) {
        // Variable-length records may leave padding shorter than a record: only report real cut-offs.
        if (!isZero(body, p, body.length))
          sink.issue({
            message: `record at +${bodyAt + p} of template ${key.slice(key.lastIndexOf('|') + 1)} runs past the end of its set`,
            offset: source.offset + bodyAt + p,
          });
        return;
      }
      if (t.options) {
        if (d.sysInit !== null) {
          this.#sysInit.delete(base.scope);
          this.#sysInit.set(base.scope, d.sysInit);
          // One entry per exporter and domain, bounded like the templates.
          if (this.#sysInit.size > this.#maxTemplates) {
            const oldest = this.#sysInit.keys().next().value;
            if (oldest !== undefined) this.#sysInit.delete(oldest);
          }
        }
      } else this.#emit(d, version, base, source.offset, sink);
      p = q;
    }
  }
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}
