import type { Kysely } from 'kysely';
import { createContainer } from '../automation/index.ts';
import { parseDuration, type Config } from '../config/index.ts';
import type { Observation, SourceKind } from '../ingest/observation.ts';
import type { Logger } from '../logging/index.ts';
import type { Database } from '../store/index.ts';
import { detectionContainer } from './detection.ts';
import {
  applyObservation,
  serviceKeyString,
  type MergeEvent,
  type MergeOptions,
  type ServiceKey,
  type ServiceRecord,
} from './service.merge.ts';
import {
  baselineIsEmpty,
  insertChanges,
  linkContainer,
  loadServices,
  lockBaseline,
  upsertServices,
  type NewServiceChange,
} from './service.repository.ts';

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
  /** Most observations merged per transaction (default 100,000). */
  batchSize?: number;
  /** Most distinct services merged per transaction (default 5,000). */
  batchKeys?: number;
  /** Overrides every observation's source (e.g. `scan` for the built-in scanner). */
  source?: SourceKind;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
const GRADES = new Set(['strong', 'weak', 'negative']);

/** Why an observation cannot be recorded, or null when it can. */
export function observationProblem(o: Observation): string | null {
  if (typeof o.host !== 'string' || o.host === '' || o.host.length > 64)
    return `invalid host ${JSON.stringify(o.host)}`;
  if (!PROTOCOLS.has(o.protocol)) return `invalid protocol ${JSON.stringify(o.protocol)}`;
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    return `port ${String(o.port)} out of range 0-65535`;
  if (!GRADES.has(o.grade)) return `invalid evidence grade ${JSON.stringify(o.grade)}`;
  if (o.seenAt !== null && !(o.seenAt instanceof Date && !Number.isNaN(o.seenAt.getTime())))
    return 'invalid seenAt';
  return null;
}

// PostgreSQL text and jsonb cannot hold NUL characters; banners from binary services can.
function hasNul(o: Observation): boolean {
  if (o.reason.includes('\u0000')) return true;
  if (o.hostnames?.some((h) => h.includes('\u0000'))) return true;
  if (o.service)
    for (const v of Object.values(o.service)) if (typeof v === 'string' && v.includes('\u0000')) return true;
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
  #pending: Observation[] = [];
  // Distinct services in the pending batch: flows repeat the same few servers, scans touch many.
  #pendingKeys = new Set<string>();
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
  readonly #touched = new Set<string>();
  readonly #created = new Set<string>();

  constructor(ctx: BaselineContext, opts: WriterOptions = {}) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#batchSize = opts.batchSize ?? 100_000;
    this.#batchKeys = opts.batchKeys ?? 5000;
  }

  /** Decides the learning mode (call before the first `add`; `add` calls it when needed). */
  async start(): Promise<void> {
    if (this.#merge) return;
    const learning = this.#opts.learning ?? (await baselineIsEmpty(this.#ctx.db));
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
    const problem = observationProblem(obs);
    if (problem) {
      this.summary.rejected++;
      return problem;
    }
    if (!this.#merge) await this.start();
    let o = this.#opts.source ? { ...obs, source: this.#opts.source } : obs;
    if (hasNul(o)) o = withoutNul(o);
    this.#pending.push(o);
    this.#pendingKeys.add(serviceKeyString(obs));
    this.summary.observations++;
    if (this.#pending.length >= this.#batchSize || this.#pendingKeys.size >= this.#batchKeys)
      await this.flush();
    return null;
  }

  /** Writes what is queued. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    if (!this.#merge) await this.start();
    const merge = this.#merge!;
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingKeys = new Set();
    const keyOf = new Map<string, ServiceKey>();
    for (const o of batch) {
      const k = serviceKeyString(o);
      if (!keyOf.has(k)) keyOf.set(k, { host: o.host, protocol: o.protocol, port: o.port });
    }
    const alerts = await this.#ctx.db.transaction().execute(async (tx) => {
      await lockBaseline(tx);
      const rows = await loadServices(tx, [...keyOf.values()]);
      const dirty = new Map<string, ServiceRecord>();
      const events: Array<{ key: string; ev: MergeEvent }> = [];
      const evs: MergeEvent[] = [];
      for (const o of batch) {
        const key = serviceKeyString(o);
        const before = rows.get(key);
        evs.length = 0;
        const r = applyObservation(before, o, merge, evs);
        if (!r.row) continue;
        if (!before) {
          rows.set(key, r.row);
          this.#created.add(key);
        }
        if (r.changed) dirty.set(key, r.row);
        for (const ev of evs) events.push({ key, ev });
      }
      for (const key of dirty.keys()) {
        if (!this.#created.has(key)) this.#touched.add(key);
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
    this.summary.new_services = this.#created.size;
    this.summary.updated_services = this.#touched.size;
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
