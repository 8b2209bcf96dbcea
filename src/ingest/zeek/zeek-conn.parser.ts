import { canonicalIp, parsePort } from '../common/address.ts';
import { clip, dateFromEpochSeconds, excerpt } from '../common/text.ts';
import type { EvidenceGrade, Observation, ParseEvent, Parser, Protocol } from '../observation.ts';
import { LineSplitter, type TextLine } from '../stream/index.ts';

async function* textLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<TextLine> {
  const splitter = new LineSplitter(1024 * 1024);
  for await (const chunk of input) yield* splitter.push(chunk);
  yield* splitter.end();
}

/** What one conn.log record proves about its responder, or undefined when it proves nothing. */
export interface ZeekEvidence {
  grade: EvidenceGrade;
  reason: string;
}

/** The fields of one conn.log record that listener inference reads. */
export interface ZeekConnFields {
  proto: string;
  conn_state?: string;
  history?: string;
  resp_pkts?: number;
  service?: string;
}

// Zeek's states for a connection that was established (base/protocols/conn/main.zeek).
const ESTABLISHED = new Set(['S1', 'SF', 'S2', 'S3', 'RSTO', 'RSTR']);

/**
 * Listener inference for one conn.log record, from Zeek's own definitions. In `history`, upper
 * case letters are the originator's packets and lower case the responder's, so `h` is a SYN-ACK
 * sent by the responder: the responder accepted a connection, it listens (strong). A connection
 * Zeek calls established (`conn_state` S1, SF, S2, S3, RSTO, RSTR) is strong when the log has no
 * `history` column; with a history that shows no handshake Zeek picked the connection up
 * mid-stream and guessed its direction, so it is weak. `REJ` (the responder reset the SYN) is
 * negative. `S0`, `SH`, `OTH` and the like without `h` prove nothing.
 *
 * UDP has no handshake. Zeek's known-services policy counts a UDP responder once it has sent a
 * packet and a protocol analyzer confirmed the service: a reply (`d` in history, or responder
 * packets) with a confirmed `service` is strong; a reply without one is weak (it may be a
 * mid-flow capture whose direction Zeek guessed). Other protocols (ICMP) have no listeners.
 */
export function zeekEvidence(f: ZeekConnFields): ZeekEvidence | undefined {
  const history = f.history;
  const state = f.conn_state;
  if (f.proto === 'tcp') {
    if (history !== undefined && history.includes('h'))
      return { grade: 'strong', reason: 'zeek history h (responder SYN-ACK)' };
    if (state !== undefined && ESTABLISHED.has(state)) {
      return history === undefined
        ? { grade: 'strong', reason: `zeek conn_state ${state}` }
        : { grade: 'weak', reason: `zeek conn_state ${state} without handshake` };
    }
    if (state === 'REJ') return { grade: 'negative', reason: 'zeek conn_state REJ' };
    return undefined;
  }
  if (f.proto === 'udp') {
    const replied = history !== undefined ? history.includes('d') : (f.resp_pkts ?? 0) > 0;
    if (!replied) return undefined;
    const service = f.service ? f.service.split(',').filter((s) => s !== '' && !s.startsWith('-')) : [];
    return service.length > 0
      ? { grade: 'strong', reason: `zeek udp reply, service ${service.join(',')}` }
      : { grade: 'weak', reason: 'zeek udp reply' };
  }
  return undefined;
}

interface Header {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  path?: string;
  fields?: string[];
  index: Map<string, number>;
}

/** The Zeek logs read, with the columns that name the listener in each. */
interface LogKind {
  path: 'conn' | 'known_services';
  host: string;
  port: string;
  proto: string;
}
const CONN: LogKind = { path: 'conn', host: 'id.resp_h', port: 'id.resp_p', proto: 'proto' };
const KNOWN_SERVICES: LogKind = {
  path: 'known_services',
  host: 'host',
  port: 'port_num',
  proto: 'port_proto',
};
const MASKED_TS = /^X+(\.X+)?$/;

