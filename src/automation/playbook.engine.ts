import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import { AppError, badRequest, notFound } from '../util/errors.ts';
import { executeUnits, planAction, type ActionDeps, type ActionRequest } from './action.engine.ts';
import type { ContainerTriggerPlanner } from './container.repository.ts';
import { enqueueJob } from './prompt.repository.ts';
import type { PlaybookDefinition, PlaybookRegistry } from './playbook.types.ts';
import { batcherFor, WriteBatcher } from './write-batcher.ts';
import {
  NonDeterministicReplay,
  RunInterrupted,
  RunSdk,
  SuspendRun,
  type JournalEntry,
  type ServicePort,
} from './sdk.ts';

/** What running playbooks needs. */
export interface PlaybookDeps extends ActionDeps {
  readonly playbooks: PlaybookRegistry;
  /** Default working-time limit of a run. */
  readonly runTimeLimitMs: number;
  /** The service baseline, for playbooks that approve or reject services. */
  readonly services?: ServicePort | undefined;
}

const limitText = (ms: number) => (ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

/** Why a running execution was stopped from outside. */
export type StopReason = 'cancelled' | 'shutdown';

/**
 * Makes the database's playbook rows match the registered definitions: new ones are inserted
 * (active as the definition says), changed versions and triggers updated; the stored `active` flag
 * is kept. Returns name → id.
 */
export async function syncPlaybooks(
  db: Kysely<Database>,
  registry: PlaybookRegistry,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const def of registry.list()) {
    const row = await db
      .insertInto('playbooks')
      .values({
        scm: 'local',
        name: def.name,
        version: def.version,
        active: def.active ?? true,
        description: def.description ?? '',
        labels: JSON.stringify(def.labels) as never,
        tags: JSON.stringify(def.tags ?? []) as never,
      })
      .onConflict((oc) =>
        oc.columns(['scm', 'name']).doUpdateSet({
          version: def.version,
          description: def.description ?? '',
          labels: JSON.stringify(def.labels) as never,
          tags: JSON.stringify(def.tags ?? []) as never,
          update_time: new Date(),
        }),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.set(def.name, row.id);
  }
  return ids;
}

export type RunScope = 'new' | 'all' | number[];

/** Parses Splunk SOAR's `scope`: `new`, `all`, or a list of artifact ids. */
export function parseScope(scope: unknown): RunScope {
  if (scope === undefined || scope === null || scope === 'new') return 'new';
  if (scope === 'all') return 'all';
  if (Array.isArray(scope) && scope.every((x) => Number.isInteger(Number(x)))) return scope.map(Number);
  throw badRequest('/scope: must be "new", "all" or a list of artifact ids');
}

/** Finds a playbook row by id, name, or `local/name`. */
export async function findPlaybook(
  db: Kysely<Database>,
  ref: number | string,
): Promise<{ id: number; name: string; version: number; active: boolean }> {
  let q = db.selectFrom('playbooks').select(['id', 'name', 'version', 'active']);
  if (typeof ref === 'number' || /^\d+$/.test(ref)) q = q.where('id', '=', Number(ref));
  else {
    const [scm, name] = ref.includes('/') ? (ref.split('/', 2) as [string, string]) : ['local', ref];
    q = q.where('scm', '=', scm).where('name', '=', name);
  }
  const row = await q.executeTakeFirst();
  if (!row) throw notFound(`playbook ${JSON.stringify(ref)}`);
  return row;
}

/** Creates a run and queues it; returns its id. */
export async function startPlaybookRun(
  db: Kysely<Database>,
  deps: { playbooks: PlaybookRegistry; runTimeLimitMs: number },
  input: {
    playbook: number | string;
    containerId: number | null;
    scope?: unknown;
    trigger: string;
    userId?: number | null;
  },
): Promise<number> {
  const pb = await findPlaybook(db, input.playbook);
  const def = deps.playbooks.get(pb.name);
  if (!def) throw badRequest(`playbook "${pb.name}" has no code installed in this server`);
  if (input.containerId !== null) {
    const c = await db
      .selectFrom('containers')
      .select('id')
      .where('id', '=', input.containerId)
      .executeTakeFirst();
    if (!c) throw badRequest(`/container_id: no container ${input.containerId}`);
  }
  return insertRun(db, pb, def.timeLimitMs ?? deps.runTimeLimitMs, {
    ...input,
    scope: parseScope(input.scope),
  });
}

async function insertRun(
  db: Kysely<Database>,
  pb: PlaybookRow,
  limit: number,
  input: { containerId: number | null; scope: RunScope; trigger: string; userId?: number | null },
): Promise<number> {
  const scope = input.scope;
  const r = await sql<{ id: number }>`with r as (
      insert into playbook_runs (playbook_id, playbook_version, container_id, scope, trigger, effective_user_id, time_limit_ms, deadline)
      values (${pb.id}, ${pb.version}, ${input.containerId}, ${JSON.stringify(scope)}::jsonb, ${input.trigger}, ${input.userId ?? null}, ${limit}, now() + ${limit} * interval '1 millisecond')
      returning id),
    j as (insert into automation_jobs (kind, ref_id) select 'playbook_run', id from r returning 1)
    select id from r`.execute(db);
  return r.rows[0]!.id;
}

// Every new container asks which playbooks its label triggers: keep the answer for a moment.
const PLAYBOOK_CACHE_TTL_MS = 1000;
const playbookCache = new WeakMap<object, Map<string, { rows: Promise<PlaybookRow[]>; at: number }>>();

type PlaybookRow = { id: number; name: string; version: number };

/** Forgets cached trigger lookups (after a playbook is (de)activated in this process). */
export function clearPlaybookCache(db: Kysely<Database>): void {
  playbookCache.delete(db);
}

function activePlaybooks(db: Kysely<Database>, label: string): Promise<PlaybookRow[]> {
  let m = playbookCache.get(db);
  if (!m) playbookCache.set(db, (m = new Map()));
  const hit = m.get(label);
  if (hit && Date.now() - hit.at < PLAYBOOK_CACHE_TTL_MS) return hit.rows;
  const rows = db
    .selectFrom('playbooks')
    .select(['id', 'name', 'version'])
    .where('active', '=', true)
    .where(sql<boolean>`labels @> ${JSON.stringify([label])}::jsonb`)
    .orderBy('id')
    .execute();
  const entry = { rows, at: Date.now() };
  m.set(label, entry);
  rows.catch(() => m.get(label) === entry && m.delete(label));
  return rows;
}

/**
 * The runs a new container with a label starts (every active playbook for the label whose code is
 * installed), for `setContainerTriggerPlanner`.
 */
export function planContainerTriggers(
  db: Kysely<Database>,
  deps: { playbooks: PlaybookRegistry; runTimeLimitMs: number },
): ContainerTriggerPlanner {
  return async (label) =>
    (await activePlaybooks(db, label)).flatMap((r) => {
      const def = deps.playbooks.get(r.name);
      return def
        ? [{ playbookId: r.id, version: r.version, timeLimitMs: def.timeLimitMs ?? deps.runTimeLimitMs }]
        : [];
    });
}

/** Starts every active playbook whose labels include the container's label. Returns the run ids. */
export async function triggerPlaybooksForLabel(
  db: Kysely<Database>,
  deps: { playbooks: PlaybookRegistry; runTimeLimitMs: number },
  containerId: number,
  label: string,
  trigger: string,
  scope: RunScope = 'new',
): Promise<number[]> {
  const rows = await activePlaybooks(db, label);
  const ids: number[] = [];
  for (const r of rows) {
    const def = deps.playbooks.get(r.name);
    if (!def) continue;
    ids.push(await insertRun(db, r, def.timeLimitMs ?? deps.runTimeLimitMs, { containerId, scope, trigger }));
  }
  return ids;
}

interface RunEnd {
  runId: number;
  status: 'success' | 'failed' | 'cancelled';
  message: string;
}

const finishBatchers = new WeakMap<Kysely<Database>, WriteBatcher<RunEnd, void>>();

/** Ends a run (if it has not ended) with its prompts, actions and job; runs ending together share a statement. */
function finish(
  db: Kysely<Database>,
  runId: number,
  status: 'success' | 'failed' | 'cancelled',
  message: string,
): Promise<void> {
  return batcherFor(finishBatchers, db, () => new WriteBatcher((ends) => finishRuns(db, ends))).add({
    runId,
    status,
    message,
  });
}

async function finishRuns(db: Kysely<Database>, ends: RunEnd[]): Promise<void[]> {
  const ids = ends.map((e) => e.runId);
  const xs = ends.map((e) => ({ id: e.runId, status: e.status, message: e.message.slice(0, 4000) }));
  // `= any(ids)` keeps every part on its index as the tables grow.
  await sql`with x as (select * from jsonb_to_recordset(${JSON.stringify(xs)}::jsonb) as x(id bigint, status text, message text)),
    r as (update playbook_runs r set status = x.status, message = x.message, end_time = now(), update_time = now()
      from x where r.id = any(${ids}::bigint[]) and x.id = r.id and r.status not in ('success','failed','cancelled') returning r.id),
    p as (update prompts set status = 'cancelled', close_time = now() where playbook_run_id = any(${ids}::bigint[]) and status = 'pending' returning 1),
    a as (update action_runs set status = 'failed', message = 'interrupted: the playbook run ended', close_time = now()
      where playbook_run_id = any(${ids}::bigint[]) and status in ('pending','running') returning 1)
    delete from automation_jobs where kind = 'playbook_run' and ref_id = any(${ids}::bigint[])`.execute(db);
  return ends.map(() => undefined);
}

/** A run marked `running` for an execution: what the execution needs to know about it. */
export interface ClaimedRun {
  id: number;
  container_id: number | null;
  scope: unknown;
  attempts: number;
  cancel_requested: boolean;
  deadline: Date;
  time_limit_ms: number;
  name: string;
  status: string;
}

/**
 * The `set` of the update that marks runs `running` (used here and by the worker's claim): one more
 * attempt, the deadline moved by the time spent waiting for a prompt.
 */
export const CLAIM_RUN_SET = sql`status = 'running', attempts = r.attempts + 1, start_time = coalesce(r.start_time, now()),
      deadline = r.deadline + coalesce(now() - r.suspended_at, interval '0'), suspended_at = null, update_time = now()`;

/** Marks a run `running` for an execution; undefined if it has ended (or does not exist). */
async function claimRun(db: Kysely<Database>, runId: number): Promise<ClaimedRun | undefined> {
  const r = await sql<ClaimedRun>`update playbook_runs r set ${CLAIM_RUN_SET}
    from playbooks p where r.id = ${runId} and p.id = r.playbook_id and r.status in ('pending','running','waiting')
    returning r.id, r.container_id, r.scope, r.attempts, r.cancel_requested, r.deadline, r.time_limit_ms, p.name, r.status`.execute(
    db,
  );
  return r.rows[0];
}

/**
 * Executes (or resumes) one playbook run to its end or its next prompt. Completed steps are
 * replayed from the journal. Returns what became of it; never leaves the run `running` without a
 * job: on a stop for shutdown the job is released for the next start. `claimed` is the run as the
 * worker's claim already marked it (null: it was not claimable); without it the run is claimed here.
 */
export async function executePlaybookRun(
  deps: PlaybookDeps,
  runId: number,
  stop: AbortSignal,
  claimed?: ClaimedRun | null,
): Promise<'finished' | 'waiting' | 'released'> {
  const db = deps.db;
  const run = claimed === undefined ? await claimRun(db, runId) : claimed;
  if (!run) {
    await db
      .deleteFrom('automation_jobs')
      .where('kind', '=', 'playbook_run')
      .where('ref_id', '=', runId)
      .execute();
    return 'finished';
  }
  if (run.cancel_requested) {
    await finish(db, runId, 'cancelled', 'cancelled by request');
    return 'finished';
  }
  const deadline = new Date(run.deadline);
  if (deadline.getTime() <= Date.now()) {
    await finish(db, runId, 'failed', `time limit of ${limitText(run.time_limit_ms)} exceeded`);
    return 'finished';
  }
  const def: PlaybookDefinition | undefined = deps.playbooks.get(run.name);
  if (!def) {
    await finish(db, runId, 'failed', `playbook "${run.name}" has no code installed in this server`);
    return 'finished';
  }
  const journal = new Map<number, JournalEntry>();
  if (run.attempts > 1) {
    const steps = await db
      .selectFrom('playbook_run_steps')
      .select(['seq', 'kind', 'name', 'result'])
      .where('run_id', '=', runId)
      .execute();
    for (const s of steps) journal.set(s.seq, { kind: s.kind, name: s.name, result: s.result });
  }
  const ac = new AbortController();
  let interrupt!: (reason: string) => void;
  const interrupted = new Promise<never>((_, rej) => (interrupt = (r) => rej(new RunInterrupted(r))));
  interrupted.catch(() => {});
  const onStop = () => {
    ac.abort(String(stop.reason));
    interrupt(String(stop.reason));
  };
  stop.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(
    () => {
      ac.abort('deadline');
      interrupt('deadline');
    },
    Math.min(deadline.getTime() - Date.now(), 2 ** 31 - 1),
  );
  const sdk = new RunSdk(
    deps,
    {
      id: runId,
      playbook: run.name,
      containerId: run.container_id,
      scope: run.scope as 'new' | 'all' | number[],
      replaying: run.attempts > 1,
      deadline,
    },
    journal,
    ac.signal,
    deps.services,
  );
  try {
    const message = await Promise.race([def.run(sdk), interrupted]);
    await finish(db, runId, 'success', typeof message === 'string' ? message : 'completed');
    return 'finished';
  } catch (e) {
    if (e instanceof SuspendRun) return suspend(db, runId, e.seq);
    const reason =
      e instanceof RunInterrupted ? e.reason : ac.signal.aborted ? String(ac.signal.reason) : undefined;
    if (reason === 'shutdown') {
      await releaseJob(db, 'playbook_run', runId);
      return 'released';
    }
    if (reason === 'cancelled') await finish(db, runId, 'cancelled', 'cancelled by request');
    else if (reason === 'deadline')
      await finish(db, runId, 'failed', `time limit of ${limitText(run.time_limit_ms)} exceeded`);
    else {
      const msg =
        e instanceof NonDeterministicReplay || e instanceof AppError
          ? e.message
          : `playbook raised: ${(e as Error)?.message ?? String(e)}`;
      deps.logger.warn({ err: e, run: runId, playbook: run.name }, 'playbook run failed');
      await finish(db, runId, 'failed', msg);
    }
    return 'finished';
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }
}

/** Parks a run on its prompt unless the prompt was answered meanwhile (then it runs again at once). */
async function suspend(db: Kysely<Database>, runId: number, seq: number): Promise<'waiting' | 'released'> {
  const r = await sql<{ parked: number }>`with d as (
      delete from automation_jobs where kind = 'playbook_run' and ref_id = ${runId}
        and not exists (select 1 from prompts where playbook_run_id = ${runId} and step_seq = ${seq} and status <> 'pending')
        and not exists (select 1 from playbook_runs where id = ${runId} and cancel_requested)
      returning id),
    u as (update playbook_runs set status = 'waiting', suspended_at = now(), update_time = now() where id = ${runId} and exists (select 1 from d) returning id),
    k as (update automation_jobs set locked_by = null, locked_until = null, run_after = now()
      where kind = 'playbook_run' and ref_id = ${runId} and not exists (select 1 from d) returning id)
    select (select count(*) from d)::int as parked`.execute(db);
  return (r.rows[0]?.parked ?? 0) > 0 ? 'waiting' : 'released';
}

/** Gives a job back (unlocked, due now), e.g. when the process stops in the middle of it. */
export async function releaseJob(
  db: Kysely<Database>,
  kind: 'playbook_run' | 'action_run',
  refId: number,
  delayMs = 0,
): Promise<void> {
  await db
    .updateTable('automation_jobs')
    .set({
      locked_by: null,
      locked_until: null,
      run_after: sql`now() + ${delayMs} * interval '1 millisecond'` as never,
    })
    .where('kind', '=', kind)
    .where('ref_id', '=', refId)
    .execute();
}

/** Queues an action run from the REST API after checking it can run; returns its id. */
export async function queueActionRun(deps: ActionDeps, req: ActionRequest): Promise<number> {
  const units = await planAction(deps, req);
  const timeout = units[0]?.timeoutMs ?? deps.actionTimeoutMs;
  const r = await sql<{ id: number }>`with a as (
      insert into action_runs (action, name, type, container_id, status, targets, timeout_ms, max_attempts, created_by)
      values (${req.action}, ${req.name ?? req.action.replace(/\s+/g, '_')}, ${req.type ?? 'generic'}, ${req.container_id ?? null}, 'pending',
        ${JSON.stringify(req.targets)}::jsonb, ${timeout}, ${req.max_attempts ?? 1}, ${req.created_by ?? null}) returning id),
    j as (insert into automation_jobs (kind, ref_id) select 'action_run', id from a returning 1)
    select id from a`.execute(deps.db);
  return r.rows[0]!.id;
}

/** Runs a queued action run (a job). */
export async function executeQueuedActionRun(
  deps: ActionDeps,
  id: number,
  stop: AbortSignal,
): Promise<'finished' | 'released'> {
  const db = deps.db;
  const row = await db
    .updateTable('action_runs')
    .set({ status: 'running', start_time: new Date() })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'running'])
    .returningAll()
    .executeTakeFirst();
  const done = () =>
    db.deleteFrom('automation_jobs').where('kind', '=', 'action_run').where('ref_id', '=', id).execute();
  if (!row) {
    await done();
    return 'finished';
  }
  if (row.cancel_requested) {
    await db
      .updateTable('action_runs')
      .set({ status: 'cancelled', message: 'cancelled by request', close_time: new Date() })
      .where('id', '=', id)
      .execute();
    await done();
    return 'finished';
  }
  const req: ActionRequest = {
    action: row.action,
    name: row.name,
    type: row.type,
    container_id: row.container_id,
    targets: row.targets as ActionRequest['targets'],
    timeout_ms: row.timeout_ms,
    max_attempts: row.max_attempts,
  };
  let units;
  try {
    units = await planAction(deps, req);
  } catch (e) {
    await db
      .updateTable('action_runs')
      .set({ status: 'failed', message: (e as Error).message, close_time: new Date() })
      .where('id', '=', id)
      .execute();
    await done();
    return 'finished';
  }
  await db.deleteFrom('app_runs').where('action_run_id', '=', id).execute();
  const outcome = await executeUnits(deps, id, req, units, stop);
  if (outcome.status === 'cancelled' && stop.reason === 'shutdown') {
    await db
      .updateTable('action_runs')
      .set({ status: 'pending', message: '', close_time: null })
      .where('id', '=', id)
      .execute();
    await releaseJob(db, 'action_run', id);
    return 'released';
  }
  await done();
  return 'finished';
}

/** Asks a run to stop: a waiting or queued run ends at once, a running one at its next step. */
export async function cancelPlaybookRun(db: Kysely<Database>, id: number): Promise<void> {
  const r = await db
    .updateTable('playbook_runs')
    .set({ cancel_requested: true, update_time: new Date() })
    .where('id', '=', id)
    .returning('status')
    .executeTakeFirst();
  if (!r) throw notFound(`playbook run ${id}`);
  if (r.status === 'waiting' || r.status === 'pending') await enqueueJob(db, 'playbook_run', id);
}

export async function cancelActionRun(db: Kysely<Database>, id: number): Promise<void> {
  const r = await db
    .updateTable('action_runs')
    .set({ cancel_requested: true })
    .where('id', '=', id)
    .returning(['status', 'playbook_run_id'])
    .executeTakeFirst();
  if (!r) throw notFound(`action run ${id}`);
  if (r.status === 'pending') {
    await db
      .updateTable('action_runs')
      .set({ status: 'cancelled', message: 'cancelled by request', close_time: new Date() })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    await db
      .deleteFrom('automation_jobs')
      .where('kind', '=', 'action_run')
      .where('ref_id', '=', id)
      .execute();
  }
}
