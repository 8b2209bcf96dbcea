import { canonicalIp, parsePort } from '../common/address.ts';
import { readLines } from '../common/lines.ts';
import { clip, dateFromEpochSeconds, excerpt } from '../common/text.ts';
import type { Observation, ParseEvent, Parser, Protocol } from '../observation.ts';
import { gradeMasscanStatus } from './masscan-json.parser.ts';

const MAX_LINE_BYTES = 256 * 1024;
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
const NOT_LISTENERS = new Set(['icmp', 'arp', 'oproto']);

/**
 * masscan list output (`-oL`), as masscan's `out-text.c` writes it: `#masscan` first, `# end` last,
 * `<status> <proto> <port> <ip> <epoch>` per port (`open tcp 80 1.2.3.4 1390953237`) and
 * `banner <proto> <port> <ip> <epoch> <service> <banner…>`. `open` and banners are strong evidence,
 * `closed` negative.
 */
export const parseMasscanList: Parser = async function* (input, _opts) {
  for await (const l of readLines(input, { maxLineBytes: MAX_LINE_BYTES })) {
    const where = { line: l.line, offset: l.offset };
    const bad = (message: string): ParseEvent => ({
      kind: 'issue',
      issue: { message: `line ${l.line}: ${message}`, ...where },
    });
    if (l.tooLong) {
      yield bad(`longer than ${MAX_LINE_BYTES} bytes; skipped`);
      continue;
    }
    const text = l.text.trim();
    if (text === '' || text.startsWith('#')) continue;
    if (l.binary) {
      yield bad('binary data, not masscan list output; skipped');
      continue;
    }
    const [status = '', proto = '', portText = '', ipText = '', time = '', ...rest] = text.split(/ +/);
    if (time === '' || !/^[a-z]+$/.test(status)) {
      yield bad(`expected "<status> <proto> <port> <ip> <timestamp>", got ${excerpt(text)}`);
      continue;
    }
    yield { kind: 'record' };
    const port = parsePort(portText);
    if (port === null) {
      yield bad(`invalid port ${excerpt(portText)} (0–65535 expected)`);
      continue;
    }
    if (!PROTOCOLS.has(proto)) {
      if (!NOT_LISTENERS.has(proto)) yield bad(`unknown protocol ${excerpt(proto)}`);
      continue;
    }
    const host = canonicalIp(ipText);
    if (host === null) {
      yield bad(`invalid address ${excerpt(ipText)}`);
      continue;
    }
    const seenAt = dateFromEpochSeconds(time);
    if (seenAt === null) {
      yield bad(`invalid timestamp ${excerpt(time)} (epoch seconds expected)`);
      continue;
    }
    const base = { host, protocol: proto as Protocol, port, source: 'masscan' as const, seenAt, ...where };
    if (status === 'banner') {
      const [name, ...words] = rest;
      const o: Observation = { ...base, grade: 'strong', reason: 'masscan banner' };
      const svcName = clip(name);
      const banner = clip(words.join(' '));
      if (svcName || banner)
        o.service = { ...(svcName ? { name: svcName } : {}), ...(banner ? { banner } : {}) };
      yield { kind: 'observation', observation: o };
      continue;
    }
    const grade = gradeMasscanStatus(status);
    if (!grade) continue;
    yield { kind: 'observation', observation: { ...base, grade, reason: `masscan ${status}` } };
  }
};
