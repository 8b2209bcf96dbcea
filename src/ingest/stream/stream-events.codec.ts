import { observationProblem } from '../../baseline/observation.check.ts';
import type { ObservationGroups } from '../../baseline/baseline.service.ts';
import type { EvidenceGrade, Observation, ParseEvent, ParseIssue } from '../observation.ts';
import { serviceNamed, STREAM_STRONG_REASON, STREAM_WEAK_REASON } from './stream-tcp.parser.ts';

// The events of one part of a Stream input, as a worker thread hands them to the main thread. Passing
// the event objects themselves would cost a structured clone of every observation (and its Date), about
// as much as parsing the event again; here each event is a few numbers in typed arrays, which move
// between threads without a copy, and each distinct host and service name is sent once per part.

const OP_RECORD = 0;
const OP_OBSERVATION = 1;
const OP_ISSUE = 2;
/** An observation the compact form cannot say (never made by the Stream parser): sent as is. */
const OP_OTHER = 3;

const GRADES: readonly EvidenceGrade[] = ['strong', 'weak'];
const REASONS: readonly string[] = [STREAM_STRONG_REASON, STREAM_WEAK_REASON];

/** The events of one part of an input, compactly (structured-clonable; `transferList` gives its buffers). */
export interface EncodedStreamEvents {
  /** One per event: 0 record, 1 observation, 2 issue, 3 other observation. */
  ops: Uint8Array;
  /** Events in `ops`. */
  count: number;
  /** Per observation: index into `hosts`, port, grade (0 strong, 1 weak), index into `services` or -1. */
  host: Int32Array;
  port: Int32Array;
  grade: Uint8Array;
  service: Int32Array;
  /** Per observation: time in ms (NaN: none), line and byte offset (NaN: none). */
  time: Float64Array;
  line: Float64Array;
  offset: Float64Array;
  /** The part's distinct hosts, separated by spaces. */
  hosts: string;
  services: string[];
  issues: ParseIssue[];
  others: Observation[];
}

