import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../api/context.ts';
import { forbidden, notFound } from '../util/errors.ts';
import { SERVICE_STATES } from './service.merge.ts';
import { parseHostFilter, parseSince } from './service.query.ts';
import {
  getService,
  listChanges,
  listServices,
  SERVICE_SORTS,
  setServiceState,
  toView,
} from './service.repository.ts';

const intParam = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

const listQuery = z.object({
  host: z.string().optional(),
  port: intParam('port', 0, 65535).optional(),
  protocol: z.enum(['tcp', 'udp', 'sctp']).optional(),
  state: z.enum(SERVICE_STATES as [string, ...string[]]).optional(),
  source: z.string().max(32).optional(),
  evidence: z.enum(['strong', 'weak']).optional(),
  seen_since: z.string().optional(),
  first_seen_since: z.string().optional(),
  limit: intParam('limit', 0, 100_000).optional(),
  offset: intParam('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
  page: intParam('page', 0, 1_000_000).optional(),
  page_size: intParam('page_size', 0, 100_000).optional(),
  sort: z.enum(SERVICE_SORTS).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

const changesQuery = z.object({
  since: z.string().optional(),
  change: z.string().max(32).optional(),
  host: z.string().optional(),
  limit: intParam('limit', 0, 100_000).optional(),
  offset: intParam('offset', 0, Number.MAX_SAFE_INTEGER).optional(),
});

const decisionBody = z.object({
  state: z.enum(SERVICE_STATES as [string, ...string[]]),
  justification: z.string().max(4000).nullable().optional(),
  expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
  tags: z.array(z.string().max(100)).max(50).optional(),
});

const DEFAULT_PAGE = 100;

/** `GET /api/services`, `GET /api/services/changes`, `GET /api/services/:id`, `POST /api/services/:id/state`. */
export function registerServiceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/services', { schema: { querystring: listQuery } }, async (req) => {
    const q = req.query;
    const now = ctx.now();
    let limit = q.limit ?? DEFAULT_PAGE;
    let offset = q.offset ?? 0;
    if (q.page !== undefined || q.page_size !== undefined) {
      limit = q.page_size ?? DEFAULT_PAGE;
      offset = (q.page ?? 0) * limit;
    }
    return listServices(ctx.db, {
      ...(q.host ? { host: parseHostFilter(q.host) } : {}),
      ...(q.port !== undefined ? { port: q.port } : {}),
      ...(q.protocol ? { protocol: q.protocol } : {}),
      ...(q.state ? { state: q.state as (typeof SERVICE_STATES)[number] } : {}),
      ...(q.source ? { source: q.source } : {}),
      ...(q.evidence ? { evidence: q.evidence } : {}),
      ...(q.seen_since ? { seenSince: parseSince(q.seen_since, now, 'seen_since') } : {}),
      ...(q.first_seen_since
        ? { firstSeenSince: parseSince(q.first_seen_since, now, 'first_seen_since') }
        : {}),
      limit,
      offset,
      sort: q.sort ?? 'host',
      order: q.order ?? 'asc',
    });
  });

  r.get('/api/services/changes', { schema: { querystring: changesQuery } }, async (req) => {
    const q = req.query;
    return listChanges(ctx.db, {
      ...(q.since ? { since: parseSince(q.since, ctx.now(), 'since') } : {}),
      ...(q.change ? { change: q.change } : {}),
      ...(q.host ? { host: parseHostFilter(q.host) } : {}),
      limit: q.limit ?? 1000,
      offset: q.offset ?? 0,
    });
  });

  r.get(
    '/api/services/:id',
    { schema: { params: z.object({ id: intParam('id', 1, Number.MAX_SAFE_INTEGER) }) } },
    async (req) => {
      const s = await getService(ctx.db, req.params.id);
      if (!s) throw notFound(`service ${req.params.id}`);
      return toView(s);
    },
  );

  r.post(
    '/api/services/:id/state',
    { schema: { params: z.object({ id: intParam('id', 1, Number.MAX_SAFE_INTEGER) }), body: decisionBody } },
    async (req) => {
      const role = req.principal?.role;
      if (role !== 'admin' && role !== 'analyst' && role !== 'automation')
        throw forbidden('only admins, analysts and automation may decide on services');
      const b = req.body;
      const s = await setServiceState(
        ctx.db,
        req.params.id,
        {
          state: b.state as (typeof SERVICE_STATES)[number],
          ...(b.justification !== undefined ? { justification: b.justification } : {}),
          ...(b.expires_at !== undefined ? { expires_at: b.expires_at } : {}),
          ...(b.tags !== undefined ? { tags: b.tags } : {}),
          approver: req.principal?.username ?? null,
        },
        ctx.now(),
      );
      if (!s) throw notFound(`service ${req.params.id}`);
      return toView(s);
    },
  );
}
