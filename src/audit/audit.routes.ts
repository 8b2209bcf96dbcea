import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../api/context.ts';
import { badRequest } from '../util/errors.ts';
import { iterateAudit, listAudit } from './audit.repository.ts';

/**
 * Splunk SOAR's audit parameters (`container`, `user`, `start`, `end`) as list filters, so both
 * `/rest/audit?container=5` and `/rest/audit?_filter_container_id=5` work.
 */
function withShorthands(query: Record<string, unknown>): Record<string, unknown> {
  const { container, user, start, end, format: _format, ...rest } = query;
  const q: Record<string, unknown> = { ...rest };
  if (container !== undefined) {
    if (!/^\d+$/.test(String(container)))
      throw badRequest(`container: must be a container id, got ${JSON.stringify(container)}`);
    q._filter_container_id = String(container);
  }
  if (user !== undefined) q._filter_actor = JSON.stringify(String(user));
  if (start !== undefined) q._filter_time__gte = JSON.stringify(String(start));
  if (end !== undefined) q._filter_time__lte = JSON.stringify(String(end));
  return q;
}

/** `GET /rest/audit` (list, or `?format=jsonl` export) and `GET /api/audit/export` (JSON lines). */
export function registerAuditRoutes(app: FastifyInstance, ctx: AppContext): void {
  const db = ctx.db;
  const exportJsonl = async (query: Record<string, unknown>) => {
    const q = withShorthands(query);
    // Parse the filters before the first byte goes out, so bad ones still get a 400.
    await listAudit(db, { ...q, page_size: '1' });
    return (async function* () {
      for await (const rec of iterateAudit(db, q)) yield `${JSON.stringify(rec)}\n`;
    })();
  };

  app.get('/rest/audit', async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    if (query.format === 'jsonl' || query.format === 'ndjson') {
      return reply
        .header('content-type', 'application/x-ndjson; charset=utf-8')
        .send(await toStream(exportJsonl(query)));
    }
    if (query.format !== undefined && query.format !== 'json')
      throw badRequest(`format: "${String(query.format)}" is not supported (json or jsonl)`);
    return listAudit(db, withShorthands(query));
  });

  app.get('/api/audit/export', async (req, reply) =>
    reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', 'attachment; filename="portcullis-audit.jsonl"')
      .send(await toStream(exportJsonl(req.query as Record<string, unknown>))),
  );
}

async function toStream(gen: Promise<AsyncGenerator<string>>) {
  const { Readable } = await import('node:stream');
  return Readable.from(await gen);
}
