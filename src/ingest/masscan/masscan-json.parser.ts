import { canonicalIp, parsePort } from '../common/address.ts';
import { JsonObjectSplitter, type JsonObjectPiece } from '../common/json-objects.ts';
import { clip, dateFromEpochSeconds, excerpt } from '../common/text.ts';
import type {
  EvidenceGrade,
  Observation,
  ParseEvent,
  Parser,
  Protocol,
  ServiceDetail,
} from '../observation.ts';

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** How a masscan port status counts as evidence: `open` strong, `closed` negative, anything else none. */
export function gradeMasscanStatus(status: unknown): EvidenceGrade | undefined {
  if (status === 'open') return 'strong';
  if (status === 'closed') return 'negative';
  return undefined;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON.parse, then — for masscan before 1.0.6, which wrote bare keys (`{ ip: "…", ports: [ {port: 80…`)
 * — a second try with the keys quoted.
 */
function parseRecord(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    try {
      return JSON.parse(text.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:/g, '$1"$2":')) as Json;
    } catch {
      return undefined;
    }
  }
}

interface Where {
  line: number;
  offset: number;
}

/**
 * masscan JSON parser: `-oJ` (a JSON list whose objects masscan writes one per line, with a trailing
 * comma before `]` in some versions, leading commas in others, bare keys before 1.0.6) and `-oD`
 * (ndjson with `rec_type`). Records are cut out of the stream one by one (constant memory). Port
 * `status` `open` is strong, `closed` negative; banner records (`service: {name, banner}`) are strong
 * evidence with the banner kept.
 */
export const parseMasscanJson: Parser = async function* (input, _opts) {
  // Records are split and parsed synchronously per chunk; only the events cross the async boundary.
  const splitter = new JsonObjectSplitter();
  for await (const chunk of input) {
    const events: ParseEvent[] = [];
    for (const piece of splitter.push(chunk)) pieceEvents(piece, events);
    yield* events;
  }
  const events: ParseEvent[] = [];
  for (const piece of splitter.end()) pieceEvents(piece, events);
  yield* events;
};

function pieceEvents(piece: JsonObjectPiece, out: ParseEvent[]): void {
  const where = { line: piece.line, offset: piece.offset };
  if (piece.kind === 'problem') {
    out.push({ kind: 'issue', issue: { message: piece.message, line: piece.line, offset: piece.offset } });
    return;
  }
  const value = parseRecord(piece.text);
  if (value === undefined) {
    out.push(issue(`invalid JSON record ${excerpt(piece.text)}`, where));
    return;
  }
  if (!isObject(value)) {
    out.push(issue('record is not a JSON object', where));
    return;
  }
  // masscan's closing `{finished: 1}` marker.
  if ('finished' in value && !('ip' in value)) return;
  out.push({ kind: 'record' });
  for (const e of recordEvents(value, where)) out.push(e);
}

function issue(message: string, where: Where, pointer?: string): ParseEvent {
  return {
    kind: 'issue',
    issue: {
      message: `line ${where.line} (byte offset ${where.offset}): ${message}`,
      ...where,
      ...(pointer ? { pointer } : {}),
    },
  };
}

function* recordEvents(rec: JsonObject, where: Where): Generator<ParseEvent> {
  const ipText = rec.ip;
  const host = typeof ipText === 'string' ? canonicalIp(ipText) : null;
  if (host === null) {
    yield issue(`invalid "ip" ${excerpt(JSON.stringify(ipText ?? null))}`, where, '/ip');
    return;
  }
  const seenAt = dateFromEpochSeconds(rec.timestamp);
  if (typeof rec.rec_type === 'string') {
    // -oD: {"ip","timestamp","port","proto","rec_type":"status"|"banner","data":{…}}
    const data = isObject(rec.data) ? rec.data : {};
    const o = portEvent(
      host,
      seenAt,
      rec.port,
      rec.proto,
      rec.rec_type === 'banner' ? { banner: data } : data,
      where,
      '',
    );
    if (o) yield o;
    return;
  }
  if (!Array.isArray(rec.ports)) {
    yield issue('record without a "ports" list', where, '/ports');
    return;
  }
  for (let i = 0; i < rec.ports.length; i++) {
    const p = rec.ports[i];
    if (!isObject(p)) {
      yield issue('port entry is not an object', where, `/ports/${i}`);
      continue;
    }
    const service = isObject(p.service) ? { banner: p.service } : undefined;
    const o = portEvent(host, seenAt, p.port, p.proto, service ?? p, where, `/ports/${i}`);
    if (o) yield o;
  }
}

function portEvent(
  host: string,
  seenAt: Date | null,
  portValue: Json | undefined,
  protoValue: Json | undefined,
  detail: JsonObject | { banner: JsonObject },
  where: Where,
  pointer: string,
): ParseEvent | null {
  const port = parsePort(portValue);
  if (port === null) {
    return issue(
      `invalid port ${excerpt(JSON.stringify(portValue ?? null))} (0–65535 expected)`,
      where,
      `${pointer}/port`,
    );
  }
  const proto = typeof protoValue === 'string' ? protoValue : '';
  if (!PROTOCOLS.has(proto)) {
    // masscan reports ICMP echo replies and ARP as "ports" too; they are not listeners.
    if (proto === 'icmp' || proto === 'arp' || proto === 'oproto') return null;
    return issue(
      `unknown protocol ${excerpt(JSON.stringify(protoValue ?? null))}`,
      where,
      `${pointer}/proto`,
    );
  }
  // Object literals, not spreads: this runs once per record of files with millions of them.
  const make = (grade: EvidenceGrade, reason: string): Observation => ({
    host,
    protocol: proto as Protocol,
    port,
    source: 'masscan',
    grade,
    reason,
    seenAt,
    line: where.line,
    offset: where.offset,
  });
  if ('banner' in detail && isObject(detail.banner as Json)) {
    const b = detail.banner as JsonObject;
    const service: ServiceDetail = {};
    const name = clip(
      typeof b.name === 'string' ? b.name : typeof b.service_name === 'string' ? b.service_name : undefined,
    );
    const banner = clip(typeof b.banner === 'string' ? b.banner : undefined);
    if (name) service.name = name;
    if (banner) service.banner = banner;
    const o = make('strong', 'masscan banner');
    if (name || banner) o.service = service;
    return { kind: 'observation', observation: o };
  }
  const d = detail as JsonObject;
  const grade = gradeMasscanStatus(d.status);
  if (!grade) {
    if (typeof d.status === 'string') return null;
    return issue(`port entry without a "status"`, where, `${pointer}/status`);
  }
  const reason =
    typeof d.reason === 'string' && d.reason !== ''
      ? `masscan ${d.status} (${clip(d.reason, 64)})`
      : `masscan ${d.status}`;
  return { kind: 'observation', observation: make(grade, reason) };
}
