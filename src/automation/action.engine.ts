import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Logger } from '../logging/index.ts';
import type { Database } from '../store/index.ts';
import { AppError, badRequest } from '../util/errors.ts';
import { createHttpClient, parseAllowlist } from './app.http.ts';
import { checkParameters, findAction, type AppRegistry } from './app.registry.ts';
import type { ActionContext, ActionOutcome, AppDefinition } from './app.types.ts';
import { assetConfiguration, cachedAssetRows, findAssetRow, type AssetRow } from './asset.repository.ts';
import type { ActionRunStatus } from './run.table.ts';
import { batcherFor, WriteBatcher } from './write-batcher.ts';
// The scope modules directly, not scan/index.ts: the scanner's front door leads back here through the baseline.
import { loadScopeRules } from '../scan/scope.repository.ts';
import { compileScope } from '../scan/scope.ts';

/** Where large results and app files go (the vault); `containerId` may be null for ad-hoc actions. */
export interface VaultPort {
  put(containerId: number | null, fileName: string, content: Buffer): Promise<string>;
}

/** What running actions needs from the process. */
export interface ActionDeps {
  readonly db: Kysely<Database>;
  readonly apps: AppRegistry;
  readonly secretKey: Buffer;
  readonly logger: Logger;
  readonly vault: VaultPort | undefined;
  /** Default per-action time limit. */
  readonly actionTimeoutMs: number;
  /** Result data larger than this (bytes of JSON) is stored in the vault instead of the row. */
  readonly resultVaultThreshold: number;
}

/** One target of an action in Splunk SOAR's `targets[]` shape. */
export interface ActionTarget {
  assets?: Array<string | number>;
  app_id?: string;
  app?: string;
  parameters?: Array<Record<string, unknown>>;
}

export interface ActionRequest {
  action: string;
  name?: string;
  type?: string;
  container_id?: number | null;
  targets: ActionTarget[];
  /** Per-action time limit in ms (default: the manifest's `timeout`, else the server's). */
  timeout_ms?: number;
  /** Tries per asset and parameter set (1 = no retry). */
  max_attempts?: number;
  created_by?: number | null;
  playbook_run_id?: number | null;
  step_seq?: number | null;
}

/** One unit of work: one app, one asset (or none), one parameter set. */
export interface ActionUnit {
  app: AppDefinition;
  identifier: string;
  asset: AssetRow | null;
  parameter: Record<string, unknown>;
  timeoutMs: number;
}

/** An app run's result in SOAR's `action_result` shape. */
export interface ActionResult {
  app_id: string;
  app: string;
  asset_id: number | null;
  asset: string | null;
  status: 'success' | 'failed' | 'cancelled';
  message: string;
  summary: Record<string, unknown>;
  data: unknown[];
  parameter: Record<string, unknown>;
  data_vault_id: string | null;
  attempts: number;
}

/** The outcome of an action run across all its targets. */
export interface ActionRunOutcome {
  action_run_id: number;
  status: ActionRunStatus;
  message: string;
  results: ActionResult[];
}

function needsAsset(app: AppDefinition): boolean {
  return Object.values(app.manifest.configuration).some((f) => f.required && f.default === undefined);
}

/**
 * Resolves an action request into units (app × asset × parameters) and checks every parameter
 * against the manifest. Throws a user error naming the target for anything that cannot run.
 */
