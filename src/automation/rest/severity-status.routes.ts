import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { AppContext } from '../../api/context.ts';
import { recordAudit } from '../../audit/audit.repository.ts';
import type { Database } from '../../store/index.ts';
import { listTable } from '../object.repository.ts';
import type { ListSpec } from '../rest-list.ts';
import { badRequest } from '../../util/errors.ts';
import { actorOf, parseBody } from './rest-body.ts';

const SEVERITY_LIST: ListSpec = {
  type: 'severity',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    color: { column: 'color', kind: 'text' },
    position: { column: 'position', kind: 'int' },
  },
  defaultSort: 'position',
};
const STATUS_LIST: ListSpec = {
  type: 'container_status',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    status_type: { column: 'status_type', kind: 'text' },
  },
};

const name = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w .-]+$/, 'letters, digits, space, "_", "." or "-"');
const newSeverity = z.object({ name, color: z.string().optional() });
const newStatus = z.object({ name, status_type: z.enum(['new', 'open', 'closed']) });

/** `/rest/severity` and `/rest/container_status`: the severities and statuses containers may have. */
export function registerSeverityStatusRoutes(app: FastifyInstance, ctx: AppContext): void {
  const db = ctx.db;

  app.get('/rest/severity', (req) =>
    listTable(
      req.query as Record<string, unknown>,
      SEVERITY_LIST,
      () => db.selectFrom('severities'),
      (r) => r,
    ),
  );

  // Both POSTs refuse a name already taken, add the row with `insert` and audit the creation.
  const createNamed = (
    req: FastifyRequest,
    what: { table: 'severities' | 'container_statuses'; objectType: string; noun: string },
    body: { name: string },
    insert: (tx: Transaction<Database>) => Promise<number>,
  ) =>
    db.transaction().execute(async (tx) => {
      if (await tx.selectFrom(what.table).select('id').where('name', '=', body.name).executeTakeFirst())
        throw badRequest(`name: ${what.noun} "${body.name}" exists`, { pointer: '/name' });
      const id = await insert(tx);
      await recordAudit(tx, {
        category: 'container',
        action: 'create',
        actor: actorOf(req),
        object_type: what.objectType,
        object_id: id,
        details: body,
      });
      return { id, success: true };
    });

  app.post('/rest/severity', async (req) => {
    const body = parseBody(newSeverity, req.body);
    return createNamed(
      req,
      { table: 'severities', objectType: 'severity', noun: 'severity' },
      body,
      async (tx) => {
        const max = await tx
          .selectFrom('severities')
          .select((eb) => eb.fn.max('position').as('m'))
          .executeTakeFirst();
        const row = await tx
          .insertInto('severities')
          .values({ name: body.name, color: body.color ?? 'white', position: Number(max?.m ?? -1) + 1 })
          .returning('id')
          .executeTakeFirstOrThrow();
        return row.id;
      },
    );
  });

  app.get('/rest/container_status', (req) =>
    listTable(
      req.query as Record<string, unknown>,
      STATUS_LIST,
      () => db.selectFrom('container_statuses'),
      (r) => r,
    ),
  );

  app.post('/rest/container_status', async (req) => {
    const body = parseBody(newStatus, req.body);
    return createNamed(
      req,
      { table: 'container_statuses', objectType: 'container_status', noun: 'status' },
      body,
      async (tx) =>
        (await tx.insertInto('container_statuses').values(body).returning('id').executeTakeFirstOrThrow()).id,
    );
  });
}
