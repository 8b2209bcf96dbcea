import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import {
  CLAIM_RUN_SET,
  executePlaybookRun,
  executeQueuedActionRun,
  type ClaimedRun,
  type PlaybookDeps,
} from './playbook.engine.ts';
import { expirePrompts } from './prompt.repository.ts';

export interface WorkerOptions {
  /** This node's name in job leases (default: a random id per process). */
  nodeId?: string;
  /** Jobs run at once by this node (they are async: a slow action only holds its own slot). */
  concurrency?: number;
  /** How often to look for due jobs when nothing woke the worker. */
  pollMs?: number;
  /** A claimed job is this node's for this long, renewed while it runs. */
  leaseMs?: number;
  /** How often prompts are expired and stranded runs re-queued. */
  sweepMs?: number;
  /**
   * Release every lease at start. Only for a store no other node can use (the embedded one, guarded
   * by the data-dir lock): jobs of a killed process then resume at once instead of after the lease.
   */
  resetLocks?: boolean;
  /**
   * Vacuum the jobs table this often. The embedded store has no autovacuum, and the jobs table
   * churns (insert, lock, delete per job): without it every claim wades through dead rows.
   */
  vacuumEveryMs?: number;
}

/** A running job loop. */
export interface AutomationWorker {
  readonly nodeId: string;
  /** Look for due jobs now (after enqueueing in this process). */
  wake(): void;
  /** Aborts a run this node is executing (cancellation). */
  cancelLocal(kind: 'playbook_run' | 'action_run', id: number): void;
  /** Jobs currently executing here. */
  inFlight(): number;
  /** Stops claiming, lets running jobs finish for `graceMs`, then releases the rest for the next start. */
  stop(graceMs?: number): Promise<void>;
}

interface Claimed {
  id: number;
  kind: 'playbook_run' | 'action_run';
  ref_id: number;
  /** For a playbook run: the run as the claim marked it `running` (null: it had ended). */
  run?: ClaimedRun | null;
}

/**
 * Starts the job loop: claims due jobs with `FOR UPDATE SKIP LOCKED` under a renewed lease (so
 * several nodes can share one PostgreSQL), runs up to `concurrency` of them at once, expires prompts
 * and re-queues runs that lost their job, so no run stays `running` without progress.
 */
