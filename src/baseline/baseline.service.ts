import type { Kysely } from 'kysely';
import { createContainer } from '../automation/index.ts';
import { parseDuration, type Config } from '../config/index.ts';
import type { Observation, Protocol, SourceKind } from '../ingest/observation.ts';
import type { Logger } from '../logging/index.ts';
import type { Database } from '../store/index.ts';
import { observationProblem, sameEvidence } from './observation.check.ts';
import { detectionContainer } from './detection.ts';
import {
  applyObservationSeq,
  serviceKeyString,
  type MergeEvent,
  type MergeOptions,
  type ServiceKey,
  type ServiceRecord,
} from './service.merge.ts';
import {
  baselineIsEmpty,
  databaseNow,
  insertChanges,
  linkContainer,
  loadServices,
  lockBaseline,
  upsertServices,
  type NewServiceChange,
  type RowStamps,
} from './service.repository.ts';

export { observationProblem };

/** What the baseline needs from the application context. */
export interface BaselineContext {
  readonly db: Kysely<Database>;
  readonly config: Pick<Config, 'goneAfter'>;
  readonly logger: Logger;
  readonly now: () => Date;
}

/** Totals of observations recorded into the baseline. */
export interface RecordSummary {
  observations: number;
  new_services: number;
  updated_services: number;
  containers: number;
  /** Observations refused because they do not describe a listener (bad address, port, protocol). */
  rejected: number;
  /** Problems raising containers (the baseline rows are kept). */
  errors: string[];
  learning: boolean;
}

export interface WriterOptions {
  /** Learning run: record, never alert. Default: true when the baseline is empty at the start. */
  learning?: boolean;
  /** Time for observations without their own. Default: now. */
  defaultSeenAt?: Date;
  /** Most observations merged per transaction (default 1,000,000; queued compactly, 16 bytes each). */
  batchSize?: number;
  /** Most distinct services merged per transaction (default 10,000: a batch's rows, statements and results are garbage together, so this bounds the heap of big imports). */
  batchKeys?: number;
  /** Overrides every observation's source (e.g. `scan` for the built-in scanner). */
  source?: SourceKind;
}

/**
 * Observations of one run of an input, grouped by service as `BaselineWriter.push` queues them (for
 * `pushGrouped`). Group g is the service (`host[g]`, `protocol`, `port[g]`); its distinct observations
 * ("templates", in the order first seen) are `evidence[templates[templateStart[g]]]` to
 * `evidence[templates[templateStart[g + 1] - 1]]` (evidence objects are shared by groups: their host,
 * protocol, port and time are not used), and its observations, in arrival order, the pairs (index among
 * the group's templates, time in ms or NaN) from `seq[seqStart[g]]` to `seq[seqStart[g + 1] - 1]`.
 * Groups come in the order of their first observation. Every observation passed `observationProblem`;
 * `rejected` counts those of the run that did not.
 */
export interface ObservationGroups {
  host: readonly string[];
  protocol: Protocol;
  port: ArrayLike<number>;
  evidence: readonly Observation[];
  templates: ArrayLike<number>;
  templateStart: ArrayLike<number>;
  seq: ArrayLike<number>;
  seqStart: ArrayLike<number>;
  rejected: number;
}

interface PendingService {
  key: string;
  templates: Observation[];
  /** Pairs of (template index, evidence time in ms or NaN when the record gives none). */
  seq: number[];
}

// PostgreSQL text and jsonb cannot hold NUL characters; banners from binary services can.
function hasNul(o: Observation): boolean {
  if (o.reason.includes('\u0000')) return true;
  if (o.hostnames?.some((h) => h.includes('\u0000'))) return true;
  if (o.service) {
    const svc = o.service as Record<string, unknown>;
    for (const k in svc) {
      const v = svc[k];
      if (typeof v === 'string' && v.includes('\u0000')) return true;
    }
  }
  return false;
}

function withoutNul(o: Observation): Observation {
  const strip = (s: string) => s.replaceAll('\u0000', '');
  const out: Observation = { ...o, reason: strip(o.reason) };
  if (o.hostnames) out.hostnames = o.hostnames.map(strip);
  if (o.service) {
    const svc: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o.service)) svc[k] = typeof v === 'string' ? strip(v) : v;
    out.service = svc as Observation['service'] & object;
  }
  return out;
}

/**
 * Applies observations to the baseline in batches: each batch is one transaction (rows for its keys
 * read once, merged in memory, written back with one multi-row upsert, changes recorded), then the
 * containers of its detections are raised. Memory stays bounded by the batch size.
 */
