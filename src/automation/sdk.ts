import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import { AppError } from '../util/errors.ts';
import { runActionInline, type ActionDeps, type ActionRunOutcome } from './action.engine.ts';
import { addArtifacts } from './artifact.repository.ts';
import { listAssetRows } from './asset.repository.ts';
import { updateContainer } from './container.repository.ts';
import type { ListCell } from './decided-list.table.ts';
import { validatePromptSpec, type PromptQuestion } from './prompt.repository.ts';

/** A container as a playbook sees it. */
export interface ContainerInfo {
  id: number;
  name: string;
  label: string;
  severity: string;
  status: string;
  owner_id: number | null;
  /** The owner's username, if the container has an owner. */
  owner_name: string | null;
  source_data_identifier: string | null;
  tags: string[];
  data: Record<string, unknown>;
}

/** An artifact as a playbook sees it. */
export interface ArtifactInfo {
  id: number;
  name: string;
  label: string;
  cef: Record<string, unknown>;
  cef_types: Record<string, string[]>;
  tags: string[];
}

export interface ActOptions {
  /** App name or appid; else the app of the first asset, else the one app offering the action. */
  app?: string;
  assets?: string[];
  parameters: Array<Record<string, unknown>>;
  /** A name for the step (default: the action with spaces as underscores). */
  name?: string;
  timeoutMs?: number;
  /** Tries per asset and parameter set (default 1). */
  maxAttempts?: number;
}

/** An action's outcome as returned to a playbook. */
export interface ActResult {
  action_run_id: number;
  status: 'success' | 'failed' | 'cancelled' | 'pending' | 'running';
  message: string;
  results: Array<{
    asset: string | null;
    status: string;
    message: string;
    summary: Record<string, unknown>;
    data: unknown[];
    parameter: Record<string, unknown>;
  }>;
}

export interface PromptOptions {
  name?: string;
  message: string;
  /** A username, or a role (`admin`, `analyst`…); unset: anyone who may answer prompts. */
  toUser?: string;
  toRole?: string;
  questions: PromptQuestion[];
  /** How long to wait for an answer. */
  expiresInMs: number;
  /** The responses taken when the prompt expires (one per question). */
  defaults: string[];
}

export interface PromptAnswer {
  prompt_id: number;
  status: 'answered' | 'expired' | 'cancelled';
  responses: string[];
  answered_by: string | null;
}

/** The typed SDK a playbook runs against; every call is one journaled step. */
export interface PlaybookSdk {
  readonly runId: number;
  readonly playbook: string;
  readonly containerId: number | null;
  /** `new`, `all`, or artifact ids. */
  readonly scope: 'new' | 'all' | number[];
  container(): Promise<ContainerInfo>;
  /**
   * The artifacts in scope: `all` every artifact of the container, `new` those added since this
   * playbook's previous run on it (all of them on the first), or the listed ids.
   */
  artifacts(): Promise<ArtifactInfo[]>;
  act(action: string, opts: ActOptions): Promise<ActResult>;
  /** Asks a user or role; the run waits (without a worker) until answered or expired. */
  prompt(opts: PromptOptions): Promise<PromptAnswer>;
  /** Records a decision (its value is replayed, not recomputed, after a restart). */
  decide<T extends string>(name: string, choose: () => T | Promise<T>): Promise<T>;
  addNote(title: string, content: string): Promise<void>;
  addArtifact(a: {
    name: string;
    label?: string;
    cef: Record<string, unknown>;
    cef_types?: Record<string, string[]>;
    source_data_identifier?: string;
  }): Promise<number | null>;
  setStatus(status: string): Promise<void>;
  setSeverity(severity: string): Promise<void>;
  getList(name: string): Promise<ListCell[][] | null>;
  setList(name: string, content: ListCell[][]): Promise<void>;
  appendToList(name: string, row: ListCell[]): Promise<void>;
  /** Names and non-secret settings of the assets of an app (to choose where to act). */
  assets(app: string): Promise<AssetInfo[]>;
  /** Sets a baseline service's state (e.g. `approved` with justification, approver and expiry). */
  setServiceState(key: ServiceKeyInput, decision: ServiceDecisionInput): Promise<boolean>;
  /** Adds a line to the run's messages. */
  message(text: string): Promise<void>;
  /** Any other side effect, run once and journaled (its result must be JSON). */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** An asset as a playbook sees it (never its secrets). */
export interface AssetInfo {
  name: string;
  configuration: Record<string, unknown>;
  tags: string[];
}

export interface ServiceKeyInput {
  host: string;
  protocol: 'tcp' | 'udp';
  port: number;
}

export interface ServiceDecisionInput {
  state: 'approved' | 'unapproved' | 'new' | 'gone';
  justification?: string | null;
  approver?: string | null;
  expires_at?: string | null;
}

/** How playbooks reach the service baseline (wired by the runtime, so automation does not import it). */
export interface ServicePort {
  /** False when there is no such service. */
  setState(key: ServiceKeyInput, decision: ServiceDecisionInput): Promise<boolean>;
}

/** A stored journal entry. */
export interface JournalEntry {
  kind: string;
  name: string;
  result: unknown;
}

/** Thrown to park a run until its prompt is answered or expires. */
export class SuspendRun extends Error {
  constructor(readonly seq: number) {
    super('waiting for a prompt');
  }
}

/** Thrown when replay meets a different step than the journal recorded. */
export class NonDeterministicReplay extends AppError {
  constructor(seq: number, had: JournalEntry, got: { kind: string; name: string }) {
    super(
      'playbook_nondeterministic',
      `step ${seq} was "${had.kind} ${had.name}" when the run started and is now "${got.kind} ${got.name}": the playbook's code changed or does not take the same path for the same results`,
      { kind: 'bug' },
    );
  }
}

/** Thrown out of SDK calls once the run is cancelled, timed out or the process stops. */
export class RunInterrupted extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface SdkRun {
  id: number;
  playbook: string;
  containerId: number | null;
  scope: 'new' | 'all' | number[];
  /** Whether a previous execution may have left steps half done (then inline action runs are checked). */
  replaying: boolean;
  deadline: Date;
}

/** The SDK implementation for one execution of one run. */
export class RunSdk implements PlaybookSdk {
  #seq = 0;
  readonly messages: string[] = [];
  readonly #actor: string;

