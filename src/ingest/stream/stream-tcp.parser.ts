import { canonicalIp, parsePort } from '../common/address.ts';
import { byteSlices, clip, dateFromEpochSeconds, excerpt, isoTimeMs } from '../common/text.ts';
import type {
  EvidenceGrade,
  Observation,
  ParseEvent,
  ParseIssue,
  Parser,
  ServiceDetail,
} from '../observation.ts';
import { JSON_MAX_RECORD_BYTES, JsonSplitter, LineSplitter, type JsonItem } from './json-values.ts';

const RECORD: ParseEvent = Object.freeze({ kind: 'record' });

/** Where one Stream event sits in its input, for issues and observations. */
export interface StreamEventWhere {
  /** 1-based line of the event (text inputs). */
  line?: number;
  /** Byte offset of the event. */
  offset?: number;
  /** JSON pointer of the event inside a bigger document (e.g. an HEC body's event index); default ''. */
  pointer?: string;
}

/** The reason an observation from Stream carries, by grade. */
export const STREAM_STRONG_REASON = 'tcp_status=0 ack_packets_out>0';
export const STREAM_WEAK_REASON = 'ack_packets_in>0';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-negative integer from a number or a decimal string (Stream writes both); null if invalid. */
function count(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v === 'string' && /^\s*\d{1,15}\s*$/.test(v)) return Number(v);
  return null;
}

// Flows repeat the same servers over and over: remembering recent canonical forms keeps address
// validation off the hot path of million-event imports.
const ipMemo = new Map<string, string | null>();
function memoIp(text: string): string | null {
  let v = ipMemo.get(text);
  if (v === undefined) {
    if (ipMemo.size >= 8192) ipMemo.clear();
    v = canonicalIp(text);
    ipMemo.set(text, v);
  }
  return v;
}

function isoDate(v: unknown): Date | null | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return null;
  const t = isoTimeMs(v);
  return Number.isFinite(t) ? new Date(t) : null;
}

function serviceOf(ev: Obj): ServiceDetail | undefined {
  let name: string | undefined;
  if (typeof ev.app === 'string' && ev.app !== '' && ev.app !== 'unknown') name = ev.app;
  else if (typeof ev.protocol_stack === 'string') {
    const last = ev.protocol_stack.slice(ev.protocol_stack.lastIndexOf(':') + 1);
    if (last !== '' && last !== 'unknown' && last !== 'tcp' && last !== 'ip') name = last;
  }
  const n = clip(name, 64);
  return n ? serviceNamed(n) : undefined;
}

const serviceMemo = new Map<string, ServiceDetail>();
/**
 * The service detail `{name}`, one object per name: events of one service then carry the same object,
 * which the baseline writer recognises as the same evidence without comparing fields.
 */
export function serviceNamed(name: string): ServiceDetail {
  let d = serviceMemo.get(name);
  if (!d) {
    if (serviceMemo.size >= 1024) serviceMemo.clear();
    serviceMemo.set(name, (d = { name }));
  }
  return d;
}

/**
 * Turns ONE Splunk Stream `stream:tcp` event — a bare event object or an HEC envelope
 * (`{"time":…,"sourcetype":"stream:tcp","event":{…}}`) — into observations and issues.
 * `dest_ip:dest_port` is the server; `src_port` is never a listener. Grades:
 * `tcp_status=0` with `ack_packets_out>0` (the server answered) is strong; `ack_packets_in>0`
 * alone is weak; `tcp_status` 1 (server reset the SYN) or 2 (SYN unanswered) is no evidence.
 * `seenAt` is the event's `timestamp`, else its `endtime`, else the envelope's `time`.
 * Never throws; problems come back as `issue` events naming `where` and a JSON pointer.
 * Returns no `record` event (the caller counts records).
 */
export function streamEventToEvents(input: unknown, where: StreamEventWhere = {}): ParseEvent[] {
  const out: ParseEvent[] = [];
  streamEventInto(out, input, where);
  return out;
}

