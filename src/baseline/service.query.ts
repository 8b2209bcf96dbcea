import ipaddr from 'ipaddr.js';
import { canonicalIp } from '../ingest/common/address.ts';
import { badRequest } from '../util/errors.ts';

/** How `host` narrows a services listing: one address, a CIDR block, or a host name. */
export type HostFilter =
  { kind: 'ip'; value: string } | { kind: 'cidr'; value: string } | { kind: 'name'; value: string };

/**
 * Reads a host filter: an IP address (any notation, canonicalised), a CIDR block (`198.18.0.0/15`,
 * host bits allowed and cleared), or a host name as reported by the evidence (nmap hostnames).
 */
export function parseHostFilter(text: string): HostFilter {
  const s = text.trim();
  if (!s) throw badRequest('host: empty');
  if (s.includes('/')) {
    try {
      const [addr, len] = ipaddr.parseCIDR(s);
      const net =
        addr.kind() === 'ipv4'
          ? ipaddr.IPv4.networkAddressFromCIDR(s).toString()
          : (ipaddr.IPv6.networkAddressFromCIDR(s) as ipaddr.IPv6).toRFC5952String();
      return { kind: 'cidr', value: `${net}/${len}` };
    } catch {
      throw badRequest(`host: "${s}" is not a CIDR block such as 198.18.0.0/15 or fd00::/8`);
    }
  }
  const ip = canonicalIp(s);
  if (ip) return { kind: 'ip', value: ip };
  if (/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/.test(s)) return { kind: 'name', value: s.toLowerCase() };
  throw badRequest(`host: "${s}" is not an IP address, a CIDR block or a host name`);
}

/**
 * Reads a point in time for `seen_since`-style filters: a relative duration back from `now`
 * (`-24h`, `24h`, `90m`, `7d`, `30s`, `2w`) or an ISO-8601 time (`2026-11-20T10:00:00Z`, `2026-11-20`).
 */
export function parseSince(text: string, now: Date, name = 'seen_since'): Date {
  const s = text.trim();
  const m = /^-?(\d+)\s*(ms|s|m|h|d|w)$/.exec(s);
  if (m) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'ms'];
    return new Date(now.getTime() - Number(m[1]) * unit);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    const d = new Date(s);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw badRequest(`${name}: "${s}" is neither a duration such as -24h or 7d nor an ISO-8601 time`);
}