export async function planAction(deps: ActionDeps, req: ActionRequest): Promise<ActionUnit[]> {
  if (!req.action) throw badRequest('/action: required');
  if (!Array.isArray(req.targets) || req.targets.length === 0)
    throw badRequest('/targets: at least one target is required');
  const units: ActionUnit[] = [];
  for (const [ti, t] of req.targets.entries()) {
    const where = `/targets/${ti}`;
    const assets: AssetRow[] = [];
    for (const ref of t.assets ?? []) assets.push(await findAssetRow(deps.db, ref));
    let app: AppDefinition;
    if (t.app_id || t.app) app = deps.apps.find({ appid: t.app_id, name: t.app });
    else if (assets.length) {
      const a = deps.apps.get(assets[0]!.app_id);
      if (!a) throw badRequest(`${where}/assets/0: the app of asset "${assets[0]!.name}" is not installed`);
      app = a;
    } else {
      const candidates = deps.apps.appsWithAction(req.action);
      if (candidates.length !== 1)
        throw badRequest(
          `${where}: name "app_id" or "assets" (${candidates.length} apps offer "${req.action}")`,
        );
      app = candidates[0]!;
    }
    const action = findAction(app.manifest, req.action);
    if (!action) throw badRequest(`/action: app "${app.manifest.name}" has no action "${req.action}"`);
    for (const [ai, a] of assets.entries())
      if (a.app_id !== app.manifest.appid)
        throw badRequest(
          `${where}/assets/${ai}: asset "${a.name}" belongs to another app than "${app.manifest.name}"`,
        );
    let useAssets: Array<AssetRow | null> = assets;
    if (useAssets.length === 0) {
      // No assets named: use the app's configured assets; an app that needs no settings also runs
      // without one.
      useAssets = await cachedAssetRows(deps.db, app.manifest.appid);
      if (useAssets.length === 0) {
        if (needsAsset(app))
          throw badRequest(`${where}: app "${app.manifest.name}" needs an asset and none is configured`);
        useAssets = [null];
      }
    }
    const params = t.parameters && t.parameters.length ? t.parameters : [{}];
    const timeoutMs = req.timeout_ms ?? (action.timeout ? action.timeout * 1000 : deps.actionTimeoutMs);
    for (const [pi, p] of params.entries()) {
      const parameter = checkParameters(action, p ?? {}, `${where}/parameters/${pi}`);
      for (const asset of useAssets)
        units.push({ app, identifier: action.identifier, asset, parameter, timeoutMs });
    }
  }
  return units;
}

/** Thrown into an app's promise race when its action is cancelled or times out. */
class Interrupted extends Error {
  constructor(
    readonly why: 'cancelled' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(res, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
  });
}

/** Runs one unit with its time limit and retries; never throws. */
export async function runUnit(
  deps: ActionDeps,
  unit: ActionUnit,
  opts: { containerId: number | null; maxAttempts: number; signal: AbortSignal; logger?: Logger },
): Promise<ActionResult> {
  const m = unit.app.manifest;
  const base = {
    app_id: m.appid,
    app: m.name,
    asset_id: unit.asset?.id ?? null,
    asset: unit.asset?.name ?? null,
    parameter: unit.parameter,
  };
  let config: Record<string, unknown>;
  try {
    config = unit.asset ? assetConfiguration(unit.asset, m, deps.secretKey) : {};
  } catch (e) {
    return {
      ...base,
      status: 'failed',
      message: (e as Error).message,
      summary: {},
      data: [],
      data_vault_id: null,
      attempts: 0,
    };
  }
  const logger = (opts.logger ?? deps.logger).child({
    app: m.name,
    action: unit.identifier,
    asset: unit.asset?.name,
  });
  let last: ActionOutcome = { status: 'failed', message: 'not run' };
  let attempts = 0;
  for (let attempt = 1; attempt <= Math.max(1, opts.maxAttempts); attempt++) {
    attempts = attempt;
    if (opts.signal.aborted)
      return {
        ...base,
        status: 'cancelled',
        message: 'cancelled',
        summary: {},
        data: [],
        data_vault_id: null,
        attempts,
      };
    const ac = new AbortController();
    let interrupt!: (e: Interrupted) => void;
    const interrupted = new Promise<never>((_, rej) => (interrupt = rej));
    const onParent = () => {
      ac.abort();
      interrupt(new Interrupted('cancelled', 'cancelled'));
    };
    opts.signal.addEventListener('abort', onParent, { once: true });
    const timer = setTimeout(() => {
      ac.abort();
      interrupt(new Interrupted('timeout', `timed out after ${unit.timeoutMs} ms`));
    }, unit.timeoutMs);
    let allow;
    try {
      allow = parseAllowlist(config.allowed_destinations);
    } catch (e) {
      allow = parseAllowlist([]);
      logger.warn({ err: e }, 'invalid allowed_destinations; HTTP is denied');
    }
    const ctx: ActionContext = {
      action: unit.identifier,
      asset: config,
      assetName: unit.asset?.name ?? null,
      containerId: opts.containerId,
      logger,
      signal: ac.signal,
      http: createHttpClient(allow, ac.signal),
      // Read per call so a scope change applies to the next action without a restart.
      scanRefusal: async (address) => {
        const scope = compileScope(await loadScopeRules(deps.db));
        return scope.allows(address) ? null : scope.explain(address);
      },
      vaultPut: async (fileName, content) => {
        if (!deps.vault)
          throw new AppError('vault_unavailable', 'the vault is not available', { kind: 'operational' });
        return deps.vault.put(
          opts.containerId,
          fileName,
          Buffer.isBuffer(content) ? content : Buffer.from(content),
        );
      },
    };
    try {
      last = await Promise.race([unit.app.execute(ctx, unit.parameter), interrupted]);
      if (!last || (last.status !== 'success' && last.status !== 'failed'))
        last = { status: 'failed', message: `app "${m.name}" returned no action result` };
    } catch (e) {
      if (e instanceof Interrupted && e.why === 'cancelled')
        return {
          ...base,
          status: 'cancelled',
          message: 'cancelled',
          summary: {},
          data: [],
          data_vault_id: null,
          attempts,
        };
      last = { status: 'failed', message: (e as Error)?.message ?? String(e) };
      if (!(e instanceof Interrupted) && !(e instanceof AppError))
        logger.warn({ err: e }, 'app raised an error');
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onParent);
      interrupted.catch(() => {});
    }
    if (last.status === 'success') break;
    if (attempt < opts.maxAttempts) await sleep(Math.min(200 * 2 ** (attempt - 1), 5000), opts.signal);
  }
  let data = Array.isArray(last.data) ? last.data : [];
  let data_vault_id: string | null = null;
  const summary = { ...(last.summary ?? {}) };
  if (data.length && deps.vault) {
    const json = JSON.stringify(data);
    if (Buffer.byteLength(json) > deps.resultVaultThreshold) {
      try {
        data_vault_id = await deps.vault.put(
          opts.containerId,
          `action_result_${unit.identifier}.json`,
          Buffer.from(json),
        );
        summary.data_in_vault = data_vault_id;
        summary.data_items = data.length;
        data = [];
      } catch (e) {
        logger.warn({ err: e }, 'could not move a large result to the vault; keeping it in the database');
      }
    }
  }
  return {
    ...base,
    status: last.status,
    message: last.message ?? '',
    summary,
    data,
    data_vault_id,
    attempts,
  };
}

