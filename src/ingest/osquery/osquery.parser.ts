import { canonicalIp, parsePort } from '../common/address.ts';
import { dateFromEpochSeconds, excerpt } from '../common/text.ts';
import type { EvidenceGrade, Observation, ParseEvent, ParseIssue, Parser, Protocol } from '../observation.ts';
import { JsonSplitter, LineSplitter, JSON_MAX_RECORD_BYTES } from '../stream/index.ts';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// IANA protocol numbers as osquery reports them (`protocol` column).
const PROTOCOLS: Record<string, Protocol> = { '6': 'tcp', '17': 'udp', '132': 'sctp' };
// Decoration names people give the reporting host's address (osquery `decorators` queries).
const DECORATION_KEYS = ['host_ip', 'ip', 'ip_address', 'primary_ip', 'address', 'ipv4', 'ipv6'];

/** True for addresses only the host itself can reach. */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^127\./.test(ip);
}

/** True for the "every address of this host" bind addresses. */
export function isWildcard(address: string): boolean {
  return address === '' || address === '0.0.0.0' || address === '::' || address === '*' || address === '[::]';
}

interface Context {
  reporter: string | undefined;
  hostnames: string[] | undefined;
  seenAt: Date | null;
  line: number;
  offset: number;
}

/**
 * Parser for osquery `listening_ports` results: `osqueryi --json` output (an array of rows, every
 * value a string) or rows one per line, and osqueryd result logs — event format
 * (`{"name":…,"hostIdentifier":…,"unixTime":…,"columns":{…},"action":"added"}` per line), snapshot
 * format (`"snapshot":[rows]`) and batch format (`"diffResults":{"added":[…],"removed":[…]}`).
 * A row bound to a specific address is a listener on that address; a wildcard bind (`0.0.0.0`,
 * `::`) is a listener on the reporting host: `opts.host`, else the envelope's `hostIdentifier` when
 * it is an IP address, else a decoration such as `decorations.host_ip`. Loopback listeners
 * (127.0.0.0/8, ::1) are not network exposure and are skipped without an issue, as are port-0
 * sockets and UNIX sockets. A `removed` row is negative evidence (the socket closed).
 */
