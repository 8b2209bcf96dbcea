import { sql, type Kysely, type Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import type { Database } from '../store/index.ts';
import { AppError, badRequest, notFound } from '../util/errors.ts';
import { emitAutomationEvent } from './events.ts';
import { deleteWithAudit, iso, updateWithAudit, type FieldChange } from './object.repository.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from './rest-list.ts';

/** An artifact as given inline with a new container (Splunk SOAR's shape, no container_id). */
export interface NewArtifact {
  name?: string | undefined;
  label?: string | undefined;
  type?: string | undefined;
  severity?: string | undefined;
  source_data_identifier?: string | null | undefined;
  cef?: Record<string, unknown> | undefined;
  cef_types?: Record<string, string[]> | undefined;
  data?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
  start_time?: string | Date | null | undefined;
  end_time?: string | Date | null | undefined;
  /** Run the container's playbooks once this artifact is added (to an existing container). */
  run_automation?: boolean | undefined;
}

export interface NewContainer {
  name: string;
  label?: string | undefined;
  description?: string | undefined;
  severity?: string | undefined;
  sensitivity?: string | undefined;
  status?: string | undefined;
  container_type?: string | undefined;
  source_data_identifier?: string | null | undefined;
  /** A user id, or a username. */
  owner_id?: number | string | null | undefined;
  tags?: string[] | undefined;
  custom_fields?: Record<string, unknown> | undefined;
  data?: Record<string, unknown> | undefined;
  start_time?: string | Date | null | undefined;
  end_time?: string | Date | null | undefined;
  due_time?: string | Date | null | undefined;
  /** Whether playbooks for the label should run (default true); passed on in `container_created`. */
  run_automation?: boolean | undefined;
  artifacts?: NewArtifact[] | undefined;
}

/** Who makes a change, for the audit trail: a username, or e.g. `system` / `detection`. */
export interface ChangeOptions {
  actor?: string;
}

export type ArtifactResult =
  { id: number } | { existing_artifact_id: number } | { failed: true; message: string };

export type CreateContainerResult =
  | { created: true; id: number; artifacts: ArtifactResult[] }
  | { created: false; existing_container_id: number };

type Db = Kysely<Database> | Transaction<Database>;

/** Whether a database error is a unique-index violation (SQLSTATE 23505), on either store. */
export function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: unknown })?.code === '23505';
}

/** Sensitivities (TLP colours) a container may have. */
export const SENSITIVITIES = ['white', 'green', 'amber', 'red'] as const;

export const SYSTEM_ACTOR = 'system';

/** A container as the REST API returns it (Splunk SOAR's field names). */
export interface ContainerRecord {
  id: number;
  name: string;
  label: string;
  description: string;
  severity: string;
  sensitivity: string;
  status: string;
  status_type: string | null;
  container_type: string;
  source_data_identifier: string | null;
  owner_id: number | null;
  owner_name: string | null;
  tags: string[];
  custom_fields: Record<string, unknown>;
  data: Record<string, unknown>;
  start_time: string | null;
  end_time: string | null;
  due_time: string | null;
  close_time: string | null;
  create_time: string;
  container_update_time: string;
  artifact_count: number;
}

/** Checks a severity against the configured ones (`low`, `medium`, `high` and custom). */
export async function checkSeverity(db: Db, severity: string, field = 'severity'): Promise<void> {
  const row = await db
    .selectFrom('severities')
    .select('name')
    .where('name', '=', severity)
    .executeTakeFirst();
  if (!row) {
    const all = await db.selectFrom('severities').select('name').orderBy('position').execute();
    throw badRequest(
      `${field}: unknown severity "${severity}" (known: ${all.map((r) => r.name).join(', ')})`,
      {
        pointer: `/${field}`,
      },
    );
  }
}

/** The type (`new`, `open`, `closed`) of a status; a user error naming the field if it is unknown. */
export async function statusType(db: Db, status: string): Promise<'new' | 'open' | 'closed'> {
  const row = await db
    .selectFrom('container_statuses')
    .select('status_type')
    .where('name', '=', status)
    .executeTakeFirst();
  if (!row) {
    const all = await db.selectFrom('container_statuses').select('name').orderBy('id').execute();
    throw badRequest(`status: unknown status "${status}" (known: ${all.map((r) => r.name).join(', ')})`, {
      pointer: '/status',
    });
  }
  return row.status_type;
}

