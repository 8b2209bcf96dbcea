import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../util/errors.ts';

/** nmap's port states for a connect scan. */
export type PortState = 'open' | 'closed' | 'filtered';

/** Why a port got its state, in nmap's words where nmap has one. */
export type ProbeReason =
  'syn-ack' | 'conn-refused' | 'no-response' | 'host-unreach' | 'net-unreach' | 'admin-prohibited' | 'error';

const STATES: Array<PortState | undefined> = [undefined, 'open', 'closed', 'filtered'];
const REASONS: Array<ProbeReason | undefined> = [
  undefined,
  'syn-ack',
  'conn-refused',
  'no-response',
  'host-unreach',
  'net-unreach',
  'admin-prohibited',
  'error',
];

/** Tuning of one connect scan; every field has a default. */
export interface ConnectScanOptions {
  /** Most connects in flight at once, over all workers (default 512). */
  concurrency?: number;
  /** Most new connects per second (0 = unlimited, the default). */
  rate?: number;
  /** Longest wait for an answer, and the timeout before the first RTT sample (ms, default 1000). */
  timeoutMs?: number;
  /** Shortest adaptive timeout (ms, default 100). */
  minTimeoutMs?: number;
  /** Extra tries for a port that did not answer (default 2). */
  retries?: number;
  /** Worker threads (default: one per core, at most 4). */
  workers?: number;
  /** Which states to return as rows (default all); every state is still counted. */
  keep?: (state: PortState) => boolean;
  /** Probe loop: `native` (C, built at install), `js` (libuv handles), or `auto` (native when built). */
  engine?: ScanEngine;
}

export type ScanEngine = 'auto' | 'native' | 'js';

/** One host to probe: its address and address family. */
export interface ScanHost {
  address: string;
  family: 4 | 6;
}

/** The outcome of one probed (host, port). `rttMs` is 0 when no answer came. */
export interface ProbeResult {
  host: string;
  port: number;
  state: PortState;
  reason: ProbeReason;
  rttMs: number;
}

/** Counts reported while a scan runs. */
export interface ScanProgress {
  done: number;
  total: number;
}

/** The outcome of a connect scan: every probed port (unprobed ones are missing when cancelled). */
export interface ConnectScanResult {
  results: ProbeResult[];
  counts: Record<PortState, number>;
  total: number;
  done: number;
  cancelled: boolean;
  durationMs: number;
  /** The probe loop that ran (undefined when nothing was probed). */
  engine?: 'native' | 'js';
  /** Set when descriptors or ports ran out and the scan slowed down to cope. */
  backoff?: { errno: number };
  /**
   * The state of any probed (host, port), kept or not: `host` is the index into the scanned hosts.
   * Undefined for a pair not scanned or not probed (cancelled).
   */
  stateOf: (host: number, port: number) => PortState | undefined;
}

interface WorkerDone {
  type: 'done';
  id: number;
  engine: 'native' | 'js';
  done: number;
  cancelled: boolean;
  state: Uint8Array;
  reason: Uint8Array;
  rtt: Float32Array;
}
type WorkerMessage =
  | { type: 'backoff'; id: number; errno: number; inflight: number }
  | { type: 'failed'; id: number; message: string }
  | WorkerDone;

interface PoolWorker {
  worker: Worker;
  listeners: Map<number, (m: WorkerMessage) => void>;
  dead: boolean;
  /** Settles once the worker has loaded (it then holds what it needs, whatever a scan takes after). */
  ready: Promise<void>;
}

const WORKER_URL = new URL('./probe.worker.js', import.meta.url);
let pool: PoolWorker[] = [];
let nextJobId = 1;
/** The control arrays of the jobs running now: [0] probes settled (written by the worker), [1] cancel. */
const running = new Set<Int32Array>();
// A native job blocks its worker thread until it returns, and a process that exits waits for its
// workers: whatever way the process ends, ask every running job to stop first.
process.on('exit', () => {
  for (const control of running) Atomics.store(control, 1, 1);
});

function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

