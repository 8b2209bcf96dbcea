import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';

/** A past import as the API shows it. */
export interface ImportView {
  id: number;
  file: string | null;
  format: string | null;
  host: string | null;
  learning: boolean | null;
  username: string | null;
  status: string;
  summary: Record<string, unknown>;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

/** Records the start of an import; returns its id. */
export async function startImport(
  db: Kysely<Database>,
  input: {
    file: string | null;
    format: string | null;
    host: string | null;
    learning: boolean | null;
    username: string | null;
    at: Date;
  },
): Promise<number> {
  const r = await db
    .insertInto('imports')
    .values({
      file: input.file,
      format: input.format,
      host: input.host,
      learning: input.learning,
      username: input.username,
      status: 'running',
      summary: JSON.stringify({}),
      started_at: input.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}

/** Records how an import ended: its summary, or the error that stopped it. */
export async function finishImport(
  db: Kysely<Database>,
  id: number,
  result: {
    status: 'done' | 'failed';
    summary?: Record<string, unknown>;
    error?: string;
    format?: string | null;
    learning?: boolean;
    at: Date;
  },
): Promise<void> {
  await db
    .updateTable('imports')
    .set({
      status: result.status,
      ...(result.summary ? { summary: JSON.stringify(result.summary) } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
      ...(result.format !== undefined ? { format: result.format } : {}),
      ...(result.learning !== undefined ? { learning: result.learning } : {}),
      finished_at: result.at,
    })
    .where('id', '=', id)
    .execute();
}

/** Past imports, newest first. */
export async function listImports(
  db: Kysely<Database>,
  q: { limit: number; offset: number },
): Promise<{ count: number; data: ImportView[] }> {
  const { n } = await db
    .selectFrom('imports')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  let rows = db.selectFrom('imports').selectAll().orderBy('id', 'desc');
  if (q.limit > 0) rows = rows.limit(q.limit);
  if (q.offset > 0) rows = rows.offset(q.offset);
  const data = (await rows.execute()).map((r) => ({
    id: Number(r.id),
    file: r.file,
    format: r.format,
    host: r.host,
    learning: r.learning,
    username: r.username,
    status: r.status,
    summary: r.summary ?? {},
    error: r.error,
    started_at: r.started_at.toISOString(),
    finished_at: r.finished_at ? r.finished_at.toISOString() : null,
  }));
  return { count: Number(n), data };
}