/** `streamEventToEvents` appending to `out` (no array per event on the hot path). */
function streamEventInto(out: ParseEvent[], input: unknown, where: StreamEventWhere): void {
  const base = where.pointer ?? '';
  if (!isObject(input)) {
    pushIssue(out, where, 'Stream event is not a JSON object', base);
    return;
  }
  let obj = input;
  if (typeof obj.event === 'string' && obj.event.trimStart().startsWith('{')) {
    // Some HEC senders put the event's JSON text in `event` rather than the object itself.
    try {
      const inner: unknown = JSON.parse(obj.event);
      if (isObject(inner)) obj = { ...obj, event: inner };
    } catch {
      // Reported below as an event that is not an object.
    }
  }
  let ev = obj;
  let ptr = base;
  let envelopeTime: Date | null = null;
  if (
    isObject(obj.event) &&
    (obj.sourcetype !== undefined || obj.time !== undefined || obj.host !== undefined)
  ) {
    // An HEC envelope.
    if (typeof obj.sourcetype === 'string' && obj.sourcetype !== 'stream:tcp') {
      pushIssue(
        out,
        where,
        `sourcetype ${excerpt(obj.sourcetype)} is not stream:tcp; event skipped`,
        `${base}/sourcetype`,
      );
      return;
    }
    ev = obj.event;
    ptr = `${base}/event`;
    envelopeTime = dateFromEpochSeconds(obj.time);
  } else if (obj.event !== undefined && obj.dest_ip === undefined) {
    pushIssue(out, where, 'HEC envelope "event" is not a JSON object', `${base}/event`);
    return;
  }
  if (typeof ev.transport === 'string' && ev.transport !== 'tcp') {
    pushIssue(out, where, `transport ${excerpt(ev.transport)} is not tcp; event skipped`, `${ptr}/transport`);
    return;
  }

  const rawIp = ev.dest_ip;
  const host = typeof rawIp === 'string' ? memoIp(rawIp) : null;
  if (host === null) {
    pushIssue(
      out,
      where,
      rawIp === undefined ? 'dest_ip is missing' : `dest_ip ${show(rawIp)} is not an IP address`,
      `${ptr}/dest_ip`,
    );
  }
  const port = parsePort(ev.dest_port);
  if (port === null || port === 0) {
    pushIssue(
      out,
      where,
      ev.dest_port === undefined
        ? 'dest_port is missing'
        : `dest_port ${show(ev.dest_port)} is not a port number 1-65535`,
      `${ptr}/dest_port`,
    );
  }
  const status = countField(ev, 'tcp_status', out, where, ptr);
  const ackOut = countField(ev, 'ack_packets_out', out, where, ptr);
  const ackIn = countField(ev, 'ack_packets_in', out, where, ptr);
  if (host === null || port === null || port === 0 || status === null || ackOut === null || ackIn === null)
    return;

  let grade: EvidenceGrade | undefined;
  let reason = '';
  if (status === 0 && ackOut !== undefined && ackOut > 0) {
    grade = 'strong';
    reason = STREAM_STRONG_REASON;
  } else if ((status === undefined || status === 0) && ackIn !== undefined && ackIn > 0) {
    grade = 'weak';
    reason = STREAM_WEAK_REASON;
  }
  if (!grade) return;

  let seenAt = isoDate(ev.timestamp);
  if (seenAt === null)
    pushIssue(out, where, `timestamp ${show(ev.timestamp)} is not a date`, `${ptr}/timestamp`);
  if (!seenAt) {
    const end = isoDate(ev.endtime);
    if (end === null) pushIssue(out, where, `endtime ${show(ev.endtime)} is not a date`, `${ptr}/endtime`);
    seenAt = end ?? envelopeTime;
  }
  const o: Observation = {
    host,
    protocol: 'tcp',
    port,
    source: 'stream',
    grade,
    reason,
    seenAt: seenAt ?? null,
  };
  const service = serviceOf(ev);
  if (service) o.service = service;
  if (where.line !== undefined) o.line = where.line;
  if (where.offset !== undefined) o.offset = where.offset;
  out.push({ kind: 'observation', observation: o });
  return;
}

