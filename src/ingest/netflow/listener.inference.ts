import type { Observation } from '../observation.ts';
import { TCP_ACK, TCP_RST, TCP_SYN, type FlowRecord } from './netflow.decoder.ts';

/**
 * Which endpoint of a flow listens, from unidirectional flow records.
 *
 * Flow exporters report each direction of a connection as its own record, with the TCP flags of all
 * its packets ORed together. softflowd, for one, gives both directions the same start and end time.
 * So a flow with SYN and ACK is not by itself a server's reply: the client's own flow also carries
 * SYN (its first packet) and ACK (every later one). The rule pairs the two directions of a
 * connection (the same 5-tuple reversed) and names the responder:
 *
 * TCP, both directions seen:
 * 1. Only one direction has SYN+ACK and the other has SYN (e.g. a half-open scan, SYN then RST):
 *    the SYN+ACK direction is the server's reply. `strong`, "syn-ack flow".
 * 2. Both directions have SYN+ACK (a completed handshake):
 *    a. a direction of exactly one packet is the responder: one packet cannot be both the client's
 *       SYN and its ACK, so a one-packet SYN+ACK flow is a lone SYN-ACK;
 *    b. otherwise, when the records' start times differ, the later one is the responder (exporters
 *       that time each direction separately; the client's SYN always comes first);
 *    otherwise (softflowd: identical times) the connection is held until the end of the input (two
 *    collector rounds live), then:
 *    c. an endpoint shown to listen by another connection (rules 1, 2a, 2b) is the responder;
 *    d. else nfdump's own guess for bidirectional flows (`nfdump -B`): the endpoint whose port is
 *       below 1024, 32768 or 49152 while the other's is not; else it proves nothing.
 *    (So a listener on a high port that a scanner first proved with a lone SYN-ACK is not mistaken
 *    for the client when the scanner's later full session has the lower port.)
 * 3. One direction has SYN and the other answers RST without SYN: nothing listens there
 *    (`negative`, "rst answer to syn"), as a closed port answers.
 * Anything else (SYN alone: filtered or unanswered; mid-stream flows without SYN) proves nothing.
 *
 * TCP, one direction only (the other direction never exported, or not routed past the exporter):
 * a one-packet SYN+ACK flow is a lone SYN-ACK, `strong`; nothing else is judged.
 *
 * UDP: a flow proves traffic, not a socket. When both directions carry packets, the responder is
 * chosen as in 2b–2d and graded `weak` ("udp reply flow"); a direction without reply (udp/514 that
 * never answers) proves nothing.
 */

/** What one judged connection shows. */
export interface Verdict {
  /** The flow sent by the endpoint the verdict is about. */
  flow: FlowRecord;
  grade: Observation['grade'];
  reason: string;
}

const PROTO_TCP = 6;
const PROTO_UDP = 17;

const has = (f: FlowRecord, bits: number) => (f.tcpFlags & bits) === bits;

/** nfdump's port-range guess: 1 when `a` is the server side, -1 when `b` is, 0 when it cannot say. */
export function portRangeGuess(a: number, b: number): number {
  for (const edge of [1024, 32768, 49152]) {
    if (a < edge && b >= edge) return 1;
    if (b < edge && a >= edge) return -1;
  }
  return 0;
}

/** The responder of a two-way exchange by 2a–2b; null when those cannot tell. */
function pickResponder(x: FlowRecord, y: FlowRecord, tcp: boolean): { flow: FlowRecord; how: string } | null {
  if (tcp) {
    if (x.packets === 1 && y.packets !== 1) return { flow: x, how: '' };
    if (y.packets === 1 && x.packets !== 1) return { flow: y, how: '' };
  }
  if (x.start !== null && y.start !== null && x.start !== y.start)
    return { flow: x.start > y.start ? x : y, how: ', started later' };
  return null;
}

/**
 * Judges one connection: `x` and its reverse `y` (null when only one direction was seen). Returns
 * the verdicts, or 'undecided' for a two-way connection that rules 2a–2b cannot orient (2c and 2d
 * need the rest of the input: {@link ListenerInference}).
 */
