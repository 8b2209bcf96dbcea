// A streaming reader of libpcap and pcapng capture files, written here rather than taken from npm:
// the registry's candidates (`pcap-parser` 0.2, classic format only; `pcap-ng-parser` 1.0, a single
// release without simple or obsolete packet blocks, `if_tsresol` or multiple sections) either miss
// pcapng or big parts of it, and none reports damage with byte offsets and carries on. The formats
// are small and fully specified (libpcap's pcap-savefile(5) and draft-ietf-opsawg-pcapng), so this
// reader follows the specifications directly.

import type { ParseIssue } from '../observation.ts';

/** One captured packet, as the capture file stores it. */
export interface CapturedPacket {
  /** LINKTYPE_ value of the interface the packet was captured on. */
  linkType: number;
  /** The captured bytes (at most the snapshot length; a view into the reader's buffers). */
  data: Buffer;
  /** The packet's length on the wire (may exceed `data.length` when the capture was cut at snaplen). */
  origLen: number;
  /** Capture time in milliseconds since the epoch (fractional), or null when the block carries none. */
  timeMs: number | null;
  /** Byte offset of the packet's record or block in the capture file. */
  offset: number;
}

/** What the reader yields: packets, and located problems it stepped over. */
export type CaptureEvent = { kind: 'packet'; packet: CapturedPacket } | { kind: 'issue'; issue: ParseIssue };

/** Largest record or block accepted; anything larger is taken as a lying length field. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
// How far the reader searches for the next plausible record after damage before giving up.
const RESYNC_LIMIT = 4 * 1024 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
// Alexey Kuznetzov's patched libpcap: same header, eight more bytes per record header.
const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;

// Module-level readers rather than closures per record: the hot path allocates nothing for them.
function u32(b: Buffer, o: number, le: boolean): number {
  return le ? b.readUInt32LE(o) : b.readUInt32BE(o);
}
function u16(b: Buffer, o: number, le: boolean): number {
  return le ? b.readUInt16LE(o) : b.readUInt16BE(o);
}

/** Which capture container `head` starts with, from its magic number, or null. */
export function captureKind(head: Buffer): 'pcap' | 'pcapng' | null {
  if (head.length < 4) return null;
  const be = head.readUInt32BE(0);
  const le = head.readUInt32LE(0);
  if (be === PCAPNG_SHB) {
    if (head.length < 12) return 'pcapng';
    const bom = head.readUInt32BE(8);
    return bom === PCAPNG_BOM || head.readUInt32LE(8) === PCAPNG_BOM ? 'pcapng' : null;
  }
  for (const m of [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV])
    if (be === m || le === m) return 'pcap';
  return null;
}

/**
 * Milliseconds of a 64-bit timestamp `hi`·2^32 + `lo` in units of 1/`unitsPerSec` s. Whole seconds
 * come from an exact long division in base 2^16, since nanosecond timestamps exceed 2^53.
 */
export function ticksToMs(hi: number, lo: number, unitsPerSec: number): number {
  if (hi < 0x200000) {
    const t = hi * 4294967296 + lo;
    const rem = t % unitsPerSec;
    return ((t - rem) / unitsPerSec) * 1000 + (rem * 1000) / unitsPerSec;
  }
  let q = 0;
  let r = 0;
  for (const d of [hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff]) {
    const cur = r * 65536 + d;
    const qd = Math.floor(cur / unitsPerSec);
    r = cur - qd * unitsPerSec;
    q = q * 65536 + qd;
  }
  return q * 1000 + (r * 1000) / unitsPerSec;
}

/**
 * The bytes not yet read, as a queue of chunks: peeking at the front copies only when a record spans
 * chunks, so memory stays at one record plus one chunk whatever the size of the capture.
 */
class ByteQueue {
  #chunks: Buffer[] = [];
  #head = 0;
  length = 0;
  /** Absolute offset (in the whole input) of the first byte in the queue. */
  offset = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.#chunks.push(b);
    this.length += b.length;
  }

  /** The first `n` bytes (n ≤ length) as one buffer. */
  peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const parts: Buffer[] = [];
    let have = 0;
    let i = 0;
    while (have < n) {
      const c = i === 0 ? first.subarray(this.#head) : this.#chunks[i]!;
      parts.push(c);
      have += c.length;
      i++;
    }
    const joined = Buffer.concat(parts, have);
    this.#chunks.splice(0, i, joined);
    this.#head = 0;
    return joined.subarray(0, n);
  }

  skip(n: number): void {
    this.length -= n;
    this.offset += n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      const left = first.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }
}

