import { spawn } from 'node:child_process';
import { isIP } from 'node:net';
import { failed, loadManifest } from '../../automation/app.registry.ts';
import type { ActionContext, AppDefinition } from '../../automation/app.types.ts';
import { AppError } from '../../util/errors.ts';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Runs nft (inside the asset's network namespace, if any) with a script on stdin or arguments. */
function nft(ctx: ActionContext, args: string[], script?: string): Promise<string> {
  const ns = ctx.asset.netns ? String(ctx.asset.netns) : '';
  if (ns && !NAME.test(ns)) throw new AppError('bad_netns', `netns "${ns}" is not a namespace name`);
  const [cmd, argv] = ns ? ['ip', ['netns', 'exec', ns, 'nft', ...args]] : ['nft', args];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], signal: ctx.signal });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) =>
      reject(new AppError('nft_failed', `cannot run ${cmd}: ${e.message}`, { kind: 'operational' })),
    );
    p.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new AppError('nft_failed', `nft failed (exit ${code}): ${err.trim() || out.trim()}`, {
              kind: 'operational',
            }),
          ),
    );
    // nft may exit before reading stdin (e.g. for `list`): that EPIPE is not an error of ours.
    p.stdin.on('error', () => {});
    p.stdin.end(script ?? '');
  });
}

interface Target {
  table: string;
  hook: 'input' | 'forward';
  ip: string | null;
  port: number;
  protocol: 'tcp' | 'udp';
}

function target(ctx: ActionContext, params: Record<string, unknown>): Target {
  const table = String(ctx.asset.table ?? 'portcullis');
  if (!NAME.test(table)) throw new AppError('bad_table', `table "${table}" is not a valid name`);
  const ip = params.ip ? String(params.ip) : null;
  if (ip !== null && !isIP(ip)) throw new AppError('bad_ip', `"${ip}" is not an IP address`);
  const port = Number(params.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new AppError('bad_port', `port ${String(params.port)} is not 1–65535`);
  const protocol = params.protocol === 'udp' ? 'udp' : 'tcp';
  return { table, hook: ctx.asset.hook === 'forward' ? 'forward' : 'input', ip, port, protocol };
}

/** The comment that marks Portcullis's rule for one blocked port. */
export function ruleComment(t: Pick<Target, 'ip' | 'port' | 'protocol'>): string {
  return `portcullis block ${t.protocol}/${t.port} ${t.ip ?? 'any'}`;
}

async function ensureChain(ctx: ActionContext, t: Target): Promise<void> {
  await nft(
    ctx,
    ['-f', '-'],
    `add table inet ${t.table}\nadd chain inet ${t.table} ${t.hook} { type filter hook ${t.hook} priority -10; policy accept; }\n`,
  );
}

interface RuleInfo {
  handle: number;
  comment: string;
}

async function rules(ctx: ActionContext, t: Pick<Target, 'table' | 'hook'>): Promise<RuleInfo[]> {
  let out: string;
  try {
    out = await nft(ctx, ['-j', '-a', 'list', 'chain', 'inet', t.table, t.hook]);
  } catch (e) {
    if (/No such file or directory/.test((e as Error).message)) return [];
    throw e;
  }
  const parsed = JSON.parse(out) as { nftables?: Array<{ rule?: { handle: number; comment?: string } }> };
  return (parsed.nftables ?? []).flatMap((x) =>
    x.rule ? [{ handle: x.rule.handle, comment: x.rule.comment ?? '' }] : [],
  );
}

/** Built-in nftables firewall app. */
export const firewallApp: AppDefinition = {
  manifest: loadManifest(new URL('./firewall.json', import.meta.url)),
  async execute(ctx, params) {
    if (ctx.action === 'test_connectivity') {
      const out = await nft(ctx, ['list', 'tables']);
      return { status: 'success', message: `nft works (${out.split('\n').filter(Boolean).length} table(s))` };
    }
    if (ctx.action === 'list_blocks') {
      const table = String(ctx.asset.table ?? 'portcullis');
      const hook = ctx.asset.hook === 'forward' ? 'forward' : 'input';
      const list = (await rules(ctx, { table, hook }))
        .map((r) => /^portcullis block (tcp|udp)\/(\d+) (\S+)$/.exec(r.comment))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ protocol: m[1], port: Number(m[2]), ip: m[3] === 'any' ? null : m[3] }));
      return {
        status: 'success',
        message: `${list.length} blocked port(s)`,
        summary: { blocked: list.length },
        data: list,
      };
    }
    const t = target(ctx, params);
    const comment = ruleComment(t);
    if (ctx.action === 'block_port') {
      await ensureChain(ctx, t);
      const existing = (await rules(ctx, t)).find((r) => r.comment === comment);
      if (existing)
        return {
          status: 'success',
          message: `already blocked (${comment})`,
          summary: { handle: existing.handle },
          data: [{ handle: existing.handle }],
        };
      const match = t.ip ? `${isIP(t.ip) === 6 ? 'ip6' : 'ip'} daddr ${t.ip} ` : '';
      await nft(
        ctx,
        ['-f', '-'],
        `add rule inet ${t.table} ${t.hook} ${match}${t.protocol} dport ${t.port} counter drop comment "${comment}"\n`,
      );
      const added = (await rules(ctx, t)).find((r) => r.comment === comment);
      if (!added) return failed('nft accepted the rule but it is not in the chain');
      return {
        status: 'success',
        message: `blocked ${t.protocol}/${t.port}${t.ip ? ` on ${t.ip}` : ''}`,
        summary: { handle: added.handle },
        data: [{ handle: added.handle }],
      };
    }
    const matching = (await rules(ctx, t)).filter((r) => r.comment === comment);
    for (const r of matching)
      await nft(ctx, ['delete', 'rule', 'inet', t.table, t.hook, 'handle', String(r.handle)]);
    return {
      status: 'success',
      message: matching.length
        ? `unblocked ${t.protocol}/${t.port}${t.ip ? ` on ${t.ip}` : ''}`
        : 'was not blocked',
      summary: { removed: matching.length },
      data: matching.map((r) => ({ handle: r.handle })),
    };
  },
};