export function judgeConnection(x: FlowRecord, y: FlowRecord | null): Verdict[] | 'undecided' {
  if (x.protocol === PROTO_TCP) {
    if (!y) {
      return has(x, TCP_SYN | TCP_ACK) && x.packets === 1
        ? [{ flow: x, grade: 'strong', reason: 'syn-ack flow' }]
        : [];
    }
    const xSA = has(x, TCP_SYN | TCP_ACK);
    const ySA = has(y, TCP_SYN | TCP_ACK);
    if (xSA && ySA) {
      const r = pickResponder(x, y, true);
      return r ? [{ flow: r.flow, grade: 'strong', reason: `syn-ack flow${r.how}` }] : 'undecided';
    }
    if (xSA && has(y, TCP_SYN)) return [{ flow: x, grade: 'strong', reason: 'syn-ack flow' }];
    if (ySA && has(x, TCP_SYN)) return [{ flow: y, grade: 'strong', reason: 'syn-ack flow' }];
    if (has(x, TCP_SYN) && !has(y, TCP_SYN) && has(y, TCP_RST))
      return [{ flow: y, grade: 'negative', reason: 'rst answer to syn' }];
    if (has(y, TCP_SYN) && !has(x, TCP_SYN) && has(x, TCP_RST))
      return [{ flow: x, grade: 'negative', reason: 'rst answer to syn' }];
    return [];
  }
  if (x.protocol === PROTO_UDP) {
    if (!y || x.packets === 0 || y.packets === 0) return [];
    const r = pickResponder(x, y, false);
    return r ? [{ flow: r.flow, grade: 'weak', reason: `udp reply flow${r.how}` }] : 'undecided';
  }
  return [];
}

/** Limits on what the inference holds in memory. */
export interface InferenceLimits {
  /** Flows waiting for their reverse direction; the oldest is judged alone beyond it. Default 20,000. */
  pairWindow?: number;
  /** Undecided connections held to the end of the input; more are judged at once. Default 50,000. */
  maxUndecided?: number;
  /** Listeners remembered for rule 2d. Default 100,000. */
  maxKnown?: number;
}

interface Slot {
  /** The flow from the endpoint that sorts first, and the one from the other endpoint. */
  a: FlowRecord | null;
  b: FlowRecord | null;
  /** The tick it arrived in (live collection). */
  tick: number;
}

interface Undecided {
  x: FlowRecord;
  y: FlowRecord;
  tick: number;
}

function merge(old: FlowRecord, f: FlowRecord): FlowRecord {
  return {
    ...old,
    tcpFlags: old.tcpFlags | f.tcpFlags,
    packets: old.packets + f.packets,
    bytes: old.bytes + f.bytes,
    start: old.start === null ? f.start : f.start === null ? old.start : Math.min(old.start, f.start),
    end: old.end === null ? f.end : f.end === null ? old.end : Math.max(old.end, f.end),
  };
}

const protoName = (p: number): Observation['protocol'] | null =>
  p === PROTO_TCP ? 'tcp' : p === PROTO_UDP ? 'udp' : null;

/**
 * Streams flow records into listener observations with the rule above. Holds at most `pairWindow`
 * flows waiting for their reverse and `maxUndecided` connections for rules 2c–2d: constant memory on an
 * all-ports scan's 65,000 flows as on a day of exports.
 */
export class ListenerInference {
  readonly #pending = new Map<string, Slot>();
  readonly #undecided: Undecided[] = [];
  readonly #known = new Set<string>();
  readonly #window: number;
  readonly #maxUndecided: number;
  readonly #maxKnown: number;
  #tick = 0;
  /** Connections no rule could orient. */
  unresolved = 0;

  constructor(limits: InferenceLimits = {}) {
    this.#window = limits.pairWindow ?? 20_000;
    this.#maxUndecided = limits.maxUndecided ?? 50_000;
    this.#maxKnown = limits.maxKnown ?? 100_000;
  }

  /** Takes one flow; observations it settles go to `emit`. */
  push(f: FlowRecord, emit: (o: Observation) => void): void {
    if (protoName(f.protocol) === null) return;
    const src = `${f.srcAddr}|${f.srcPort}`;
    const dst = `${f.dstAddr}|${f.dstPort}`;
    const first = src < dst;
    const key = first ? `${f.protocol}|${src}|${dst}` : `${f.protocol}|${dst}|${src}`;
    const slot = this.#pending.get(key);
    if (!slot) {
      const tick = this.#tick;
      this.#pending.set(key, first ? { a: f, b: null, tick } : { a: null, b: f, tick });
      if (this.#pending.size > this.#window) {
        const [oldKey, old] = this.#pending.entries().next().value as [string, Slot];
        this.#pending.delete(oldKey);
        this.#settle(old, emit);
      }
      return;
    }
    if (first) slot.a = slot.a ? merge(slot.a, f) : f;
    else slot.b = slot.b ? merge(slot.b, f) : f;
    if (slot.a && slot.b) {
      this.#pending.delete(key);
      this.#settle(slot, emit);
    }
  }

