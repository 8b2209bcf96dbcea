import { sql, type Kysely, type Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import type { Database } from '../store/index.ts';
import { badRequest, notFound } from '../util/errors.ts';
import { SYSTEM_ACTOR, type ChangeOptions } from './container.repository.ts';
import type { ListCell } from './decided-list.table.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from './rest-list.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A custom list as the REST API returns it. */
export interface DecidedListRecord {
  id: number;
  name: string;
  content: ListCell[][];
  create_time: string;
  update_time: string;
}

/**
 * Splunk SOAR's in-place list update (`POST /rest/decided_list/<name>` without `content`): rows are
 * deleted (by 0-based index, counted before the update), then updated (`{"<index>": [row]}`), then
 * appended.
 */
export interface ListRowChanges {
  append_rows?: unknown[];
  delete_rows?: number[];
  update_rows?: Record<string, unknown>;
}

const isCell = (v: unknown): v is ListCell =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v);

/**
 * Normalises list content as Splunk SOAR does: a flat array of simple values is wrapped into one row.
 * Every cell must be a simple value; errors name the row and column.
 */
export function normaliseRows(value: unknown, field: string): ListCell[][] {
  if (!Array.isArray(value))
    throw badRequest(`${field}: must be an array of rows (arrays of simple values)`, {
      pointer: `/${field}`,
    });
  const rows = value.every((v) => !Array.isArray(v)) && value.length > 0 ? [value] : value;
  return rows.map((row, i) => {
    if (!Array.isArray(row))
      throw badRequest(`${field}/${i}: must be a row (an array of simple values)`, {
        pointer: `/${field}/${i}`,
      });
    row.forEach((cell, j) => {
      if (!isCell(cell))
        throw badRequest(`${field}/${i}/${j}: cells hold simple values (string, number, boolean, null)`, {
          pointer: `/${field}/${i}/${j}`,
        });
    });
    return row as ListCell[];
  });
}

const toRecord = (r: {
  id: number;
  name: string;
  content: ListCell[][];
  create_time: Date;
  update_time: Date;
}): DecidedListRecord => ({
  id: r.id,
  name: r.name,
  content: r.content,
  create_time: new Date(r.create_time).toISOString(),
  update_time: new Date(r.update_time).toISOString(),
});

function byNameOrId(db: Db, nameOrId: string) {
  const q = db.selectFrom('decided_lists').selectAll();
  // Splunk SOAR addresses a list by name or id; a list whose name is all digits wins by name.
  return /^\d+$/.test(nameOrId)
    ? q
        .where((eb) => eb.or([eb('name', '=', nameOrId), eb('id', '=', Number(nameOrId))]))
        .orderBy(sql`name = ${nameOrId}`, 'desc')
    : q.where('name', '=', nameOrId);
}

export async function getDecidedList(
  db: Kysely<Database>,
  nameOrId: string,
): Promise<DecidedListRecord | undefined> {
  const r = await byNameOrId(db, nameOrId).executeTakeFirst();
  return r ? toRecord(r) : undefined;
}

/** Creates a list, or replaces the content of the list with that name; returns its id. */
export async function putDecidedList(
  db: Kysely<Database>,
  name: string,
  content: unknown,
  opts: ChangeOptions & { createOnly?: boolean } = {},
): Promise<{ id: number; created: boolean }> {
  if (typeof name !== 'string' || !name.trim())
    throw badRequest('name: a list needs a name', { pointer: '/name' });
  const rows = normaliseRows(content, 'content');
  return db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('decided_lists')
      .select('id')
      .where('name', '=', name)
      .forUpdate()
      .executeTakeFirst();
    if (existing && opts.createOnly)
      throw badRequest(
        `name: a list named "${name}" already exists (id ${existing.id}); POST to /rest/decided_list/${encodeURIComponent(name)} to change it`,
        {
          pointer: '/name',
          existing_list_id: existing.id,
        },
      );
    let id: number;
    if (existing) {
      await tx
        .updateTable('decided_lists')
        .set({ content: JSON.stringify(rows), update_time: sql<Date>`now()` })
        .where('id', '=', existing.id)
        .execute();
      id = existing.id;
    } else {
      id = (
        await tx
          .insertInto('decided_lists')
          .values({ name, content: JSON.stringify(rows) })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    }
    await recordAudit(tx, {
      category: 'container',
      action: existing ? 'update' : 'create',
      actor: opts.actor ?? SYSTEM_ACTOR,
      object_type: 'decided_list',
      object_id: id,
      details: { name, rows: rows.length },
    });
    return { id, created: !existing };
  });
}