/** Combines unit results into the action run's status and message. */
export function summarizeResults(results: ActionResult[]): { status: ActionRunStatus; message: string } {
  if (results.some((r) => r.status === 'cancelled')) return { status: 'cancelled', message: 'cancelled' };
  const ok = results.filter((r) => r.status === 'success').length;
  const status: ActionRunStatus = ok === results.length ? 'success' : 'failed';
  const first = results.find((r) => r.status !== 'success') ?? results[0];
  const message =
    results.length === 1
      ? (first?.message ?? '')
      : `${ok} of ${results.length} succeeded${first && first.status !== 'success' ? `: ${first.message}` : ''}`;
  return { status, message };
}

/** Inserts an action run row (status `running` for inline runs, `pending` for queued ones). */
export async function insertActionRun(
  db: Kysely<Database>,
  req: ActionRequest,
  status: ActionRunStatus,
  timeoutMs: number,
): Promise<number> {
  const row = await db
    .insertInto('action_runs')
    .values({
      action: req.action,
      name: req.name ?? req.action.replace(/\s+/g, '_'),
      type: req.type ?? 'generic',
      container_id: req.container_id ?? null,
      playbook_run_id: req.playbook_run_id ?? null,
      step_seq: req.step_seq ?? null,
      status,
      targets: JSON.stringify(req.targets) as never,
      timeout_ms: timeoutMs,
      max_attempts: req.max_attempts ?? 1,
      created_by: req.created_by ?? null,
      ...(status === 'running' ? { start_time: new Date() } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A journal entry to write in the same statement as an action run's results. */
export interface JournalWrite {
  runId: number;
  seq: number;
  kind: string;
  name: string;
  result: unknown;
}

/**
 * Stores an action run's results and final status in one statement (app runs, action run, and
 * optionally the playbook journal entry), so a crash leaves either all of it or none.
 */
export async function finishActionRun(
  db: Kysely<Database>,
  actionRunId: number,
  results: ActionResult[],
  final: { status: ActionRunStatus; message: string },
  journal?: JournalWrite,
): Promise<void> {
  const rows = appRunRows(results);
  const journalCte = journal
    ? sql`, j as (insert into playbook_run_steps (run_id, seq, kind, name, result) values (${journal.runId}, ${journal.seq}, ${journal.kind}, ${journal.name}, ${JSON.stringify(journal.result ?? null)}::jsonb) on conflict (run_id, seq) do nothing returning 1)`
    : sql``;
  const appCte = rows.length ? sql`, a as (${appRunInsert(rows)} returning 1)` : sql``;
  await sql`with u as (update action_runs set status = ${final.status}, message = ${final.message}, close_time = now(), start_time = coalesce(start_time, now())
      where id = ${actionRunId} returning id, action)${appCte}${journalCte}
    select 1`.execute(db);
}

/** An inline action becomes visible as `running` once it takes longer than this. */
export const VISIBLE_AFTER_MS = 100;

/**
 * Runs an action now, in this process: runs every unit concurrently and stores the action run, its
 * results and (for playbooks) the journal entry. A fast action is written once, finished, in one
 * statement; one that takes longer than {@link VISIBLE_AFTER_MS} is first recorded as `running`, so
 * it can be seen, cancelled, and marked interrupted if the process dies.
 */
export async function runActionInline(
  deps: ActionDeps,
  req: ActionRequest,
  signal: AbortSignal,
  journal?: Omit<JournalWrite, 'result'> & { toResult: (o: ActionRunOutcome) => unknown },
): Promise<ActionRunOutcome> {
  const units = await planAction(deps, req);
  const timeoutMs = units[0]?.timeoutMs ?? deps.actionTimeoutMs;
  const startedAt = new Date();
  let inserted: Promise<number> | undefined;
  const timer = setTimeout(() => {
    inserted = insertActionRun(deps.db, req, 'running', timeoutMs);
    inserted.catch(() => {});
  }, VISIBLE_AFTER_MS);
  const results = await Promise.all(
    units.map((u) =>
      runUnit(deps, u, { containerId: req.container_id ?? null, maxAttempts: req.max_attempts ?? 1, signal }),
    ),
  );
  clearTimeout(timer);
  const final = summarizeResults(results);
  if (inserted) {
    const id = await inserted;
    const outcome: ActionRunOutcome = { action_run_id: id, ...final, results };
    await finishActionRun(
      deps.db,
      id,
      results,
      final,
      journal && !signal.aborted ? { ...journal, result: journal.toResult(outcome) } : undefined,
    );
    return outcome;
  }
  const placeholder: ActionRunOutcome = { action_run_id: 0, ...final, results };
  const id = await insertFinishedActionRun(deps.db, {
    req,
    timeoutMs,
    startedAt,
    results,
    final,
    journal: journal && !signal.aborted ? { ...journal, result: journal.toResult(placeholder) } : undefined,
  });
  return { ...placeholder, action_run_id: id };
}

/** A finished inline action run waiting to be stored (see {@link insertFinishedActionRuns}). */
interface FinishedActionRun {
  req: ActionRequest;
  timeoutMs: number;
  startedAt: Date;
  results: ActionResult[];
  final: { status: ActionRunStatus; message: string };
  journal?: JournalWrite | undefined;
}

const finishedBatchers = new WeakMap<Kysely<Database>, WriteBatcher<FinishedActionRun, number>>();

/**
 * Stores a finished action run, its app runs and the journal entry (with the new id) atomically.
 * Action runs finished by several playbook runs at the same moment share one statement.
 */
function insertFinishedActionRun(db: Kysely<Database>, run: FinishedActionRun): Promise<number> {
  return batcherFor(
    finishedBatchers,
    db,
    () => new WriteBatcher((runs) => insertFinishedActionRuns(db, runs)),
  ).add(run);
}

/**
 * One statement for many finished action runs: ids are drawn from the sequence first so each
 * run's app runs and journal entry can refer to its own id. Returns the ids in the order given.
 */
async function insertFinishedActionRuns(db: Kysely<Database>, runs: FinishedActionRun[]): Promise<number[]> {
  const xs = runs.map((r, ord) => ({
    ord,
    action: r.req.action,
    name: r.req.name ?? r.req.action.replace(/\s+/g, '_'),
    type: r.req.type ?? 'generic',
    container_id: r.req.container_id ?? null,
    playbook_run_id: r.req.playbook_run_id ?? null,
    step_seq: r.req.step_seq ?? null,
    status: r.final.status,
    message: r.final.message,
    targets: r.req.targets,
    timeout_ms: r.timeoutMs,
    max_attempts: r.req.max_attempts ?? 1,
    created_by: r.req.created_by ?? null,
    start_time: r.startedAt.toISOString(),
    j_run: r.journal?.runId ?? null,
    j_seq: r.journal?.seq ?? null,
    j_kind: r.journal?.kind ?? null,
    j_name: r.journal?.name ?? null,
    j_result: r.journal ? (r.journal.result ?? null) : null,
  }));
  const apps = runs.flatMap((r, ord) => appRunRows(r.results).map((a) => ({ ord, ...a })));
  const res = await sql<{
    ord: number;
    id: number;
  }>`with x as (select * from jsonb_to_recordset(${JSON.stringify(xs)}::jsonb) as x(ord int, action text, name text, type text,
        container_id bigint, playbook_run_id bigint, step_seq int, status text, message text, targets jsonb, timeout_ms bigint, max_attempts int,
        created_by bigint, start_time timestamptz, j_run bigint, j_seq int, j_kind text, j_name text, j_result jsonb)),
    ids as (select x.ord, nextval(pg_get_serial_sequence('action_runs', 'id')) as id from x),
    u as (insert into action_runs (id, action, name, type, container_id, playbook_run_id, step_seq, status, message, targets, timeout_ms, max_attempts, created_by, start_time, close_time)
      select ids.id, x.action, x.name, x.type, x.container_id, x.playbook_run_id, x.step_seq, x.status, x.message, coalesce(x.targets, '[]'::jsonb), x.timeout_ms, x.max_attempts, x.created_by, x.start_time, now()
      from x join ids on ids.ord = x.ord order by x.ord
      returning id, action),
    a as (insert into app_runs (action_run_id, app_id, app_name, asset_id, asset_name, action, status, message, parameter, summary, data, data_vault_id, attempts, end_time)
      select u.id, y.app_id, y.app_name, y.asset_id, y.asset_name, u.action, y.status, y.message, y.parameter, y.summary, y.data, y.data_vault_id, y.attempts, now()
      from jsonb_to_recordset(${JSON.stringify(apps)}::jsonb) as y(ord int, app_id text, app_name text, asset_id bigint, asset_name text, status text, message text, parameter jsonb, summary jsonb, data jsonb, data_vault_id text, attempts int)
      join ids on ids.ord = y.ord join u on u.id = ids.id
      returning 1),
    j as (insert into playbook_run_steps (run_id, seq, kind, name, result)
      select x.j_run, x.j_seq, x.j_kind, x.j_name, jsonb_set(x.j_result, '{action_run_id}', to_jsonb(u.id))
      from x join ids on ids.ord = x.ord join u on u.id = ids.id where x.j_kind is not null
      on conflict (run_id, seq) do nothing returning 1)
    select ord, id from ids`.execute(db);
  const byOrd = new Map(res.rows.map((r) => [Number(r.ord), Number(r.id)]));
  return runs.map((_, ord) => byOrd.get(ord)!);
}

function appRunRows(results: ActionResult[]) {
  return results.map((r) => ({
    app_id: r.app_id,
    app_name: r.app,
    asset_id: r.asset_id,
    asset_name: r.asset,
    status: r.status,
    message: r.message,
    parameter: r.parameter,
    summary: r.summary,
    data: r.data,
    data_vault_id: r.data_vault_id,
    attempts: r.attempts,
  }));
}

/** The app_runs insert reading the action run (`u`: id, action) and the results as one JSON parameter. */
function appRunInsert(rows: ReturnType<typeof appRunRows>) {
  return sql`insert into app_runs (action_run_id, app_id, app_name, asset_id, asset_name, action, status, message, parameter, summary, data, data_vault_id, attempts, end_time)
    select u.id, x.app_id, x.app_name, x.asset_id, x.asset_name, u.action, x.status, x.message, x.parameter, x.summary, x.data, x.data_vault_id, x.attempts, now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(app_id text, app_name text, asset_id bigint, asset_name text, status text, message text, parameter jsonb, summary jsonb, data jsonb, data_vault_id text, attempts int)
    cross join u`;
}

export async function executeUnits(
  deps: ActionDeps,
  actionRunId: number,
  req: ActionRequest,
  units: ActionUnit[],
  signal: AbortSignal,
  journal?: Omit<JournalWrite, 'result'> & { toResult: (o: ActionRunOutcome) => unknown },
): Promise<ActionRunOutcome> {
  const results = await Promise.all(
    units.map((u) =>
      runUnit(deps, u, { containerId: req.container_id ?? null, maxAttempts: req.max_attempts ?? 1, signal }),
    ),
  );
  const final = summarizeResults(results);
  const outcome: ActionRunOutcome = { action_run_id: actionRunId, ...final, results };
  await finishActionRun(
    deps.db,
    actionRunId,
    results,
    final,
    journal
      ? {
          runId: journal.runId,
          seq: journal.seq,
          kind: journal.kind,
          name: journal.name,
          result: journal.toResult(outcome),
        }
      : undefined,
  );
  return outcome;
}
