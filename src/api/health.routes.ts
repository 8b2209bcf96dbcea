import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { VERSION } from '../version.ts';
import type { AppContext } from './context.ts';

/** Node role as reported by /health: a standalone node does everything. */
export type NodeRole = 'standalone' | 'primary' | 'standby';

export function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/health', { config: { auth: 'public' } }, async (_req, reply) => {
    let dbOk = true;
    try {
      await sql`select 1`.execute(ctx.db);
    } catch {
      dbOk = false;
    }
    const role: NodeRole = 'standalone';
    return reply.status(dbOk ? 200 : 503).send({
      status: dbOk ? 'ok' : 'degraded',
      version: VERSION,
      role,
      database: ctx.store.kind,
    });
  });
  // 200 on a primary (every standalone node is one), 503 on a standby: for load balancers.
  app.get('/ha/check', { config: { auth: 'public' } }, async () => ({ status: 'primary' }));
}