function checkSensitivity(s: string): void {
  if (!(SENSITIVITIES as readonly string[]).includes(s))
    throw badRequest(`sensitivity: must be one of ${SENSITIVITIES.join(', ')}, got "${s}"`, {
      pointer: '/sensitivity',
    });
}

/** Resolves an owner given as a user id or a username to a user id (null clears the owner). */
export async function resolveOwner(
  db: Db,
  owner: number | string | null,
  field = 'owner_id',
): Promise<number | null> {
  if (owner === null || owner === '') return null;
  const q = db.selectFrom('users').select('id');
  const row =
    typeof owner === 'number' || /^\d+$/.test(owner)
      ? await q.where('id', '=', Number(owner)).executeTakeFirst()
      : await q.where('username', '=', owner).executeTakeFirst();
  if (!row) throw badRequest(`${field}: no user ${JSON.stringify(owner)}`, { pointer: `/${field}` });
  return row.id;
}

/** A time field's value, or a user error naming the field when it is not ISO-8601. */
export function checkTime(v: string | Date | null | undefined, field: string): string | Date | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v;
  if (Number.isNaN(Date.parse(v)))
    throw badRequest(`${field}: not an ISO-8601 time: ${JSON.stringify(v)}`, { pointer: `/${field}` });
  return v;
}

/** A playbook run to queue together with a new container (see {@link setContainerTriggerPlanner}). */
export interface TriggeredRunPlan {
  playbookId: number;
  version: number;
  /** The run's working-time limit. */
  timeLimitMs: number;
}

/** Which playbook runs a new container with this label starts. */
export type ContainerTriggerPlanner = (label: string) => Promise<TriggeredRunPlan[]>;

const triggerPlanners = new WeakMap<Kysely<Database>, ContainerTriggerPlanner>();

/**
 * Makes {@link createContainer} queue the playbook runs a new container triggers in the same
 * statement as the container itself (so a container is never stored without its runs); the
 * automation runtime sets it, `undefined` removes it. `container_created` then carries the run ids.
 */
export function setContainerTriggerPlanner(
  db: Kysely<Database>,
  planner: ContainerTriggerPlanner | undefined,
): void {
  if (planner) triggerPlanners.set(db, planner);
  else triggerPlanners.delete(db);
}

// An inline artifact as one row of the statement's JSON parameter.
interface ArtifactRow {
  ord: number;
  name: string;
  label: string;
  type: string;
  severity: string | null;
  sdi: string | null;
  cef: Record<string, unknown>;
  cef_types: Record<string, string[]>;
  data: Record<string, unknown>;
  tags: string[];
  start_time: string | Date | null;
  end_time: string | Date | null;
}

/**
 * Creates a container with its inline artifacts, their audit entries and the playbook runs it
 * triggers in one statement (one transaction), deduplicated by `source_data_identifier`: a second
 * container with the same identifier is not created and the existing id is returned instead.
 * Severity, status, sensitivity and owner are checked (user errors name the field); a bad inline
 * artifact gets its own failure entry while the container and the others are stored. After commit
 * `container_created` is emitted.
 */