/** Applies Splunk SOAR's row changes to a list (see {@link ListRowChanges}); returns the new content. */
export function applyRowChanges(content: ListCell[][], changes: ListRowChanges): ListCell[][] {
  let rows = content.map((r) => [...r]);
  if (changes.delete_rows !== undefined) {
    if (!Array.isArray(changes.delete_rows) || !changes.delete_rows.every((i) => Number.isInteger(i)))
      throw badRequest('delete_rows: must be an array of row indexes (0-based)', { pointer: '/delete_rows' });
    for (const i of changes.delete_rows)
      if (i < 0 || i >= rows.length)
        throw badRequest(`delete_rows: no row ${i} (the list has ${rows.length})`, {
          pointer: '/delete_rows',
        });
    const drop = new Set(changes.delete_rows);
    rows = rows.filter((_, i) => !drop.has(i));
  }
  if (changes.update_rows !== undefined) {
    if (
      typeof changes.update_rows !== 'object' ||
      changes.update_rows === null ||
      Array.isArray(changes.update_rows)
    )
      throw badRequest('update_rows: must be an object of row index → row', { pointer: '/update_rows' });
    for (const [k, v] of Object.entries(changes.update_rows)) {
      const i = Number(k);
      if (!/^\d+$/.test(k) || i >= rows.length)
        throw badRequest(`update_rows/${k}: no row ${k} (the list has ${rows.length})`, {
          pointer: `/update_rows/${k}`,
        });
      const [row] = normaliseRows([v], `update_rows/${k}`);
      rows[i] = row!;
    }
  }
  if (changes.append_rows !== undefined) rows.push(...normaliseRows(changes.append_rows, 'append_rows'));
  return rows;
}

/** Changes rows of an existing list in place (one transaction); returns the new content. */
export async function changeDecidedListRows(
  db: Kysely<Database>,
  nameOrId: string,
  changes: ListRowChanges,
  opts: ChangeOptions = {},
): Promise<DecidedListRecord> {
  return db.transaction().execute(async (tx) => {
    const row = await byNameOrId(tx, nameOrId).forUpdate().executeTakeFirst();
    if (!row) throw notFound(`list "${nameOrId}"`);
    const content = applyRowChanges(row.content, changes);
    const updated = await tx
      .updateTable('decided_lists')
      .set({ content: JSON.stringify(content), update_time: sql<Date>`now()` })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(tx, {
      category: 'container',
      action: 'update',
      actor: opts.actor ?? SYSTEM_ACTOR,
      object_type: 'decided_list',
      object_id: row.id,
      details: {
        name: row.name,
        appended: changes.append_rows?.length ?? 0,
        deleted: changes.delete_rows?.length ?? 0,
        updated: Object.keys(changes.update_rows ?? {}).length,
      },
    });
    return toRecord(updated);
  });
}

/** Deletes a list; false if there is none. */
export async function deleteDecidedList(
  db: Kysely<Database>,
  nameOrId: string,
  opts: ChangeOptions = {},
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const row = await byNameOrId(tx, nameOrId).executeTakeFirst();
    if (!row) return false;
    await tx.deleteFrom('decided_lists').where('id', '=', row.id).execute();
    await recordAudit(tx, {
      category: 'container',
      action: 'delete',
      actor: opts.actor ?? SYSTEM_ACTOR,
      object_type: 'decided_list',
      object_id: row.id,
      details: { name: row.name },
    });
    return true;
  });
}

export const DECIDED_LIST_LIST: ListSpec = {
  type: 'decided_list',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    create_time: { column: 'create_time', kind: 'time' },
    update_time: { column: 'update_time', kind: 'time' },
  },
};

/** Lists the custom lists (with their content) with Splunk SOAR list semantics. */
export async function listDecidedLists(
  db: Kysely<Database>,
  query: Record<string, unknown>,
): Promise<ListEnvelope<DecidedListRecord>> {
  const q = parseListQuery(query, DECIDED_LIST_LIST);
  return runList(q, DECIDED_LIST_LIST, {
    count: async (where) =>
      Number(
        (
          await db
            .selectFrom('decided_lists')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = db.selectFrom('decided_lists').selectAll().where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute();
    },
    map: toRecord,
  });
}
