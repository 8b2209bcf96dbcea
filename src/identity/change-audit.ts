import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../api/context.ts';
import { recordSecurityEvent } from './security-audit.ts';

/** A configuration-changing route whose successful calls the audit log records. */
export interface AuditedChange {
  action: string;
  objectType: string;
}

/**
 * Routes that change configuration (assets and their secrets, scan scopes and schedules, playbook
 * activation, severities and statuses): each successful call becomes a `security` audit entry naming
 * who, what, and which fields were set — never a field's value unless it is on {@link SHOWN_VALUES}.
 * One line per route, like the permission table.
 */
export const AUDITED_CHANGES: Readonly<Record<string, AuditedChange>> = {
  'POST /rest/asset': { action: 'asset.create', objectType: 'asset' },
  'POST /rest/asset/:id': { action: 'asset.update', objectType: 'asset' },
  'DELETE /rest/asset/:id': { action: 'asset.delete', objectType: 'asset' },
  'POST /api/scopes': { action: 'scope.add', objectType: 'scan_scope' },
  'DELETE /api/scopes/:ref': { action: 'scope.remove', objectType: 'scan_scope' },
  'POST /api/scans/schedules': { action: 'scan_schedule.create', objectType: 'scan_schedule' },
  'PATCH /api/scans/schedules/:ref': { action: 'scan_schedule.update', objectType: 'scan_schedule' },
  'DELETE /api/scans/schedules/:ref': { action: 'scan_schedule.delete', objectType: 'scan_schedule' },
  'POST /rest/playbook/:id': { action: 'playbook.update', objectType: 'playbook' },
  'POST /rest/severity': { action: 'config.severity', objectType: 'severity' },
  'POST /rest/container_status': { action: 'config.container_status', objectType: 'container_status' },
};

/** Body fields whose values are safe and useful in the audit log; every other field shows by name only. */
export const SHOWN_VALUES = new Set([
  'name',
  'app',
  'app_id',
  'appid',
  'product_vendor',
  'product_name',
  'cidr',
  'kind',
  'note',
  'active',
  'cron',
  'targets',
  'ports',
  'label',
  'enabled',
]);

function describeBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const b = body as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const k of Object.keys(b))
    if (SHOWN_VALUES.has(k) && (typeof b[k] !== 'object' || Array.isArray(b[k]))) values[k] = b[k];
  const cfg = b.configuration;
  return {
    fields: Object.keys(b),
    ...(Object.keys(values).length ? { values } : {}),
    ...(cfg && typeof cfg === 'object' && !Array.isArray(cfg)
      ? { configuration_fields: Object.keys(cfg) }
      : {}),
  };
}

function idFrom(req: FastifyRequest, payload: unknown): string | number | null {
  const params = (req.params ?? {}) as Record<string, unknown>;
  const fromParams = params.id ?? params.ref;
  if (typeof fromParams === 'string' || typeof fromParams === 'number') return fromParams;
  if (typeof payload === 'string' && payload.startsWith('{')) {
    try {
      const id = (JSON.parse(payload) as { id?: unknown }).id;
      if (typeof id === 'string' || typeof id === 'number') return id;
    } catch {
      // not JSON: no id
    }
  }
  return null;
}

/** Records every successful call of an {@link AUDITED_CHANGES} route before its answer leaves. */
export function installChangeAudit(app: FastifyInstance, ctx: AppContext): void {
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const url = req.routeOptions.url;
    if (url === undefined || reply.statusCode >= 400) return payload;
    const change = AUDITED_CHANGES[`${req.method} ${url}`];
    if (!change) return payload;
    await recordSecurityEvent(ctx.db, {
      action: change.action,
      actor: req.principal?.username ?? 'anonymous',
      objectType: change.objectType,
      objectId: idFrom(req, payload),
      details: { ip: req.ip ?? null, ...describeBody(req.body) },
    });
    return payload;
  });
}
