import { canonicalIp, parsePort } from '../common/address.ts';
import { readLines } from '../common/lines.ts';
import { clip, excerpt } from '../common/text.ts';
import type { Observation, ParseEvent, Parser, Protocol, ServiceDetail } from '../observation.ts';
import { parseGrepHeader } from './nmap-grep.parser.ts';
import { gradeNmapState } from './nmap-xml.parser.ts';

/** Longest normal-output line read; nmap's lines are short, script output the longest. */
export const NMAP_NORMAL_MAX_LINE_BYTES = 1024 * 1024;

// `Nmap scan report for 198.18.0.2`, `… for name (198.18.0.2)`, `… for 198.18.0.3 [host down]`.
const REPORT = /^Nmap scan report for (?:(\S+) \(([^)\s]+)\)|(\S+))(?: \[host down(?:, [^\]]*)?\])?\s*$/;
const TABLE_HEAD = /^PORT\s+STATE\s+SERVICE(?:\s+(REASON))?(?:\s+(VERSION))?\s*$/;
// `2222/tcp open   ssh        OpenSSH 9.2p1 …`: port/proto, state, service, then reason/version.
const ROW = /^(\d+)\/(tcp|udp|sctp)\s+(\S+)(?:\s+(\S+))?(?:\s+(.*?))?\s*$/;
const ROW_LIKE = /^\S+\/\S+\s+\S+/;

/**
 * nmap's normal (human-readable) output, `-oN` or a saved terminal log: one `Nmap scan report for`
 * block per host with its `PORT STATE SERVICE [VERSION]` table, laid out as nmap's output.cc writes
 * it. Port states are graded as in the XML (`open` strong, `open|filtered` weak, `closed` negative);
 * ports summarised by `Not shown:` lines are not listed and give nothing. Script output (`|` lines),
 * `Service Info:`, MAC and OS lines are skipped. The `# Nmap … scan initiated <date>` header gives the
 * time, read as UTC like the greppable header (nmap writes the scanner's local time, without a zone);
 * output without the header (a terminal copy) has no time.
 */
export const parseNmapNormal: Parser = async function* (input, _opts) {
  let start: Date | null = null;
  let base: Pick<Observation, 'host' | 'source' | 'seenAt' | 'hostnames'> | null = null;
  let inTable = false;
  let hasReason = false;
  for await (const l of readLines(input, { maxLineBytes: NMAP_NORMAL_MAX_LINE_BYTES })) {
    const where = { line: l.line, offset: l.offset };
    if (l.tooLong) {
      yield issue(`line ${l.line} is longer than ${NMAP_NORMAL_MAX_LINE_BYTES} bytes; skipped`, where);
      inTable = false;
      continue;
    }
    const text = l.text.replace(/\r$/, '');
    if (text.startsWith('# ')) {
      const h = parseGrepHeader(text);
      if (h) start = h.start;
      continue;
    }
    if (l.binary) {
      yield issue(`line ${l.line}: binary data, not nmap normal output; skipped`, where);
      inTable = false;
      continue;
    }
    if (text.startsWith('Nmap scan report for ')) {
      inTable = false;
      yield { kind: 'record' };
      const m = REPORT.exec(text);
      const address = m ? (m[2] ?? m[3]!) : undefined;
      const host = address !== undefined ? canonicalIp(address) : null;
      if (!m || host === null) {
        base = null;
        yield issue(
          `line ${l.line}: expected "Nmap scan report for <address>" or "… for <name> (<address>)", got ${excerpt(text)} (scan with -n, or keep the address in the report)`,
          where,
        );
        continue;
      }
      if (/\[host down/.test(text)) {
        base = null;
        continue;
      }
      const name = m[1] ? clip(m[1], 255) : undefined;
      base = { host, source: 'nmap', seenAt: start, ...(name ? { hostnames: [name] } : {}) };
      continue;
    }
    const head = TABLE_HEAD.exec(text);
    if (head) {
      inTable = base !== null;
      hasReason = head[1] !== undefined;
      continue;
    }
    if (!inTable || base === null) continue;
    if (text === '' || text.startsWith('|') || !ROW_LIKE.test(text)) {
      // Script output belongs to the row above it; anything else ends the table.
      if (!text.startsWith('|')) inTable = false;
      continue;
    }
    if (l.unterminated) {
      // A row the input ends in the middle of may have lost part of its state (`open|filtered`
      // cut to `open`): it proves nothing.
      yield issue(`line ${l.line}: last port row has no line end (file cut short?); skipped`, where);
      continue;
    }
    const m = ROW.exec(text);
    const port = m ? parsePort(m[1]) : null;
    if (!m || port === null || port === 0) {
      yield issue(
        `line ${l.line}: invalid port row ${excerpt(text)} (<port 1-65535>/<tcp|udp|sctp> <state> <service> expected)`,
        where,
      );
      continue;
    }
    const state = m[3]!;
    const grade = gradeNmapState(state);
    if (!grade) continue;
    const o: Observation = {
      ...base,
      protocol: m[2] as Protocol,
      port,
      grade,
      reason: `nmap ${state}`,
      ...where,
    };
    const service = serviceOf(m[4], m[5], hasReason);
    if (service) o.service = service;
    yield { kind: 'observation', observation: o };
  }
};

function serviceOf(
  name: string | undefined,
  rest: string | undefined,
  hasReason: boolean,
): ServiceDetail | undefined {
  // With --reason a column (`syn-ack ttl 64`, `conn-refused`) comes before the version.
  let version = rest;
  if (hasReason && version) version = version.replace(/^\S+(?: ttl \d+)?\s*/, '');
  const s: ServiceDetail = {};
  const n = clip(name);
  const v = clip(version?.trim());
  if (n) s.name = n;
  if (v) s.product = v;
  return s.name || s.product ? s : undefined;
}

function issue(message: string, where: { line: number; offset: number }): ParseEvent {
  return { kind: 'issue', issue: { message, ...where } };
}