interface Interface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second (if_tsresol; default 10^6). */
  unitsPerSec: number;
  /** if_tsoffset, in milliseconds. */
  offsetMs: number;
}

type ReadState =
  | { kind: 'start' }
  | {
      kind: 'pcap';
      le: boolean;
      /** Units per second of the sub-second field: 10^6, or 10^9 for the nanosecond magic. */
      unitsPerSec: number;
      recordHeader: number;
      snapLen: number;
      linkType: number;
      /** Seconds of the last good record, to judge candidates while resynchronising. */
      lastSec: number | null;
    }
  | { kind: 'pcapng'; le: boolean; interfaces: Interface[]; lastTimeMs: number | null }
  | { kind: 'done' };

/** Why a step could not complete: more input is needed, or it did something and the loop goes on. */
const NEED_MORE = 0;
const PROGRESS = 1;

/**
 * Reads a capture from its chunks, pushed in order; `drain` yields what the bytes so far contain.
 * Classic libpcap (both byte orders, microsecond, nanosecond and Kuznetzov magic) and pcapng (sections
 * of either byte order, interfaces with their link type, snapshot length, `if_tsresol` and
 * `if_tsoffset`; enhanced, simple and obsolete packet blocks; other blocks skipped by their length).
 */
export class CaptureReader {
  readonly #q = new ByteQueue();
  #state: ReadState = { kind: 'start' };
  #pending: CaptureEvent[] = [];
  /** Bytes being skipped while searching for the next plausible record after damage. */
  #resyncing: { from: number; quiet?: boolean } | null = null;
  /** Set once the input has ended: a search for the next record then cannot wait for more bytes. */
  #ended = false;

  push(chunk: Buffer): void {
    this.#q.push(chunk);
  }

  /** The events the bytes pushed so far make complete. */
  *drain(): Generator<CaptureEvent> {
    for (;;) {
      const r = this.#step();
      while (this.#pending.length) yield this.#pending.shift()!;
      if (r === NEED_MORE) return;
    }
  }

  /** Call once the input has ended: reports a record cut short by the end of the input. */
  *finish(): Generator<CaptureEvent> {
    this.#ended = true;
    for (;;) {
      yield* this.drain();
      const s = this.#state;
      if ((s.kind !== 'pcap' && s.kind !== 'pcapng') || this.#resyncing || this.#q.length === 0) break;
      // The input ended inside a record: the capture was cut, or a length field lies. Either way the
      // rest is searched for records, quietly: the issue below already tells what happened.
      const unit = s.kind === 'pcap' ? 'record' : 'block';
      yield this.#issue(
        `capture truncated: ${this.#q.length} bytes at the end are an incomplete ${unit} (or its length field lies)`,
        this.#q.offset,
      );
      this.#resyncing = { from: this.#q.offset, quiet: true };
      this.#q.skip(s.kind === 'pcap' ? 1 : Math.min(4, this.#q.length));
    }
    const s = this.#state;
    if (s.kind === 'start' && this.#q.length > 0) {
      yield this.#issue('not a packet capture: the input is too short for a pcap or pcapng header', 0);
    } else if (this.#resyncing && !this.#resyncing.quiet) {
      yield this.#issue(
        `no further valid record found after the damage at byte ${this.#resyncing.from}`,
        this.#resyncing.from,
      );
    }
    this.#state = { kind: 'done' };
  }

