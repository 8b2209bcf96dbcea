import { failed, loadManifest } from '../../automation/app.registry.ts';
import type { ActionContext, AppDefinition } from '../../automation/app.types.ts';

function parseJsonObject(text: unknown, what: string): Record<string, unknown> {
  if (text === undefined || text === null || text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(String(text));
  } catch (e) {
    throw new Error(`${what} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function authHeaders(ctx: ActionContext): Record<string, string> {
  return typeof ctx.asset.auth_token === 'string' && ctx.asset.auth_token
    ? { authorization: `Bearer ${ctx.asset.auth_token}` }
    : {};
}

/** Built-in HTTP app: webhooks and requests confined to the asset's allowlist. */
export const httpApp: AppDefinition = {
  manifest: loadManifest(new URL('./http.json', import.meta.url)),
  async execute(ctx, params) {
    const base = typeof ctx.asset.base_url === 'string' ? ctx.asset.base_url : '';
    if (ctx.action === 'test_connectivity') {
      if (!base) return failed('set base_url to test connectivity');
      const r = await ctx.http.request(base, { method: 'GET', headers: authHeaders(ctx), maxBytes: 1024 });
      return { status: 'success', message: `${base} answered HTTP ${r.status}` };
    }
    if (ctx.action === 'send_webhook') {
      if (!base) return failed('the asset has no base_url to send the webhook to');
      const body = JSON.stringify({
        text: String(params.message),
        data: parseJsonObject(params.data, 'data'),
      });
      const r = await ctx.http.request(base, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(ctx) },
        body,
        maxBytes: 64 * 1024,
      });
      const ok = r.status >= 200 && r.status < 300;
      return {
        status: ok ? 'success' : 'failed',
        message: `webhook answered HTTP ${r.status}`,
        summary: { status_code: r.status },
        data: [{ status_code: r.status, body: r.body }],
      };
    }
    const url = new URL(String(params.url), base || undefined).toString();
    const headers: Record<string, string> = { ...authHeaders(ctx) };
    for (const [k, v] of Object.entries(parseJsonObject(params.headers, 'headers')))
      headers[k.toLowerCase()] = String(v);
    if (params.content_type) headers['content-type'] = String(params.content_type);
    const r = await ctx.http.request(url, {
      method: String(params.method ?? 'GET'),
      headers,
      ...(params.body !== undefined ? { body: String(params.body) } : {}),
    });
    const ok = r.status >= 200 && r.status < 400;
    return {
      status: ok ? 'success' : 'failed',
      message: `HTTP ${r.status}${r.truncated ? ' (body truncated)' : ''}`,
      summary: { status_code: r.status },
      data: [{ status_code: r.status, headers: r.headers, body: r.body }],
    };
  },
};
