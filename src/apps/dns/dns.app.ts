import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { failed, loadManifest } from '../../automation/app.registry.ts';
import type { AppDefinition } from '../../automation/app.types.ts';

function resolverFor(asset: Readonly<Record<string, unknown>>): Resolver {
  const r = new Resolver({ timeout: Number(asset.timeout_ms ?? 3000), tries: 2 });
  if (typeof asset.server === 'string' && asset.server.trim()) r.setServers([asset.server.trim()]);
  return r;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

/** Built-in DNS app: forward and reverse lookups. */
export const dnsApp: AppDefinition = {
  manifest: loadManifest(new URL('./dns.json', import.meta.url)),
  async execute(ctx, params) {
    const r = resolverFor(ctx.asset);
    ctx.signal.addEventListener('abort', () => r.cancel(), { once: true });
    try {
      if (ctx.action === 'test_connectivity') {
        await r.resolveNs('.');
        return { status: 'success', message: `DNS server ${r.getServers().join(', ')} answers` };
      }
      if (ctx.action === 'lookup_domain') {
        const name = String(params.domain);
        const type = String(params.type ?? 'A');
        try {
          const addrs = type === 'AAAA' ? await r.resolve6(name) : await r.resolve4(name);
          return {
            status: 'success',
            message: `${name}: ${addrs.join(', ')}`,
            summary: { addresses: addrs.length },
            data: addrs.map((address) => ({ address, type })),
          };
        } catch (e) {
          if (NOT_FOUND.has((e as NodeJS.ErrnoException).code ?? ''))
            return {
              status: 'success',
              message: `${name}: no ${type} record`,
              summary: { addresses: 0 },
              data: [],
            };
          throw e;
        }
      }
      const ip = String(params.ip);
      if (!isIP(ip)) return failed(`"${ip}" is not an IP address`);
      try {
        const names = await r.reverse(ip);
        return {
          status: 'success',
          message: `${ip}: ${names.join(', ')}`,
          summary: { hostname: names[0] ?? null },
          data: names.map((hostname) => ({ hostname })),
        };
      } catch (e) {
        if (NOT_FOUND.has((e as NodeJS.ErrnoException).code ?? ''))
          return {
            status: 'success',
            message: `${ip}: no PTR record`,
            summary: { hostname: null },
            data: [],
          };
        throw e;
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return failed(`DNS ${err.code ?? 'error'}: ${err.message}`);
    }
  },
};
