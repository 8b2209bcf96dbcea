import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/index.ts';
import { conflict, notFound } from '../util/errors.ts';
import type { ScanScheduleTable, StoredScanOptions } from './scan.table.ts';

type Db = Kysely<Database>;

/** A scheduled scan as the API shows it. */
export interface ScheduleView {
  id: number;
  name: string;
  cron: string;
  targets: string[];
  ports: string;
  options: StoredScanOptions;
  enabled: boolean;
  created_at: string;
  last_run_at: string | null;
  last_run_id: number | null;
}

type Row = Selectable<ScanScheduleTable>;

function toView(r: Row): ScheduleView {
  return {
    id: Number(r.id),
    name: r.name,
    cron: r.cron,
    targets: r.targets,
    ports: r.ports,
    options: r.options,
    enabled: r.enabled,
    created_at: new Date(r.created_at).toISOString(),
    last_run_at: r.last_run_at ? new Date(r.last_run_at).toISOString() : null,
    last_run_id: r.last_run_id === null ? null : Number(r.last_run_id),
  };
}

/** Every schedule, by id. */
export async function listSchedules(db: Db): Promise<ScheduleView[]> {
  return (await db.selectFrom('scan_schedules').selectAll().orderBy('id').execute()).map(toView);
}

/** One schedule by id or name. */
export async function getSchedule(db: Db, ref: number | string): Promise<ScheduleView | undefined> {
  const q = db.selectFrom('scan_schedules').selectAll();
  const r = await (
    typeof ref === 'number' ? q.where('id', '=', ref) : q.where('name', '=', ref)
  ).executeTakeFirst();
  return r ? toView(r) : undefined;
}

/** Stores a new schedule; names are unique. */
export async function insertSchedule(
  db: Db,
  s: {
    name: string;
    cron: string;
    targets: string[];
    ports: string;
    options: StoredScanOptions;
    enabled: boolean;
  },
): Promise<ScheduleView> {
  if (await getSchedule(db, s.name))
    throw conflict(`a scan schedule named ${JSON.stringify(s.name)} already exists`);
  const row = await db
    .insertInto('scan_schedules')
    .values({
      name: s.name,
      cron: s.cron,
      targets: JSON.stringify(s.targets),
      ports: s.ports,
      options: JSON.stringify(s.options),
      enabled: s.enabled,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toView(row);
}

/** Deletes a schedule by id or name (its past runs stay). */
export async function deleteSchedule(db: Db, ref: number | string): Promise<ScheduleView> {
  const s = await getSchedule(db, ref);
  if (!s) throw notFound(`scan schedule ${JSON.stringify(ref)}`);
  await db.deleteFrom('scan_schedules').where('id', '=', s.id).execute();
  return s;
}

/** Turns a schedule on or off. */
export async function setScheduleEnabled(db: Db, id: number, enabled: boolean): Promise<void> {
  await db.updateTable('scan_schedules').set({ enabled }).where('id', '=', id).execute();
}

/** Notes the latest run of a schedule. */
export async function markScheduleRun(db: Db, id: number, runId: number, at: Date): Promise<void> {
  await db
    .updateTable('scan_schedules')
    .set({ last_run_at: at, last_run_id: runId })
    .where('id', '=', id)
    .execute();
}