export async function createContainer(
  db: Kysely<Database>,
  input: NewContainer,
  opts: ChangeOptions = {},
): Promise<CreateContainerResult> {
  const actor = opts.actor ?? SYSTEM_ACTOR;
  if (typeof input.name !== 'string' || !input.name.trim())
    throw badRequest('name: a container needs a name', { pointer: '/name' });
  const sdi = input.source_data_identifier || null;
  const inline = input.artifacts ?? [];
  const severities = new Set<string>();
  if (input.severity !== undefined) severities.add(input.severity);
  for (const a of inline) if (a.severity !== undefined) severities.add(a.severity);

  let ownerId: number | null = null;
  let startTime: string | Date | null, endTime: string | Date | null, dueTime: string | Date | null;
  try {
    if (input.sensitivity !== undefined) checkSensitivity(input.sensitivity);
    if (input.owner_id !== undefined) ownerId = await resolveOwner(db, input.owner_id);
    startTime = checkTime(input.start_time, 'start_time');
    endTime = checkTime(input.end_time, 'end_time');
    dueTime = checkTime(input.due_time, 'due_time');
  } catch (e) {
    const existing = await duplicateAfter(db, e, sdi);
    if (existing === undefined) throw e;
    return { created: false, existing_container_id: existing };
  }

  // Inline artifacts in order: a repeated source_data_identifier is the earlier one; a bad one fails
  // alone. Severities are checked here only once they are known to be wrong (see below).
  const prepare = async (known?: Set<string>) => {
    const results: Array<ArtifactResult | { ord: number } | { sameAs: number }> = [];
    const rows: ArtifactRow[] = [];
    const bySdi = new Map<string, number>();
    for (const [i, a] of inline.entries()) {
      if (a.source_data_identifier && bySdi.has(a.source_data_identifier)) {
        results.push({ sameAs: bySdi.get(a.source_data_identifier)! });
        continue;
      }
      try {
        if (known && a.severity !== undefined && !known.has(a.severity)) await checkSeverity(db, a.severity);
        const start = checkTime(a.start_time, 'start_time');
        const end = checkTime(a.end_time, 'end_time');
        const ord = rows.length;
        rows.push({
          ord,
          name: a.name ?? '',
          label: a.label ?? 'event',
          type: a.type ?? '',
          severity: a.severity ?? null,
          sdi: a.source_data_identifier ?? null,
          cef: a.cef ?? {},
          cef_types: a.cef_types ?? {},
          data: a.data ?? {},
          tags: a.tags ?? [],
          start_time: start,
          end_time: end,
        });
        if (a.source_data_identifier) bySdi.set(a.source_data_identifier, ord);
        results.push({ ord });
      } catch (e) {
        if (!(e instanceof AppError) || e.kind !== 'user') throw e;
        results.push({ failed: true, message: `artifacts/${i}: ${e.message}` });
      }
    }
    return { results, rows };
  };

  const label = input.label ?? 'events';
  const runAutomation = input.run_automation ?? true;
  const planner = runAutomation ? triggerPlanners.get(db) : undefined;
  const plans = planner ? await planner(label) : [];

  // Each value with its column's type: in `insert … select` parameters take no type from the column.
  const typed = (v: unknown, type: string) => sql`${v}::${sql.raw(type)}`;
  const cols: Array<[string, unknown]> = [
    ['name', typed(input.name, 'text')],
    ['label', typed(label, 'text')],
    ['source_data_identifier', typed(sdi, 'text')],
    ['owner_id', typed(ownerId, 'bigint')],
    ['tags', typed(JSON.stringify(input.tags ?? []), 'jsonb')],
    ['custom_fields', typed(JSON.stringify(input.custom_fields ?? {}), 'jsonb')],
    ['data', typed(JSON.stringify(input.data ?? {}), 'jsonb')],
    ['start_time', typed(startTime, 'timestamptz')],
    ['end_time', typed(endTime, 'timestamptz')],
    ['due_time', typed(dueTime, 'timestamptz')],
  ];
  for (const f of ['description', 'severity', 'sensitivity', 'status', 'container_type'] as const)
    if (input[f] !== undefined) cols.push([f, typed(input[f], 'text')]);

  type Inserted = { id: number; label: string; artifact_ids: number[]; run_ids: number[] };
  /**
   * The one statement. `checked`: severity and status are checked inside it (nothing is inserted
   * when one is unknown, and undefined is returned); else `closed` says whether the status is of
   * type closed.
   */
  const insert = async (
    rows: ArtifactRow[],
    mode: { checked: true } | { checked: false; closed: boolean },
  ): Promise<Inserted | { existing: number } | undefined> => {
    const sevs = [...severities];
    let container;
    if (mode.checked) {
      const all = [...cols];
      if (input.status !== undefined) all.push(['close_time', sql`case when k.st = 'closed' then now() end`]);
      container = sql`k as (select (select status_type from container_statuses where name = ${input.status ?? null}) as st,
          (select count(*) from severities where name = any(${sevs}::text[]))::int as n),
        c as (insert into containers (${sql.join(all.map(([key]) => sql.ref(key)))})
          select ${sql.join(all.map(([, v]) => v))} from k
          where k.n = ${sevs.length}::int${input.status !== undefined ? sql` and k.st is not null` : sql``}
          returning id, label)`;
    } else {
      const all = mode.closed ? [...cols, ['close_time', sql`now()`] as [string, unknown]] : cols;
      container = sql`c as (insert into containers (${sql.join(all.map(([key]) => sql.ref(key)))})
        values (${sql.join(all.map(([, v]) => v))}) returning id, label)`;
    }
    // Artifact ids are drawn from the sequence in insertion order (`order by x.ord`), so the sorted
    // ids follow the input order. A missing severity takes the column's default, 'medium'.
    const artifactsCte = rows.length
      ? sql`, a as (insert into artifacts (container_id, name, label, type, severity, source_data_identifier, cef, cef_types, data, tags, start_time, end_time)
          select c.id, x.name, x.label, x.type, coalesce(x.severity, 'medium'), x.sdi, x.cef, x.cef_types, x.data, x.tags, x.start_time, x.end_time
          from c, jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(ord int, name text, label text, type text, severity text, sdi text,
            cef jsonb, cef_types jsonb, data jsonb, tags jsonb, start_time timestamptz, end_time timestamptz)
          order by x.ord
          returning id, name, label)`
      : sql`, a as (select null::bigint as id, null::text as name, null::text as label where false)`;
    const runsCte = plans.length
      ? sql`, r as (insert into playbook_runs (playbook_id, playbook_version, container_id, scope, trigger, time_limit_ms, deadline)
          select p.playbook_id, p.version, c.id, '"new"'::jsonb, 'container_created', p.limit_ms, now() + p.limit_ms * interval '1 millisecond'
          from c, jsonb_to_recordset(${JSON.stringify(plans.map((p, ord) => ({ ord, playbook_id: p.playbookId, version: p.version, limit_ms: p.timeLimitMs })))}::jsonb)
            as p(ord int, playbook_id bigint, version int, limit_ms bigint)
          order by p.ord
          returning id),
        j as (insert into automation_jobs (kind, ref_id) select 'playbook_run', id from r order by id returning 1)`
      : sql`, r as (select null::bigint as id where false)`;
    try {
      const res = await sql<Inserted>`with ${container}${artifactsCte}${runsCte},
        l as (insert into audit_log (category, action, actor, object_type, object_id, container_id, details)
          select 'container', 'create', ${actor}, t.object_type, t.id::text, c.id, t.details
          from c, lateral (select 0 as k, 'container' as object_type, c.id,
                jsonb_build_object('name', ${input.name}::text, 'label', c.label, 'source_data_identifier', ${sdi}::text) as details
              union all select a.id, 'artifact', a.id, jsonb_build_object('name', a.name, 'label', a.label) from a) t
          order by t.k
          returning 1)
        select c.id, c.label,
          (select coalesce(jsonb_agg(id order by id), '[]'::jsonb) from a) as artifact_ids,
          (select coalesce(jsonb_agg(id order by id), '[]'::jsonb) from r) as run_ids
        from c`.execute(db);
      return res.rows[0];
    } catch (e) {
      // Created before (or by a concurrent creator): the unique index stopped this one. It gets the
      // duplicate answer.
      if (!isUniqueViolation(e) || !sdi) throw e;
      const existing = await findBySdi(db, sdi);
      if (existing === undefined) throw e;
      return { existing };
    }
  };

  let prepared = await prepare();
  let inserted =
    severities.size || input.status !== undefined
      ? await insert(prepared.rows, { checked: true })
      : await insert(prepared.rows, { checked: false, closed: false });
  if (inserted === undefined) {
    // An unknown severity or status: find which, answer a duplicate first, and fail the container or
    // just the artifacts that name it.
    let closed = false;
    let known: Set<string>;
    try {
      const r = await sql<{
        existing: number | null;
        status_type: 'new' | 'open' | 'closed' | null;
        known: string[];
      }>`select
          (select id from containers where source_data_identifier = ${sdi}) as existing,
          (select status_type from container_statuses where name = ${input.status ?? null}) as status_type,
          (select coalesce(jsonb_agg(name), '[]'::jsonb) from severities where name = any(${[...severities]}::text[])) as known`.execute(
        db,
      );
      const row = r.rows[0]!;
      if (row.existing !== null) return { created: false, existing_container_id: row.existing };
      known = new Set(row.known);
      // the error messages list the known values
      if (input.severity !== undefined && !known.has(input.severity)) await checkSeverity(db, input.severity);
      if (input.status !== undefined)
        closed = (row.status_type ?? (await statusType(db, input.status))) === 'closed';
    } catch (e) {
      const existing = await duplicateAfter(db, e, sdi);
      if (existing === undefined) throw e;
      return { created: false, existing_container_id: existing };
    }
    prepared = await prepare(known);
    inserted = await insert(prepared.rows, { checked: false, closed });
    if (inserted === undefined)
      throw new AppError('bug', 'container insert returned nothing', { kind: 'bug' });
  }
  if ('existing' in inserted) return { created: false, existing_container_id: inserted.existing };
  const ids = inserted.artifact_ids.map(Number);
  const artifacts: ArtifactResult[] = prepared.results.map((r) =>
    'ord' in r ? { id: ids[r.ord]! } : 'sameAs' in r ? { existing_artifact_id: ids[r.sameAs]! } : r,
  );
  emitAutomationEvent('container_created', {
    containerId: Number(inserted.id),
    label: inserted.label,
    runAutomation,
    artifactIds: artifacts.flatMap((a) => ('id' in a ? [a.id] : [])),
    ...(planner ? { playbookRunIds: inserted.run_ids.map(Number) } : {}),
  });
  return { created: true, id: Number(inserted.id), artifacts };
}

