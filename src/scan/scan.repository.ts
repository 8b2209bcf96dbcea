import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/index.ts';
import type { ScanResultTable, ScanRunTable, StoredScanOptions } from './scan.table.ts';

type Db = Kysely<Database>;

/** Lifecycle of a scan run. */
export type ScanStatus = 'running' | 'completed' | 'cancelled' | 'failed';

/** A scan run as the API shows it. */
export interface ScanRunView {
  id: number;
  status: ScanStatus;
  targets: string[];
  ports: string;
  options: StoredScanOptions;
  schedule_id: number | null;
  requested_by: string | null;
  hosts: number;
  total: number;
  done: number;
  open: number;
  closed: number;
  filtered: number;
  error: string | null;
  baseline: Record<string, unknown> | null;
  started_at: string;
  finished_at: string | null;
}

/** One probed port as the API and CLI show it. */
export interface ScanResultView {
  host: string;
  hostname?: string;
  protocol: 'tcp';
  port: number;
  state: 'open' | 'closed' | 'filtered';
  reason: string;
  rtt_ms: number | null;
  banner?: string;
}

type RunRow = Selectable<ScanRunTable>;

function toRunView(r: RunRow): ScanRunView {
  return {
    id: Number(r.id),
    status: r.status as ScanStatus,
    targets: r.targets,
    ports: r.ports,
    options: r.options,
    schedule_id: r.schedule_id === null ? null : Number(r.schedule_id),
    requested_by: r.requested_by,
    hosts: Number(r.hosts),
    total: Number(r.total),
    done: Number(r.done),
    open: Number(r.open_count),
    closed: Number(r.closed_count),
    filtered: Number(r.filtered_count),
    error: r.error,
    baseline: r.baseline,
    started_at: new Date(r.started_at).toISOString(),
    finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

/** Records the start of a scan. */
export async function insertRun(
  db: Db,
  run: {
    targets: string[];
    ports: string;
    options: StoredScanOptions;
    scheduleId: number | null;
    requestedBy: string | null;
    hosts: number;
    total: number;
    startedAt: Date;
  },
): Promise<ScanRunView> {
  const row = await db
    .insertInto('scan_runs')
    .values({
      status: 'running',
      targets: JSON.stringify(run.targets),
      ports: run.ports,
      options: JSON.stringify(run.options),
      schedule_id: run.scheduleId,
      requested_by: run.requestedBy,
      hosts: run.hosts,
      total: run.total,
      started_at: run.startedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRunView(row);
}

/** Records how a scan ended, with its results, in one transaction. */
export async function finishRun(
  db: Db,
  id: number,
  end: {
    status: ScanStatus;
    done: number;
    counts: { open: number; closed: number; filtered: number };
    error: string | null;
    finishedAt: Date;
  },
  results: readonly ScanResultView[],
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx
      .updateTable('scan_runs')
      .set({
        status: end.status,
        done: end.done,
        open_count: end.counts.open,
        closed_count: end.counts.closed,
        filtered_count: end.counts.filtered,
        error: end.error,
        finished_at: end.finishedAt,
      })
      .where('id', '=', id)
      .execute();
    const rows: Array<Omit<ScanResultTable, 'id'>> = results.map((r) => ({
      run_id: id,
      host: r.host,
      hostname: r.hostname ?? null,
      protocol: r.protocol,
      port: r.port,
      state: r.state,
      reason: r.reason,
      rtt_ms: r.rtt_ms,
      banner: r.banner ?? null,
    }));
    for (let i = 0; i < rows.length; i += 1000)
      await tx
        .insertInto('scan_results')
        .values(rows.slice(i, i + 1000))
        .execute();
  });
}

/** Stores what recording into the baseline gave. */
export async function setRunBaseline(db: Db, id: number, summary: Record<string, unknown>): Promise<void> {
  await db
    .updateTable('scan_runs')
    .set({ baseline: JSON.stringify(summary) })
    .where('id', '=', id)
    .execute();
}

/** Marks runs left `running` by a stopped process as failed (called at start). */
export async function failInterruptedRuns(db: Db, now: Date): Promise<number> {
  const res = await db
    .updateTable('scan_runs')
    .set({ status: 'failed', error: 'the server stopped while the scan ran', finished_at: now })
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** One run by id. */
export async function getRun(db: Db, id: number): Promise<ScanRunView | undefined> {
  const r = await db.selectFrom('scan_runs').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toRunView(r) : undefined;
}

/** Recent runs, newest first. */
export async function listRuns(
  db: Db,
  opts: { limit: number; offset: number; scheduleId?: number },
): Promise<{ count: number; data: ScanRunView[] }> {
  let q = db.selectFrom('scan_runs');
  if (opts.scheduleId !== undefined) q = q.where('schedule_id', '=', opts.scheduleId);
  const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  let rows = q.selectAll().orderBy('id', 'desc');
  if (opts.limit > 0) rows = rows.limit(opts.limit).offset(opts.offset);
  return { count: Number(n), data: (await rows.execute()).map(toRunView) };
}

/** Stored results of a run, by host and port; optionally only some states. */
export async function listResults(
  db: Db,
  runId: number,
  states?: readonly string[],
): Promise<ScanResultView[]> {
  let q = db.selectFrom('scan_results').selectAll().where('run_id', '=', runId);
  if (states && states.length > 0) q = q.where('state', 'in', [...states]);
  const rows = await q.orderBy('host').orderBy('port').execute();
  return rows.map((r) => ({
    host: r.host,
    ...(r.hostname ? { hostname: r.hostname } : {}),
    protocol: 'tcp' as const,
    port: r.port,
    state: r.state as ScanResultView['state'],
    reason: r.reason,
    rtt_ms: r.rtt_ms,
    ...(r.banner !== null ? { banner: r.banner } : {}),
  }));
}
