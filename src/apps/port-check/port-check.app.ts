import { createServer, Socket, isIP } from 'node:net';
import { loadManifest, failed } from '../../automation/app.registry.ts';
import type { AppDefinition } from '../../automation/app.types.ts';
import { AppError } from '../../util/errors.ts';

export type PortState = 'open' | 'closed' | 'filtered';

/**
 * Parses a port list such as `22,80,8000-8010` into sorted unique ports. Throws naming the bad
 * item; at most `max` ports.
 */
export function parsePortList(text: string, max = 1024): number[] {
  const out = new Set<number>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (!m) throw new AppError('bad_ports', `"${item}" is not a port or a range such as 8000-8010`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi)
      throw new AppError('bad_ports', `"${item}": ports run from 1 to 65535, low to high`);
    if (out.size + (hi - lo + 1) > max) throw new AppError('bad_ports', `more than ${max} ports`);
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  if (out.size === 0) throw new AppError('bad_ports', 'no ports given');
  return [...out].sort((a, b) => a - b);
}

/** One TCP connect: open if accepted, closed if refused, filtered on timeout or unreachable. */
export function probeTcp(
  ip: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PortState> {
  return new Promise((resolve) => {
    const s = new Socket();
    let settled = false;
    const done = (st: PortState) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      signal.removeEventListener('abort', onAbort);
      s.destroy();
      resolve(st);
    };
    const onAbort = () => done('filtered');
    const t = setTimeout(() => done('filtered'), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('connect', () => done('open'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'closed' : 'filtered'));
    s.connect({ host: ip, port });
  });
}

/** Built-in port check (TCP connect); the scanner engine can take its place later. */
export const portCheckApp: AppDefinition = {
  manifest: loadManifest(new URL('./port-check.json', import.meta.url)),
  async execute(ctx, params) {
    const timeoutMs = Number(ctx.asset.timeout_ms ?? 2000);
    if (ctx.action === 'test_connectivity') {
      const srv = createServer((c) => c.destroy());
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      const port = (srv.address() as { port: number }).port;
      const st = await probeTcp('127.0.0.1', port, timeoutMs, ctx.signal);
      srv.close();
      return st === 'open'
        ? { status: 'success', message: 'TCP connect works' }
        : failed(`TCP connect to a local listener gave ${st}`);
    }
    const ip = String(params.ip);
    if (!isIP(ip)) return failed(`"${ip}" is not an IP address`);
    const refusal = await ctx.scanRefusal(ip);
    if (refusal) return failed(`refused to probe ${ip}: ${refusal}`);
    const ports = parsePortList(String(params.ports));
    const data: Array<{ ip: string; port: number; state: PortState }> = [];
    let next = 0;
    const worker = async () => {
      while (next < ports.length && !ctx.signal.aborted) {
        const port = ports[next++]!;
        data.push({ ip, port, state: await probeTcp(ip, port, timeoutMs, ctx.signal) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, ports.length) }, worker));
    data.sort((a, b) => a.port - b.port);
    const open = data.filter((d) => d.state === 'open').length;
    return {
      status: 'success',
      message: `${open} of ${data.length} port(s) open on ${ip}`,
      summary: {
        open_ports: open,
        closed_ports: data.filter((d) => d.state === 'closed').length,
        filtered_ports: data.filter((d) => d.state === 'filtered').length,
      },
      data,
    };
  },
};
