import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/index.ts';
import {
  parseListQuery,
  runList,
  whereAll,
  type ListEnvelope,
  type ListSpec,
} from '../automation/rest-list.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** What happened, for {@link recordAudit}. */
export interface AuditEntry {
  /** The area: `container` (containers, artifacts, notes, vault, lists) or e.g. `security`. */
  category: string;
  /** The verb: `create`, `update`, `delete`, `login`, `token_create`… */
  action: string;
  /** Who: a username, or what, e.g. `system` or `playbook:network_exposure`. */
  actor: string;
  /** The kind of object acted on: `container`, `artifact`, `note`, `user`, `token`… */
  object_type?: string;
  object_id?: string | number | null;
  /** The container the change belongs to, so a container's trail is one query. */
  container_id?: number | null;
  /** Anything else: for updates `{field, old, new}` or `{changes: [...]}`. */
  details?: Record<string, unknown>;
  /** When; defaults to the database's now(). */
  time?: Date;
}

/** An audit log entry as the API returns it. */
export interface AuditRecord {
  id: number;
  time: string;
  category: string;
  action: string;
  actor: string;
  object_type: string;
  object_id: string | null;
  container_id: number | null;
  details: Record<string, unknown>;
}

/**
 * Appends one entry to the audit log. Call it inside the transaction that makes the change (pass the
 * transaction as `db`) so the change and its audit entry commit together.
 */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      category: entry.category,
      action: entry.action,
      actor: entry.actor,
      object_type: entry.object_type ?? '',
      object_id: entry.object_id === undefined || entry.object_id === null ? null : String(entry.object_id),
      container_id: entry.container_id ?? null,
      details: JSON.stringify(entry.details ?? {}),
      ...(entry.time ? { time: entry.time } : {}),
    })
    .execute();
}

/** The audit log's filterable fields (`/rest/audit?_filter_actor="admin"`). */
export const AUDIT_LIST: ListSpec = {
  type: 'audit',
  fields: {
    id: { column: 'id', kind: 'int' },
    time: { column: 'time', kind: 'time' },
    category: { column: 'category', kind: 'text' },
    action: { column: 'action', kind: 'text' },
    actor: { column: 'actor', kind: 'text' },
    object_type: { column: 'object_type', kind: 'text' },
    object_id: { column: 'object_id', kind: 'text' },
    container_id: { column: 'container_id', kind: 'int' },
    container: { column: 'container_id', kind: 'int' },
    details: { column: 'details', kind: 'json' },
  },
  defaultSort: 'id',
};

type AuditRow = {
  id: number;
  time: Date;
  category: string;
  action: string;
  actor: string;
  object_type: string;
  object_id: string | null;
  container_id: number | null;
  details: Record<string, unknown>;
};

export const toAuditRecord = (r: AuditRow): AuditRecord => ({
  id: r.id,
  time: new Date(r.time).toISOString(),
  category: r.category,
  action: r.action,
  actor: r.actor,
  object_type: r.object_type,
  object_id: r.object_id,
  container_id: r.container_id,
  details: r.details,
});

/** Lists the audit log with Splunk SOAR list semantics over the raw query-string object. */
export async function listAudit(
  db: Kysely<Database>,
  query: Record<string, unknown>,
): Promise<ListEnvelope<AuditRecord>> {
  const q = parseListQuery(query, AUDIT_LIST);
  return runList(q, AUDIT_LIST, {
    count: async (where) =>
      Number(
        (
          await db
            .selectFrom('audit_log')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = db.selectFrom('audit_log').selectAll().where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute();
    },
    map: toAuditRecord,
  });
}

/**
 * Streams every matching audit entry (same filters, in id order), a page at a time, for JSON-lines
 * export without holding the whole log in memory.
 */
export async function* iterateAudit(
  db: Kysely<Database>,
  query: Record<string, unknown>,
  batch = 1000,
): AsyncGenerator<AuditRecord> {
  const q = parseListQuery({ ...query, page: '0', page_size: '0', sort: 'id', order: 'asc' }, AUDIT_LIST);
  const where = whereAll(q, AUDIT_LIST);
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where(where)
      .where('id', '>', after)
      .orderBy('id')
      .limit(batch)
      .execute();
    for (const r of rows) yield toAuditRecord(r);
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.id;
  }
}