/** After a user error: the existing container with the identifier, if there is one. */
async function duplicateAfter(db: Db, e: unknown, sdi: string | null): Promise<number | undefined> {
  return e instanceof AppError && e.kind === 'user' && sdi ? findBySdi(db, sdi) : undefined;
}

async function findBySdi(db: Db, sdi: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('containers')
    .select('id')
    .where('source_data_identifier', '=', sdi)
    .executeTakeFirst();
  return row?.id;
}

/**
 * Adds one artifact to a container inside the caller's transaction, deduplicated by its
 * source_data_identifier within the container, and audits it. Emits nothing: callers emit
 * `artifact_added` after their commit (see `addArtifacts`).
 */
export async function addArtifact(
  db: Db,
  containerId: number,
  a: NewArtifact,
  opts: ChangeOptions = {},
): Promise<ArtifactResult> {
  if (a.source_data_identifier) {
    const existing = await db
      .selectFrom('artifacts')
      .select('id')
      .where('container_id', '=', containerId)
      .where('source_data_identifier', '=', a.source_data_identifier)
      .executeTakeFirst();
    if (existing) return { existing_artifact_id: existing.id };
  }
  if (a.severity !== undefined) await checkSeverity(db, a.severity);
  const start = checkTime(a.start_time, 'start_time');
  const end = checkTime(a.end_time, 'end_time');
  const row = await db
    .insertInto('artifacts')
    .values({
      container_id: containerId,
      name: a.name ?? '',
      label: a.label ?? 'event',
      type: a.type ?? '',
      ...(a.severity !== undefined ? { severity: a.severity } : {}),
      source_data_identifier: a.source_data_identifier ?? null,
      cef: JSON.stringify(a.cef ?? {}) as unknown as Record<string, unknown>,
      cef_types: JSON.stringify(a.cef_types ?? {}) as unknown as Record<string, string[]>,
      data: JSON.stringify(a.data ?? {}) as unknown as Record<string, unknown>,
      tags: JSON.stringify(a.tags ?? []) as unknown as string[],
      start_time: start,
      end_time: end,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordAudit(db, {
    category: 'container',
    action: 'create',
    actor: opts.actor ?? SYSTEM_ACTOR,
    object_type: 'artifact',
    object_id: row.id,
    container_id: containerId,
    details: { name: a.name ?? '', label: a.label ?? 'event' },
  });
  return { id: row.id };
}

/** The container list's filterable and sortable fields. */
export const CONTAINER_LIST: ListSpec = {
  type: 'container',
  fields: {
    id: { column: 'c.id', kind: 'int' },
    name: { column: 'c.name', kind: 'text' },
    label: { column: 'c.label', kind: 'text' },
    description: { column: 'c.description', kind: 'text' },
    severity: { column: 'c.severity', kind: 'text' },
    sensitivity: { column: 'c.sensitivity', kind: 'text' },
    status: { column: 'c.status', kind: 'text' },
    container_type: { column: 'c.container_type', kind: 'text' },
    source_data_identifier: { column: 'c.source_data_identifier', kind: 'text' },
    owner_id: { column: 'c.owner_id', kind: 'int' },
    owner: { column: 'c.owner_id', kind: 'int' },
    owner_name: { column: 'u.username', kind: 'text' },
    tags: { column: 'c.tags', kind: 'jsonArray' },
    custom_fields: { column: 'c.custom_fields', kind: 'json' },
    data: { column: 'c.data', kind: 'json' },
    start_time: { column: 'c.start_time', kind: 'time' },
    end_time: { column: 'c.end_time', kind: 'time' },
    due_time: { column: 'c.due_time', kind: 'time' },
    close_time: { column: 'c.close_time', kind: 'time' },
    create_time: { column: 'c.create_time', kind: 'time' },
    container_update_time: { column: 'c.update_time', kind: 'time' },
    update_time: { column: 'c.update_time', kind: 'time' },
  },
};

function containerQuery(db: Db) {
  return db
    .selectFrom('containers as c')
    .leftJoin('users as u', 'u.id', 'c.owner_id')
    .leftJoin('container_statuses as s', 's.name', 'c.status');
}

function selectContainer(db: Db) {
  return containerQuery(db).select([
    'c.id',
    'c.name',
    'c.label',
    'c.description',
    'c.severity',
    'c.sensitivity',
    'c.status',
    's.status_type',
    'c.container_type',
    'c.source_data_identifier',
    'c.owner_id',
    'u.username as owner_name',
    'c.tags',
    'c.custom_fields',
    'c.data',
    'c.start_time',
    'c.end_time',
    'c.due_time',
    'c.close_time',
    'c.create_time',
    'c.update_time',
    sql<number>`(select count(*) from artifacts a where a.container_id = c.id)`.as('artifact_count'),
  ]);
}

type ContainerRow = Awaited<ReturnType<ReturnType<typeof selectContainer>['executeTakeFirstOrThrow']>>;

export function toContainerRecord(r: ContainerRow): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    label: r.label,
    description: r.description,
    severity: r.severity,
    sensitivity: r.sensitivity,
    status: r.status,
    status_type: r.status_type,
    container_type: r.container_type,
    source_data_identifier: r.source_data_identifier,
    owner_id: r.owner_id,
    owner_name: r.owner_name,
    tags: r.tags,
    custom_fields: r.custom_fields,
    data: r.data,
    start_time: iso(r.start_time),
    end_time: iso(r.end_time),
    due_time: iso(r.due_time),
    close_time: iso(r.close_time),
    create_time: iso(r.create_time)!,
    container_update_time: iso(r.update_time)!,
    artifact_count: Number(r.artifact_count),
  };
}

