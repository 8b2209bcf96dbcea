import { sql, type Kysely, type Selectable, type SelectQueryBuilder, type Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import type { Database } from '../store/index.ts';
import { notFound } from '../util/errors.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from './rest-list.ts';

/**
 * What the SOAR object repositories (containers, artifacts, notes, severities, statuses) do alike:
 * list a table with Splunk SOAR list semantics, change fields with an audit entry per changed field,
 * delete with an audit entry.
 */

/** One changed field, as audited and returned. */
export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
}

/** A stored time as ISO-8601 text; null stays null. */
export const iso = (d: Date | string | null): string | null =>
  d === null ? null : new Date(d).toISOString();

/**
 * Lists the rows `from()` selects (one table, maybe narrowed to a container) with Splunk SOAR list
 * semantics over the raw query-string object, each row mapped by `map`.
 */
export async function listTable<TB extends keyof Database & string, T>(
  query: Record<string, unknown>,
  spec: ListSpec,
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a FROM clause that selects nothing yet
  from: () => SelectQueryBuilder<Database, TB, {}>,
  map: (row: Selectable<Database[TB]>) => T,
): Promise<ListEnvelope<T>> {
  return runList(parseListQuery(query, spec), spec, {
    count: async (where) =>
      Number(
        (
          await from()
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = from().selectAll().where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute() as unknown as Promise<Array<Selectable<Database[TB]>>>;
    },
    map,
  });
}

/** The tables whose rows are changed field by field with an audit trail. */
export type AuditedTable = 'containers' | 'artifacts' | 'notes';

/** How {@link updateWithAudit} changes one row. */
export interface AuditedUpdate<TB extends AuditedTable> {
  table: TB;
  id: number;
  /** `object_type` in the audit log. */
  objectType: string;
  actor: string;
  /** The fields to set; undefined ones are left alone. */
  patch: object;
  /** The container an audit entry belongs to. */
  containerOf: (old: Selectable<Database[TB]>) => number;
  /** Checks one given field (a user error names it) and returns the value to store. */
  prepare?: (
    tx: Transaction<Database>,
    field: string,
    value: unknown,
    old: Selectable<Database[TB]>,
  ) => Promise<unknown>;
  /** Fields stored as jsonb. */
  jsonFields?: ReadonlySet<string>;
  /** Fields holding times: compared (and reported) as ISO-8601. */
  timeFields?: ReadonlySet<string>;
  /** The column set to now() whenever something changes. */
  stamp: 'update_time' | 'modified_time';
  /** Changes that follow from the others (set into `set`); returned but not audited on their own. */
  follow?: (
    tx: Transaction<Database>,
    old: Selectable<Database[TB]>,
    set: Record<string, unknown>,
  ) => Promise<FieldChange[]>;
}

// Kysely cannot check columns of a table chosen by a parameter; the audited tables share `id`.
type AnyTable = Kysely<{ row: { id: number } }>;

/**
 * Changes the given fields of one row, locked for the change, in one transaction: each field whose
 * value really changes is written and gets an audit entry with its old and new value. Throws
 * not_found for an unknown row. Returns the changes, those from `follow` last.
 */
export async function updateWithAudit<TB extends AuditedTable>(
  db: Kysely<Database>,
  u: AuditedUpdate<TB>,
): Promise<FieldChange[]> {
  return db.transaction().execute(async (tx) => {
    const t = tx as unknown as AnyTable;
    const old = (await t
      .selectFrom(u.table as unknown as 'row')
      .selectAll()
      .where('id', '=', u.id)
      .forUpdate()
      .executeTakeFirst()) as Selectable<Database[TB]> | undefined;
    if (!old) throw notFound(`${u.objectType} ${u.id}`);
    const set: Record<string, unknown> = {};
    const changes: FieldChange[] = [];
    for (const [field, raw] of Object.entries(u.patch)) {
      if (raw === undefined) continue;
      const value = u.prepare ? await u.prepare(tx, field, raw, old) : raw;
      const before = (old as Record<string, unknown>)[field];
      const beforeCmp = (before instanceof Date ? before.toISOString() : before) ?? null;
      const afterCmp =
        (u.timeFields?.has(field) && value !== null ? new Date(value as string).toISOString() : value) ??
        null;
      if (JSON.stringify(beforeCmp) === JSON.stringify(afterCmp)) continue;
      changes.push({ field, old: beforeCmp, new: afterCmp });
      set[field] = u.jsonFields?.has(field) ? JSON.stringify(value) : value;
    }
    if (!changes.length) return changes;
    const followed = u.follow ? await u.follow(tx, old, set) : [];
    set[u.stamp] = sql`now()`;
    await t
      .updateTable(u.table as unknown as 'row')
      .set(set as { id?: number })
      .where('id', '=', u.id)
      .execute();
    for (const c of changes)
      await recordAudit(tx, {
        category: 'container',
        action: 'update',
        actor: u.actor,
        object_type: u.objectType,
        object_id: u.id,
        container_id: u.containerOf(old),
        details: { field: c.field, old: c.old, new: c.new },
      });
    return [...changes, ...followed];
  });
}

/**
 * Deletes one row with `remove` (which answers what to audit, or undefined when there was no row)
 * and audits the deletion in the same transaction. False if there was no row.
 */
export async function deleteWithAudit(
  db: Kysely<Database>,
  what: { id: number; objectType: string; actor: string },
  remove: (
    tx: Transaction<Database>,
  ) => Promise<{ containerId: number; details: Record<string, unknown> } | undefined>,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const gone = await remove(tx);
    if (!gone) return false;
    await recordAudit(tx, {
      category: 'container',
      action: 'delete',
      actor: what.actor,
      object_type: what.objectType,
      object_id: what.id,
      container_id: gone.containerId,
      details: gone.details,
    });
    return true;
  });
}
