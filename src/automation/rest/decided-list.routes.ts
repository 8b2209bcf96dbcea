import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../api/context.ts';
import { badRequest, notFound } from '../../util/errors.ts';
import {
  changeDecidedListRows,
  deleteDecidedList,
  getDecidedList,
  listDecidedLists,
  putDecidedList,
} from '../decided-list.repository.ts';
import { actorOf, parseBody } from './rest-body.ts';

const newList = z.object({ name: z.string().min(1, 'a list needs a name'), content: z.array(z.unknown()) });
const listUpdate = z.object({
  content: z.array(z.unknown()).optional(),
  append_rows: z.array(z.unknown()).optional(),
  delete_rows: z.array(z.number().int()).optional(),
  update_rows: z.record(z.string(), z.unknown()).optional(),
  name: z.string().optional(),
});
const nameParams = z.object({ name: z.string().min(1) });

/** `/rest/decided_list`: custom lists (named two-dimensional arrays) in Splunk SOAR's shapes. */
export function registerDecidedListRoutes(app: FastifyInstance, ctx: AppContext): void {
  const db = ctx.db;

  app.get('/rest/decided_list', async (req) => listDecidedLists(db, req.query as Record<string, unknown>));

  app.post('/rest/decided_list', async (req) => {
    const body = parseBody(newList, req.body);
    const r = await putDecidedList(db, body.name, body.content, { actor: actorOf(req), createOnly: true });
    return { id: r.id, success: true };
  });

  app.get('/rest/decided_list/:name', { schema: { params: nameParams } }, async (req) => {
    const { name } = req.params as z.output<typeof nameParams>;
    const l = await getDecidedList(db, name);
    if (!l) throw notFound(`list "${name}"`);
    return l;
  });

  app.post('/rest/decided_list/:name', { schema: { params: nameParams } }, async (req) => {
    const { name } = req.params as z.output<typeof nameParams>;
    const body = parseBody(listUpdate, req.body ?? {});
    const rowOps =
      body.append_rows !== undefined || body.delete_rows !== undefined || body.update_rows !== undefined;
    if (body.content !== undefined && rowOps)
      throw badRequest(
        'content: give either the whole content or append_rows/delete_rows/update_rows, not both',
      );
    if (body.content !== undefined) {
      // The path names the list; an id addresses an existing one, a new name creates it.
      const existing = await getDecidedList(db, name);
      const r = await putDecidedList(db, existing?.name ?? name, body.content, { actor: actorOf(req) });
      return { id: r.id, success: true };
    }
    if (!rowOps) throw badRequest('give content, or append_rows, delete_rows or update_rows');
    const l = await changeDecidedListRows(
      db,
      name,
      {
        ...(body.append_rows !== undefined ? { append_rows: body.append_rows } : {}),
        ...(body.delete_rows !== undefined ? { delete_rows: body.delete_rows } : {}),
        ...(body.update_rows !== undefined ? { update_rows: body.update_rows } : {}),
      },
      { actor: actorOf(req) },
    );
    return { id: l.id, success: true };
  });

  app.delete('/rest/decided_list/:name', { schema: { params: nameParams } }, async (req) => {
    const { name } = req.params as z.output<typeof nameParams>;
    if (!(await deleteDecidedList(db, name, { actor: actorOf(req) }))) throw notFound(`list "${name}"`);
    return { success: true };
  });
}
