import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Protocol } from '../ingest/observation.ts';
import type { Database } from '../store/index.ts';
import type {
  ServiceChangeKind,
  ServiceEvidence,
  ServiceKey,
  ServiceRecord,
  ServiceState,
} from './service.merge.ts';
import { serviceKeyString } from './service.merge.ts';
import type { HostFilter } from './service.query.ts';
import type { ServiceTable, SourceStats } from './service.table.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Every write to the baseline takes this transaction-scoped advisory lock first, so merges computed
 * from rows read in the same transaction are never overwritten by a concurrent import (PostgreSQL
 * with several connections; the embedded store has one connection anyway).
 */
const BASELINE_LOCK = 0x706f7274; // "port"

export async function lockBaseline(tx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${BASELINE_LOCK})`.execute(tx);
}

/** A row of `service_changes` to record. */
export interface NewServiceChange extends ServiceKey {
  service_id: number;
  change: ServiceChangeKind;
  at: Date;
  detail: Record<string, unknown>;
}

/** A service as the API shows it. */
export interface ServiceView {
  id: number;
  host: string;
  protocol: string;
  port: number;
  state: string;
  evidence: string;
  first_seen: string;
  last_seen: string;
  observations: number;
  sources: string[];
  source_details: Record<string, SourceStats>;
  reason: string;
  last_source: string;
  service: Record<string, unknown>;
  hostnames: string[];
  justification: string | null;
  approver: string | null;
  expires_at: string | null;
  tags: string[];
  container_id: number | null;
  gone_at: string | null;
  gone_reason: string | null;
  state_changed_at: string;
}

/** A recorded change as the API shows it. */
export interface ServiceChangeView {
  id: number;
  service_id: number;
  host: string;
  protocol: string;
  port: number;
  change: string;
  at: string;
  detail: Record<string, unknown>;
}

type Row = Selectable<ServiceTable>;

const COLUMNS = [
  'id',
  'host',
  'protocol',
  'port',
  'state',
  'evidence',
  'first_seen',
  'last_seen',
  'observations',
  'sources',
  'reason',
  'last_source',
  'service',
  'hostnames',
  'justification',
  'approver',
  'expires_at',
  'tags',
  'detection',
  'container_id',
  'gone_at',
  'gone_reason',
  'state_changed_at',
] as const;

/** Maps a stored row to the domain record. */
export function toRecord(r: Omit<Row, 'addr' | 'created_at' | 'updated_at'>): ServiceRecord {
  return {
    id: r.id,
    host: r.host,
    protocol: r.protocol as Protocol,
    port: r.port,
    state: r.state as ServiceState,
    evidence: r.evidence as ServiceEvidence,
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    observations: Number(r.observations),
    sources: r.sources ?? {},
    reason: r.reason,
    last_source: r.last_source,
    service: r.service ?? {},
    hostnames: r.hostnames ?? [],
    justification: r.justification,
    approver: r.approver,
    expires_at: r.expires_at,
    tags: r.tags ?? [],
    detection: (r.detection as ServiceRecord['detection']) ?? null,
    container_id: r.container_id === null ? null : Number(r.container_id),
    gone_at: r.gone_at,
    gone_reason: (r.gone_reason as ServiceRecord['gone_reason']) ?? null,
    state_changed_at: r.state_changed_at,
  };
}

/** Maps a domain record to the API's shape. */
export function toView(r: ServiceRecord): ServiceView {
  return {
    id: r.id ?? 0,
    host: r.host,
    protocol: r.protocol,
    port: r.port,
    state: r.state,
    evidence: r.evidence,
    first_seen: r.first_seen.toISOString(),
    last_seen: r.last_seen.toISOString(),
    observations: r.observations,
    sources: Object.keys(r.sources),
    source_details: r.sources,
    reason: r.reason,
    last_source: r.last_source,
    service: { ...r.service },
    hostnames: r.hostnames,
    justification: r.justification,
    approver: r.approver,
    expires_at: r.expires_at ? r.expires_at.toISOString() : null,
    tags: r.tags,
    container_id: r.container_id,
    gone_at: r.gone_at ? r.gone_at.toISOString() : null,
    gone_reason: r.gone_reason,
    state_changed_at: r.state_changed_at.toISOString(),
  };
}

/** Number of rows in the baseline (0 = empty: the next import is a learning run). */
export async function countServices(db: Db): Promise<number> {
  const r = await db
    .selectFrom('services')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** True when the baseline has no row at all (cheaper than counting). */
export async function baselineIsEmpty(db: Db): Promise<boolean> {
  const r = await db.selectFrom('services').select('id').limit(1).executeTakeFirst();
  return r === undefined;
}

/** When a stored row was created and last written (the database's clock). */
export interface RowStamps {
  created_at: Date;
  updated_at: Date;
}

/** The database's clock now (the start of the current transaction). */
export async function databaseNow(db: Db): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db);
  return new Date(rows[0]!.now);
}

/**
 * The stored rows for the given keys, by `serviceKeyString`; one query whatever the number of keys.
 * With `stamps`, each row's creation and last write times are put there too.
 */
export async function loadServices(
  db: Db,
  keys: ServiceKey[],
  opts: { forUpdate?: boolean; stamps?: Map<string, RowStamps> } = {},
): Promise<Map<string, ServiceRecord>> {
  const out = new Map<string, ServiceRecord>();
  if (keys.length === 0) return out;
  const json = JSON.stringify(keys.map((k) => ({ host: k.host, protocol: k.protocol, port: k.port })));
  const cols = opts.stamps ? [...COLUMNS, 'created_at', 'updated_at'] : COLUMNS;
  const q = sql<Row>`select ${sql.join(cols.map((c) => sql.ref(`s.${c}`)))}
    from services s
    join jsonb_to_recordset(${json}::jsonb) as k(host text, protocol text, port int)
      on s.host = k.host and s.protocol = k.protocol and s.port = k.port
    ${opts.forUpdate ? sql`for update of s` : sql``}`;
  const { rows } = await q.execute(db);
  for (const r of rows) {
    const rec = toRecord(r);
    const key = serviceKeyString(rec);
    out.set(key, rec);
    opts.stamps?.set(key, { created_at: new Date(r.created_at), updated_at: new Date(r.updated_at) });
  }
  return out;
}

/** Address text for the `inet` column: the host without an IPv6 zone id. */
function addrOf(host: string): string {
  const i = host.indexOf('%');
  return i >= 0 ? host.slice(0, i) : host;
}

/**
 * Inserts or updates the given rows (keyed by host, protocol, port) in one statement and returns
 * their ids by key. Evidence columns and the lifecycle state come from the records; approval fields,
 * tags and container links are left to `setServiceState` and `linkContainer`.
 */
export async function upsertServices(db: Db, rows: ServiceRecord[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const CHUNK = 5000;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    // One array per column, unnested server-side: a handful of parameters whatever the row count, and
    // far less JSON for the database to parse than one document per row.
    const col = <T>(f: (r: ServiceRecord) => T): T[] => chunk.map(f);
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    const { rows: out } = await sql<{ id: number; host: string; protocol: string; port: number }>`
      insert into services (host, addr, protocol, port, state, evidence, first_seen, last_seen, observations,
        sources, reason, last_source, service, hostnames, detection, gone_at, gone_reason, state_changed_at)
      select * from unnest(${col((r) => r.host)}::text[], ${col((r) => addrOf(r.host))}::inet[], ${col((r) => r.protocol)}::text[],
        ${col((r) => r.port)}::int[], ${col((r) => r.state)}::text[], ${col((r) => r.evidence)}::text[],
        ${col((r) => r.first_seen.toISOString())}::timestamptz[], ${col((r) => r.last_seen.toISOString())}::timestamptz[],
        ${col((r) => r.observations)}::bigint[], ${col((r) => JSON.stringify(r.sources))}::jsonb[], ${col((r) => r.reason)}::text[],
        ${col((r) => r.last_source)}::text[], ${col((r) => JSON.stringify(r.service))}::jsonb[], ${col((r) => JSON.stringify(r.hostnames))}::jsonb[],
        ${col((r) => r.detection)}::text[], ${col((r) => iso(r.gone_at))}::timestamptz[], ${col((r) => r.gone_reason)}::text[],
        ${col((r) => r.state_changed_at.toISOString())}::timestamptz[])
      on conflict (host, protocol, port) do update set
        state = excluded.state, evidence = excluded.evidence, first_seen = excluded.first_seen,
        last_seen = excluded.last_seen, observations = excluded.observations, sources = excluded.sources,
        reason = excluded.reason, last_source = excluded.last_source, service = excluded.service,
        hostnames = excluded.hostnames, detection = excluded.detection, gone_at = excluded.gone_at, gone_reason = excluded.gone_reason,
        state_changed_at = excluded.state_changed_at, updated_at = now()
      returning id, host, protocol, port`.execute(db);
    for (const r of out) ids.set(`${r.host}|${r.protocol}|${r.port}`, Number(r.id));
  }
  return ids;
}

/** Records changes, one statement per 5000. */
export async function insertChanges(db: Db, changes: NewServiceChange[]): Promise<void> {
  const CHUNK = 5000;
  for (let i = 0; i < changes.length; i += CHUNK) {
    const c = changes.slice(i, i + CHUNK);
    await sql`insert into service_changes (service_id, host, protocol, port, change, at, detail)
      select * from unnest(${c.map((x) => x.service_id)}::bigint[], ${c.map((x) => x.host)}::text[], ${c.map((x) => x.protocol)}::text[],
        ${c.map((x) => x.port)}::int[], ${c.map((x) => x.change)}::text[], ${c.map((x) => x.at.toISOString())}::timestamptz[],
        ${c.map((x) => JSON.stringify(x.detail))}::jsonb[])`.execute(db);
  }
}

/** Links a service to the container its latest detection raised. */
export async function linkContainer(db: Db, serviceId: number, containerId: number): Promise<void> {
  await db.updateTable('services').set({ container_id: containerId }).where('id', '=', serviceId).execute();
}

/** Sort keys of a services listing. */
export const SERVICE_SORTS = [
  'host',
  'port',
  'protocol',
  'state',
  'evidence',
  'first_seen',
  'last_seen',
  'observations',
  'id',
] as const;
export type ServiceSort = (typeof SERVICE_SORTS)[number];

/** Filters and paging of a services listing. */
export interface ServiceQuery {
  host?: HostFilter;
  port?: number;
  protocol?: Protocol;
  state?: ServiceState;
  source?: string;
  evidence?: ServiceEvidence;
  seenSince?: Date;
  firstSeenSince?: Date;
  /** 0 = no limit. */
  limit: number;
  offset: number;
  sort: ServiceSort;
  order: 'asc' | 'desc';
}

/** A page of services matching the query, with the total count of matches. */
export async function listServices(db: Db, q: ServiceQuery): Promise<{ count: number; data: ServiceView[] }> {
  let base = db.selectFrom('services as s');
  if (q.host?.kind === 'ip') base = base.where('s.host', '=', q.host.value);
  else if (q.host?.kind === 'cidr') base = base.where(sql<boolean>`s.addr <<= ${q.host.value}::inet`);
  else if (q.host?.kind === 'name')
    base = base.where(sql<boolean>`s.hostnames @> ${JSON.stringify([q.host.value])}::jsonb`);
  if (q.port !== undefined) base = base.where('s.port', '=', q.port);
  if (q.protocol) base = base.where('s.protocol', '=', q.protocol);
  if (q.state) base = base.where('s.state', '=', q.state);
  if (q.evidence) base = base.where('s.evidence', '=', q.evidence);
  if (q.source) base = base.where(sql<boolean>`jsonb_exists(s.sources, ${q.source})`);
  if (q.seenSince) base = base.where('s.last_seen', '>=', q.seenSince);
  if (q.firstSeenSince) base = base.where('s.first_seen', '>=', q.firstSeenSince);
  const { n } = await base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  const dir = q.order;
  let rows = base.select(COLUMNS.map((c) => `s.${c}` as const));
  if (q.sort === 'host') rows = rows.orderBy(sql`s.addr`, dir).orderBy('s.host', dir);
  else rows = rows.orderBy(`s.${q.sort}`, dir);
  rows = rows
    .orderBy(sql`s.addr`)
    .orderBy('s.protocol')
    .orderBy('s.port');
  if (q.limit > 0) rows = rows.limit(q.limit);
  if (q.offset > 0) rows = rows.offset(q.offset);
  const data = (await rows.execute()).map((r) => toView(toRecord(r)));
  return { count: Number(n), data };
}

/** One service by id or key, or undefined. */
export async function getService(db: Db, ref: number | ServiceKey): Promise<ServiceRecord | undefined> {
  let q = db.selectFrom('services').select([...COLUMNS]);
  q =
    typeof ref === 'number'
      ? q.where('id', '=', ref)
      : q.where('host', '=', ref.host).where('protocol', '=', ref.protocol).where('port', '=', ref.port);
  const r = await q.executeTakeFirst();
  return r ? toRecord(r) : undefined;
}

/** Changes whose time (`at`: the evidence's, or the sweep's) is at or after `since`, in recording order. */
export async function listChanges(
  db: Db,
  q: { since?: Date; change?: string; host?: HostFilter; limit: number; offset: number },
): Promise<{ count: number; data: ServiceChangeView[] }> {
  let base = db.selectFrom('service_changes as c');
  if (q.since) base = base.where('c.at', '>=', q.since);
  if (q.change) base = base.where('c.change', '=', q.change);
  if (q.host?.kind === 'ip') base = base.where('c.host', '=', q.host.value);
  else if (q.host?.kind === 'cidr') base = base.where(sql<boolean>`c.host::inet <<= ${q.host.value}::inet`);
  const { n } = await base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  let rows = base
    .select(['c.id', 'c.service_id', 'c.host', 'c.protocol', 'c.port', 'c.change', 'c.at', 'c.detail'])
    // In the order they were recorded: a late report can carry an earlier evidence time.
    .orderBy('c.id');
  if (q.limit > 0) rows = rows.limit(q.limit);
  if (q.offset > 0) rows = rows.offset(q.offset);
  const data = (await rows.execute()).map((r) => ({
    id: Number(r.id),
    service_id: Number(r.service_id),
    host: r.host,
    protocol: r.protocol,
    port: r.port,
    change: r.change,
    at: r.at.toISOString(),
    detail: r.detail ?? {},
  }));
  return { count: Number(n), data };
}

/**
 * Marks active services not seen since `now - goneAfterMs` as gone, and approvals past their expiry
 * as unapproved, recording a change for each. Returns how many rows changed.
 */
export async function sweepBaseline(
  db: Kysely<Database>,
  now: Date,
  goneAfterMs: number,
): Promise<{ gone: number; expired: number }> {
  const cutoff = new Date(now.getTime() - goneAfterMs);
  return db.transaction().execute(async (tx) => {
    await lockBaseline(tx);
    const gone = await tx
      .updateTable('services')
      .set({ state: 'gone', gone_at: now, gone_reason: 'unseen', state_changed_at: now, updated_at: now })
      .where('state', '<>', 'gone')
      .where('last_seen', '<', cutoff)
      .returning(['id', 'host', 'protocol', 'port', 'last_seen'])
      .execute();
    const expired = await tx
      .updateTable('services')
      .set({ state: 'unapproved', state_changed_at: now, updated_at: now })
      .where('state', '=', 'approved')
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .returning(['id', 'host', 'protocol', 'port', 'expires_at'])
      .execute();
    const changes: NewServiceChange[] = [
      ...gone.map((r) => ({
        service_id: Number(r.id),
        host: r.host,
        protocol: r.protocol as Protocol,
        port: r.port,
        change: 'gone' as const,
        at: now,
        detail: { last_seen: r.last_seen.toISOString(), gone_after_ms: goneAfterMs },
      })),
      ...expired.map((r) => ({
        service_id: Number(r.id),
        host: r.host,
        protocol: r.protocol as Protocol,
        port: r.port,
        change: 'approval_expired' as const,
        at: now,
        detail: { expires_at: r.expires_at?.toISOString() ?? null },
      })),
    ];
    await insertChanges(tx, changes);
    return { gone: gone.length, expired: expired.length };
  });
}

/** A decision about a service: approve it into the baseline, mark it unapproved, or set another state. */
export interface ServiceDecision {
  state: ServiceState;
  justification?: string | null;
  approver?: string | null;
  expires_at?: Date | string | null;
  tags?: string[];
}

/**
 * Sets a service's state (and justification, approver, expiry) and records the change
 * (`approved`, `unapproved` or `state`). Returns the updated record, or undefined if there is no
 * such service.
 */
export async function setServiceState(
  db: Kysely<Database>,
  ref: number | ServiceKey,
  decision: ServiceDecision,
  now: Date = new Date(),
): Promise<ServiceRecord | undefined> {
  return db.transaction().execute(async (tx) => {
    await lockBaseline(tx);
    const current = await getService(tx, ref);
    if (!current || current.id === undefined) return undefined;
    const expires =
      decision.expires_at === undefined
        ? undefined
        : decision.expires_at === null
          ? null
          : new Date(decision.expires_at);
    await tx
      .updateTable('services')
      .set({
        state: decision.state,
        ...(decision.justification !== undefined ? { justification: decision.justification } : {}),
        ...(decision.approver !== undefined ? { approver: decision.approver } : {}),
        ...(expires !== undefined ? { expires_at: expires } : {}),
        ...(decision.tags !== undefined ? { tags: JSON.stringify(decision.tags) } : {}),
        ...(decision.state !== current.state ? { state_changed_at: now } : {}),
        ...(decision.state === 'gone' && current.state !== 'gone'
          ? { gone_at: now, gone_reason: 'manual' }
          : {}),
        ...(decision.state !== 'gone' ? { gone_at: null, gone_reason: null } : {}),
        updated_at: now,
      })
      .where('id', '=', current.id)
      .execute();
    const change: ServiceChangeKind =
      decision.state === 'approved' ? 'approved' : decision.state === 'unapproved' ? 'unapproved' : 'state';
    await insertChanges(tx, [
      {
        service_id: current.id,
        host: current.host,
        protocol: current.protocol,
        port: current.port,
        change,
        at: now,
        detail: {
          from: current.state,
          to: decision.state,
          ...(decision.justification ? { justification: decision.justification } : {}),
          ...(decision.approver ? { approver: decision.approver } : {}),
          ...(expires ? { expires_at: expires.toISOString() } : {}),
        },
      },
    ]);
    return getService(tx, current.id);
  });
}

/** Approves a service into the baseline with a business justification (and optional expiry). */
export function approveService(
  db: Kysely<Database>,
  ref: number | ServiceKey,
  decision: Omit<ServiceDecision, 'state'> & { justification: string; approver: string },
  now: Date = new Date(),
): Promise<ServiceRecord | undefined> {
  return setServiceState(db, ref, { ...decision, state: 'approved' }, now);
}