  constructor(
    readonly deps: ActionDeps,
    readonly run: SdkRun,
    readonly journal: Map<number, JournalEntry>,
    readonly signal: AbortSignal,
    readonly services?: ServicePort,
  ) {
    this.#actor = `playbook:${run.playbook}`;
  }

  get runId() {
    return this.run.id;
  }
  get playbook() {
    return this.run.playbook;
  }
  get containerId() {
    return this.run.containerId;
  }
  get scope() {
    return this.run.scope;
  }

  #check(): void {
    if (this.signal.aborted) throw new RunInterrupted(String(this.signal.reason ?? 'interrupted'));
  }

  #replayed(seq: number, kind: string, name: string): JournalEntry | undefined {
    const j = this.journal.get(seq);
    if (j && (j.kind !== kind || j.name !== name)) throw new NonDeterministicReplay(seq, j, { kind, name });
    return j;
  }

  async #write(seq: number, kind: string, name: string, result: unknown): Promise<void> {
    await sql`insert into playbook_run_steps (run_id, seq, kind, name, result) values (${this.run.id}, ${seq}, ${kind}, ${name}, ${JSON.stringify(result ?? null)}::jsonb) on conflict (run_id, seq) do nothing`.execute(
      this.deps.db,
    );
  }

  /** The journaling core: replay a completed step, or run it and record its result. */
  async #step<T>(kind: string, name: string, fn: () => Promise<T>): Promise<T> {
    this.#check();
    const seq = ++this.#seq;
    const j = this.#replayed(seq, kind, name);
    if (j) return j.result as T;
    const result = await fn();
    this.#check();
    await this.#write(seq, kind, name, result);
    return result;
  }

  #needContainer(): number {
    if (this.run.containerId === null)
      throw new AppError('no_container', 'this playbook run has no container');
    return this.run.containerId;
  }

  container(): Promise<ContainerInfo> {
    return this.#step('container', 'get', async () => {
      const c = await this.deps.db
        .selectFrom('containers')
        .leftJoin('users', 'users.id', 'containers.owner_id')
        .selectAll('containers')
        .select('users.username as owner_name')
        .where('containers.id', '=', this.#needContainer())
        .executeTakeFirst();
      if (!c) throw new AppError('container_gone', `container ${this.run.containerId} no longer exists`);
      return {
        id: c.id,
        name: c.name,
        label: c.label,
        severity: c.severity,
        status: c.status,
        owner_id: c.owner_id,
        owner_name: c.owner_name ?? null,
        source_data_identifier: c.source_data_identifier,
        tags: c.tags,
        data: c.data,
      };
    });
  }

  artifacts(): Promise<ArtifactInfo[]> {
    return this.#step('artifacts', 'get', async () => {
      let q = this.deps.db
        .selectFrom('artifacts')
        .select(['id', 'name', 'label', 'cef', 'cef_types', 'tags'])
        .where('container_id', '=', this.#needContainer())
        .orderBy('id');
      if (Array.isArray(this.run.scope))
        q = q.where('id', 'in', this.run.scope.length ? this.run.scope : [-1]);
      else if (this.run.scope === 'new')
        // new: what arrived since this playbook's previous run on the container (everything on the first)
        q = q.where(
          'create_time',
          '>',
          sql<Date>`coalesce((select max(p.create_time) from playbook_runs p, playbook_runs me
            where me.id = ${this.run.id} and p.container_id = me.container_id and p.playbook_id = me.playbook_id and p.id < me.id), '-infinity'::timestamptz)`,
        );
      return q.execute();
    });
  }

  async act(action: string, opts: ActOptions): Promise<ActResult> {
    this.#check();
    const seq = ++this.#seq;
    const name = opts.name ?? action.replace(/\s+/g, '_');
    const j = this.#replayed(seq, 'act', name);
    if (j) return j.result as ActResult;
    if (this.run.replaying) {
      // A previous execution may have been stopped in the middle of this action: record that.
      await this.deps.db
        .updateTable('action_runs')
        .set({
          status: 'failed',
          message: 'interrupted by a restart; the action was run again',
          close_time: new Date(),
        })
        .where('playbook_run_id', '=', this.run.id)
        .where('step_seq', '=', seq)
        .where('status', 'in', ['pending', 'running'])
        .execute();
    }
    const left = this.run.deadline.getTime() - Date.now();
    const toResult = (o: ActionRunOutcome): ActResult => ({
      action_run_id: o.action_run_id,
      status: o.status,
      message: o.message,
      results: o.results.map((r) => ({
        asset: r.asset,
        status: r.status,
        message: r.message,
        summary: r.summary,
        data: r.data,
        parameter: r.parameter,
      })),
    });
    const outcome = await runActionInline(
      this.deps,
      {
        action,
        name,
        container_id: this.run.containerId,
        playbook_run_id: this.run.id,
        step_seq: seq,
        targets: [
          {
            ...(opts.app ? { app: opts.app } : {}),
            ...(opts.assets ? { assets: opts.assets } : {}),
            parameters: opts.parameters,
          },
        ],
        ...(opts.timeoutMs !== undefined || left < this.deps.actionTimeoutMs
          ? { timeout_ms: Math.max(1, Math.min(opts.timeoutMs ?? Infinity, left)) }
          : {}),
        ...(opts.maxAttempts !== undefined ? { max_attempts: opts.maxAttempts } : {}),
      },
      this.signal,
      this.signal.aborted ? undefined : { runId: this.run.id, seq, kind: 'act', name, toResult },
    );
    this.#check();
    return toResult(outcome);
  }

  async prompt(opts: PromptOptions): Promise<PromptAnswer> {
    this.#check();
    const seq = ++this.#seq;
    const name = opts.name ?? `prompt_${seq}`;
    const j = this.#replayed(seq, 'prompt', name);
    if (j) return j.result as PromptAnswer;
    validatePromptSpec(opts.questions, opts.defaults);
    const db = this.deps.db;
    let p = await db
      .selectFrom('prompts')
      .selectAll()
      .where('playbook_run_id', '=', this.run.id)
      .where('step_seq', '=', seq)
      .executeTakeFirst();
    if (!p) {
      await db
        .insertInto('prompts')
        .values({
          playbook_run_id: this.run.id,
          step_seq: seq,
          container_id: this.run.containerId,
          name,
          message: opts.message,
          questions: JSON.stringify(opts.questions) as never,
          to_user: opts.toUser ?? null,
          to_role: opts.toRole ?? null,
          default_responses: JSON.stringify(opts.defaults) as never,
          due_time: new Date(Date.now() + Math.max(1000, opts.expiresInMs)),
        })
        .onConflict((oc) => oc.columns(['playbook_run_id', 'step_seq']).doNothing())
        .execute();
      throw new SuspendRun(seq);
    }
    if (p.status === 'pending') throw new SuspendRun(seq);
    p = p!;
    const answer: PromptAnswer = {
      prompt_id: p.id,
      status: p.status as PromptAnswer['status'],
      responses: p.responses,
      answered_by: p.answered_by,
    };
    await this.#write(seq, 'prompt', name, answer);
    return answer;
  }

  decide<T extends string>(name: string, choose: () => T | Promise<T>): Promise<T> {
    return this.#step('decide', name, async () => choose());
  }

  addNote(title: string, content: string): Promise<void> {
    return this.#step('note', title, async () => {
      const cid = this.#needContainer();
      await this.deps.db.transaction().execute(async (tx) => {
        const n = await tx
          .insertInto('notes')
          .values({ container_id: cid, title, content, author: this.#actor, note_type: 'general' })
          .returning('id')
          .executeTakeFirstOrThrow();
        await recordAudit(tx, {
          category: 'container',
          action: 'create',
          actor: this.#actor,
          object_type: 'note',
          object_id: n.id,
          container_id: cid,
          details: { title },
        });
      });
    });
  }

  addArtifact(a: {
    name: string;
    label?: string;
    cef: Record<string, unknown>;
    cef_types?: Record<string, string[]>;
    source_data_identifier?: string;
  }): Promise<number | null> {
    return this.#step('artifact', a.name, async () => {
      const [r] = await addArtifacts(this.deps.db, [{ container_id: this.#needContainer(), ...a }], {
        actor: this.#actor,
      });
      if (r && 'id' in r) return r.id;
      if (r && 'existing_artifact_id' in r) return r.existing_artifact_id;
      throw new AppError('artifact_failed', r && 'message' in r ? r.message : 'artifact not added');
    });
  }

  setStatus(status: string): Promise<void> {
    return this.#step('status', status, async () => {
      await updateContainer(this.deps.db, this.#needContainer(), { status }, { actor: this.#actor });
    });
  }

  setSeverity(severity: string): Promise<void> {
    return this.#step('severity', severity, async () => {
      await updateContainer(this.deps.db, this.#needContainer(), { severity }, { actor: this.#actor });
    });
  }

  getList(name: string): Promise<ListCell[][] | null> {
    return this.#step('list_get', name, async () => {
      const r = await this.deps.db
        .selectFrom('decided_lists')
        .select('content')
        .where('name', '=', name)
        .executeTakeFirst();
      return r ? r.content : null;
    });
  }

  setList(name: string, content: ListCell[][]): Promise<void> {
    return this.#step('list_set', name, async () => {
      await this.deps.db
        .insertInto('decided_lists')
        .values({ name, content: JSON.stringify(content) })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ content: JSON.stringify(content), update_time: new Date() }),
        )
        .execute();
    });
  }

  appendToList(name: string, row: ListCell[]): Promise<void> {
    return this.#step('list_append', name, async () => {
      await sql`insert into decided_lists (name, content) values (${name}, ${JSON.stringify([row])}::jsonb)
        on conflict (name) do update set content = decided_lists.content || ${JSON.stringify([row])}::jsonb, update_time = now()`.execute(
        this.deps.db,
      );
    });
  }

  assets(app: string): Promise<AssetInfo[]> {
    return this.#step('assets', app, async () => {
      const def = this.deps.apps.find({ appid: /^[0-9a-f-]{36}$/i.test(app) ? app : undefined, name: app });
      const rows = await listAssetRows(this.deps.db, def.manifest.appid);
      return rows.map((r) => ({ name: r.name, configuration: r.configuration, tags: r.tags }));
    });
  }

  setServiceState(key: ServiceKeyInput, decision: ServiceDecisionInput): Promise<boolean> {
    return this.#step(
      'service_state',
      `${key.host}:${key.protocol}:${key.port}=${decision.state}`,
      async () => {
        if (!this.services)
          throw new AppError('no_baseline', 'the service baseline is not available in this process', {
            kind: 'operational',
          });
        return this.services.setState(key, decision);
      },
    );
  }

  message(text: string): Promise<void> {
    return this.#step('message', text.slice(0, 60), async () => {
      await sql`update playbook_runs set messages = messages || ${JSON.stringify([text])}::jsonb, update_time = now() where id = ${this.run.id}`.execute(
        this.deps.db,
      );
    });
  }

  step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#step('step', name, fn);
  }
}
