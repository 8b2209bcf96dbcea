import nodemailer from 'nodemailer';
import { failed, loadManifest } from '../../automation/app.registry.ts';
import type { AppDefinition } from '../../automation/app.types.ts';

function transportFor(a: Readonly<Record<string, unknown>>) {
  const security = String(a.security ?? 'starttls');
  return nodemailer.createTransport({
    host: String(a.server),
    port: Number(a.port ?? 587),
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    ...(a.username ? { auth: { user: String(a.username), pass: String(a.password ?? '') } } : {}),
    ...(a.ca_cert ? { tls: { ca: String(a.ca_cert) } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

/** Built-in SMTP app (nodemailer). */
export const emailApp: AppDefinition = {
  manifest: loadManifest(new URL('./email.json', import.meta.url)),
  async execute(ctx, params) {
    const t = transportFor(ctx.asset);
    ctx.signal.addEventListener('abort', () => t.close(), { once: true });
    try {
      if (ctx.action === 'test_connectivity') {
        await t.verify();
        return { status: 'success', message: `SMTP server ${String(ctx.asset.server)} accepts connections` };
      }
      const to = String(params.to ?? ctx.asset.default_recipients ?? '').trim();
      if (!to) return failed('no recipients: give "to" or set the asset\'s default_recipients');
      const info = await t.sendMail({
        from: String(ctx.asset.sender),
        to,
        subject: String(params.subject),
        text: String(params.body),
      });
      const accepted = (info.accepted ?? []).map(String);
      const rejected = (info.rejected ?? []).map(String);
      return {
        status: accepted.length ? 'success' : 'failed',
        message: accepted.length ? `sent to ${accepted.join(', ')}` : `rejected: ${rejected.join(', ')}`,
        summary: { accepted: accepted.length, rejected: rejected.length },
        data: [{ message_id: info.messageId, accepted, rejected, response: info.response }],
      };
    } catch (e) {
      return failed(`SMTP: ${(e as Error).message}`);
    } finally {
      t.close();
    }
  },
};
