import { Cron } from 'croner';
import { badRequest } from '../util/errors.ts';
import { prepareScan, scanRunnerFor, type ScanContext } from './scan.service.ts';
import type { ScanRunView } from './scan.repository.ts';
import type { StoredScanOptions } from './scan.table.ts';
import {
  getSchedule,
  insertSchedule,
  listSchedules,
  markScheduleRun,
  type ScheduleView,
} from './schedule.repository.ts';

/** Checks a cron expression (5 fields, or 6 with seconds first) and returns its next run. */
export function validateCron(expr: string, from?: Date): Date | null {
  try {
    const c = new Cron(expr, { paused: true });
    const next = c.nextRun(from);
    c.stop();
    return next;
  } catch (e) {
    throw badRequest(`cron expression ${JSON.stringify(expr)} is invalid: ${(e as Error).message}`);
  }
}

/**
 * Runs the stored scan schedules: one cron timer per enabled schedule, rebuilt from the database on
 * start (so schedules survive a restart) and after every change. A run whose previous run is still
 * going is skipped. Scopes are checked again at every run.
 */
export class ScanScheduler {
  readonly #ctx: ScanContext;
  readonly #jobs = new Map<number, Cron>();
  #stopped = false;

  constructor(ctx: ScanContext) {
    this.#ctx = ctx;
  }

  /** Builds the timers from the database. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.reload();
  }

  /** Drops every timer and builds them again from the database. */
  async reload(): Promise<void> {
    const schedules = await listSchedules(this.#ctx.db);
    for (const job of this.#jobs.values()) job.stop();
    this.#jobs.clear();
    if (this.#stopped) return;
    for (const s of schedules) if (s.enabled) this.#schedule(s);
  }

  /** Validates (cron, targets, ports, scope) and stores a new schedule, then starts its timer. */
  async add(input: {
    name: string;
    cron: string;
    targets: string[];
    ports: string;
    options: StoredScanOptions;
    enabled: boolean;
  }): Promise<ScheduleView> {
    validateCron(input.cron);
    const prepared = await prepareScan(this.#ctx, {
      targets: input.targets,
      ports: input.ports,
      options: input.options,
    });
    const s = await insertSchedule(this.#ctx.db, {
      ...input,
      ports: prepared.portSpec,
      options: prepared.options,
    });
    if (s.enabled && !this.#stopped) this.#schedule(s);
    this.#ctx.logger.info({ schedule: s.id, name: s.name, cron: s.cron }, 'scan schedule added');
    return s;
  }

  /** Stops the timer of a schedule (after it was deleted). */
  unschedule(id: number): void {
    this.#jobs.get(id)?.stop();
    this.#jobs.delete(id);
  }

  /** When a schedule fires next, if it has a timer here. */
  nextRun(id: number): Date | null {
    return this.#jobs.get(id)?.nextRun() ?? null;
  }

  /** Starts a schedule's scan now, outside its timer; resolves once the run is recorded. */
  async runNow(id: number): Promise<ScanRunView> {
    const s = await getSchedule(this.#ctx.db, id);
    if (!s) throw badRequest(`scan schedule ${id} does not exist`);
    return this.#run(s);
  }

  /** Stops every timer (running scans are stopped by the scan runner). */
  stop(): void {
    this.#stopped = true;
    for (const job of this.#jobs.values()) job.stop();
    this.#jobs.clear();
  }

  #schedule(s: ScheduleView): void {
    const job = new Cron(s.cron, { protect: true, catch: true, name: `scan-schedule-${s.id}` }, async () => {
      try {
        const fresh = await getSchedule(this.#ctx.db, s.id);
        if (!fresh || !fresh.enabled) return;
        const run = await this.#run(fresh);
        // Wait for the scan so `protect` skips overlapping firings.
        await scanRunnerFor(this.#ctx).finished(run.id);
      } catch (e) {
        this.#ctx.logger.error({ err: e, schedule: s.id, name: s.name }, 'scheduled scan could not run');
      }
    });
    this.#jobs.set(s.id, job);
  }

  async #run(s: ScheduleView): Promise<ScanRunView> {
    const prepared = await prepareScan(this.#ctx, { targets: s.targets, ports: s.ports, options: s.options });
    const { run } = await scanRunnerFor(this.#ctx).start(prepared, {
      scheduleId: s.id,
      requestedBy: `schedule:${s.name}`,
    });
    await markScheduleRun(this.#ctx.db, s.id, run.id, this.#ctx.now());
    this.#ctx.logger.info({ schedule: s.id, name: s.name, scan: run.id }, 'scheduled scan started');
    return run;
  }
}

const schedulers = new WeakMap<object, ScanScheduler>();

/** The scan scheduler of an application context (created on first use, started by `startScanning`). */
export function scanSchedulerFor(ctx: ScanContext): ScanScheduler {
  let s = schedulers.get(ctx);
  if (!s) {
    s = new ScanScheduler(ctx);
    schedulers.set(ctx, s);
  }
  return s;
}
