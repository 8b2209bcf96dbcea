import type { EvidenceGrade, Observation, Protocol } from '../observation.ts';
import { TCP_ACK, TCP_RST, TCP_SYN, type DecodedPacket } from './packet.decoder.ts';

/**
 * The rules by which packets prove (or disprove) a listener:
 *
 * - **strong, `syn-ack`**: a TCP segment with SYN and ACK set (and not RST) proves that its source
 *   address:port listens — only a listening socket answers a SYN that way. The segment need not
 *   follow a captured SYN (the capture may start mid-handshake).
 * - **negative, `rst to syn`**: a RST from address:port answering a SYN that address:port received from
 *   the same peer, with no SYN-ACK between, shows that nothing listens there. A client's own RST
 *   (e.g. after a connect scan) answers no SYN it received and proves nothing.
 * - **negative, `icmp port unreachable`**: an ICMP/ICMPv6 port unreachable quoting a UDP datagram shows
 *   nothing listens on the quoted destination's UDP port.
 * - **weak, `udp reply`**: a UDP datagram sent from address:port back to a peer that sent to it first
 *   (the peer spoke first in that conversation) suggests a UDP service there. It is never more than
 *   weak: a UDP client talking to a peer that sent first looks the same on the wire. The side that
 *   spoke first (the client, with its ephemeral port) never gets evidence.
 *
 * The state needed (handshakes waiting for an answer, UDP conversations) is kept in maps of bounded
 * size that forget the oldest entries first, so memory stays bounded on any capture.
 */
export const PCAP_RULES = 'syn-ack strong; rst to syn and icmp port unreachable negative; udp reply weak';

/** Default bound of each state map (pending SYNs, UDP conversations, aggregated listeners). */
export const DEFAULT_STATE_LIMIT = 200_000;

interface Aggregate {
  host: string;
  protocol: Protocol;
  port: number;
  grade: EvidenceGrade;
  reason: string;
  firstMs: number | null;
  lastMs: number | null;
  /** Byte offset of the packet that first showed it. */
  offset: number;
}

const GRADE_SLOT: Record<EvidenceGrade, number> = { strong: 0, weak: 1, negative: 2 };

/** One number for (protocol, grade, port) within a host. */
function slot(protocol: Protocol, grade: EvidenceGrade, port: number): number {
  return ((protocol === 'tcp' ? 0 : protocol === 'udp' ? 1 : 2) * 3 + GRADE_SLOT[grade]) * 65536 + port;
}

/** Sets `key` in a map bounded to `limit` entries, forgetting the oldest entry when full. */
function setBounded<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  if (!map.has(key) && map.size >= limit) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

/**
 * Turns decoded packets into aggregated observations: one per (host, protocol, port, grade) with the
 * first and latest time it was seen, instead of one per packet.
 */
export class ListenerInference {
  readonly #limit: number;
  /** SYNs received by `dst|dport|src|sport`, waiting for a SYN-ACK or RST. */
  readonly #pendingSyn = new Map<string, true>();
  /** UDP conversations by their endpoint pair, valued with the endpoint that spoke first. */
  readonly #udp = new Map<string, string>();
  /** Aggregates by host, then by {@link slot} (no key string per packet). */
  readonly #found = new Map<string, Map<number, Aggregate>>();
  #foundCount = 0;

  constructor(limit = DEFAULT_STATE_LIMIT) {
    this.#limit = limit;
  }

  /** True when the aggregate has reached its bound and should be flushed with {@link take}. */
  get full(): boolean {
    return this.#foundCount >= this.#limit;
  }

  /** Takes one decoded packet seen at `timeMs` (null when unknown) at byte `offset` of the capture. */
  add(p: DecodedPacket, timeMs: number | null, offset: number): void {
    if (p.protocol === 'port-unreachable') {
      this.#note(p.host, 'udp', p.port, 'negative', 'icmp port unreachable', timeMs, offset);
      return;
    }
    if (p.protocol === 'tcp') {
      const f = p.flags;
      if (f & TCP_SYN && !(f & TCP_RST)) {
        if (f & TCP_ACK) {
          this.#pendingSyn.delete(`${p.src}|${p.srcPort}|${p.dst}|${p.dstPort}`);
          this.#note(p.src, 'tcp', p.srcPort, 'strong', 'syn-ack', timeMs, offset);
        } else {
          setBounded(this.#pendingSyn, `${p.dst}|${p.dstPort}|${p.src}|${p.srcPort}`, true, this.#limit);
        }
      } else if (f & TCP_RST && this.#pendingSyn.size > 0) {
        const key = `${p.src}|${p.srcPort}|${p.dst}|${p.dstPort}`;
        if (this.#pendingSyn.delete(key))
          this.#note(p.src, 'tcp', p.srcPort, 'negative', 'rst to syn', timeMs, offset);
      }
      return;
    }
    const from = `${p.src}|${p.srcPort}`;
    const to = `${p.dst}|${p.dstPort}`;
    const conv = from < to ? `${from}|${to}` : `${to}|${from}`;
    const first = this.#udp.get(conv);
    if (first === undefined) setBounded(this.#udp, conv, from, this.#limit);
    else if (first !== from) this.#note(p.src, 'udp', p.srcPort, 'weak', 'udp reply', timeMs, offset);
  }

  #note(
    host: string,
    protocol: Protocol,
    port: number,
    grade: EvidenceGrade,
    reason: string,
    timeMs: number | null,
    offset: number,
  ): void {
    let byHost = this.#found.get(host);
    if (!byHost) this.#found.set(host, (byHost = new Map()));
    const key = slot(protocol, grade, port);
    const a = byHost.get(key);
    if (!a) {
      byHost.set(key, { host, protocol, port, grade, reason, firstMs: timeMs, lastMs: timeMs, offset });
      this.#foundCount++;
      return;
    }
    if (timeMs === null) return;
    if (a.firstMs === null || timeMs < a.firstMs) a.firstMs = timeMs;
    if (a.lastMs === null || timeMs > a.lastMs) a.lastMs = timeMs;
  }

  /**
   * The observations gathered so far, and forgets them. Positive evidence comes first, as two
   * observations (first and latest sighting) when the times differ; negative evidence comes last
   * with its latest time, so a port that closed after it was seen open ends up closed.
   */
  take(): Observation[] {
    const positive: Observation[] = [];
    const negative: Observation[] = [];
    for (const byHost of this.#found.values())
      for (const a of byHost.values()) {
        const base = {
          host: a.host,
          protocol: a.protocol,
          port: a.port,
          source: 'pcap' as const,
          grade: a.grade,
          reason: a.reason,
          offset: a.offset,
        };
        const at = (ms: number | null) => (ms === null ? null : new Date(Math.floor(ms)));
        if (a.grade === 'negative') {
          negative.push({ ...base, seenAt: at(a.lastMs) });
          continue;
        }
        positive.push({ ...base, seenAt: at(a.firstMs) });
        if (a.lastMs !== null && a.firstMs !== null && Math.floor(a.lastMs) !== Math.floor(a.firstMs))
          positive.push({ ...base, seenAt: at(a.lastMs) });
      }
    this.#found.clear();
    this.#foundCount = 0;
    return [...positive, ...negative];
  }
}