  /** The end of the input: judges the flows still waiting, then the undecided connections (2c, 2d). */
  finish(emit: (o: Observation) => void): void {
    for (const slot of this.#pending.values()) this.#settle(slot, emit);
    this.#pending.clear();
    for (const u of this.#undecided.splice(0)) if (!this.#resolve(u, emit)) this.unresolved++;
  }

  /**
   * One step of time for a live collector, which has no end of input: flows that waited `waitTicks`
   * ticks for their reverse are judged alone, and undecided connections that waited as long are
   * resolved by rules 2c and 2d.
   */
  tick(emit: (o: Observation) => void, waitTicks = 2): void {
    this.#tick++;
    for (const [key, slot] of this.#pending) {
      // Slots are never re-inserted, so the map is in arrival order: stop at the first young one.
      if (this.#tick - slot.tick < waitTicks) break;
      this.#pending.delete(key);
      this.#settle(slot, emit);
    }
    let done = 0;
    for (const u of this.#undecided) {
      if (this.#tick - u.tick < waitTicks) break;
      if (!this.#resolve(u, emit)) this.unresolved++;
      done++;
    }
    this.#undecided.splice(0, done);
  }

  /** Rules 2c and 2d for a connection 2a–2b left open; false when it proves nothing. */
  #resolve(u: Undecided, emit: (o: Observation) => void): boolean {
    const tcp = u.x.protocol === PROTO_TCP;
    const what = tcp ? 'syn-ack flow' : 'udp reply flow';
    const xKnown = this.#known.has(endpointKey(u.x));
    const yKnown = this.#known.has(endpointKey(u.y));
    let flow: FlowRecord;
    let how: string;
    if (xKnown !== yKnown) {
      flow = xKnown ? u.x : u.y;
      how = 'endpoint answered other connections';
    } else {
      const guess = xKnown ? 0 : portRangeGuess(u.x.srcPort, u.y.srcPort);
      if (guess === 0) return false;
      flow = guess > 0 ? u.x : u.y;
      how = 'direction by port range';
    }
    if (flow.srcPort === 0) return false;
    emit(observationOf({ flow, grade: tcp ? 'strong' : 'weak', reason: `${what}, ${how}` }));
    return true;
  }

  #settle(slot: Slot, emit: (o: Observation) => void): void {
    const x = (slot.a ?? slot.b)!;
    const y = slot.a ? slot.b : null;
    const v = judgeConnection(x, y);
    if (v === 'undecided') {
      const u = { x, y: y!, tick: this.#tick };
      if (this.#undecided.length < this.#maxUndecided) this.#undecided.push(u);
      // Memory is bounded: past the limit, judge now with what is known so far.
      else if (!this.#resolve(u, emit)) this.unresolved++;
      return;
    }
    for (const verdict of v) {
      if (verdict.flow.srcPort === 0) continue;
      // Only proofs (rules 1, 2a, 2b, a lone SYN-ACK) serve rule 2c, never guesses.
      if (verdict.grade !== 'negative' && this.#known.size < this.#maxKnown)
        this.#known.add(endpointKey(verdict.flow));
      emit(observationOf(verdict));
    }
  }
}

function endpointKey(f: FlowRecord): string {
  return `${f.protocol}|${f.srcAddr}|${f.srcPort}`;
}

/** The observation a verdict makes: the sending endpoint of its flow. */
export function observationOf(v: Verdict): Observation {
  const f = v.flow;
  const at = f.end ?? f.start;
  return {
    host: f.srcAddr,
    protocol: protoName(f.protocol)!,
    port: f.srcPort,
    source: 'netflow',
    grade: v.grade,
    reason: v.reason,
    seenAt: at === null ? null : new Date(at),
    offset: f.offset,
  };
}
