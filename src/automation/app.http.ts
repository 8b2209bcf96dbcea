import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';
import { AppError } from '../util/errors.ts';

/** A parsed destination allowlist: hosts, `*.domain` wildcards, IP addresses and CIDRs. */
export interface Allowlist {
  readonly entries: readonly string[];
  allowsName(host: string): boolean;
  allowsAddress(ip: string): boolean;
}

/**
 * Parses an allowlist from a comma/space separated string or an array. An empty list allows nothing.
 * Throws naming the entry that is neither a host name, an address nor a CIDR.
 */
export function parseAllowlist(input: unknown): Allowlist {
  const raw = Array.isArray(input)
    ? input.map(String)
    : typeof input === 'string'
      ? input.split(/[\s,]+/)
      : [];
  const entries = raw.map((s) => s.trim().toLowerCase()).filter(Boolean);
  const cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  const names: string[] = [];
  for (const e of entries) {
    if (e.includes('://'))
      throw new AppError(
        'bad_allowlist',
        `allowlist entry "${e}" is not a host name, address or CIDR (give the host without a scheme)`,
      );
    if (e.includes('/')) {
      try {
        cidrs.push(ipaddr.parseCIDR(e));
      } catch {
        throw new AppError('bad_allowlist', `allowlist entry "${e}" is not a valid CIDR`);
      }
    } else if (isIP(e.replace(/^\[|\]$/g, ''))) {
      const a = ipaddr.parse(e.replace(/^\[|\]$/g, ''));
      cidrs.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(e))
      names.push(e);
    else throw new AppError('bad_allowlist', `allowlist entry "${e}" is not a host name, address or CIDR`);
  }
  return {
    entries,
    allowsName(host) {
      const h = host.toLowerCase().replace(/\.$/, '');
      return names.some((n) => (n.startsWith('*.') ? h.endsWith(n.slice(1)) : h === n));
    },
    allowsAddress(ip) {
      let a: ipaddr.IPv4 | ipaddr.IPv6;
      try {
        a = ipaddr.process(ip);
      } catch {
        return false;
      }
      return cidrs.some(([net, bits]) => a.kind() === net.kind() && a.match(net, bits));
    },
  };
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Largest response body read, in bytes (default 10 MiB); the rest is cut off. */
  maxBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  truncated: boolean;
}

/** The only HTTP an app may do: every destination is checked against the asset's allowlist. */
export interface HttpClient {
  request(url: string, opts?: HttpRequestOptions): Promise<HttpResponse>;
}

/**
 * An HTTP client confined to an allowlist. A host name is allowed when it is listed itself, or when
 * every address it resolves to lies in a listed network; the connection then goes to the address
 * that was checked, so a changing DNS answer cannot redirect it. Redirects are not followed.
 */
export function createHttpClient(allow: Allowlist, signal: AbortSignal): HttpClient {
  return {
    async request(url, opts = {}) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw new AppError('bad_url', `"${url}" is not a URL`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new AppError('bad_url', `${u.protocol} URLs are not allowed; use http or https`);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      let pinned: { address: string; family: number } | undefined;
      if (isIP(host)) {
        if (!allow.allowsAddress(host)) throw denied(host);
      } else if (!allow.allowsName(host)) {
        const addrs = await dnsLookup(host, { all: true }).catch(() => []);
        if (addrs.length === 0 || !addrs.every((a) => allow.allowsAddress(a.address))) throw denied(host);
        pinned = addrs[0];
      }
      const lookup: LookupFunction | undefined = pinned
        ? (_h, o, cb) => {
            const p = pinned!;
            if ((o as { all?: boolean }).all)
              (cb as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [p]);
            else cb(null, p.address, p.family);
          }
        : undefined;
      const dispatcher = new Agent({ connect: lookup ? { lookup } : {} });
      try {
        const res = await request(u, {
          method: (opts.method ?? 'GET').toUpperCase() as 'GET',
          headers: opts.headers ?? {},
          body: opts.body ?? null,
          signal,
          dispatcher,
        });
        const max = opts.maxBytes ?? 10 * 1024 * 1024;
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        for await (const chunk of res.body) {
          const b = chunk as Buffer;
          if (size + b.length > max) {
            chunks.push(b.subarray(0, max - size));
            truncated = true;
            res.body.destroy();
            break;
          }
          chunks.push(b);
          size += b.length;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        return { status: res.statusCode, headers, body: Buffer.concat(chunks).toString('utf8'), truncated };
      } finally {
        void dispatcher.close();
      }
    },
  };
}

function denied(host: string): AppError {
  return new AppError('destination_denied', `destination ${host} is not in the asset's allowed_destinations`);
}