export const parseOsquery: Parser = async function* (input, opts) {
  const lines = new LineSplitter(JSON_MAX_RECORD_BYTES);
  const json = new JsonSplitter();
  // A reporting host given by name (an HEC envelope's `host`) cannot place wildcard binds; it is
  // named in the issue about them, if there are any.
  const optHost = opts.host !== undefined ? (canonicalIp(opts.host) ?? undefined) : undefined;
  const optHostName = opts.host !== undefined && !optHost ? opts.host : undefined;
  let missingReporter = 0;
  let firstMissing: ParseIssue | undefined;

  const rowEvents = (
    row: unknown,
    ctx: Context,
    pointer: string,
    grade: EvidenceGrade,
    out: ParseEvent[],
  ): void => {
    out.push({ kind: 'record' });
    const where = { line: ctx.line, offset: ctx.offset };
    if (!isObject(row)) {
      out.push({
        kind: 'issue',
        issue: { ...where, pointer, message: 'listening_ports row is not an object' },
      });
      return;
    }
    const family = row.family === undefined ? undefined : String(row.family);
    const protoText = row.protocol === undefined ? undefined : String(row.protocol);
    if (family === '1' || protoText === '0') return; // UNIX domain sockets
    if (protoText === undefined || row.port === undefined) {
      out.push({
        kind: 'issue',
        issue: { ...where, pointer, message: 'not a listening_ports row (needs port and protocol columns)' },
      });
      return;
    }
    const protocol = PROTOCOLS[protoText.trim()];
    if (!protocol) return; // raw and other sockets have no ports
    const port = parsePort(row.port);
    if (port === null) {
      out.push({
        kind: 'issue',
        issue: {
          ...where,
          pointer: `${pointer}/port`,
          message: `port ${excerpt(String(row.port))} is not a port number`,
        },
      });
      return;
    }
    if (port === 0) return;
    const address = typeof row.address === 'string' ? row.address.trim() : '';
    let host: string | undefined;
    let hostnames: string[] | undefined;
    if (isWildcard(address)) {
      host = ctx.reporter;
      hostnames = ctx.hostnames;
      if (!host) {
        missingReporter++;
        firstMissing ??= {
          ...where,
          pointer: `${pointer}/address`,
          message: 'wildcard listener and no reporting host',
        };
        return;
      }
    } else {
      const ip = canonicalIp(address);
      if (!ip) {
        out.push({
          kind: 'issue',
          issue: {
            ...where,
            pointer: `${pointer}/address`,
            message: `address ${excerpt(address)} is not an IP address`,
          },
        });
        return;
      }
      if (isLoopback(ip)) return;
      host = ip;
    }
    const o: Observation = {
      host,
      protocol,
      port,
      source: 'osquery',
      grade,
      reason: grade === 'negative' ? 'osquery listening_ports removed' : 'osquery listening_ports',
      seenAt: ctx.seenAt,
      ...where,
    };
    if (hostnames) o.hostnames = hostnames;
    out.push({ kind: 'observation', observation: o });
  };

  const valueEvents = (value: unknown, line: number, offset: number, out: ParseEvent[]): void => {
    if (!isObject(value)) {
      out.push({ kind: 'record' });
      out.push({ kind: 'issue', issue: { line, offset, message: 'not an osquery result (a JSON object)' } });
      return;
    }
    const isEnvelope = 'columns' in value || 'snapshot' in value || 'diffResults' in value;
    const ctx: Context = { reporter: optHost, hostnames: undefined, seenAt: null, line, offset };
    if (isEnvelope) {
      // Older osquery versions (and their docs) call the field `hostname`.
      const hostIdRaw = value.hostIdentifier ?? value.hostname;
      const hostId = typeof hostIdRaw === 'string' && hostIdRaw !== '' ? hostIdRaw : undefined;
      const idIp = hostId ? canonicalIp(hostId) : null;
      const names = new Set<string>();
      if (hostId && !idIp) names.add(hostId);
      let decoIp: string | null = null;
      if (isObject(value.decorations)) {
        const d = value.decorations;
        for (const k of DECORATION_KEYS) {
          if (typeof d[k] === 'string') decoIp ??= canonicalIp(d[k]);
        }
        if (typeof d.hostname === 'string' && d.hostname && !canonicalIp(d.hostname)) names.add(d.hostname);
      }
      ctx.reporter = optHost ?? idIp ?? decoIp ?? undefined;
      if (names.size) ctx.hostnames = [...names].slice(0, 8);
      ctx.seenAt = dateFromEpochSeconds(value.unixTime);
      if (!ctx.seenAt && typeof value.calendarTime === 'string') {
        const t = Date.parse(value.calendarTime);
        if (Number.isFinite(t)) ctx.seenAt = new Date(t);
      }
    }
    if ('columns' in value) {
      const action = value.action;
      if (action === 'removed') rowEvents(value.columns, ctx, '/columns', 'negative', out);
      else rowEvents(value.columns, ctx, '/columns', 'strong', out);
    } else if ('snapshot' in value) {
      if (!Array.isArray(value.snapshot)) {
        out.push({ kind: 'record' });
        out.push({
          kind: 'issue',
          issue: { line, offset, pointer: '/snapshot', message: 'snapshot is not an array' },
        });
        return;
      }
      value.snapshot.forEach((row, i) => rowEvents(row, ctx, `/snapshot/${i}`, 'strong', out));
    } else if ('diffResults' in value) {
      const diff = value.diffResults;
      if (!isObject(diff)) {
        out.push({ kind: 'record' });
        out.push({
          kind: 'issue',
          issue: { line, offset, pointer: '/diffResults', message: 'diffResults is not an object' },
        });
        return;
      }
      for (const [key, grade] of [
        ['added', 'strong'],
        ['removed', 'negative'],
      ] as const) {
        const rows = diff[key];
        if (rows === undefined) continue;
        if (!Array.isArray(rows)) {
          out.push({ kind: 'record' });
          out.push({
            kind: 'issue',
            issue: {
              line,
              offset,
              pointer: `/diffResults/${key}`,
              message: `diffResults.${key} is not an array`,
            },
          });
          continue;
        }
        rows.forEach((row, i) => rowEvents(row, ctx, `/diffResults/${key}/${i}`, grade, out));
      }
    } else {
      rowEvents(value, ctx, '', 'strong', out);
    }
  };

  const handle = (text: ReturnType<LineSplitter['push']>, out: ParseEvent[]): void => {
    for (const ln of text) {
      for (const item of json.line(ln)) {
        if (item.kind === 'error') {
          out.push({ kind: 'record' });
          out.push({ kind: 'issue', issue: { message: item.message, line: item.line, offset: item.offset } });
        } else valueEvents(item.value, item.line, item.offset, out);
      }
    }
  };

  for await (const chunk of input) {
    const out: ParseEvent[] = [];
    handle(lines.push(chunk), out);
    yield* out;
  }
  const out: ParseEvent[] = [];
  handle(lines.end(), out);
  for (const item of json.end()) {
    out.push({ kind: 'record' });
    if (item.kind === 'error')
      out.push({ kind: 'issue', issue: { message: item.message, line: item.line, offset: item.offset } });
  }
  yield* out;
  if (firstMissing) {
    yield {
      kind: 'issue',
      issue: {
        ...firstMissing,
        message:
          `${missingReporter} wildcard listener(s) (0.0.0.0, ::) skipped: no reporting host` +
          (optHostName ? ` (the given host ${excerpt(optHostName)} is not an IP address)` : '') +
          `; give --host with an IP address or use result logs whose hostIdentifier or decorations.host_ip is the host's address`,
      },
    };
  }
};
