import { sql, type Kysely } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import type { Database } from '../store/index.ts';
import { AppError, badRequest, notFound } from '../util/errors.ts';
import {
  addArtifact,
  checkSeverity,
  isUniqueViolation,
  SYSTEM_ACTOR,
  type ArtifactResult,
  type ChangeOptions,
  type FieldChange,
  type NewArtifact,
} from './container.repository.ts';
import { emitAutomationEvent } from './events.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from './rest-list.ts';

/** An artifact posted on its own (`POST /rest/artifact`): it names its container. */
export interface NewContainerArtifact extends NewArtifact {
  container_id: number;
}

/** An artifact as the REST API returns it (Splunk SOAR's field names; `container` is the id). */
export interface ArtifactRecord {
  id: number;
  container: number;
  container_id: number;
  name: string;
  label: string;
  type: string;
  severity: string;
  source_data_identifier: string | null;
  cef: Record<string, unknown>;
  cef_types: Record<string, string[]>;
  data: Record<string, unknown>;
  tags: string[];
  start_time: string | null;
  end_time: string | null;
  create_time: string;
  update_time: string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/**
 * Adds artifacts to existing containers, each in its own transaction (Splunk SOAR's bulk semantics:
 * one failure does not undo the others). Returns one result per item, in order: `{id}`,
 * `{existing_artifact_id}` for a duplicate source_data_identifier within the container, or
 * `{failed, message}`. After each commit `artifact_added` is emitted for a new artifact.
 */
export async function addArtifacts(
  db: Kysely<Database>,
  items: NewContainerArtifact[],
  opts: ChangeOptions = {},
): Promise<ArtifactResult[]> {
  const out: ArtifactResult[] = [];
  for (const item of items) {
    try {
      const attempt = () =>
        db.transaction().execute(async (tx) => {
          const c = await tx
            .selectFrom('containers')
            .select('id')
            .where('id', '=', item.container_id)
            .executeTakeFirst();
          if (!c)
            throw badRequest(`container_id: no container ${item.container_id}`, { pointer: '/container_id' });
          return addArtifact(tx, item.container_id, item, opts);
        });
      let r: ArtifactResult;
      try {
        r = await attempt();
      } catch (e) {
        // A concurrent add of the same source_data_identifier won the race: answer as a duplicate.
        if (!isUniqueViolation(e) || !item.source_data_identifier) throw e;
        const existing = await db
          .selectFrom('artifacts')
          .select('id')
          .where('container_id', '=', item.container_id)
          .where('source_data_identifier', '=', item.source_data_identifier)
          .executeTakeFirst();
        if (!existing) throw e;
        r = { existing_artifact_id: existing.id };
      }
      out.push(r);
      if ('id' in r) {
        emitAutomationEvent('artifact_added', {
          containerId: item.container_id,
          artifactId: r.id,
          label: item.label ?? 'event',
          runAutomation: item.run_automation === true,
        });
      }
    } catch (e) {
      if (!(e instanceof AppError) || e.kind !== 'user') throw e;
      out.push({ failed: true, message: e.message });
    }
  }
  return out;
}

/** The artifact list's filterable and sortable fields (`_filter_cef__destinationAddress="…"` works). */
export const ARTIFACT_LIST: ListSpec = {
  type: 'artifact',
  fields: {
    id: { column: 'id', kind: 'int' },
    container: { column: 'container_id', kind: 'int' },
    container_id: { column: 'container_id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    label: { column: 'label', kind: 'text' },
    type: { column: 'type', kind: 'text' },
    severity: { column: 'severity', kind: 'text' },
    source_data_identifier: { column: 'source_data_identifier', kind: 'text' },
    cef: { column: 'cef', kind: 'json' },
    cef_types: { column: 'cef_types', kind: 'json' },
    data: { column: 'data', kind: 'json' },
    tags: { column: 'tags', kind: 'jsonArray' },
    start_time: { column: 'start_time', kind: 'time' },
    end_time: { column: 'end_time', kind: 'time' },
    create_time: { column: 'create_time', kind: 'time' },
    update_time: { column: 'update_time', kind: 'time' },
  },
};

type ArtifactRow = {
  id: number;
  container_id: number;
  name: string;
  label: string;
  type: string;
  severity: string;
  source_data_identifier: string | null;
  cef: Record<string, unknown>;
  cef_types: Record<string, string[]>;
  data: Record<string, unknown>;
  tags: string[];
  start_time: Date | null;
  end_time: Date | null;
  create_time: Date;
  update_time: Date;
};

export const toArtifactRecord = (r: ArtifactRow): ArtifactRecord => ({
  id: r.id,
  container: r.container_id,
  container_id: r.container_id,
  name: r.name,
  label: r.label,
  type: r.type,
  severity: r.severity,
  source_data_identifier: r.source_data_identifier,
  cef: r.cef,
  cef_types: r.cef_types,
  data: r.data,
  tags: r.tags,
  start_time: iso(r.start_time),
  end_time: iso(r.end_time),
  create_time: iso(r.create_time)!,
  update_time: iso(r.update_time)!,
});

export async function getArtifact(db: Kysely<Database>, id: number): Promise<ArtifactRecord | undefined> {
  const r = await db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toArtifactRecord(r) : undefined;
}

/**
 * Lists artifacts with Splunk SOAR list semantics; `containerId` restricts to one container
 * (`/rest/container/<id>/artifacts`).
 */
export async function listArtifacts(
  db: Kysely<Database>,
  query: Record<string, unknown>,
  containerId?: number,
): Promise<ListEnvelope<ArtifactRecord>> {
  const q = parseListQuery(query, ARTIFACT_LIST);
  const base = () => {
    const b = db.selectFrom('artifacts');
    return containerId === undefined ? b : b.where('container_id', '=', containerId);
  };
  return runList(q, ARTIFACT_LIST, {
    count: async (where) =>
      Number(
        (
          await base()
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = base().selectAll().where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute();
    },
    map: toArtifactRecord,
  });
}

/** Fields of an artifact that can be changed. */
export interface ArtifactPatch {
  name?: string | undefined;
  label?: string | undefined;
  type?: string | undefined;
  severity?: string | undefined;
  source_data_identifier?: string | null | undefined;
  cef?: Record<string, unknown> | undefined;
  cef_types?: Record<string, string[]> | undefined;
  data?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
  start_time?: string | null | undefined;
  end_time?: string | null | undefined;
}

const JSON_FIELDS = new Set(['cef', 'cef_types', 'data', 'tags']);

/** Changes an artifact's fields (each given field replaces the stored one); audits each change. */
export async function updateArtifact(
  db: Kysely<Database>,
  id: number,
  patch: ArtifactPatch,
  opts: ChangeOptions = {},
): Promise<FieldChange[]> {
  return db.transaction().execute(async (tx) => {
    const old = await tx
      .selectFrom('artifacts')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!old) throw notFound(`artifact ${id}`);
    const set: Record<string, unknown> = {};
    const changes: FieldChange[] = [];
    for (const [field, value] of Object.entries(patch) as Array<[keyof ArtifactPatch, unknown]>) {
      if (value === undefined) continue;
      if (field === 'severity') await checkSeverity(tx, value as string);
      if (
        (field === 'start_time' || field === 'end_time') &&
        value !== null &&
        Number.isNaN(Date.parse(value as string))
      )
        throw badRequest(`${field}: not an ISO-8601 time: ${JSON.stringify(value)}`, {
          pointer: `/${field}`,
        });
      if (field === 'source_data_identifier' && value) {
        const clash = await tx
          .selectFrom('artifacts')
          .select('id')
          .where('container_id', '=', old.container_id)
          .where('source_data_identifier', '=', value as string)
          .where('id', '<>', id)
          .executeTakeFirst();
        if (clash)
          throw badRequest(`source_data_identifier: already used by artifact ${clash.id} in this container`, {
            pointer: '/source_data_identifier',
            existing_artifact_id: clash.id,
          });
      }
      const before = (old as Record<string, unknown>)[field];
      const beforeCmp = before instanceof Date ? before.toISOString() : (before ?? null);
      const afterCmp =
        (field === 'start_time' || field === 'end_time') && value !== null
          ? new Date(value as string).toISOString()
          : value;
      if (JSON.stringify(beforeCmp) === JSON.stringify(afterCmp)) continue;
      changes.push({ field, old: beforeCmp, new: afterCmp });
      set[field] = JSON_FIELDS.has(field) ? JSON.stringify(value) : value;
    }
    if (!changes.length) return changes;
    set.update_time = sql`now()`;
    await tx.updateTable('artifacts').set(set).where('id', '=', id).execute();
    for (const c of changes)
      await recordAudit(tx, {
        category: 'container',
        action: 'update',
        actor: opts.actor ?? SYSTEM_ACTOR,
        object_type: 'artifact',
        object_id: id,
        container_id: old.container_id,
        details: { field: c.field, old: c.old, new: c.new },
      });
    return changes;
  });
}

/** Deletes an artifact and audits it; false if there is none. */
export async function deleteArtifact(
  db: Kysely<Database>,
  id: number,
  opts: ChangeOptions = {},
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .deleteFrom('artifacts')
      .where('id', '=', id)
      .returning(['container_id', 'name'])
      .executeTakeFirst();
    if (!row) return false;
    await recordAudit(tx, {
      category: 'container',
      action: 'delete',
      actor: opts.actor ?? SYSTEM_ACTOR,
      object_type: 'artifact',
      object_id: id,
      container_id: row.container_id,
      details: { name: row.name },
    });
    return true;
  });
}