/** The buffers of `e` to transfer rather than copy. */
export function transferList(e: EncodedStreamEvents): ArrayBuffer[] {
  const arrays = [e.ops, e.host, e.port, e.grade, e.service, e.time, e.line, e.offset];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

/** Collects the events of the Stream parser into an `EncodedStreamEvents`. */
export class StreamEventsEncoder {
  #ops = new Uint8Array(4096);
  #count = 0;
  #host = new Int32Array(2048);
  #port = new Int32Array(2048);
  #grade = new Uint8Array(2048);
  #service = new Int32Array(2048);
  #time = new Float64Array(2048);
  #line = new Float64Array(2048);
  #offset = new Float64Array(2048);
  #n = 0;
  #hosts = new Map<string, number>();
  #services = new Map<string, number>();
  #issues: ParseIssue[] = [];
  #others: Observation[] = [];

  add(events: readonly ParseEvent[]): void {
    for (const e of events) {
      if (this.#count === this.#ops.length) this.#ops = grow(this.#ops);
      if (e.kind === 'record') this.#ops[this.#count++] = OP_RECORD;
      else if (e.kind === 'issue') {
        this.#ops[this.#count++] = OP_ISSUE;
        this.#issues.push(e.issue);
      } else if (compact(e.observation)) {
        this.#ops[this.#count++] = OP_OBSERVATION;
        this.#observation(e.observation);
      } else {
        this.#ops[this.#count++] = OP_OTHER;
        this.#others.push(e.observation);
      }
    }
  }

  #observation(o: Observation): void {
    const i = this.#n++;
    if (i === this.#host.length) {
      this.#host = grow(this.#host);
      this.#port = grow(this.#port);
      this.#grade = grow(this.#grade);
      this.#service = grow(this.#service);
      this.#time = grow(this.#time);
      this.#line = grow(this.#line);
      this.#offset = grow(this.#offset);
    }
    let h = this.#hosts.get(o.host);
    if (h === undefined) this.#hosts.set(o.host, (h = this.#hosts.size));
    this.#host[i] = h;
    this.#port[i] = o.port;
    this.#grade[i] = o.grade === 'strong' ? 0 : 1;
    let s = -1;
    if (o.service) {
      const name = o.service.name!;
      s = this.#services.get(name) ?? -1;
      if (s < 0) this.#services.set(name, (s = this.#services.size));
    }
    this.#service[i] = s;
    this.#time[i] = o.seenAt ? o.seenAt.getTime() : NaN;
    this.#line[i] = o.line ?? NaN;
    this.#offset[i] = o.offset ?? NaN;
  }

  /** The events added so far; the encoder is not used after. */
  finish(): EncodedStreamEvents {
    // Packed into one buffer: one transfer per part rather than eight.
    const n = this.#n;
    const c = this.#count;
    const ab = new ArrayBuffer(n * (3 * 8 + 3 * 4 + 1) + c);
    let o = 0;
    const take = <T extends Float64Array | Int32Array | Uint8Array>(
      make: new (b: ArrayBuffer, at: number, len: number) => T,
      from: T,
      len: number,
    ): T => {
      const a = new make(ab, o, len);
      a.set(from.subarray(0, len));
      o += len * a.BYTES_PER_ELEMENT;
      return a;
    };
    const time = take(Float64Array, this.#time, n);
    const line = take(Float64Array, this.#line, n);
    const offset = take(Float64Array, this.#offset, n);
    const host = take(Int32Array, this.#host, n);
    const port = take(Int32Array, this.#port, n);
    const service = take(Int32Array, this.#service, n);
    const grade = take(Uint8Array, this.#grade, n);
    const ops = take(Uint8Array, this.#ops, c);
    return {
      ops,
      count: c,
      host,
      port,
      grade,
      service,
      time,
      line,
      offset,
      hosts: [...this.#hosts.keys()].join(' '),
      services: [...this.#services.keys()],
      issues: this.#issues,
      others: this.#others,
    };
  }
}

/** True when `o` is what the compact form says: a Stream TCP observation as the parser makes them. */
function compact(o: Observation): boolean {
  const g = o.grade === 'strong' ? 0 : o.grade === 'weak' ? 1 : -1;
  if (g < 0 || o.reason !== REASONS[g] || o.protocol !== 'tcp' || o.source !== 'stream') return false;
  if (o.hostnames !== undefined || o.host.includes(' ')) return false;
  if (o.service !== undefined) {
    if (typeof o.service.name !== 'string' || Object.keys(o.service).length !== 1) return false;
  }
  return true;
}

function grow<T extends Uint8Array | Int32Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

const RECORD: ParseEvent = Object.freeze({ kind: 'record' });

/**
 * Decodes the events of one part of an input, appending them to `out`. The part was read as if it
 * were a whole input (lines from 1, offsets from 0); `start` is where it sits in the whole input, so
 * lines and offsets come out as a single reader of the whole input gives them. A service detail
 * `{name}` is the parser's one object for that name, as in events read on this thread.
 */
export function decodeStreamEvents(
  e: EncodedStreamEvents,
  start: { line: number; offset: number },
  out: ParseEvent[],
): void {
  const dLine = start.line - 1;
  const dOffset = start.offset;
  const hosts = e.hosts === '' ? [] : e.hosts.split(' ');
  const services = e.services.map(serviceNamed);
  let obs = 0;
  let iss = 0;
  let other = 0;
  for (let i = 0; i < e.count; i++) {
    const op = e.ops[i];
    if (op === OP_RECORD) out.push(RECORD);
    else if (op === OP_OBSERVATION) {
      const g = e.grade[obs]!;
      const time = e.time[obs]!;
      const line = e.line[obs]!;
      const offset = e.offset[obs]!;
      const s = e.service[obs]!;
      const o: Observation = {
        host: hosts[e.host[obs]!]!,
        protocol: 'tcp',
        port: e.port[obs]!,
        source: 'stream',
        grade: GRADES[g]!,
        reason: REASONS[g]!,
        seenAt: Number.isNaN(time) ? null : new Date(time),
      };
      obs++;
      if (s >= 0) o.service = services[s]!;
      if (!Number.isNaN(line)) o.line = line + dLine;
      if (!Number.isNaN(offset)) o.offset = offset + dOffset;
      out.push({ kind: 'observation', observation: o });
    } else {
      const at = op === OP_ISSUE ? e.issues[iss++]! : e.others[other++]!;
      if (at.line !== undefined) at.line += dLine;
      if (at.offset !== undefined) at.offset += dOffset;
      out.push(
        op === OP_ISSUE
          ? { kind: 'issue', issue: at as ParseIssue }
          : { kind: 'observation', observation: at as Observation },
      );
    }
  }
}

/** Moves the lines and offsets of events read from a part as if it were a whole input to `start`. */
export function shiftEvents(events: ParseEvent[], start: { line: number; offset: number }): void {
  const dLine = start.line - 1;
  const dOffset = start.offset;
  if (dLine === 0 && dOffset === 0) return;
  for (const e of events) {
    const at = e.kind === 'observation' ? e.observation : e.kind === 'issue' ? e.issue : null;
    if (!at) continue;
    if (at.line !== undefined) at.line += dLine;
    if (at.offset !== undefined) at.offset += dOffset;
  }
}

/** A part of an input sent to a worker: whole lines; `last` when the input ends with it. */
export interface PartRequest {
  id: number;
  bytes: Uint8Array;
  last: boolean;
  /** Also group the part's observations by service (`groups` in the result). */
  group?: boolean;
}

/** A worker's answer: the part's events, its line count, whether it ended at a boundary, its bytes. */
export interface PartResult {
  id: number;
  events: EncodedStreamEvents;
  /** Line breaks in the part. */
  lines: number;
  /** True when a reader of the rest of the input can start afresh after this part. */
  boundary: boolean;
  bytes: Uint8Array;
  /** When asked for and every observation has the compact form: the part's observations by service. */
  groups?: EncodedStreamGroups | null;
}

/**
 * The observations of one part grouped by service, as `BaselineWriter.pushGrouped` takes them, compactly
 * (structured-clonable; `groupsTransferList` gives its buffers). Only for parts whose observations are
 * all of the compact form: Stream TCP observations as the parser makes them.
 */
export interface EncodedStreamGroups {
  /** The part's distinct hosts, separated by spaces, and service names. */
  hosts: string;
  services: string[];
  /** Per group (service): index into `hosts`, port. */
  host: Int32Array;
  port: Int32Array;
  /** The part's distinct evidence: grade (0 strong, 1 weak) and index into `services` (or -1). */
  grade: Uint8Array;
  service: Int32Array;
  /** Group g's templates (indices into the evidence) are `templates[templateStart[g]]` to `templates[templateStart[g + 1] - 1]`. */
  templates: Int32Array;
  templateStart: Int32Array;
  /** Group g's (template index in the group, time) pairs are `seq[seqStart[g]]` to `seq[seqStart[g + 1] - 1]`. */
  seqStart: Int32Array;
  seq: Float64Array;
  /** Observations refused by `observationProblem`. */
  rejected: number;
  /** Records read. */
  records: number;
  /** The part's issues and refused observations, in input order (lines and offsets from the part's start). */
  issues: ParseIssue[];
}

/** The buffers of `g` to transfer rather than copy. */
export function groupsTransferList(g: EncodedStreamGroups): ArrayBuffer[] {
  const arrays = [g.host, g.port, g.grade, g.service, g.templates, g.templateStart, g.seqStart, g.seq];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

interface Group {
  host: number;
  port: number;
  /** Per template: index into the part's evidence. */
  templates: number[];
  seq: number[];
}

/**
 * Groups a part's events by service as `BaselineWriter.push` queues them: each observation checked with
 * `observationProblem` (a refused one becomes an issue in its place among the part's issues), then put
 * with its service's template saying the same (the last one, else one of the first 17, else a new one:
 * push's rule), in arrival order within each service.
 */
export class StreamEventsGrouper {
  #groups = new Map<number, Group>();
  #hosts = new Map<string, number>();
  #services = new Map<string, number>();
  /** Distinct evidence, by grade + 2 * (service index + 1). */
  #evidence = new Map<number, number>();
  #rejected = 0;
  #records = 0;
  #issues: ParseIssue[] = [];
  /** Set once an observation the compact form cannot say was seen: the part is not grouped. */
  #other = false;

  add(events: readonly ParseEvent[]): void {
    if (this.#other) return;
    for (const e of events) {
      if (e.kind === 'record') this.#records++;
      else if (e.kind === 'issue') this.#issues.push({ ...e.issue });
      else {
        const o = e.observation;
        const problem = observationProblem(o);
        if (problem) {
          this.#rejected++;
          this.#issues.push({
            message: `observation refused: ${problem}`,
            ...(o.line !== undefined ? { line: o.line } : {}),
            ...(o.offset !== undefined ? { offset: o.offset } : {}),
          });
        } else if (!compact(o)) {
          this.#other = true;
          return;
        } else this.#observation(o);
      }
    }
  }

  #observation(o: Observation): void {
    let h = this.#hosts.get(o.host);
    if (h === undefined) this.#hosts.set(o.host, (h = this.#hosts.size));
    const key = h * 65536 + o.port;
    let g = this.#groups.get(key);
    if (!g) this.#groups.set(key, (g = { host: h, port: o.port, templates: [], seq: [] }));
    let s = -1;
    if (o.service) {
      const name = o.service.name!;
      s = this.#services.get(name) ?? -1;
      if (s < 0) this.#services.set(name, (s = this.#services.size));
    }
    // Compact observations of one service say the same when their grade and service name do.
    const ek = (o.grade === 'strong' ? 0 : 1) + 2 * (s + 1);
    let ev = this.#evidence.get(ek);
    if (ev === undefined) this.#evidence.set(ek, (ev = this.#evidence.size));
    const t = g.templates;
    let ti = t.length - 1;
    if (ti < 0 || t[ti] !== ev) {
      ti = t.length <= 16 ? t.indexOf(ev) : -1;
      if (ti < 0) {
        ti = t.length;
        t.push(ev);
      }
    }
    g.seq.push(ti, o.seenAt ? o.seenAt.getTime() : NaN);
  }

  /** The groups, or null when the part has observations the compact form cannot say. */
  finish(): EncodedStreamGroups | null {
    if (this.#other) return null;
    const n = this.#groups.size;
    let templates = 0;
    let pairs = 0;
    for (const g of this.#groups.values()) {
      templates += g.templates.length;
      pairs += g.seq.length;
    }
    const host = new Int32Array(n);
    const port = new Int32Array(n);
    const templateStart = new Int32Array(n + 1);
    const seqStart = new Int32Array(n + 1);
    const tpl = new Int32Array(templates);
    const seq = new Float64Array(pairs);
    let k = 0;
    let t = 0;
    let q = 0;
    for (const g of this.#groups.values()) {
      host[k] = g.host;
      port[k] = g.port;
      templateStart[k] = t;
      seqStart[k] = q;
      tpl.set(g.templates, t);
      seq.set(g.seq, q);
      t += g.templates.length;
      q += g.seq.length;
      k++;
    }
    templateStart[n] = t;
    seqStart[n] = q;
    const grade = new Uint8Array(this.#evidence.size);
    const service = new Int32Array(this.#evidence.size);
    for (const [ek, i] of this.#evidence) {
      grade[i] = ek & 1;
      service[i] = (ek >> 1) - 1;
    }
    return {
      hosts: [...this.#hosts.keys()].join(' '),
      services: [...this.#services.keys()],
      host,
      port,
      grade,
      service,
      templates: tpl,
      templateStart,
      seqStart,
      seq,
      rejected: this.#rejected,
      records: this.#records,
      issues: this.#issues,
    };
  }
}

/** A part's groups on this thread: what `BaselineWriter.pushGrouped` takes, and the part's issues moved to `start`. */
export function decodeStreamGroups(
  g: EncodedStreamGroups,
  start: { line: number; offset: number },
): { groups: ObservationGroups; issues: ParseIssue[]; records: number } {
  const hosts = g.hosts === '' ? [] : g.hosts.split(' ');
  const n = g.host.length;
  const host: string[] = new Array<string>(n);
  for (let k = 0; k < n; k++) host[k] = hosts[g.host[k]!]!;
  const evidence: Observation[] = [];
  for (let i = 0; i < g.grade.length; i++) {
    const grade = g.grade[i]!;
    const s = g.service[i]!;
    const o: Observation = {
      host: '',
      protocol: 'tcp',
      port: 0,
      source: 'stream',
      grade: GRADES[grade]!,
      reason: REASONS[grade]!,
      seenAt: null,
    };
    if (s >= 0) o.service = serviceNamed(g.services[s]!);
    evidence.push(o);
  }
  const dLine = start.line - 1;
  const dOffset = start.offset;
  for (const at of g.issues) {
    if (at.line !== undefined) at.line += dLine;
    if (at.offset !== undefined) at.offset += dOffset;
  }
  return {
    groups: {
      host,
      protocol: 'tcp',
      port: g.port,
      evidence,
      templates: g.templates,
      templateStart: g.templateStart,
      seq: g.seq,
      seqStart: g.seqStart,
      rejected: g.rejected,
    },
    issues: g.issues,
    records: g.records,
  };
}