export function startAutomationWorker(deps: PlaybookDeps, opts: WorkerOptions = {}): AutomationWorker {
  const nodeId = opts.nodeId ?? `node-${randomUUID().slice(0, 8)}`;
  const concurrency = opts.concurrency ?? 64;
  const pollMs = opts.pollMs ?? 500;
  const leaseMs = opts.leaseMs ?? 30_000;
  const sweepMs = opts.sweepMs ?? 1000;
  const db = deps.db;
  const claimBatch = Math.max(1, Math.floor(concurrency / 8));
  const inflight = new Map<string, { job: Claimed; ac: AbortController; done: Promise<void> }>();
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  // One statement claims the jobs and marks their playbook runs `running` (what executing a run
  // would otherwise do first, one statement per run).
  const claim = async (n: number): Promise<Claimed[]> => {
    const r = await sql<
      Claimed & { [K in keyof ClaimedRun as `run_${K}`]: ClaimedRun[K] | null }
    >`with c as (select id from automation_jobs where run_after <= now() and (locked_until is null or locked_until < now())
            order by run_after, id limit ${n} for update skip locked),
      j as (update automation_jobs j set locked_by = ${nodeId}, locked_until = now() + ${leaseMs} * interval '1 millisecond'
            where j.id = any(array(select id from c)) returning j.id, j.kind, j.ref_id),
      r as (update playbook_runs r set ${CLAIM_RUN_SET}
            from playbooks p where r.id = any(array(select ref_id from j where kind = 'playbook_run')) and p.id = r.playbook_id and r.status in ('pending','running','waiting')
            returning r.id, r.container_id, r.scope, r.attempts, r.cancel_requested, r.deadline, r.time_limit_ms, p.name, r.status)
      select j.id, j.kind, j.ref_id, r.id as run_id, r.container_id as run_container_id, r.scope as run_scope, r.attempts as run_attempts,
        r.cancel_requested as run_cancel_requested, r.deadline as run_deadline, r.time_limit_ms as run_time_limit_ms, r.name as run_name, r.status as run_status
      from j left join r on j.kind = 'playbook_run' and r.id = j.ref_id
      order by j.id`.execute(db);
    return r.rows.map((x) => ({
      id: x.id,
      kind: x.kind,
      ref_id: x.ref_id,
      ...(x.kind === 'playbook_run'
        ? {
            run:
              x.run_id === null
                ? null
                : {
                    id: x.run_id,
                    container_id: x.run_container_id,
                    scope: x.run_scope,
                    attempts: x.run_attempts!,
                    cancel_requested: x.run_cancel_requested!,
                    deadline: x.run_deadline!,
                    time_limit_ms: x.run_time_limit_ms!,
                    name: x.run_name!,
                    status: x.run_status!,
                  },
          }
        : {}),
    }));
  };

  const run = (job: Claimed) => {
    const key = `${job.kind}:${job.ref_id}`;
    const ac = new AbortController();
    const done = (async () => {
      try {
        if (job.kind === 'playbook_run') await executePlaybookRun(deps, job.ref_id, ac.signal, job.run);
        else await executeQueuedActionRun(deps, job.ref_id, ac.signal);
      } catch (e) {
        // The database failed under us: give the job back with a delay rather than lose it.
        deps.logger.error({ err: e, job: key }, 'automation job failed; retrying later');
        await sql`update automation_jobs set locked_by = null, locked_until = null, run_after = now() + interval '5 seconds'
          where id = ${job.id}`
          .execute(db)
          .catch(() => {});
      } finally {
        inflight.delete(key);
        wake();
      }
    })();
    inflight.set(key, { job, ac, done });
  };

  const loop = (async () => {
    if (opts.resetLocks)
      await sql`update automation_jobs set locked_by = null, locked_until = null where locked_by is not null`.execute(
        db,
      );
    let timedOut = true;
    while (!stopped) {
      woken = false;
      const free = concurrency - inflight.size;
      let got = 0;
      // Claim in batches: one claim query per few finished jobs, not one per job.
      if (free > 0 && (free >= claimBatch || inflight.size === 0 || timedOut)) {
        try {
          const jobs = await claim(free);
          got = jobs.length;
          for (const j of jobs) run(j);
        } catch (e) {
          if (!stopped) deps.logger.error({ err: e }, 'cannot claim automation jobs');
        }
      }
      if (stopped) break;
      if (got > 0 && got === free) continue;
      if (woken && concurrency - inflight.size >= claimBatch) continue;
      timedOut = await new Promise<boolean>((res) => {
        const t = setTimeout(() => res(true), pollMs);
        wakeUp = () => {
          clearTimeout(t);
          res(false);
        };
      });
      wakeUp = undefined;
    }
  })();

  const heartbeat = setInterval(
    () => {
      if (inflight.size === 0) return;
      const jobs = [...inflight.values()].map((v) => v.job);
      const ids = jobs.map((j) => j.id);
      const pbIds = jobs.filter((j) => j.kind === 'playbook_run').map((j) => j.ref_id);
      const arIds = jobs.filter((j) => j.kind === 'action_run').map((j) => j.ref_id);
      void (async () => {
        await sql`update automation_jobs set locked_until = now() + ${leaseMs} * interval '1 millisecond'
        where locked_by = ${nodeId} and id = any(${ids}::bigint[])`.execute(db);
        const cancelled = await sql<{ kind: 'playbook_run' | 'action_run'; id: number }>`
        select 'playbook_run' as kind, id from playbook_runs where id = any(${pbIds}::bigint[]) and cancel_requested
        union all select 'action_run', id from action_runs where id = any(${arIds}::bigint[]) and cancel_requested`.execute(
          db,
        );
        for (const c of cancelled.rows) cancelLocal(c.kind, c.id);
      })().catch((e) => deps.logger.warn({ err: e }, 'lease renewal failed'));
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );

  let sweeping: Promise<void> | undefined;
  const sweeper = setInterval(() => {
    if (sweeping || stopped) return;
    sweeping = sweep()
      .catch((e) => deps.logger.warn({ err: e }, 'automation sweep failed'))
      .finally(() => (sweeping = undefined));
  }, sweepMs);

  let lastVacuum = Date.now();
  let vacuums = 0;
  let sweeps = 0;
  async function sweep(): Promise<void> {
    if (opts.vacuumEveryMs && Date.now() - lastVacuum >= opts.vacuumEveryMs) {
      lastVacuum = Date.now();
      // the runs table churns less (two updates per run): every sixth time is enough
      await sql
        .raw(++vacuums % 6 === 0 ? 'vacuum automation_jobs, playbook_runs' : 'vacuum automation_jobs')
        .execute(db);
    }
    const expired = await expirePrompts(db);
    if (sweeps++ % 5 !== 0) {
      if (expired) wake();
      return;
    }
    // Every fifth sweep: runs that should have a job and have none (e.g. an answer raced a
    // suspension, or a job row was lost with a node) are queued again.
    const repaired = await sql<{ n: number }>`with q as (insert into automation_jobs (kind, ref_id)
        select 'playbook_run', r.id from playbook_runs r
        where (r.status in ('pending','running')
               or (r.status = 'waiting' and (r.cancel_requested or not exists (select 1 from prompts p where p.playbook_run_id = r.id and p.status = 'pending'))))
          and not exists (select 1 from automation_jobs j where j.kind = 'playbook_run' and j.ref_id = r.id)
        union all
        select 'action_run', a.id from action_runs a
        where a.playbook_run_id is null and a.status in ('pending','running')
          and not exists (select 1 from automation_jobs j where j.kind = 'action_run' and j.ref_id = a.id)
        on conflict (kind, ref_id) do nothing returning 1)
      select count(*)::int as n from q`.execute(db);
    if (expired || repaired.rows[0]?.n) wake();
  }

  function cancelLocal(kind: 'playbook_run' | 'action_run', id: number): void {
    inflight.get(`${kind}:${id}`)?.ac.abort('cancelled');
  }

  return {
    nodeId,
    wake,
    cancelLocal,
    inFlight: () => inflight.size,
    async stop(graceMs = 5000) {
      stopped = true;
      wakeUp?.();
      clearInterval(sweeper);
      await sweeping;
      await loop;
      const all = Promise.all([...inflight.values()].map((v) => v.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const v of inflight.values()) v.ac.abort('shutdown');
      await all;
      clearInterval(heartbeat);
    },
  };
}
