import type { ParseIssue } from '../observation.ts';

/**
 * The stored-datagram file format: each exported UDP datagram as a 4-byte big-endian length followed
 * by the datagram, back to back (what `../shared/fixtures/real-tools/netflow-*.bin` hold, and what
 * `portcullis` users get from a capture of an export stream with the same framing).
 */

/** Largest datagram a length prefix may announce (a UDP payload is at most 65,507 bytes). */
export const MAX_DATAGRAM = 65_535;

/** Smallest export datagram with a header: an IPFIX message header is 16 bytes. */
const MIN_DATAGRAM = 16;

/**
 * True when a frame plausibly starts at `at`: a length a datagram can have, then an export version
 * (5, 9 or 10) whose own header agrees with that length where it says one (v5 record count, IPFIX
 * message length). Needs 8 bytes at `at`.
 */
export function plausibleFrame(buf: Buffer, at: number): boolean {
  if (at + 8 > buf.length) return false;
  const len = buf.readUInt32BE(at);
  if (len < MIN_DATAGRAM || len > MAX_DATAGRAM) return false;
  const version = buf.readUInt16BE(at + 4);
  const second = buf.readUInt16BE(at + 6);
  if (version === 5) return second >= 1 && second <= 30 && len >= 24 + 48 * second;
  if (version === 9) return len >= 20 && second <= 1000;
  if (version === 10) return second === len;
  return false;
}

/** Splits a stream of chunks in the stored-datagram format into datagrams, in constant memory. */
export class DatagramFramer {
  #buf: Buffer = Buffer.alloc(0);
  /** Input offset of `#buf[0]`. */
  #base = 0;
  /** Where junk being skipped started (null when in sync). */
  #junkFrom: number | null = null;

  /** Feeds one chunk; calls `datagram` for each complete frame (its payload and the frame's offset). */
  push(chunk: Buffer, datagram: (d: Buffer, offset: number) => void, issue: (i: ParseIssue) => void): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    let p = 0;
    const buf = this.#buf;
    for (;;) {
      if (this.#junkFrom !== null) {
        // Out of sync: look for the next plausible frame header.
        while (p + 8 <= buf.length && !plausibleFrame(buf, p)) p++;
        if (p + 8 > buf.length) break;
        this.#reportJunk(this.#base + p, issue);
      }
      if (p + 4 > buf.length) break;
      const len = buf.readUInt32BE(p);
      if (p + 8 <= buf.length && !plausibleFrame(buf, p)) {
        this.#junkFrom = this.#base + p;
        p++;
        continue;
      }
      if (p + 8 > buf.length) break;
      if (p + 4 + len > buf.length) break;
      datagram(buf.subarray(p + 4, p + 4 + len), this.#base + p);
      p += 4 + len;
    }
    // Keep the unread tail (at most one frame) for the next chunk.
    this.#buf = p >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(p));
    this.#base += p;
  }

  /** The end of the input: reports a cut-off frame (after handing its bytes to `partial`) or junk. */
  end(partial: (d: Buffer, offset: number) => void, issue: (i: ParseIssue) => void): void {
    const buf = this.#buf;
    if (this.#junkFrom !== null) {
      this.#reportJunk(this.#base + buf.length, issue);
    } else if (buf.length > 0) {
      if (buf.length >= 8 && plausibleFrame(buf, 0)) {
        const len = buf.readUInt32BE(0);
        issue({
          message: `datagram at byte ${this.#base} claims ${len} bytes but the input ends after ${buf.length - 4}; the complete records in it are kept`,
          offset: this.#base,
        });
        partial(buf.subarray(4), this.#base);
      } else {
        issue({
          message: `${buf.length} trailing byte(s) are not a complete datagram length and header`,
          offset: this.#base,
        });
      }
    }
    this.#base += buf.length;
    this.#buf = Buffer.alloc(0);
  }

  #reportJunk(until: number, issue: (i: ParseIssue) => void): void {
    const from = this.#junkFrom!;
    this.#junkFrom = null;
    issue({
      message: `${until - from} byte(s) at byte ${from} are not a length-prefixed NetFlow/IPFIX datagram; skipped to the next one`,
      offset: from,
    });
  }
}

/**
 * True when `head` (the first bytes of an input) is a stored-datagram file: a plausible frame at byte
 * 0 and, when the head reaches past the first frame, a plausible frame right after it. Text formats
 * never match: their first byte is printable, which makes the length prefix far above 65,535.
 */
export function looksLikeDatagramFile(head: Buffer): boolean {
  if (!plausibleFrame(head, 0)) return false;
  const next = 4 + head.readUInt32BE(0);
  return head.length < next + 8 || plausibleFrame(head, next);
}