export class BaselineWriter {
  readonly #ctx: BaselineContext;
  readonly #opts: WriterOptions;
  readonly #batchSize: number;
  readonly #batchKeys: number;
  // The pending batch, per service in arrival order. Flows repeat the same evidence with only its time
  // changing, so each service keeps the distinct observations it got ("templates") and, per
  // observation, only the template's index and the time: a million queued events hold no objects.
  #pending = new Map<string, PendingService>();
  // The same entries by host, then by port and protocol: finding an event's service this way needs
  // no key string per event, and parsers hand out one string per distinct host (hash computed once).
  #byHost = new Map<string, Map<number, PendingService>>();
  #pendingCount = 0;
  #merge: MergeOptions | undefined;
  readonly summary: RecordSummary = {
    observations: 0,
    new_services: 0,
    updated_services: 0,
    containers: 0,
    rejected: 0,
    errors: [],
    learning: false,
  };
  // When this writer started, by the database's clock: a stored row created or written since then was
  // created or already counted by this import. No per-import key set, so a gigabyte import's memory
  // does not grow with the services it writes.
  #since: Date | undefined;

  constructor(ctx: BaselineContext, opts: WriterOptions = {}) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#batchSize = opts.batchSize ?? 1_000_000;
    this.#batchKeys = opts.batchKeys ?? 10_000;
  }

  /** Decides the learning mode (call before the first `add`; `add` calls it when needed). */
  async start(): Promise<void> {
    if (this.#merge) return;
    const learning = this.#opts.learning ?? (await baselineIsEmpty(this.#ctx.db));
    this.#since = await databaseNow(this.#ctx.db);
    const now = this.#ctx.now();
    this.summary.learning = learning;
    this.#merge = {
      learning,
      now,
      goneAfterMs: parseDuration(this.#ctx.config.goneAfter),
      defaultSeenAt: this.#opts.defaultSeenAt ?? now,
    };
  }

  /** Queues one observation; returns why it was refused, or null. Flushes when a batch is full. */
  async add(obs: Observation): Promise<string | null> {
    if (!this.#merge) await this.start();
    const problem = this.push(obs);
    if (this.full) await this.flush();
    return problem;
  }

  /** True when the queued batch should be written (`flush`) before more is pushed. */
  get full(): boolean {
    return this.#pendingCount >= this.#batchSize || this.#pending.size >= this.#batchKeys;
  }

  /**
   * Queues one observation without waiting (the hot path of big imports: no promise per event);
   * `start` must have run. Returns why the observation was refused, or null. The caller flushes when
   * `full`.
   */
  push(obs: Observation): string | null {
    const problem = observationProblem(obs);
    if (problem) {
      this.summary.rejected++;
      return problem;
    }
    if (!this.#merge) throw new Error('BaselineWriter.push before start()');
    const o = this.#opts.source ? { ...obs, source: this.#opts.source } : obs;
    let ports = this.#byHost.get(o.host);
    if (!ports) this.#byHost.set(o.host, (ports = new Map()));
    const pk = o.port * 4 + (o.protocol === 'tcp' ? 0 : o.protocol === 'udp' ? 1 : 2);
    let p = ports.get(pk);
    if (!p) {
      const key = serviceKeyString(o);
      p = { key, templates: [], seq: [] };
      ports.set(pk, p);
      this.#pending.set(key, p);
    }
    let ti = p.templates.length - 1;
    if (ti < 0 || !sameEvidence(p.templates[ti]!, o)) {
      // Bounded search: a service whose evidence keeps changing just keeps its observations.
      ti = p.templates.length <= 16 ? p.templates.findIndex((t) => sameEvidence(t, o)) : -1;
      if (ti < 0) {
        ti = p.templates.length;
        p.templates.push(o);
      }
    }
    p.seq.push(ti, o.seenAt ? o.seenAt.getTime() : NaN);
    this.#pendingCount++;
    this.summary.observations++;
    return null;
  }

  /**
   * Queues a run of observations grouped by service (see `ObservationGroups`) with exactly the effect of
   * pushing them one by one in arrival order, when the batch cannot become full before the run's end;
   * otherwise takes nothing and returns false (the caller then pushes them one by one). The rows,
   * changes and containers written are the same either way: a service's observations are merged in
   * their order, independently of other services'.
   */
  pushGrouped(g: ObservationGroups): boolean {
    if (!this.#merge) throw new Error('BaselineWriter.pushGrouped before start()');
    const groups = g.host.length;
    const n = (g.seqStart[groups]! - g.seqStart[0]!) / 2;
    if (this.#pendingCount + n >= this.#batchSize || this.#pending.size + groups >= this.#batchKeys)
      return false;
    const source = this.#opts.source;
    const evidence = source ? g.evidence.map((e) => ({ ...e, source })) : g.evidence;
    const protocol = g.protocol;
    const pp = protocol === 'tcp' ? 0 : protocol === 'udp' ? 1 : 2;
    const map: number[] = [];
    for (let k = 0; k < groups; k++) {
      const host = g.host[k]!;
      const port = g.port[k]!;
      let ports = this.#byHost.get(host);
      if (!ports) this.#byHost.set(host, (ports = new Map()));
      const pk = port * 4 + pp;
      let p = ports.get(pk);
      if (!p) {
        const key = serviceKeyString({ host, protocol, port });
        p = { key, templates: [], seq: [] };
        ports.set(pk, p);
        this.#pending.set(key, p);
      }
      // Each of the run's templates goes where `push` would put an observation saying the same.
      const t0 = g.templateStart[k]!;
      const t1 = g.templateStart[k + 1]!;
      for (let j = t0; j < t1; j++) {
        const e = evidence[g.templates[j]!]!;
        let ti = p.templates.length - 1;
        if (ti < 0 || !sameEvidence(p.templates[ti]!, e)) {
          ti = p.templates.length <= 16 ? p.templates.findIndex((t) => sameEvidence(t, e)) : -1;
          if (ti < 0) {
            ti = p.templates.length;
            p.templates.push({ ...e, host, protocol, port });
          }
        }
        map[j - t0] = ti;
      }
      const seq = p.seq;
      const s1 = g.seqStart[k + 1]!;
      for (let s = g.seqStart[k]!; s < s1; s += 2) seq.push(map[g.seq[s]!]!, g.seq[s + 1]!);
    }
    this.#pendingCount += n;
    this.summary.observations += n;
    this.summary.rejected += g.rejected;
    return true;
  }

  /** Writes what is queued. */
  async flush(): Promise<void> {
    if (this.#pendingCount === 0) return;
    if (!this.#merge) await this.start();
    const merge = this.#merge!;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#byHost = new Map();
    this.#pendingCount = 0;
    const keys: ServiceKey[] = [];
    for (const p of batch.values()) {
      const t = p.templates[0]!;
      keys.push({ host: t.host, protocol: t.protocol, port: t.port });
    }
    let created = 0;
    let touched = 0;
    const alerts = await this.#ctx.db.transaction().execute(async (tx) => {
      await lockBaseline(tx);
      const stamps = new Map<string, RowStamps>();
      const rows = await loadServices(tx, keys, { stamps });
      const since = this.#since!.getTime();
      const dirty = new Map<string, ServiceRecord>();
      const events: Array<{ key: string; ev: MergeEvent }> = [];
      const evs: MergeEvent[] = [];
      for (const [key, p] of batch) {
        const existing = rows.get(key);
        evs.length = 0;
        // NUL characters are stripped once per distinct piece of evidence rather than per event.
        const templates = p.templates.map((t) => (hasNul(t) ? withoutNul(t) : t));
        const { row, changed } = applyObservationSeq(existing, templates, p.seq, merge, evs);
        const existed = existing !== undefined;
        if (!row) continue;
        if (!existed) {
          rows.set(key, row);
          created++;
        } else if (changed) {
          const st = stamps.get(key)!;
          if (st.created_at.getTime() < since && st.updated_at.getTime() < since) touched++;
        }
        if (changed) dirty.set(key, row);
        for (const ev of evs) events.push({ key, ev });
      }
      const ids = await upsertServices(tx, [...dirty.values()]);
      for (const [key, id] of ids) rows.get(key)!.id = id;
      const changes: NewServiceChange[] = events.map(({ key, ev }) => {
        const row = rows.get(key)!;
        return {
          service_id: row.id!,
          host: row.host,
          protocol: row.protocol,
          port: row.port,
          change: ev.change,
          at: ev.at,
          detail: ev.detail,
        };
      });
      await insertChanges(tx, changes);
      return events
        .filter((e) => e.ev.alert)
        .map(({ key, ev }) => ({
          row: rows.get(key)!,
          ev: ev as MergeEvent & { alert: 'new' | 'reopened' },
        }));
    });
    this.summary.new_services += created;
    this.summary.updated_services += touched;
    // Containers are deduplicated by source_data_identifier, so raising them after the commit is safe
    // to repeat: a retry after a failure here finds the existing container.
    for (const { row, ev } of alerts) {
      try {
        const res = await createContainer(this.#ctx.db, detectionContainer(row, ev));
        if (res.created) {
          this.summary.containers++;
          if (row.id !== undefined) await linkContainer(this.#ctx.db, row.id, res.id);
        }
      } catch (e) {
        const msg = `could not raise the container for ${row.host}:${row.port}/${row.protocol}: ${(e as Error).message}`;
        this.#ctx.logger.error({ err: e, host: row.host, port: row.port }, 'raising a detection failed');
        if (this.summary.errors.length < 100) this.summary.errors.push(msg);
      }
    }
  }
}

/**
 * Records observations into the baseline (for any producer: the scanner passes `source: 'scan'`).
 * A learning run when the baseline is empty, unless `learning` says otherwise.
 */
export async function recordObservations(
  ctx: BaselineContext,
  observations: Iterable<Observation> | AsyncIterable<Observation>,
  opts: WriterOptions = {},
): Promise<RecordSummary> {
  const w = new BaselineWriter(ctx, opts);
  await w.start();
  for await (const o of observations) await w.add(o);
  await w.flush();
  return w.summary;
}
