import type { Kysely, Selectable } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import type { Database } from '../store/index.ts';
import type { NoteTable } from './note.table.ts';
import { badRequest } from '../util/errors.ts';
import { SYSTEM_ACTOR, type ChangeOptions } from './container.repository.ts';
import { deleteWithAudit, listTable, updateWithAudit } from './object.repository.ts';
import type { ListEnvelope, ListSpec } from './rest-list.ts';

/** A new note on a container (`POST /rest/note`). */
export interface NewNote {
  container_id: number;
  title?: string | undefined;
  content?: string | undefined;
  /** `general` (default), `artifact` (then `artifact_id`) or `task`. */
  note_type?: string | undefined;
  note_format?: string | undefined;
  artifact_id?: number | null | undefined;
}

/** A note as the REST API returns it (`container` and `author` are ids, as in Splunk SOAR). */
export interface NoteRecord {
  id: number;
  container: number;
  container_id: number;
  artifact: number | null;
  title: string;
  content: string;
  note_type: string;
  note_format: string;
  author: number | null;
  author_name: string;
  create_time: string;
  modified_time: string;
}

/** The author of a note: the signed-in user, or a name for automation. */
export interface NoteAuthor {
  userId?: number | null;
  username?: string;
}

export const NOTE_TYPES = ['general', 'artifact', 'task'] as const;

/** Adds a note to a container and audits it; user errors name the field. */
export async function createNote(
  db: Kysely<Database>,
  input: NewNote,
  author: NoteAuthor = {},
): Promise<number> {
  const noteType = input.note_type ?? 'general';
  if (!(NOTE_TYPES as readonly string[]).includes(noteType))
    throw badRequest(`note_type: must be one of ${NOTE_TYPES.join(', ')}, got "${noteType}"`, {
      pointer: '/note_type',
    });
  const actor = author.username ?? SYSTEM_ACTOR;
  return db.transaction().execute(async (tx) => {
    const c = await tx
      .selectFrom('containers')
      .select('id')
      .where('id', '=', input.container_id)
      .executeTakeFirst();
    if (!c)
      throw badRequest(`container_id: no container ${input.container_id}`, { pointer: '/container_id' });
    if (input.artifact_id !== undefined && input.artifact_id !== null) {
      const a = await tx
        .selectFrom('artifacts')
        .select('id')
        .where('id', '=', input.artifact_id)
        .where('container_id', '=', input.container_id)
        .executeTakeFirst();
      if (!a)
        throw badRequest(`artifact_id: no artifact ${input.artifact_id} in container ${input.container_id}`, {
          pointer: '/artifact_id',
        });
    }
    const row = await tx
      .insertInto('notes')
      .values({
        container_id: input.container_id,
        artifact_id: input.artifact_id ?? null,
        title: input.title ?? '',
        content: input.content ?? '',
        note_type: noteType,
        note_format: input.note_format ?? 'markdown',
        author_id: author.userId ?? null,
        author: actor,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAudit(tx, {
      category: 'container',
      action: 'create',
      actor,
      object_type: 'note',
      object_id: row.id,
      container_id: input.container_id,
      details: { title: input.title ?? '' },
    });
    return row.id;
  });
}

export const NOTE_LIST: ListSpec = {
  type: 'note',
  fields: {
    id: { column: 'id', kind: 'int' },
    container: { column: 'container_id', kind: 'int' },
    container_id: { column: 'container_id', kind: 'int' },
    artifact: { column: 'artifact_id', kind: 'int' },
    title: { column: 'title', kind: 'text' },
    content: { column: 'content', kind: 'text' },
    note_type: { column: 'note_type', kind: 'text' },
    author: { column: 'author_id', kind: 'int' },
    author_name: { column: 'author', kind: 'text' },
    create_time: { column: 'create_time', kind: 'time' },
    modified_time: { column: 'modified_time', kind: 'time' },
  },
};

type NoteRow = Selectable<NoteTable>;

const toNoteRecord = (r: NoteRow): NoteRecord => ({
  id: r.id,
  container: r.container_id,
  container_id: r.container_id,
  artifact: r.artifact_id,
  title: r.title,
  content: r.content,
  note_type: r.note_type,
  note_format: r.note_format,
  author: r.author_id,
  author_name: r.author,
  create_time: new Date(r.create_time).toISOString(),
  modified_time: new Date(r.modified_time).toISOString(),
});

export async function getNote(db: Kysely<Database>, id: number): Promise<NoteRecord | undefined> {
  const r = await db.selectFrom('notes').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toNoteRecord(r) : undefined;
}

/** Lists notes (of one container with `containerId`) with Splunk SOAR list semantics. */
export async function listNotes(
  db: Kysely<Database>,
  query: Record<string, unknown>,
  containerId?: number,
): Promise<ListEnvelope<NoteRecord>> {
  return listTable(
    query,
    NOTE_LIST,
    () => {
      const b = db.selectFrom('notes');
      return containerId === undefined ? b : b.where('container_id', '=', containerId);
    },
    toNoteRecord,
  );
}

/** Changes a note's title/content; audited. */
export async function updateNote(
  db: Kysely<Database>,
  id: number,
  patch: { title?: string; content?: string },
  opts: ChangeOptions = {},
): Promise<void> {
  await updateWithAudit(db, {
    table: 'notes',
    id,
    objectType: 'note',
    actor: opts.actor ?? SYSTEM_ACTOR,
    patch: { title: patch.title, content: patch.content },
    containerOf: (old) => old.container_id,
    stamp: 'modified_time',
  });
}

/** Deletes a note; audited. False if there is none. */
export async function deleteNote(
  db: Kysely<Database>,
  id: number,
  opts: ChangeOptions = {},
): Promise<boolean> {
  return deleteWithAudit(db, { id, objectType: 'note', actor: opts.actor ?? SYSTEM_ACTOR }, async (tx) => {
    const row = await tx
      .deleteFrom('notes')
      .where('id', '=', id)
      .returning(['container_id', 'title'])
      .executeTakeFirst();
    return row && { containerId: row.container_id, details: { title: row.title } };
  });
}
