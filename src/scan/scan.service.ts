import { lookup } from 'node:dns/promises';
import { recordObservations, type BaselineContext } from '../baseline/index.ts';
import type { Observation } from '../ingest/observation.ts';
import type { Config } from '../config/index.ts';
import { AppError, badRequest } from '../util/errors.ts';
import { grabBanners } from './engine/banner.ts';
import { connectScan, type ConnectScanResult, type PortState, type ScanHost } from './engine/connect-scan.ts';
import { formatPorts, parsePorts } from './port.parser.ts';
import {
  finishRun,
  insertRun,
  setRunBaseline,
  type ScanResultView,
  type ScanRunView,
  type ScanStatus,
} from './scan.repository.ts';
import type { StoredScanOptions } from './scan.table.ts';
import { compileScope } from './scope.ts';
import { loadScopeRules } from './scope.repository.ts';
import { expandTargets, formatAddress, MAX_SCAN_HOSTS, parseAddress, parseTargets } from './target.parser.ts';

/** Most (host, port) probes one scan may hold. */
export const MAX_SCAN_PROBES = 16_777_216;
/** Up to this many probes, closed and filtered ports can be returned to a caller who asks for them. */
export const KEEP_ALL_STATES_UP_TO = 131_072;
/** Up to this many probes, closed and filtered rows are also stored; bigger scans store open rows and counts. */
export const STORE_ALL_STATES_UP_TO = 4096;

/** What the scanner needs from the application context. */
export type ScanContext = BaselineContext & {
  readonly config: BaselineContext['config'] & Partial<Pick<Config, 'scanEngine'>>;
};

/** A scan as asked for by a person, the API or a schedule. */
export interface ScanRequest {
  targets: string[];
  ports: string;
  options?: StoredScanOptions;
  scheduleId?: number | null;
  requestedBy?: string | null;
}

/** A validated, resolved, in-scope scan ready to run. */
export interface PreparedScan {
  targets: string[];
  hosts: Array<ScanHost & { hostname?: string }>;
  ports: number[];
  portSpec: string;
  options: StoredScanOptions;
}

/** Progress of a running scan. */
export interface ScanRunProgress {
  done: number;
  total: number;
  /** Probes per second so far. */
  rate: number;
  /** Seconds left at the current rate, when known. */
  eta: number | null;
}

/** How a scan ended: the run row and its result rows (open ones always, others for small scans). */
export interface ScanOutcome {
  run: ScanRunView;
  results: ScanResultView[];
  /** True when closed and filtered ports are among `results`. */
  allStates: boolean;
  durationMs: number;
  /** Time spent probing (the rest is banners and storing). */
  probeMs: number;
}

interface ActiveScan {
  abort: AbortController;
  progress: ScanRunProgress;
  outcome?: Promise<ScanOutcome>;
}

/**
 * Validates a scan request and resolves it into hosts and ports, refusing anything outside the
 * configured scopes (read from the database now, so scope changes apply at once). Nothing is sent to
 * a target before this passes; host names are resolved here (both name and address are kept).
 */
