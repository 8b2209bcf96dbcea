import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../api/context.ts';
import { AppError, notFound } from '../../util/errors.ts';
import { createNote, deleteNote, getNote, listNotes, updateNote, type NewNote } from '../note.repository.ts';
import { actorOf, parseBody } from './rest-body.ts';

const newNote = z.object({
  container_id: z.number().int().positive(),
  title: z.string().optional(),
  content: z.string().optional(),
  note_type: z.string().optional(),
  note_format: z.string().optional(),
  artifact_id: z.number().int().positive().nullable().optional(),
});
const notePatch = z.object({ title: z.string().optional(), content: z.string().optional() });
const idParams = z.object({ id: z.coerce.number().int().positive('must be a positive id') });

/** `/rest/note`: notes on containers, one object or an array of them per POST. */
export function registerNoteRoutes(app: FastifyInstance, ctx: AppContext): void {
  const db = ctx.db;
  const author = (req: Parameters<typeof actorOf>[0]) => ({
    userId: req.principal?.userId ?? null,
    username: actorOf(req),
  });

  app.get('/rest/note', async (req) => listNotes(db, req.query as Record<string, unknown>));

  app.post('/rest/note', async (req) => {
    if (Array.isArray(req.body)) {
      // Splunk SOAR's bulk semantics: one answer per item, a failure does not undo the others.
      const out: Array<Record<string, unknown>> = [];
      for (const [i, item] of req.body.entries()) {
        try {
          const id = await createNote(db, parseBody(newNote, item, String(i)) as NewNote, author(req));
          out.push({ id, success: true });
        } catch (e) {
          if (!(e instanceof AppError) || e.kind !== 'user') throw e;
          out.push({ failed: true, message: e.message });
        }
      }
      return out;
    }
    const id = await createNote(db, parseBody(newNote, req.body) as NewNote, author(req));
    return { id, success: true };
  });

  app.get('/rest/note/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    const n = await getNote(db, id);
    if (!n) throw notFound(`note ${id}`);
    return n;
  });

  app.post('/rest/note/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    await updateNote(db, id, parseBody(notePatch, req.body ?? {}), { actor: actorOf(req) });
    return { id, success: true };
  });

  app.delete('/rest/note/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as z.output<typeof idParams>;
    if (!(await deleteNote(db, id, { actor: actorOf(req) }))) throw notFound(`note ${id}`);
    return { id, success: true };
  });
}
