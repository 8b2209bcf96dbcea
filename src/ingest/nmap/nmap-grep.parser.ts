import { canonicalIp, parsePort } from '../common/address.ts';
import { readLines } from '../common/lines.ts';
import { clip, dateFromEpochSeconds, excerpt } from '../common/text.ts';
import type { Observation, ParseEvent, Parser, Protocol, ServiceDetail, SourceKind } from '../observation.ts';
import { gradeNmapState } from './nmap-xml.parser.ts';

/** Longest greppable line read; nmap writes one line per host, long only with -p- and many open ports. */
export const NMAP_GREP_MAX_LINE_BYTES = 4 * 1024 * 1024;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HEADER =
  /^# (Nmap|Masscan) (\S+) scan initiated (?:\w{3} )?(\w{3})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})/;
const HOST = /^Host: (\S+) \(([^)]*)\)$/;
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/**
 * The scan start of a `# Nmap 7.93 scan initiated Tue Nov 24 14:18:05 2026 as: …` (or masscan's
 * `# Masscan 1.3.2 scan initiated …`) header line. The header has no time zone: masscan writes UTC,
 * nmap the scanning machine's local time, which is read as UTC too.
 */
export function parseGrepHeader(line: string): { scanner: SourceKind; start: Date | null } | null {
  const m = HEADER.exec(line);
  if (!m) return null;
  const month = MONTHS.indexOf(m[3]!);
  const t = Date.UTC(Number(m[8]), month, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
  return {
    scanner: m[1] === 'Masscan' ? 'masscan' : 'nmap',
    start: month >= 0 && Number.isFinite(t) ? new Date(t) : null,
  };
}

/** The entries of a `Ports:` field; nmap separates them with `, ` and never writes `, <digit>` inside one. */
function portEntries(field: string): string[] {
  return field
    .split(/,\s*(?=\d+\/)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * nmap greppable output (`-oG`, also masscan's `-oG`): one `Host:` line per host with tab-separated
 * fields. `Ports:` entries are `port/state/protocol/owner/service/sunrpc info/version info/`
 * (nmap's documented layout); `open` is strong evidence, `open|filtered` weak, `closed` negative.
 * `Status: Down` hosts give nothing; the `# … scan initiated <date>` header gives the time.
 */
export const parseNmapGrep: Parser = async function* (input, _opts) {
  let scanner: SourceKind = 'nmap';
  let start: Date | null = null;
  for await (const l of readLines(input, { maxLineBytes: NMAP_GREP_MAX_LINE_BYTES })) {
    const where = { line: l.line, offset: l.offset };
    if (l.tooLong) {
      yield issue(`line ${l.line} is longer than ${NMAP_GREP_MAX_LINE_BYTES} bytes; skipped`, where);
      continue;
    }
    const text = l.text;
    if (text.trim() === '') continue;
    if (text.startsWith('#')) {
      const h = parseGrepHeader(text);
      if (h) {
        scanner = h.scanner;
        start = h.start;
      }
      continue;
    }
    if (l.binary) {
      yield issue(`line ${l.line}: binary data, not nmap greppable output; skipped`, where);
      continue;
    }
    const fields = text.split('\t');
    // masscan 1.3 puts `Timestamp: <epoch>` before `Host:`.
    let lineTime: Date | null = null;
    if (fields[0]!.startsWith('Timestamp: ') && fields.length > 1) {
      lineTime = dateFromEpochSeconds(fields.shift()!.slice(11));
    }
    const hm = HOST.exec(fields[0]!);
    if (!hm) {
      yield issue(`line ${l.line}: expected "Host: <address> (<name>)", got ${excerpt(text)}`, where);
      continue;
    }
    yield { kind: 'record' };
    const host = canonicalIp(hm[1]!);
    if (host === null) {
      yield issue(`line ${l.line}: invalid host address ${excerpt(hm[1]!)}`, where);
      continue;
    }
    const hostname = clip(hm[2]!.trim(), 255);
    const base = {
      host,
      source: scanner,
      seenAt: lineTime ?? start,
      ...where,
      ...(hostname ? { hostnames: [hostname] } : {}),
    };
    const named = new Map<string, string>();
    for (const f of fields.slice(1)) {
      const colon = f.indexOf(': ');
      if (colon > 0) named.set(f.slice(0, colon), f.slice(colon + 2));
      else if (f.endsWith(':')) named.set(f.slice(0, -1), '');
    }
    const status = named.get('Status');
    if (status !== undefined && status !== 'Up') continue;
    const ports = named.get('Ports');
    if (ports !== undefined) {
      for (const entry of portEntries(ports)) {
        const ev = portObservation(entry, base, l.line);
        if (ev) yield ev;
      }
    }
    // masscan -oG banner lines: `Host: H ()\tPort: 80\tService: http\tBanner: …` — a server answered.
    const bannerPort = named.get('Port');
    if (bannerPort !== undefined) {
      const p = parsePort(bannerPort);
      if (p === null) {
        yield issue(`line ${l.line}: invalid port ${excerpt(bannerPort)} (0–65535 expected)`, where);
        continue;
      }
      const service: ServiceDetail = {};
      const name = clip(named.get('Service'));
      const banner = clip(named.get('Banner'));
      if (name) service.name = name;
      if (banner) service.banner = banner;
      const o: Observation = {
        ...base,
        protocol: 'tcp',
        port: p,
        grade: 'strong',
        reason: `${scanner} banner`,
      };
      if (name || banner) o.service = service;
      yield { kind: 'observation', observation: o };
    }
  }
};

function issue(message: string, where: { line: number; offset: number }): ParseEvent {
  return { kind: 'issue', issue: { message, ...where } };
}

function portObservation(
  entry: string,
  base: Pick<Observation, 'host' | 'source' | 'seenAt' | 'line' | 'offset' | 'hostnames'>,
  line: number,
): ParseEvent | null {
  const parts = entry.split('/');
  const [portText = '', state = '', proto = '', , service = '', , ...rest] = parts;
  const port = parsePort(portText);
  if (port === null || parts.length < 3) {
    return issue(
      `line ${line}: invalid Ports entry ${excerpt(entry)} (port/state/protocol/… with port 0–65535 expected)`,
      {
        line,
        offset: base.offset ?? 0,
      },
    );
  }
  if (!PROTOCOLS.has(proto)) {
    if (proto === 'ip') return null;
    return issue(`line ${line}: unknown protocol ${excerpt(proto)} in Ports entry ${excerpt(entry)}`, {
      line,
      offset: base.offset ?? 0,
    });
  }
  const grade = gradeNmapState(state);
  if (!grade) return null;
  const o: Observation = {
    ...base,
    protocol: proto as Protocol,
    port,
    grade,
    reason: `${base.source} ${state}`,
  };
  // nmap writes `|` for `/` inside the service, owner and version fields (its output.cc says so);
  // the trailing `/` leaves one empty part.
  const version = clip(rest.join('/').replace(/\/$/, '').replace(/\|/g, '/'));
  const name = clip(service.replace(/\|/g, '/'));
  if (name || version) o.service = { ...(name ? { name } : {}), ...(version ? { product: version } : {}) };
  return { kind: 'observation', observation: o };
}