function spawn(): PoolWorker {
  // The worker is plain JavaScript: start it without the parent's loaders (tsx), in milliseconds.
  let readied = () => {};
  const pw: PoolWorker = {
    worker: new Worker(WORKER_URL, { execArgv: [] }),
    listeners: new Map(),
    dead: false,
    ready: new Promise<void>((resolve) => (readied = resolve)),
  };
  pw.worker.on('message', (m: WorkerMessage | { type: 'ready'; id: 0 }) => {
    if (m.type === 'ready') readied();
    else pw.listeners.get(m.id)?.(m);
  });
  const die = (message: string) => {
    if (pw.dead) return;
    pw.dead = true;
    // A job sent to a worker that never loaded fails through its listener, like any other.
    readied();
    for (const [id, fn] of pw.listeners) fn({ type: 'failed', id, message });
    pw.listeners.clear();
  };
  pw.worker.on('error', (e) => die(`scan worker failed: ${e.message}`));
  pw.worker.on('exit', (code) => die(`scan worker exited (code ${code})`));
  // Idle workers must not keep a process (the CLI, a test) alive; unref after the listeners, which ref.
  pw.worker.unref();
  return pw;
}

/** Starts the probe workers ahead of the first scan (they start in a few milliseconds anyway). */
export function warmScanWorkers(count = defaultWorkers()): void {
  pool = pool.filter((w) => !w.dead);
  while (pool.length < count) pool.push(spawn());
}

/** Stops the probe workers; the next scan starts new ones. */
export async function stopScanWorkers(): Promise<void> {
  // A native job blocks its worker until it returns: ask every job to stop first.
  for (const control of running) Atomics.store(control, 1, 1);
  const old = pool;
  pool = [];
  await Promise.all(old.map((w) => w.worker.terminate().catch(() => 0)));
}

/**
 * TCP connect scan of every port on every host, spread over worker threads. Each (host, port) ends
 * `open` (handshake completed), `closed` (refused) or `filtered` (no answer after the retries, or
 * unreachable). Aborting the signal stops launching and closes the connects in flight; what was probed
 * so far is returned with `cancelled: true`. Socket errors never throw: they become states.
 */
