import { badRequest } from '../util/errors.ts';

/** Every TCP port nmap's `-p-` means. */
export const ALL_PORTS_SPEC = '1-65535';

/**
 * Parses a port list in nmap's `-p` syntax into sorted, unique port numbers.
 *
 * Accepted: `22`, `22,80,443`, `1000-2000`, open-ended ranges (`-100` = 1–100, `60000-` = 60000–65535,
 * `-` = 1–65535), and the `T:` protocol prefix. Port 0 is scanned only when written explicitly (as nmap
 * does). UDP/SCTP/IP-protocol prefixes and service names are refused with a message saying where.
 */
export function parsePorts(spec: string): number[] {
  const text = spec.trim();
  if (text === '') throw badRequest('port list is empty: use e.g. -p 22,80,1000-2000 or -p- for all ports');
  const seen = new Uint8Array(65536);
  let count = 0;
  let offset = 0;
  for (const rawItem of text.split(',')) {
    const at = offset;
    offset += rawItem.length + 1;
    let item = rawItem.trim();
    const where = `in port list ${JSON.stringify(spec)} at item ${JSON.stringify(rawItem)} (character ${at + 1})`;
    const prefix = /^([A-Za-z]):/.exec(item);
    if (prefix) {
      const proto = prefix[1]!.toUpperCase();
      if (proto !== 'T')
        throw badRequest(`only TCP is scanned: protocol prefix ${prefix[1]}: is not supported ${where}`);
      item = item.slice(2);
    }
    if (item === '') throw badRequest(`empty port item ${where}`);
    const m = /^(\d*)-(\d*)$/.exec(item);
    let lo: number;
    let hi: number;
    if (m) {
      lo = m[1] === '' ? 1 : toPort(m[1]!, where);
      hi = m[2] === '' ? 65535 : toPort(m[2]!, where);
      if (lo > hi) throw badRequest(`port range ${item} runs backwards ${where}`);
    } else if (/^\d+$/.test(item)) {
      lo = hi = toPort(item, where);
    } else {
      throw badRequest(`not a port or port range (service names are not supported) ${where}`);
    }
    for (let p = lo; p <= hi; p++) {
      if (!seen[p]) {
        seen[p] = 1;
        count++;
      }
    }
  }
  const out = new Array<number>(count);
  let i = 0;
  for (let p = 0; p < 65536; p++) if (seen[p]) out[i++] = p;
  return out;
}

function toPort(digits: string, where: string): number {
  const n = digits.length > 6 ? Infinity : Number(digits);
  if (!(n >= 0 && n <= 65535)) throw badRequest(`port ${digits} is outside 0-65535 ${where}`);
  return n;
}

/** Writes sorted ports back as a compact nmap-style list (`22,80,1000-2000`). */
export function formatPorts(ports: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < ports.length) {
    const start = ports[i]!;
    let end = start;
    while (i + 1 < ports.length && ports[i + 1] === end + 1) end = ports[++i]!;
    parts.push(start === end ? String(start) : `${start}-${end}`);
    i++;
  }
  return parts.join(',');
}