function unescapeHeader(v: string): string {
  return v.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function newHeader(): Header {
  return { separator: '\t', setSeparator: ',', emptyField: '(empty)', unsetField: '-', index: new Map() };
}

interface Raw {
  ts: unknown;
  resp_h: unknown;
  resp_p: unknown;
  proto: unknown;
  conn_state: unknown;
  history: unknown;
  resp_pkts: unknown;
  service: unknown;
  hasHistory: boolean;
}

function seenAtOf(ts: unknown): Date | null {
  if (typeof ts === 'string' && !/^\s*\d+(\.\d+)?\s*$/.test(ts)) {
    // JSON logs written with LogAscii::json_timestamps = JSON::TS_ISO8601.
    const t = Date.parse(ts);
    return Number.isFinite(t) ? new Date(t) : null;
  }
  return dateFromEpochSeconds(ts);
}

/**
 * Parser for Zeek `conn.log`: the TSV format (columns found by the `#fields` header, honouring
 * `#separator`, `#set_separator`, `#empty_field`, `#unset_field`; headers may repeat, as in
 * concatenated logs) and Zeek's JSON logs (one object per line). The responder
 * (`id.resp_h`:`id.resp_p`/`proto`) is graded by `zeekEvidence`. A masked or unset `ts` gives
 * `seenAt` null.
 */
export const parseZeekConn: Parser = (input) => parseZeekLog(input, CONN);

/**
 * Parser for Zeek `known_services.log` (policy/protocols/conn/known-services.zeek), TSV or JSON: each
 * record is Zeek's own verdict that `host` offers a service on `port_num`/`port_proto` — for TCP a
 * completed handshake, for UDP a reply that a protocol analyzer confirmed — so it is strong evidence,
 * reason `zeek known_services`, with the service name Zeek gave.
 */
export const parseZeekKnownServices: Parser = (input) => parseZeekLog(input, KNOWN_SERVICES);

async function* parseZeekLog(
  input: AsyncIterable<Buffer | string>,
  kind: LogKind,
): AsyncGenerator<ParseEvent> {
  const REQUIRED = [kind.host, kind.port, kind.proto];
  const logName = kind.path === 'conn' ? 'conn.log' : 'known_services.log';
  let h = newHeader();
  let headerless = 0;
  let headerlessFirst: { line: number; offset: number } | undefined;
  let wrongPath = false;

  for await (const ln of textLines(input)) {
    const where = { line: ln.line, offset: ln.offset };
    const text = ln.text;
    if (ln.tooLong || ln.binary) {
      yield { kind: 'record' };
      yield {
        kind: 'issue',
        issue: {
          ...where,
          message: ln.tooLong
            ? `line too long for a ${logName} record; skipped`
            : `binary data (not a ${logName} record) skipped`,
        },
      };
      continue;
    }
    if (text.startsWith('#')) {
      const sp = text.indexOf(' ');
      const tab = text.indexOf(h.separator);
      if (text.startsWith('#separator')) {
        const v = unescapeHeader(text.slice('#separator'.length).trim());
        if (v.length === 1) h = { ...newHeader(), separator: v };
        else
          yield {
            kind: 'issue',
            issue: { ...where, message: `#separator ${excerpt(v)} is not one character` },
          };
        continue;
      }
      const cut = tab > 0 ? tab : sp;
      const key = cut > 0 ? text.slice(1, cut) : text.slice(1);
      const rest = cut > 0 ? text.slice(cut + 1) : '';
      switch (key) {
        case 'set_separator':
          h.setSeparator = unescapeHeader(rest);
          break;
        case 'empty_field':
          h.emptyField = unescapeHeader(rest);
          break;
        case 'unset_field':
          h.unsetField = unescapeHeader(rest);
          break;
        case 'path':
          h.path = rest;
          wrongPath = rest !== kind.path && rest !== '';
          if (wrongPath)
            yield {
              kind: 'issue',
              issue: {
                ...where,
                message: `#path ${excerpt(rest)}: not a ${logName}; its records are skipped`,
              },
            };
          break;
        case 'fields': {
          const fields = rest.split(h.separator);
          const missing = REQUIRED.filter((f) => !fields.includes(f));
          if (missing.length) {
            yield {
              kind: 'issue',
              issue: {
                ...where,
                message: `#fields lacks ${missing.join(', ')}; the records that follow are skipped`,
              },
            };
            h.fields = undefined;
          } else {
            h.fields = fields;
            h.index = new Map(fields.map((f, i) => [f, i]));
          }
          break;
        }
        default:
          // #open, #close, #types and comments carry nothing we need.
          break;
      }
      continue;
    }
    if (text.trim() === '') continue;
    yield { kind: 'record' };

    let raw: Raw;
    let json = false;
    if (text.trimStart().startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        yield { kind: 'issue', issue: { ...where, message: `invalid JSON: ${(err as Error).message}` } };
        continue;
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        yield { kind: 'issue', issue: { ...where, message: `${logName} JSON record is not an object` } };
        continue;
      }
      const o = obj as Record<string, unknown>;
      const id = typeof o.id === 'object' && o.id !== null ? (o.id as Record<string, unknown>) : undefined;
      raw = {
        ts: o.ts,
        resp_h: kind === CONN ? (o['id.resp_h'] ?? id?.resp_h) : o[kind.host],
        resp_p: kind === CONN ? (o['id.resp_p'] ?? id?.resp_p) : o[kind.port],
        proto: o[kind.proto],
        conn_state: o.conn_state,
        history: o.history,
        resp_pkts: o.resp_pkts,
        service: o.service,
        // Zeek's JSON writer leaves unset fields out, so a missing history is an empty one.
        hasHistory: true,
      };
      json = true;
    } else {
      if (wrongPath) continue;
      if (!h.fields) {
        if (headerless++ === 0) headerlessFirst = where;
        continue;
      }
      if (ln.unterminated) {
        // Zeek ends every line; a last line without its line break was cut, maybe inside a port.
        yield {
          kind: 'issue',
          issue: { ...where, message: 'last record has no line end (file cut short?); skipped' },
        };
        continue;
      }
      const cols = text.split(h.separator);
      if (cols.length !== h.fields.length) {
        yield {
          kind: 'issue',
          issue: {
            ...where,
            message: `record has ${cols.length} fields where #fields names ${h.fields.length} (cut short?); skipped`,
          },
        };
        continue;
      }
      const get = (name: string): string | undefined => {
        const i = h.index.get(name);
        if (i === undefined) return undefined;
        const v = cols[i]!;
        if (v === h.unsetField) return undefined;
        return v === h.emptyField ? '' : v;
      };
      const respPkts = get('resp_pkts');
      raw = {
        ts: get('ts'),
        resp_h: get(kind.host),
        resp_p: get(kind.port),
        proto: get(kind.proto),
        conn_state: get('conn_state'),
        history: get('history'),
        resp_pkts: respPkts,
        service: get('service')?.split(h.setSeparator).join(','),
        hasHistory: h.index.has('history'),
      };
    }

    const proto = typeof raw.proto === 'string' ? raw.proto.toLowerCase() : undefined;
    if (proto !== 'tcp' && proto !== 'udp') {
      if (proto === undefined) {
        yield {
          kind: 'issue',
          issue: {
            ...where,
            ...(json ? { pointer: `/${kind.proto}` } : {}),
            message: `${kind.proto} is missing`,
          },
        };
      }
      continue; // icmp and unknown transports have no listening ports
    }
    const host = typeof raw.resp_h === 'string' ? canonicalIp(raw.resp_h) : null;
    const port = parsePort(raw.resp_p);
    if (host === null || port === null || port === 0) {
      const message =
        host === null
          ? `${kind.host} ${excerpt(String(raw.resp_h ?? 'missing'))} is not an IP address`
          : `${kind.port} ${excerpt(String(raw.resp_p ?? 'missing'))} is not a port number 1-65535`;
      const pointer = json ? (host === null ? `/${kind.host}` : `/${kind.port}`) : undefined;
      yield { kind: 'issue', issue: { ...where, ...(pointer ? { pointer } : {}), message } };
      continue;
    }
    const history = typeof raw.history === 'string' ? raw.history : raw.hasHistory ? '' : undefined;
    const respPkts =
      typeof raw.resp_pkts === 'number'
        ? raw.resp_pkts
        : typeof raw.resp_pkts === 'string'
          ? Number(raw.resp_pkts)
          : undefined;
    const service =
      typeof raw.service === 'string'
        ? raw.service
        : Array.isArray(raw.service)
          ? raw.service.filter((s) => typeof s === 'string').join(',')
          : undefined;
    const ev: ZeekEvidence | undefined =
      kind === KNOWN_SERVICES
        ? { grade: 'strong', reason: 'zeek known_services' }
        : zeekEvidence({
            proto,
            conn_state: typeof raw.conn_state === 'string' ? raw.conn_state : undefined,
            history,
            resp_pkts: Number.isFinite(respPkts) ? respPkts : undefined,
            service,
          });
    if (!ev) continue;
    let seenAt: Date | null = null;
    if (raw.ts !== undefined && !(typeof raw.ts === 'string' && MASKED_TS.test(raw.ts)))
      seenAt = seenAtOf(raw.ts);
    const o: Observation = {
      host,
      protocol: proto as Protocol,
      port,
      source: 'zeek',
      grade: ev.grade,
      reason: ev.reason,
      seenAt,
      ...where,
    };
    const name = clip(
      service?.split(',').find((s) => s !== '' && !s.startsWith('-')),
      64,
    );
    if (name && ev.grade !== 'negative') o.service = { name: name.toLowerCase() };
    yield { kind: 'observation', observation: o };
  }
  if (headerless > 0 && headerlessFirst) {
    yield {
      kind: 'issue',
      issue: {
        ...headerlessFirst,
        message: `${headerless} TSV record(s) before any #fields header skipped (is this a Zeek ${logName}?)`,
      },
    };
  }
}
