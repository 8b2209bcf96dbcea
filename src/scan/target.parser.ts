import ipaddr from 'ipaddr.js';
import { badRequest } from '../util/errors.ts';

/** Most addresses one scan may expand to; bigger requests are refused rather than truncated. */
export const MAX_SCAN_HOSTS = 65536;

/** One parsed target expression (a command-line word). */
export type TargetSpec =
  | { kind: 'address'; text: string; family: 4 | 6; address: string }
  | { kind: 'cidr'; text: string; family: 4 | 6; first: bigint; count: bigint }
  | { kind: 'range'; text: string; family: 4; octets: number[][] }
  | { kind: 'span'; text: string; family: 4 | 6; first: bigint; count: bigint }
  | { kind: 'hostname'; text: string; name: string };

const HOSTNAME_RE = /^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$/;

/**
 * Parses target expressions the way nmap reads them: an IPv4 or IPv6 address, a CIDR block
 * (`198.18.0.0/24`, `fd00::/120`), an IPv4 octet range (`198.18.0.1-20`, `198.18.0-3.1`, `198.18.0.1,5,9`),
 * a span between two addresses (`198.18.0.1-198.18.0.20`), or a host name (resolved later). Each word
 * may hold several expressions separated by whitespace. Bad input is refused with the word that failed.
 */
export function parseTargets(words: readonly string[]): TargetSpec[] {
  const out: TargetSpec[] = [];
  for (const word of words) {
    for (const text of word.split(/\s+/)) if (text !== '') out.push(parseTarget(text));
  }
  if (out.length === 0)
    throw badRequest('no targets given: name addresses, CIDR blocks, ranges or host names');
  return out;
}

/** Parses one target expression; see `parseTargets`. */
export function parseTarget(text: string): TargetSpec {
  const bad = (why: string) => badRequest(`target ${JSON.stringify(text)}: ${why}`);
  if (text.includes('/')) {
    const [addrText, prefixText, ...rest] = text.split('/');
    if (rest.length > 0 || !/^\d{1,3}$/.test(prefixText ?? ''))
      throw bad('a CIDR block is ADDRESS/PREFIX, e.g. 198.18.0.0/24');
    const addr = parseAddress(addrText!);
    if (!addr) throw bad(`${JSON.stringify(addrText)} is not an IP address`);
    const bits = addr.family === 4 ? 32 : 128;
    const prefix = Number(prefixText);
    if (prefix > bits) throw bad(`prefix /${prefix} is longer than ${bits} bits`);
    const size = 1n << BigInt(bits - prefix);
    const first = (addr.value / size) * size;
    return { kind: 'cidr', text, family: addr.family, first, count: size };
  }
  const single = parseAddress(text);
  if (single)
    return {
      kind: 'address',
      text,
      family: single.family,
      address: formatAddress(single.family, single.value),
    };
  const dash = text.indexOf('-');
  if (dash > 0 && (text.includes(':') || /^\d+\.\d+\.\d+\.\d+-\d+\.\d+\.\d+\.\d+$/.test(text))) {
    const a = parseAddress(text.slice(0, dash));
    const b = parseAddress(text.slice(dash + 1));
    if (!a || !b) throw bad('an address span is FIRST-LAST with two full addresses');
    if (a.family !== b.family) throw bad('both ends of a span must be the same address family');
    if (a.value > b.value) throw bad('the span runs backwards');
    return { kind: 'span', text, family: a.family, first: a.value, count: b.value - a.value + 1n };
  }
  if (/^[\d,*-]+\.[\d,*-]+\.[\d,*-]+\.[\d,*-]+$/.test(text)) {
    const octets = text.split('.').map((part, i) => parseOctet(part, i, bad));
    return { kind: 'range', text, family: 4, octets };
  }
  if (/^[\d.]+$/.test(text) || text.includes(':')) throw bad('not a valid IPv4 or IPv6 address');
  if (!HOSTNAME_RE.test(text)) throw bad('not an address, CIDR block, range or valid host name');
  return { kind: 'hostname', text, name: text.replace(/\.$/, '').toLowerCase() };
}

function parseOctet(part: string, index: number, bad: (why: string) => Error): number[] {
  const values = new Set<number>();
  for (const item of part.split(',')) {
    if (item === '*') {
      for (let v = 0; v <= 255; v++) values.add(v);
      continue;
    }
    const m = /^(\d{0,3})-(\d{0,3})$/.exec(item);
    let lo: number;
    let hi: number;
    if (m) {
      lo = m[1] === '' ? 0 : Number(m[1]);
      hi = m[2] === '' ? 255 : Number(m[2]);
    } else if (/^\d{1,3}$/.test(item)) {
      lo = hi = Number(item);
    } else {
      throw bad(`octet ${index + 1} (${JSON.stringify(part)}) is not a number, range or list`);
    }
    if (lo > 255 || hi > 255) throw bad(`octet ${index + 1} (${JSON.stringify(part)}) is above 255`);
    if (lo > hi) throw bad(`octet ${index + 1} range ${item} runs backwards`);
    for (let v = lo; v <= hi; v++) values.add(v);
  }
  return [...values].sort((x, y) => x - y);
}

interface ParsedAddress {
  family: 4 | 6;
  value: bigint;
}

/** Parses a plain IPv4 (dotted quad only) or IPv6 address; IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const bytes = ipaddr.IPv4.parse(text).toByteArray();
    return { family: 4, value: bytesToBig(bytes) };
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) {
    const v6 = ipaddr.IPv6.parse(text);
    if (v6.zoneId) return undefined;
    if (v6.isIPv4MappedAddress()) return { family: 4, value: bytesToBig(v6.toIPv4Address().toByteArray()) };
    return { family: 6, value: bytesToBig(v6.toByteArray()) };
  }
  return undefined;
}

function bytesToBig(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Canonical text of an address: dotted quad, or RFC 5952 compressed IPv6. */
export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Number of addresses a spec expands to (host names count as one until resolved). */
export function targetSize(spec: TargetSpec): bigint {
  switch (spec.kind) {
    case 'address':
    case 'hostname':
      return 1n;
    case 'cidr':
    case 'span':
      return spec.count;
    case 'range':
      return spec.octets.reduce((n, o) => n * BigInt(o.length), 1n);
  }
}

/**
 * Expands address specs (not host names) into unique addresses in the order given, refusing more than
 * `limit` in all with an error naming the limit.
 */
export function expandTargets(specs: readonly TargetSpec[], limit = MAX_SCAN_HOSTS): string[] {
  let total = 0n;
  for (const s of specs) total += targetSize(s);
  if (total > BigInt(limit))
    throw badRequest(
      `targets expand to ${total} addresses; at most ${limit} may be scanned at once (split the scan)`,
    );
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (a: string) => {
    if (!seen.has(a)) {
      seen.add(a);
      out.push(a);
    }
  };
  for (const s of specs) {
    switch (s.kind) {
      case 'address':
        add(s.address);
        break;
      case 'cidr':
      case 'span':
        for (let i = 0n; i < s.count; i++) add(formatAddress(s.family, s.first + i));
        break;
      case 'range':
        for (const a of s.octets[0]!)
          for (const b of s.octets[1]!)
            for (const c of s.octets[2]!) for (const d of s.octets[3]!) add(`${a}.${b}.${c}.${d}`);
        break;
      case 'hostname':
        break;
    }
  }
  return out;
}