  #issue(message: string, offset: number): CaptureEvent {
    return { kind: 'issue', issue: { message, offset } };
  }

  #step(): number {
    const s = this.#state;
    if (s.kind === 'done') {
      if (this.#q.length) this.#q.skip(this.#q.length);
      return NEED_MORE;
    }
    if (s.kind === 'start') return this.#start();
    if (this.#resyncing) return s.kind === 'pcap' ? this.#resyncPcap(s) : this.#resyncPcapng(s);
    return s.kind === 'pcap' ? this.#pcapRecord(s) : this.#pcapngBlock(s);
  }

  #start(): number {
    const q = this.#q;
    if (q.length < 4) return NEED_MORE;
    const kind = captureKind(q.peek(Math.min(q.length, 12)));
    if (kind === null || (kind === 'pcapng' && q.length < 12)) {
      if (kind === null) {
        this.#pending.push(
          this.#issue('not a packet capture: no pcap or pcapng magic number at the start', 0),
        );
        this.#state = { kind: 'done' };
        return PROGRESS;
      }
      return NEED_MORE;
    }
    if (kind === 'pcapng') {
      const le = q.peek(12).readUInt32LE(8) === PCAPNG_BOM;
      this.#state = { kind: 'pcapng', le, interfaces: [], lastTimeMs: null };
      return PROGRESS;
    }
    if (q.length < 24) return NEED_MORE;
    const h = q.peek(24);
    const le =
      h.readUInt32LE(0) === PCAP_MAGIC_US ||
      h.readUInt32LE(0) === PCAP_MAGIC_NS ||
      h.readUInt32LE(0) === PCAP_MAGIC_KUZNETZOV;
    const magic = le ? h.readUInt32LE(0) : h.readUInt32BE(0);
    const snapLen = u32(h, 16, le);
    this.#state = {
      kind: 'pcap',
      le,
      unitsPerSec: magic === PCAP_MAGIC_NS ? 1e9 : 1e6,
      recordHeader: magic === PCAP_MAGIC_KUZNETZOV ? 24 : 16,
      // Some writers leave snaplen 0; the record length limit then applies alone.
      snapLen: snapLen === 0 || snapLen > MAX_BLOCK_BYTES ? MAX_BLOCK_BYTES : snapLen,
      // The link type is the low 16 bits; the upper bits may carry the FCS length.
      linkType: u32(h, 20, le) & 0xffff,
      lastSec: null,
    };
    q.skip(24);
    return PROGRESS;
  }

  /** Whether the classic record header at `h` is believable (used for every record and for resync). */
  #plausiblePcap(s: Extract<ReadState, { kind: 'pcap' }>, h: Buffer): boolean {
    const frac = u32(h, 4, s.le);
    const incl = u32(h, 8, s.le);
    const orig = u32(h, 12, s.le);
    if (incl > s.snapLen + 65535 || incl > MAX_BLOCK_BYTES) return false;
    if (frac >= s.unitsPerSec) return false;
    // Writers store orig >= incl; a few trim both. A record claiming less on the wire is damage.
    if (orig < incl && orig !== 0) return false;
    return true;
  }

  #pcapRecord(s: Extract<ReadState, { kind: 'pcap' }>): number {
    const q = this.#q;
    const hl = s.recordHeader;
    if (q.length < hl) return NEED_MORE;
    const h = q.peek(hl);
    if (!this.#plausiblePcap(s, h)) {
      this.#pending.push(
        this.#issue(
          `damaged record header (captured length ${s.le ? h.readUInt32LE(8) : h.readUInt32BE(8)}, snapshot length ${s.snapLen}); searching for the next record`,
          q.offset,
        ),
      );
      this.#resyncing = { from: q.offset };
      q.skip(1);
      return PROGRESS;
    }
    const incl = u32(h, 8, s.le);
    if (q.length < hl + incl) return NEED_MORE;
    const sec = u32(h, 0, s.le);
    const frac = u32(h, 4, s.le);
    const rec = q.peek(hl + incl);
    const offset = q.offset;
    s.lastSec = sec;
    this.#pending.push({
      kind: 'packet',
      packet: {
        linkType: s.linkType,
        data: rec.subarray(hl),
        origLen: Math.max(u32(h, 12, s.le), incl),
        timeMs: sec * 1000 + (frac * 1000) / s.unitsPerSec,
        offset,
      },
    });
    q.skip(hl + incl);
    return PROGRESS;
  }

  // After damage in a classic capture: a candidate header must be plausible, close in time to the
  // last good record, and be followed by another plausible header (or the end of the input).
  #resyncPcap(s: Extract<ReadState, { kind: 'pcap' }>): number {
    const q = this.#q;
    const hl = s.recordHeader;
    const from = this.#resyncing!.from;
    for (;;) {
      if (q.offset - from > RESYNC_LIMIT) return this.#giveUp(from);
      if (q.length < hl) return this.#endSearch();
      const h = q.peek(hl);
      const sec = u32(h, 0, s.le);
      const closeInTime = s.lastSec === null || Math.abs(sec - s.lastSec) < 86400;
      if (this.#plausiblePcap(s, h) && closeInTime) {
        const incl = u32(h, 8, s.le);
        const lastRecord = this.#ended && q.length === hl + incl;
        if (q.length < hl + incl + hl && !this.#ended) return NEED_MORE;
        let follows = lastRecord;
        if (q.length >= hl + incl + hl) {
          const next = q.peek(hl + incl + hl).subarray(hl + incl);
          const nsec = s.le ? next.readUInt32LE(0) : next.readUInt32BE(0);
          follows = this.#plausiblePcap(s, next) && Math.abs(nsec - sec) < 86400;
        }
        if (follows) {
          this.#resyncing = null;
          return PROGRESS;
        }
      }
      q.skip(1);
    }
  }

  /** Out of bytes while searching: wait for more, or at the end of the input drop the rest. */
  #endSearch(): number {
    if (this.#ended) this.#q.skip(this.#q.length);
    return NEED_MORE;
  }

  #giveUp(from: number): number {
    this.#pending.push(
      this.#issue(
        `no valid record within ${RESYNC_LIMIT} bytes after the damage at byte ${from}; the rest is not read`,
        from,
      ),
    );
    this.#resyncing = null;
    this.#state = { kind: 'done' };
    return PROGRESS;
  }

  #pcapngBlock(s: Extract<ReadState, { kind: 'pcapng' }>): number {
    const q = this.#q;
    if (q.length < 12) return NEED_MORE;
    const head = q.peek(12);
    const rawType = head.readUInt32BE(0);
    if (rawType === PCAPNG_SHB) {
      // A new section may change the byte order: its byte-order magic says which.
      const bomLe = head.readUInt32LE(8) === PCAPNG_BOM;
      const bomBe = head.readUInt32BE(8) === PCAPNG_BOM;
      if (!bomLe && !bomBe) return this.#damagedBlock('section header without a byte-order magic');
      s.le = bomLe;
    }
    const type = s.le ? head.readUInt32LE(0) : head.readUInt32BE(0);
    const len = s.le ? head.readUInt32LE(4) : head.readUInt32BE(4);
    if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES)
      return this.#damagedBlock(`block of type 0x${type.toString(16)} has an impossible length ${len}`);
    if (q.length < len) return NEED_MORE;
    const block = q.peek(len);
    const trailer = s.le ? block.readUInt32LE(len - 4) : block.readUInt32BE(len - 4);
    if (trailer !== len)
      return this.#damagedBlock(
        `block of type 0x${type.toString(16)} says ${len} bytes at its start and ${trailer} at its end`,
      );
    const offset = q.offset;
    const problem = this.#pcapngBody(s, type, block, offset);
    if (problem) this.#pending.push(this.#issue(problem, offset));
    q.skip(len);
    return PROGRESS;
  }

  #damagedBlock(why: string): number {
    const q = this.#q;
    this.#pending.push(this.#issue(`${why}; searching for the next block`, q.offset));
    this.#resyncing = { from: q.offset };
    // Blocks are 32-bit aligned, so the search steps four bytes at a time.
    q.skip(Math.min(4, q.length));
    return PROGRESS;
  }

  // After damage in pcapng: a candidate is a packet, interface or section block whose leading and
  // trailing lengths agree.
  #resyncPcapng(s: Extract<ReadState, { kind: 'pcapng' }>): number {
    const q = this.#q;
    const from = this.#resyncing!.from;
    for (;;) {
      if (q.offset - from > RESYNC_LIMIT) return this.#giveUp(from);
      if (q.length < 12) return this.#endSearch();
      const head = q.peek(12);
      let le = s.le;
      const rawType = head.readUInt32BE(0);
      if (rawType === PCAPNG_SHB) {
        if (head.readUInt32LE(8) === PCAPNG_BOM) le = true;
        else if (head.readUInt32BE(8) === PCAPNG_BOM) le = false;
      }
      const type = le ? head.readUInt32LE(0) : head.readUInt32BE(0);
      const len = le ? head.readUInt32LE(4) : head.readUInt32BE(4);
      const known =
        type === PCAPNG_SHB ||
        type === BLOCK_IDB ||
        type === BLOCK_EPB ||
        type === BLOCK_SPB ||
        type === BLOCK_PB;
      if (known && len >= 12 && len % 4 === 0 && len <= MAX_BLOCK_BYTES) {
        if (q.length < len && !this.#ended) return NEED_MORE;
        const trailer =
          q.length < len ? -1 : le ? q.peek(len).readUInt32LE(len - 4) : q.peek(len).readUInt32BE(len - 4);
        if (trailer === len) {
          this.#resyncing = null;
          return PROGRESS;
        }
      }
      q.skip(Math.min(4, q.length));
    }
  }

  /** Handles one complete block; returns a problem to report, or null. */
  #pcapngBody(
    s: Extract<ReadState, { kind: 'pcapng' }>,
    type: number,
    b: Buffer,
    offset: number,
  ): string | null {
    const le = s.le;
    const end = b.length - 4;
    switch (type) {
      case PCAPNG_SHB: {
        if (b.length < 28) return `section header block too short (${b.length} bytes)`;
        s.interfaces = [];
        const major = u16(b, 12, le);
        if (major !== 1) return `section header version ${major}.${u16(b, 14, le)} is not 1.x; reading on`;
        return null;
      }
      case BLOCK_IDB: {
        if (b.length < 20) return `interface description block too short (${b.length} bytes)`;
        const iface: Interface = {
          linkType: u16(b, 8, le),
          snapLen: u32(b, 12, le),
          unitsPerSec: 1e6,
          offsetMs: 0,
        };
        // Options: code, length, value padded to 32 bits, until opt_endofopt or the block's end.
        let o = 16;
        while (o + 4 <= end) {
          const code = u16(b, o, le);
          const olen = u16(b, o + 2, le);
          if (code === 0 || o + 4 + olen > end) break;
          if (code === 9 && olen >= 1) {
            const r = b[o + 4]!;
            const exp = r & 0x7f;
            // High bit clear: 10^-exp seconds per unit; set: 2^-exp.
            const ups = r & 0x80 ? Math.pow(2, exp) : Math.pow(10, exp);
            // Finer than 2^-53 s cannot be exact in a double; no capture tool writes that.
            if (ups > 0 && ups <= Number.MAX_SAFE_INTEGER) iface.unitsPerSec = ups;
          } else if (code === 14 && olen >= 8) {
            const hi = le ? b.readInt32LE(o + 8) : b.readInt32BE(o + 4);
            const lo = le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 8);
            iface.offsetMs = (hi * 4294967296 + lo) * 1000;
          }
          o += 4 + olen + ((4 - (olen % 4)) % 4);
        }
        s.interfaces.push(iface);
        return null;
      }
      case BLOCK_EPB:
      case BLOCK_PB: {
        if (b.length < 32) return `packet block too short (${b.length} bytes)`;
        const ifIndex = type === BLOCK_EPB ? u32(b, 8, le) : u16(b, 8, le);
        const iface = s.interfaces[ifIndex];
        if (!iface) return `packet block names interface ${ifIndex}, which no interface block described`;
        const hi = u32(b, 12, le);
        const lo = u32(b, 16, le);
        const cap = u32(b, 20, le);
        const orig = u32(b, 24, le);
        if (28 + cap > end) return `packet block claims ${cap} captured bytes but holds ${end - 28}`;
        const timeMs = ticksToMs(hi, lo, iface.unitsPerSec) + iface.offsetMs;
        s.lastTimeMs = timeMs;
        this.#pending.push({
          kind: 'packet',
          packet: {
            linkType: iface.linkType,
            data: b.subarray(28, 28 + cap),
            origLen: Math.max(orig, cap),
            timeMs,
            offset,
          },
        });
        return null;
      }
      case BLOCK_SPB: {
        const iface = s.interfaces[0];
        if (!iface) return 'simple packet block before any interface block';
        if (b.length < 16) return `simple packet block too short (${b.length} bytes)`;
        const orig = u32(b, 8, le);
        let cap = Math.min(orig, end - 12);
        if (iface.snapLen > 0) cap = Math.min(cap, iface.snapLen);
        // A simple packet block carries no time; captures are in time order, so the previous
        // packet's time is the best estimate there is.
        this.#pending.push({
          kind: 'packet',
          packet: {
            linkType: iface.linkType,
            data: b.subarray(12, 12 + cap),
            origLen: orig,
            timeMs: s.lastTimeMs,
            offset,
          },
        });
        return null;
      }
      default:
        // Name resolution, statistics, decryption secrets, custom blocks…: nothing to read here.
        return null;
    }
  }
}

/**
 * The packets of a capture file given as chunks, in file order, with located issues for damage.
 * Constant memory: at most one block (≤ {@link MAX_BLOCK_BYTES}) plus one chunk is held.
 */
export async function* readCapture(input: AsyncIterable<Buffer | string>): AsyncGenerator<CaptureEvent> {
  const reader = new CaptureReader();
  for await (const chunk of input) {
    reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    yield* reader.drain();
  }
  yield* reader.finish();
}
