import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/index.ts';
import type { ArtifactTable } from './container.table.ts';
import { AppError, badRequest } from '../util/errors.ts';
import {
  addArtifact,
  checkSeverity,
  checkTime,
  isUniqueViolation,
  SYSTEM_ACTOR,
  type ArtifactResult,
  type ChangeOptions,
  type NewArtifact,
} from './container.repository.ts';
import { emitAutomationEvent } from './events.ts';
import { deleteWithAudit, iso, listTable, updateWithAudit, type FieldChange } from './object.repository.ts';
import type { ListEnvelope, ListSpec } from './rest-list.ts';

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

type ArtifactRow = Selectable<ArtifactTable>;

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
  return listTable(
    query,
    ARTIFACT_LIST,
    () => {
      const b = db.selectFrom('artifacts');
      return containerId === undefined ? b : b.where('container_id', '=', containerId);
    },
    toArtifactRecord,
  );
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
const TIME_FIELDS = new Set(['start_time', 'end_time']);

/** Changes an artifact's fields (each given field replaces the stored one); audits each change. */
export async function updateArtifact(
  db: Kysely<Database>,
  id: number,
  patch: ArtifactPatch,
  opts: ChangeOptions = {},
): Promise<FieldChange[]> {
  return updateWithAudit(db, {
    table: 'artifacts',
    id,
    objectType: 'artifact',
    actor: opts.actor ?? SYSTEM_ACTOR,
    patch,
    containerOf: (old) => old.container_id,
    jsonFields: JSON_FIELDS,
    timeFields: TIME_FIELDS,
    stamp: 'update_time',
    prepare: async (tx, field, value, old) => {
      if (field === 'severity') await checkSeverity(tx, value as string);
      if (TIME_FIELDS.has(field)) checkTime(value as string | null, field);
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
      return value;
    },
  });
}

/** Deletes an artifact and audits it; false if there is none. */
export async function deleteArtifact(
  db: Kysely<Database>,
  id: number,
  opts: ChangeOptions = {},
): Promise<boolean> {
  return deleteWithAudit(
    db,
    { id, objectType: 'artifact', actor: opts.actor ?? SYSTEM_ACTOR },
    async (tx) => {
      const row = await tx
        .deleteFrom('artifacts')
        .where('id', '=', id)
        .returning(['container_id', 'name'])
        .executeTakeFirst();
      return row && { containerId: row.container_id, details: { name: row.name } };
    },
  );
}