export async function prepareScan(ctx: ScanContext, req: ScanRequest): Promise<PreparedScan> {
  const options = normaliseOptions(req.options ?? {});
  const ports = parsePorts(req.ports);
  const specs = parseTargets(req.targets);
  const addresses = expandTargets(specs);
  const hosts: PreparedScan['hosts'] = [];
  const seen = new Set<string>();
  for (const a of addresses) {
    seen.add(a);
    hosts.push({ address: a, family: parseAddress(a)!.family });
  }
  for (const s of specs) {
    if (s.kind !== 'hostname') continue;
    let found: Array<{ address: string; family: number }>;
    try {
      found = await lookup(s.name, { all: true, verbatim: true });
    } catch (e) {
      throw badRequest(
        `cannot resolve host name ${JSON.stringify(s.name)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    for (const f of found) {
      const parsed = parseAddress(f.address);
      if (!parsed) continue;
      const address = formatAddress(parsed.family, parsed.value);
      if (seen.has(address)) continue;
      seen.add(address);
      hosts.push({ address, family: parsed.family, hostname: s.name });
    }
  }
  if (hosts.length > MAX_SCAN_HOSTS)
    throw badRequest(`targets resolve to ${hosts.length} addresses; at most ${MAX_SCAN_HOSTS} per scan`);
  if (hosts.length * ports.length > MAX_SCAN_PROBES)
    throw badRequest(
      `${hosts.length} hosts x ${ports.length} ports is more than ${MAX_SCAN_PROBES} probes in one scan; split it`,
    );
  const scope = compileScope(await loadScopeRules(ctx.db));
  const refused = hosts.filter((h) => !scope.allows(h.address));
  if (refused.length > 0) {
    const shown = refused.slice(0, 5).map((h) => (h.hostname ? `${h.address} (${h.hostname})` : h.address));
    throw new AppError(
      'out_of_scope',
      `refusing to scan ${refused.length} target address${refused.length === 1 ? '' : 'es'} outside the scan scope: ${shown.join(', ')}${refused.length > 5 ? ', …' : ''} — ${scope.explain(refused[0]!.address)}`,
      { status: 403, details: { refused: refused.slice(0, 100).map((h) => h.address) } },
    );
  }
  return { targets: req.targets, hosts, ports, portSpec: formatPorts(ports), options };
}

function normaliseOptions(o: StoredScanOptions): StoredScanOptions {
  const int = (name: string, v: number | undefined, min: number, max: number) => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v < min || v > max)
      throw badRequest(`${name} must be between ${min} and ${max}, got ${v}`);
    return Math.round(v);
  };
  const out: StoredScanOptions = {};
  const timeoutMs = int('timeout', o.timeoutMs, 10, 60_000);
  const rate = int('rate', o.rate, 0, 10_000_000);
  const concurrency = int('concurrency', o.concurrency, 1, 20_000);
  const retries = int('retries', o.retries, 0, 10);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (rate !== undefined) out.rate = rate;
  if (concurrency !== undefined) out.concurrency = concurrency;
  if (retries !== undefined) out.retries = retries;
  if (o.banner) out.banner = true;
  return out;
}

/**
 * Runs scans and keeps track of the ones in flight (for progress and cancellation). One per
 * application context.
 */
export class ScanRunner {
  readonly #ctx: ScanContext;
  readonly #active = new Map<number, ActiveScan>();
  readonly #background = new Set<Promise<unknown>>();
  #stopping = false;

  constructor(ctx: ScanContext) {
    this.#ctx = ctx;
  }

  /**
   * Starts a prepared scan: records the run and returns it at once with a promise of the outcome.
   * The outcome resolves once results are stored (recording into the baseline goes on after it).
   */
  async start(
    prepared: PreparedScan,
    meta: { scheduleId?: number | null; requestedBy?: string | null },
    hooks: {
      onProgress?: (p: ScanRunProgress) => void;
      /** Return closed and filtered rows too (up to KEEP_ALL_STATES_UP_TO probes). */
      allStates?: boolean;
    } = {},
  ): Promise<{ run: ScanRunView; outcome: Promise<ScanOutcome> }> {
    if (this.#stopping)
      throw new AppError('shutting_down', 'the server is shutting down', {
        kind: 'operational',
        status: 503,
      });
    const total = prepared.hosts.length * prepared.ports.length;
    const startedAt = this.#ctx.now();
    const run = await insertRun(this.#ctx.db, {
      targets: prepared.targets,
      ports: prepared.portSpec,
      options: prepared.options,
      scheduleId: meta.scheduleId ?? null,
      requestedBy: meta.requestedBy ?? null,
      hosts: prepared.hosts.length,
      total,
      startedAt,
    });
    const active: ActiveScan = {
      abort: new AbortController(),
      progress: { done: 0, total, rate: 0, eta: null },
    };
    this.#active.set(run.id, active);
    const outcome = this.#execute(run, prepared, active, hooks).finally(() => this.#active.delete(run.id));
    active.outcome = outcome;
    this.#track(outcome.catch(() => undefined));
    return { run, outcome };
  }

  /** Asks a running scan to stop; what it probed so far is kept. False when it is not running here. */
  cancel(id: number): boolean {
    const a = this.#active.get(id);
    if (!a) return false;
    a.abort.abort();
    return true;
  }

  /** Resolves when a scan running here has ended (at once when it is not running here). */
  async finished(id: number): Promise<void> {
    await this.#active.get(id)?.outcome?.catch(() => undefined);
  }

  /** Live progress of a scan running here. */
  progress(id: number): ScanRunProgress | undefined {
    return this.#active.get(id)?.progress;
  }

  /** Cancels running scans and waits for their results and baseline writes to be stored. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const a of this.#active.values()) a.abort.abort();
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /** Waits for background work (baseline recording) started so far; for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  async #execute(
    run: ScanRunView,
    prepared: PreparedScan,
    active: ActiveScan,
    hooks: { onProgress?: (p: ScanRunProgress) => void; allStates?: boolean },
  ): Promise<ScanOutcome> {
    const ctx = this.#ctx;
    const t0 = performance.now();
    const total = active.progress.total;
    // Rows for closed and filtered ports only when they are stored or asked for: a full-range scan
    // would otherwise build and sort 65535 rows that nobody reads.
    const allStates =
      total <= STORE_ALL_STATES_UP_TO || (Boolean(hooks.allStates) && total <= KEEP_ALL_STATES_UP_TO);
    let scan: ConnectScanResult;
    let error: string | null = null;
    try {
      scan = await connectScan(
        prepared.hosts,
        prepared.ports,
        {
          ...(prepared.options.concurrency !== undefined
            ? { concurrency: prepared.options.concurrency }
            : {}),
          ...(prepared.options.rate !== undefined ? { rate: prepared.options.rate } : {}),
          ...(prepared.options.timeoutMs !== undefined ? { timeoutMs: prepared.options.timeoutMs } : {}),
          ...(prepared.options.retries !== undefined ? { retries: prepared.options.retries } : {}),
          keep: allStates ? () => true : (s: PortState) => s === 'open',
          ...(ctx.config.scanEngine ? { engine: ctx.config.scanEngine } : {}),
        },
        {
          signal: active.abort.signal,
          onProgress: (p) => {
            const secs = (performance.now() - t0) / 1000;
            const rate = secs > 0 ? p.done / secs : 0;
            active.progress = {
              done: p.done,
              total: p.total,
              rate: Math.round(rate),
              eta: rate > 0 ? Math.round((p.total - p.done) / rate) : null,
            };
            hooks.onProgress?.(active.progress);
          },
          onBackoff: (errno) =>
            ctx.logger.warn({ scan: run.id, errno }, 'scan ran out of sockets or ports; slowing down'),
        },
      );
    } catch (e) {
      error = (e as Error).message;
      scan = {
        results: [],
        counts: { open: 0, closed: 0, filtered: 0 },
        total,
        done: 0,
        cancelled: false,
        durationMs: performance.now() - t0,
        stateOf: () => undefined,
      };
      ctx.logger.error({ err: e, scan: run.id }, 'scan failed');
    }
    if (!error)
      ctx.logger.info(
        {
          scan: run.id,
          engine: scan.engine,
          probes: scan.done,
          ms: Math.round(scan.durationMs),
          ...scan.counts,
        },
        'scan probed',
      );
    const names = new Map(prepared.hosts.filter((h) => h.hostname).map((h) => [h.address, h.hostname!]));
    const rows: ScanResultView[] = scan.results.map((r) => ({
      host: r.host,
      ...(names.has(r.host) ? { hostname: names.get(r.host)! } : {}),
      protocol: 'tcp',
      port: r.port,
      state: r.state,
      reason: r.reason,
      rtt_ms: r.state === 'filtered' ? null : r.rttMs,
    }));
    rows.sort((a, b) => (a.host === b.host ? a.port - b.port : compareHosts(a.host, b.host)));
    if (prepared.options.banner && !active.abort.signal.aborted) {
      const open = rows.filter((r) => r.state === 'open');
      const banners = await grabBanners(open, {
        timeoutMs: Math.min(5000, prepared.options.timeoutMs ?? 1500),
        signal: active.abort.signal,
      });
      for (const r of open) {
        const b = banners.get(`${r.host}|${r.port}`);
        if (b !== undefined) r.banner = b;
      }
    }
    const status: ScanStatus = error ? 'failed' : scan.cancelled ? 'cancelled' : 'completed';
    const finishedAt = ctx.now();
    const stored = total <= STORE_ALL_STATES_UP_TO ? rows : rows.filter((r) => r.state === 'open');
    await finishRun(
      ctx.db,
      run.id,
      { status, done: scan.done, counts: scan.counts, error, finishedAt },
      stored,
    );
    const finished: ScanRunView = {
      ...run,
      status,
      done: scan.done,
      open: scan.counts.open,
      closed: scan.counts.closed,
      filtered: scan.counts.filtered,
      error,
      finished_at: finishedAt.toISOString(),
    };
    if (!error) this.#track(this.#recordBaseline(run.id, rows, prepared, finishedAt, scan.stateOf));
    return {
      run: finished,
      results: rows,
      allStates,
      durationMs: performance.now() - t0,
      probeMs: scan.durationMs,
    };
  }

  /**
   * Open ports become strong evidence (`syn-ack`); closed ports become negative evidence
   * (`conn-refused`) for the services the baseline already knows on the scanned hosts.
   */
  async #recordBaseline(
    runId: number,
    rows: ScanResultView[],
    prepared: PreparedScan,
    seenAt: Date,
    stateOf: ConnectScanResult['stateOf'],
  ): Promise<void> {
    const ctx = this.#ctx;
    try {
      const observations: Observation[] = [];
      for (const r of rows) {
        if (r.state !== 'open') continue;
        observations.push({
          host: r.host,
          protocol: 'tcp',
          port: r.port,
          source: 'scan',
          grade: 'strong',
          reason: 'syn-ack',
          seenAt,
          ...(r.hostname ? { hostnames: [r.hostname] } : {}),
          ...(r.banner !== undefined ? { service: { banner: r.banner } } : {}),
        });
      }
      observations.push(...(await this.#closedKnownServices(prepared, seenAt, stateOf)));
      if (observations.length === 0) {
        await setRunBaseline(ctx.db, runId, { observations: 0 });
        return;
      }
      const summary = await recordObservations(ctx, observations, { source: 'scan', defaultSeenAt: seenAt });
      await setRunBaseline(ctx.db, runId, { ...summary });
    } catch (e) {
      ctx.logger.error({ err: e, scan: runId }, 'recording scan results into the baseline failed');
      await setRunBaseline(ctx.db, runId, { error: (e as Error).message }).catch(() => undefined);
    }
  }

  async #closedKnownServices(
    prepared: PreparedScan,
    seenAt: Date,
    stateOf: ConnectScanResult['stateOf'],
  ): Promise<Observation[]> {
    const db = this.#ctx.db;
    const out: Observation[] = [];
    const addresses = prepared.hosts.map((h) => h.address);
    const hostIndex = new Map(addresses.map((a, i) => [a, i]));
    for (let i = 0; i < addresses.length; i += 500) {
      const known = await db
        .selectFrom('services')
        .select(['host', 'port'])
        .where('protocol', '=', 'tcp')
        .where('host', 'in', addresses.slice(i, i + 500))
        .execute();
      for (const k of known) {
        // Only a definite `closed` is evidence of absence (not filtered, not unprobed).
        const h = hostIndex.get(k.host);
        if (h === undefined || stateOf(h, k.port) !== 'closed') continue;
        out.push({
          host: k.host,
          protocol: 'tcp',
          port: k.port,
          source: 'scan',
          grade: 'negative',
          reason: 'conn-refused',
          seenAt,
        });
      }
    }
    return out;
  }
}

function compareHosts(a: string, b: string): number {
  const pa = parseAddress(a);
  const pb = parseAddress(b);
  if (!pa || !pb) return a < b ? -1 : 1;
  if (pa.family !== pb.family) return pa.family - pb.family;
  return pa.value < pb.value ? -1 : pa.value > pb.value ? 1 : 0;
}

const runners = new WeakMap<object, ScanRunner>();

/** The scan runner of an application context (created on first use). */
export function scanRunnerFor(ctx: ScanContext): ScanRunner {
  let r = runners.get(ctx);
  if (!r) {
    r = new ScanRunner(ctx);
    runners.set(ctx, r);
  }
  return r;
}