function show(v: unknown): string {
  return excerpt(String(JSON.stringify(v)));
}

function pushIssue(out: ParseEvent[], where: StreamEventWhere, message: string, pointer: string): void {
  const issue: ParseIssue = { message, pointer };
  if (where.line !== undefined) issue.line = where.line;
  if (where.offset !== undefined) issue.offset = where.offset;
  out.push({ kind: 'issue', issue });
}

/** A count field: undefined when absent, null (and an issue) when not a count. */
function countField(
  ev: Obj,
  key: string,
  out: ParseEvent[],
  where: StreamEventWhere,
  ptr: string,
): number | undefined | null {
  const v = ev[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = count(v);
  if (n === null) pushIssue(out, where, `${key} ${show(v)} is not a count`, `${ptr}/${key}`);
  return n;
}

function handle(items: JsonItem[], out: ParseEvent[]): void {
  for (const item of items) {
    out.push(RECORD);
    if (item.kind === 'error') {
      out.push({ kind: 'issue', issue: { message: item.message, line: item.line, offset: item.offset } });
    } else {
      streamEventInto(out, item.value, item);
    }
  }
}

/**
 * The Stream parser as a synchronous reader of byte chunks: what `parseStream` reads, for callers that
 * cut one input into parts (the parallel reader in `stream-parse.pool.ts`). `start` is where the first
 * byte pushed sits in the whole input; a reader started on a part that begins where another reader was
 * `atBoundary` gives the events a single reader of the whole input would give.
 */
export class StreamTextReader {
  readonly #lines: LineSplitter;
  readonly #json = new JsonSplitter();

  constructor(start?: { line: number; offset: number }) {
    this.#lines = new LineSplitter(JSON_MAX_RECORD_BYTES, start);
  }

  /** Appends to `out` the events `chunk` completes. */
  push(chunk: Buffer, out: ParseEvent[]): void {
    for (const ln of this.#lines.push(chunk)) handle(this.#json.line(ln), out);
  }

  /** Appends to `out` the events of the end of input (a last line without a line break, an open value). */
  end(out: ParseEvent[]): void {
    for (const ln of this.#lines.end()) handle(this.#json.line(ln), out);
    handle(this.#json.end(), out);
  }

  /** True when everything pushed ends with a line break and no value is open (nor a top-level array). */
  get atBoundary(): boolean {
    return this.#lines.idle && this.#json.clean;
  }

  /** 1-based line number of the next line. */
  get nextLine(): number {
    return this.#lines.nextLine;
  }

  /** Byte offset of the next line. */
  get nextOffset(): number {
    return this.#lines.nextOffset;
  }
}

/**
 * The events of `parseStream`, one array per input chunk: for hot paths (million-event imports)
 * where one promise per event would cost as much as parsing it.
 */
export async function* parseStreamBatches(
  input: AsyncIterable<Buffer | string>,
): AsyncGenerator<ParseEvent[]> {
  const reader = new StreamTextReader();
  // 64 KB at a time: each slice's text and events are garbage before the next young-generation
  // collection, where a megabyte chunk's would be promoted and swell the heap until a full collection.
  for await (const chunk of byteSlices(input)) {
    const out: ParseEvent[] = [];
    reader.push(chunk, out);
    if (out.length) yield out;
  }
  const out: ParseEvent[] = [];
  reader.end(out);
  if (out.length) yield out;
}

/**
 * Parser for Splunk Stream `stream:tcp` events: NDJSON, bare JSON objects (concatenated or
 * pretty-printed), a JSON array, or concatenated HEC envelopes. One `record` per event.
 */
export const parseStream: Parser = async function* (input) {
  for await (const batch of parseStreamBatches(input)) yield* batch;
};