export async function connectScan(
  hosts: readonly ScanHost[],
  ports: readonly number[],
  opts: ConnectScanOptions = {},
  hooks: {
    signal?: AbortSignal;
    onProgress?: (p: ScanProgress) => void;
    onBackoff?: (errno: number) => void;
  } = {},
): Promise<ConnectScanResult> {
  const started = performance.now();
  const total = hosts.length * ports.length;
  const workerCount = Math.max(1, Math.min(opts.workers ?? defaultWorkers(), Math.ceil(total / 256) || 1));
  const concurrency = Math.max(1, opts.concurrency ?? 512);
  const timeoutMs = Math.max(1, opts.timeoutMs ?? 1000);
  const minTimeoutMs = Math.min(timeoutMs, Math.max(1, opts.minTimeoutMs ?? 100));
  const retries = Math.max(0, Math.min(10, opts.retries ?? 2));
  const rate = Math.max(0, opts.rate ?? 0);
  const engine = opts.engine ?? 'auto';
  const counts: Record<PortState, number> = { open: 0, closed: 0, filtered: 0 };
  const keep = opts.keep ?? (() => true);
  const none = () => undefined;
  if (total === 0)
    return { results: [], counts, total: 0, done: 0, cancelled: false, durationMs: 0, stateOf: none };
  if (hooks.signal?.aborted)
    return { results: [], counts, total, done: 0, cancelled: true, durationMs: 0, stateOf: none };

  warmScanWorkers(Math.max(workerCount, pool.filter((w) => !w.dead).length));
  const workers = pool.filter((w) => !w.dead).slice(0, workerCount);
  // No job starts before every worker of the scan has loaded: a running job may take every descriptor.
  for (const w of workers) w.worker.ref();
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) if (w.listeners.size === 0) w.worker.unref();
  const lost = workers.find((w) => w.dead);
  if (lost) throw new AppError('scan_worker_failed', 'a scan worker failed to start', { kind: 'bug' });

  // Port-major order spreads the load over hosts; probe k goes to worker k % W.
  const hostFamilies = Uint8Array.from(hosts, (h) => h.family);
  const hostList = hosts.map((h) => h.address);
  const parts = workers.map(() => ({ hostIdx: [] as number[], ports: [] as number[] }));
  let k = 0;
  for (const port of ports) {
    for (let h = 0; h < hosts.length; h++) {
      const part = parts[k++ % workers.length]!;
      part.hostIdx.push(h);
      part.ports.push(port);
    }
  }

  const controls = workers.map(() => new Int32Array(new SharedArrayBuffer(8)));
  for (const c of controls) running.add(c);
  const settled = () => controls.reduce((a, c) => a + Atomics.load(c, 0), 0);
  let backoff: { errno: number } | undefined;
  const progressTimer = hooks.onProgress
    ? setInterval(() => hooks.onProgress!({ done: settled(), total }), 200)
    : undefined;
  const jobs = workers.map((pw, w) => {
    const id = nextJobId++;
    const part = parts[w]!;
    const control = controls[w]!;
    return {
      control,
      result: new Promise<WorkerDone>((resolve, reject) => {
        // A worker keeps the process alive only while it has work.
        pw.worker.ref();
        const release = () => {
          pw.listeners.delete(id);
          if (pw.listeners.size === 0) pw.worker.unref();
        };
        pw.listeners.set(id, (m) => {
          if (m.type === 'backoff') {
            backoff ??= { errno: m.errno };
            hooks.onBackoff?.(m.errno);
          } else if (m.type === 'failed') {
            release();
            reject(new AppError('scan_worker_failed', m.message, { kind: 'bug' }));
          } else {
            release();
            resolve(m);
          }
        });
        pw.worker.postMessage({
          type: 'scan',
          id,
          hosts: hostList,
          families: hostFamilies,
          hostIdx: Uint32Array.from(part.hostIdx),
          ports: Uint16Array.from(part.ports),
          concurrency: Math.max(1, Math.ceil(concurrency / workers.length)),
          rate: rate / workers.length,
          timeoutMs,
          minTimeoutMs,
          retries,
          control,
          engine,
        });
      }),
    };
  });
  // Each job reads its cancel flag: the js engine at its next tick, the native engine between waits.
  const onAbort = () => {
    for (const j of jobs) Atomics.store(j.control, 1, 1);
  };
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const outs = await Promise.all(jobs.map((j) => j.result));
    const results: ProbeResult[] = [];
    let cancelled = false;
    let done = 0;
    outs.forEach((out, w) => {
      cancelled ||= out.cancelled;
      done += out.done;
      const part = parts[w]!;
      for (let i = 0; i < out.state.length; i++) {
        const state = STATES[out.state[i]!];
        if (!state) continue;
        counts[state]++;
        if (!keep(state)) continue;
        results.push({
          host: hostList[part.hostIdx[i]!]!,
          port: part.ports[i]!,
          state,
          reason: REASONS[out.reason[i]!] ?? 'error',
          rttMs: Math.round(out.rtt[i]! * 1000) / 1000,
        });
      }
    });
    hooks.onProgress?.({ done, total });
    // Probe k (port-major: k = portIndex * hosts + host) went to worker k % W at position k / W.
    const portIndex = new Int32Array(65536).fill(-1);
    ports.forEach((p, i) => {
      if (portIndex[p] === -1) portIndex[p] = i;
    });
    const stateOf = (host: number, port: number): PortState | undefined => {
      const pi = Number.isInteger(port) && port >= 0 && port < 65536 ? portIndex[port]! : -1;
      if (pi < 0 || !Number.isInteger(host) || host < 0 || host >= hosts.length) return undefined;
      const k = pi * hosts.length + host;
      return STATES[outs[k % outs.length]!.state[Math.floor(k / outs.length)]!];
    };
    return {
      results,
      counts,
      total,
      done,
      cancelled,
      durationMs: performance.now() - started,
      engine: outs.every((o) => o.engine === 'native') ? 'native' : 'js',
      ...(backoff ? { backoff } : {}),
      stateOf,
    };
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    for (const c of controls) running.delete(c);
    hooks.signal?.removeEventListener('abort', onAbort);
  }
}
