import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { loadManifest } from '../../automation/app.registry.ts';
import type { ActionContext, AppDefinition } from '../../automation/app.types.ts';
import { formatRfc5424, frameOctetCounted, type SyslogMessage } from './syslog.format.ts';

async function send(ctx: ActionContext, text: string): Promise<number> {
  const host = String(ctx.asset.host);
  const port = Number(ctx.asset.port ?? 514);
  if (ctx.asset.transport === 'tcp') {
    const frame = frameOctetCounted(text);
    await new Promise<void>((res, rej) => {
      const s = connect({ host, port });
      const onAbort = () => s.destroy(new Error('aborted'));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      s.once('error', rej);
      s.once('connect', () => s.end(frame, () => res()));
      s.once('close', () => ctx.signal.removeEventListener('abort', onAbort));
    });
    return frame.length;
  }
  const buf = Buffer.from(text, 'utf8');
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((res, rej) => sock.send(buf, port, host, (e) => (e ? rej(e) : res())));
  } finally {
    sock.close();
  }
  return buf.length;
}

function message(
  ctx: ActionContext,
  severity: SyslogMessage['severity'],
  text: string,
  msgId?: string,
): string {
  return formatRfc5424({
    facility: (ctx.asset.facility as SyslogMessage['facility']) ?? 'local0',
    severity,
    time: new Date(),
    hostname: typeof ctx.asset.hostname === 'string' && ctx.asset.hostname ? ctx.asset.hostname : hostname(),
    appName: String(ctx.asset.app_name ?? 'portcullis'),
    procId: String(process.pid),
    msgId,
    structuredData:
      ctx.containerId !== null ? { 'portcullis@32473': { container: String(ctx.containerId) } } : undefined,
    message: text,
  });
}

/** Built-in syslog app (RFC 5424 over UDP or TCP). */
export const syslogApp: AppDefinition = {
  manifest: loadManifest(new URL('./syslog.json', import.meta.url)),
  async execute(ctx, params) {
    if (ctx.action === 'test_connectivity') {
      const bytes = await send(ctx, message(ctx, 'info', 'Portcullis syslog connectivity test', 'test'));
      return { status: 'success', message: `sent ${bytes} bytes to ${String(ctx.asset.host)}` };
    }
    const text = message(
      ctx,
      (params.severity as SyslogMessage['severity']) ?? 'notice',
      String(params.message),
      params.msgid ? String(params.msgid) : undefined,
    );
    const bytes = await send(ctx, text);
    return {
      status: 'success',
      message: `sent ${bytes} bytes over ${String(ctx.asset.transport ?? 'udp')}`,
      summary: { bytes },
      data: [{ bytes }],
    };
  },
};