/** One container, or undefined. */
export async function getContainer(db: Db, id: number): Promise<ContainerRecord | undefined> {
  const r = await selectContainer(db).where('c.id', '=', id).executeTakeFirst();
  return r ? toContainerRecord(r) : undefined;
}

/** Lists containers with Splunk SOAR list semantics over the raw query-string object. */
export async function listContainers(
  db: Kysely<Database>,
  query: Record<string, unknown>,
): Promise<ListEnvelope<ContainerRecord>> {
  const q = parseListQuery(query, CONTAINER_LIST);
  return runList(q, CONTAINER_LIST, {
    count: async (where) =>
      Number(
        (
          await containerQuery(db)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = selectContainer(db).where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute();
    },
    map: toContainerRecord,
  });
}

export type { FieldChange } from './object.repository.ts';

/** Fields of a container that can be changed after creation. */
export interface ContainerPatch {
  name?: string | undefined;
  label?: string | undefined;
  description?: string | undefined;
  severity?: string | undefined;
  sensitivity?: string | undefined;
  status?: string | undefined;
  container_type?: string | undefined;
  source_data_identifier?: string | null | undefined;
  owner_id?: number | string | null | undefined;
  tags?: string[] | undefined;
  custom_fields?: Record<string, unknown> | undefined;
  data?: Record<string, unknown> | undefined;
  start_time?: string | null | undefined;
  end_time?: string | null | undefined;
  due_time?: string | null | undefined;
}

const JSON_FIELDS = new Set(['tags', 'custom_fields', 'data']);
const TIME_FIELDS = new Set(['start_time', 'end_time', 'due_time']);

/**
 * Changes fields of a container; each field that really changes gets an audit entry with its old
 * and new value. Setting a status of type `closed` sets `close_time`; reopening clears it. Throws
 * not_found for an unknown container and user errors naming the field for bad values.
 */
export async function updateContainer(
  db: Kysely<Database>,
  id: number,
  patch: ContainerPatch,
  opts: ChangeOptions = {},
): Promise<FieldChange[]> {
  const changes = await updateWithAudit(db, {
    table: 'containers',
    id,
    objectType: 'container',
    actor: opts.actor ?? SYSTEM_ACTOR,
    patch,
    containerOf: () => id,
    jsonFields: JSON_FIELDS,
    timeFields: TIME_FIELDS,
    stamp: 'update_time',
    prepare: async (tx, field, raw) => {
      if (field === 'name' && (typeof raw !== 'string' || !raw.trim()))
        throw badRequest('name: must not be empty', { pointer: '/name' });
      if (field === 'severity') await checkSeverity(tx, raw as string);
      if (field === 'sensitivity') checkSensitivity(raw as string);
      if (field === 'status') await statusType(tx, raw as string);
      if (field === 'source_data_identifier' && raw) {
        const clash = await tx
          .selectFrom('containers')
          .select('id')
          .where('source_data_identifier', '=', raw as string)
          .where('id', '<>', id)
          .executeTakeFirst();
        if (clash)
          throw badRequest(`source_data_identifier: already used by container ${clash.id}`, {
            pointer: '/source_data_identifier',
            existing_container_id: clash.id,
          });
      }
      if (field === 'owner_id') return resolveOwner(tx, raw as number | string | null);
      if (TIME_FIELDS.has(field)) return checkTime(raw as string | null, field);
      return raw;
    },
    // A status of type `closed` sets close_time; reopening clears it.
    follow: async (tx, old, set) => {
      if (set.status === undefined) return [];
      const before = await tx
        .selectFrom('container_statuses')
        .select('status_type')
        .where('name', '=', old.status)
        .executeTakeFirst();
      const after = await statusType(tx, set.status as string);
      if (after === 'closed' && before?.status_type !== 'closed') {
        set.close_time = sql`now()`;
        return [{ field: 'close_time', old: iso(old.close_time), new: 'now' }];
      }
      if (after !== 'closed' && old.close_time !== null) {
        set.close_time = null;
        return [{ field: 'close_time', old: iso(old.close_time), new: null }];
      }
      return [];
    },
  });
  if (changes.length) emitAutomationEvent('container_updated', { containerId: id, changes });
  return changes;
}

/** Deletes a container with its artifacts, notes and vault entries; audits it. False if unknown. */
export async function deleteContainer(
  db: Kysely<Database>,
  id: number,
  opts: ChangeOptions = {},
): Promise<boolean> {
  return deleteWithAudit(
    db,
    { id, objectType: 'container', actor: opts.actor ?? SYSTEM_ACTOR },
    async (tx) => {
      const row = await tx
        .deleteFrom('containers')
        .where('id', '=', id)
        .returning(['name', 'label'])
        .executeTakeFirst();
      return row && { containerId: id, details: { name: row.name, label: row.label } };
    },
  );
}

/** Throws not_found unless the container exists. */
export async function requireContainer(db: Db, id: number): Promise<void> {
  const row = await db.selectFrom('containers').select('id').where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`container ${id}`);
}
