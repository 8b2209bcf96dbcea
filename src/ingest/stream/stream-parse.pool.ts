import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ObservationGroups } from '../../baseline/baseline.service.ts';
import type { ParseEvent, ParseIssue } from '../observation.ts';
import {
  decodeStreamEvents,
  decodeStreamGroups,
  shiftEvents,
  type PartRequest,
  type PartResult,
} from './stream-events.codec.ts';
import { JSON_MAX_RECORD_BYTES } from './json-values.ts';
import { StreamTextReader } from './stream-tcp.parser.ts';

// The Stream parser on worker threads. JSON.parse of each event is most of a Stream import's time and
// one core reads about 300,000 events/s at best, so big inputs are cut into parts of whole lines, read
// by workers and by the calling thread in parallel, and their events put back in input order on the
// calling thread, which also keeps the baseline writer and the database. The workers are started with
// tsx's CommonJS hook rather than the parent's loaders: no loader thread per worker, about 20 MB and
// 50-130 ms each (the ESM hook costs a hooks thread, about 40 MB and half a second). They are stopped
// as soon as no import reads with them, so their memory is given back before an import's last (and
// biggest) database write.

const BOOT = `
const { workerData } = require('node:worker_threads');
require(workerData.tsx).register();
require(workerData.entry);
`;
const ENTRY = fileURLToPath(new URL('./stream-parse.worker.ts', import.meta.url));

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: number;
}

interface Task {
  slot: Slot;
  resolve: (r: PartResult) => void;
  reject: (e: Error) => void;
}

/** A fixed set of Stream parse workers shared by every import of the process. */
class PartPool {
  readonly #slots: Slot[] = [];
  readonly #tasks = new Map<number, Task>();
  #nextId = 1;
  /** Inputs reading with this pool; it stops when the last one is done. */
  users = 0;
  /** Why the pool cannot be used any more, once it cannot. */
  failed: Error | null = null;
  readonly ready: Promise<void>;

  constructor(size: number) {
    const started: Array<Promise<void>> = [];
    let tsx: string;
    try {
      tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
    } catch (e) {
      // Without tsx the workers cannot load the parser: inputs are read on the calling thread.
      this.failed = e as Error;
      this.ready = Promise.reject(this.failed);
      this.ready.catch(() => {});
      return;
    }
    for (let i = 0; i < size; i++) {
      const worker = new Worker(BOOT, {
        eval: true,
        execArgv: [],
        workerData: { tsx, entry: ENTRY },
      });
      const slot: Slot = { worker, ready: false, busy: 0 };
      this.#slots.push(slot);
      started.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (m: PartResult | { id: number; error: string } | { ready: true }) => {
            if ('ready' in m) {
              slot.ready = true;
              // Loading keeps the process alive (someone waits for it); an idle worker does not.
              if (slot.busy === 0) worker.unref();
              resolve();
              return;
            }
            const task = this.#tasks.get(m.id);
            if (!task) return;
            this.#tasks.delete(m.id);
            this.#done(slot);
            if ('error' in m) task.reject(new Error(`Stream parse worker: ${m.error}`));
            else task.resolve(m);
          });
          const die = (e: Error) => {
            this.#fail(e);
            reject(e);
          };
          worker.on('error', die);
          worker.on('exit', (code) => die(new Error(`Stream parse worker exited (code ${code})`)));
        }),
      );
    }
    this.ready = Promise.all(started).then(() => {});
    this.ready.catch(() => {});
  }

  /** True once every worker has loaded. */
  get started(): boolean {
    return this.failed === null && this.#slots.every((s) => s.ready);
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Reads one part on the least busy worker; `bytes` is transferred (unusable here until it comes back). */
  read(bytes: Uint8Array, last: boolean, group = false): Promise<PartResult> {
    if (this.failed) return Promise.reject(this.failed);
    let slot = this.#slots[0]!;
    for (const s of this.#slots) if (s.busy < slot.busy) slot = s;
    const id = this.#nextId++;
    if (slot.busy++ === 0) slot.worker.ref();
    return new Promise<PartResult>((resolve, reject) => {
      this.#tasks.set(id, { slot, resolve, reject });
      const req: PartRequest = { id, bytes, last, ...(group ? { group } : {}) };
      slot.worker.postMessage(req, [bytes.buffer as ArrayBuffer]);
    });
  }

  #done(slot: Slot): void {
    // A worker with nothing to do does not keep the process alive.
    if (--slot.busy === 0) slot.worker.unref();
  }

  #fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    if (shared === this) shared = undefined;
    for (const t of this.#tasks.values()) t.reject(e);
    this.#tasks.clear();
    this.#stopped = Promise.all(this.#slots.map((s) => s.worker.terminate())).then(
      () => {},
      () => {},
    );
  }

  #stopped: Promise<void> = Promise.resolve();

  /** Stops the workers (tasks still running fail); settles once their threads have ended. */
  close(): Promise<void> {
    this.#fail(new Error('Stream parse workers stopped'));
    return this.#stopped;
  }
}

let shared: PartPool | undefined;

/** The shared pool (started if needed), counted as used until `release`. */
function acquirePool(size: number): PartPool {
  if (!shared || shared.size < size) {
    if (shared && shared.users === 0) void shared.close();
    shared = new PartPool(size);
  }
  shared.users++;
  return shared;
}

function releasePool(pool: PartPool): Promise<void> {
  return --pool.users === 0 ? pool.close() : Promise.resolve();
}

/** Worker threads for this machine: one per core besides the calling thread's, at most 3. */
function defaultWorkers(): number {
  return Math.min(3, availableParallelism() - 1);
}

/**
 * Starts the workers (if not running) and keeps them until the returned function is called: inputs
 * read meanwhile find them loaded. Rejects (and keeps nothing) when a worker cannot start. For
 * callers about to read several big inputs, and for tests.
 */
export async function holdStreamParseWorkers(workers = Math.max(1, defaultWorkers())): Promise<() => void> {
  const pool = acquirePool(workers);
  try {
    await pool.ready;
  } catch (e) {
    void releasePool(pool);
    throw e;
  }
  let held = true;
  return () => {
    if (held) void releasePool(pool);
    held = false;
  };
}

/** Tuning of `parseStreamBatchesParallel`. */
export interface ParallelStreamOptions {
  /** Worker threads besides the calling thread; 0 reads the input on the calling thread only. Default: one per core but one, at most 3. */
  workers?: number;
  /** Bytes read on the calling thread before the workers join in, so small inputs never start them. Default 4 MiB. */
  parallelAfter?: number;
  /** Size of the parts the input is cut into (whole lines: a part ends at the last line break within). Default 1 MiB. */
  partBytes?: number;
  /** Filled in as the input is read: parts whose events came from a worker, and parts read apart on the calling thread. */
  stats?: { partsOnWorkers: number; partsHere: number };
}

/** A part of the input being read, on a worker or (already read) here. */
interface Part {
  result: Promise<PartResult> | null;
  settled: boolean;
  last: boolean;
  /** Read here: its events (lines and offsets from the part's start), and its bytes. */
  events?: ParseEvent[];
  boundary?: boolean;
  lines?: number;
  bytes?: Buffer[];
}

/**
 * `parseStreamBatches` on several threads for big inputs: the same events, in the same order, with
 * the same lines and byte offsets. The input is cut after a line break into parts that each begin
 * where a fresh reader reads exactly as one reader of the whole input would (no JSON value open across
 * the cut, no top-level array). Each part is read as a whole input, by a worker while it has fewer
 * than three parts to do, else by the calling thread (which also puts the events back in order and
 * keeps the baseline writer: on two cores, one worker and this thread), and its events shifted to
 * their place. When a part does not end at such a boundary (a pretty-printed value across the cut, a
 * JSON array, a line longer than the parts), the rest of the input from that part on is read on this
 * thread alone, so every input gives what `parseStreamBatches` gives. Memory stays bounded: at most
 * three parts per worker and three read here are held.
 */
export async function* parseStreamBatchesParallel(
  input: AsyncIterable<Buffer | string>,
  opts: ParallelStreamOptions = {},
): AsyncGenerator<ParseEvent[]> {
  yield* parseStreamParts(input, opts, false) as AsyncGenerator<ParseEvent[]>;
}

/**
 * A part of a Stream input read on a worker, its observations grouped by service there (for
 * `BaselineWriter.pushGrouped`), with its records and issues (refused observations among them, in input
 * order, located in the whole input). `events()` gives the same part as events, for when the writer
 * cannot take the groups whole; it reads the part's bytes again, so it is only called before the next
 * part is asked for.
 */
export interface StreamPartGroups {
  kind: 'groups';
  groups: ObservationGroups;
  issues: ParseIssue[];
  records: number;
  events: () => ParseEvent[];
}

/**
 * `parseStreamBatchesParallel`, but each part read on a worker comes as `StreamPartGroups`: its
 * observations already checked and grouped by service there, so this thread does no work per event for
 * it. Everything else (small inputs, parts read here, inputs read here for good) comes as events.
 */
export function parseStreamPartsParallel(
  input: AsyncIterable<Buffer | string>,
  opts: ParallelStreamOptions = {},
): AsyncGenerator<ParseEvent[] | StreamPartGroups> {
  return parseStreamParts(input, opts, true);
}

async function* parseStreamParts(
  input: AsyncIterable<Buffer | string>,
  opts: ParallelStreamOptions,
  grouped: boolean,
): AsyncGenerator<ParseEvent[] | StreamPartGroups> {
  const workers = opts.workers ?? defaultWorkers();
  const after = opts.parallelAfter ?? 4 * 1024 * 1024;
  const partBytes = opts.partBytes ?? 1024 * 1024;
  // A line this long without a break is read here (the reader cuts lines over JSON_MAX_RECORD_BYTES).
  const maxHeld = Math.max(4 * partBytes, 2 * JSON_MAX_RECORD_BYTES);
  // Parts queued per worker: with three, a worker still has work while this thread reads a part
  // itself or hands a batch to the baseline writer (with two it waited about 15% of the time).
  const perWorker = 3;
  // Parts read here and waiting their turn behind the workers' (each holds its events): with one, this
  // thread read one part for three of the worker's and waited for it the rest of the time; with
  // grouped parts taking little of its time, three keep both threads reading (a million-event import
  // parsed in 2.1 s rather than 3.0 s, peak RSS unchanged within a few MB).
  const hereMax = 3;
  // Reads on this thread while set: before the workers have started, and for good after a part that
  // did not end at a boundary.
  let reader: StreamTextReader | null = new StreamTextReader();
  let useWorkers = workers >= 1;
  let pool: PartPool | undefined;
  let read = 0;
  let carry: Buffer[] = [];
  let carryLen = 0;
  const parts: Part[] = [];
  let onWorkers = 0;
  // Where the next part to give out starts in the whole input.
  const start = { line: 1, offset: 0 };

  function* here(buf: Buffer): Generator<ParseEvent[]> {
    // 64 KB at a time, as parseStreamBatches reads.
    for (let i = 0; i < buf.length; i += 65536) {
      const out: ParseEvent[] = [];
      reader!.push(i === 0 && buf.length <= 65536 ? buf : buf.subarray(i, i + 65536), out);
      if (out.length) yield out;
    }
  }

  // Part buffers come back with their results and are used again: a megabyte allocated per part
  // counts as external memory and brings on full garbage collections.
  const spare: ArrayBuffer[] = [];

  function takeCarry(n: number): Buffer[] {
    const out: Buffer[] = [];
    let o = 0;
    while (o < n) {
      const b = carry[0]!;
      const take = Math.min(b.length, n - o);
      out.push(take === b.length ? b : b.subarray(0, take));
      o += take;
      if (take === b.length) carry.shift();
      else carry[0] = b.subarray(take);
    }
    carryLen -= n;
    return out;
  }

  function lastLineBreak(): number {
    let end = carryLen;
    for (let j = carry.length - 1; j >= 0; j--) {
      const b = carry[j]!;
      end -= b.length;
      const i = b.lastIndexOf(0x0a);
      if (i >= 0) return end + i;
    }
    return -1;
  }

  function send(n: number, last: boolean): void {
    const pieces = takeCarry(n);
    if (onWorkers < perWorker * pool!.size) {
      // A buffer of its own (not a slice of a shared pool), so it can be transferred to the worker.
      let ab = spare.pop();
      if (!ab || ab.byteLength < n) ab = new ArrayBuffer(Math.max(n, partBytes + (partBytes >> 2)));
      const bytes = new Uint8Array(ab, 0, n);
      let o = 0;
      for (const b of pieces) {
        bytes.set(b, o);
        o += b.length;
      }
      const p: Part = { result: pool!.read(bytes, last, grouped), settled: false, last };
      p.result!.then(
        () => (p.settled = true),
        () => (p.settled = true),
      );
      onWorkers++;
      parts.push(p);
      return;
    }
    const r = new StreamTextReader();
    const events: ParseEvent[] = [];
    for (const b of pieces)
      for (let i = 0; i < b.length; i += 65536) r.push(b.subarray(i, i + 65536), events);
    if (last) r.end(events);
    parts.push({
      result: null,
      settled: true,
      last,
      events,
      boundary: r.atBoundary,
      lines: r.nextLine - 1,
      bytes: pieces,
    });
  }

  function* carryHere(): Generator<ParseEvent[]> {
    const held = carry;
    carry = [];
    carryLen = 0;
    for (const b of held) yield* here(b);
  }

  function readHere(): void {
    reader = new StreamTextReader(start);
    useWorkers = false;
  }

  async function* takePart(): AsyncGenerator<ParseEvent[] | StreamPartGroups> {
    const p = parts.shift()!;
    const r = p.result ? await p.result : null;
    if (r) onWorkers--;
    const bytes = r ? [Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength)] : p.bytes!;
    if (!reader && !(r ? r.boundary : p.boundary) && !p.last) {
      // The next part would not begin at a boundary: this part (which did) is read again here, by a
      // reader that then goes on with everything after it, in order.
      readHere();
    }
    if (reader) {
      // Read here for good: a part's events read as if it began at a boundary do not stand.
      for (const b of bytes) yield* here(b);
      while (parts.length) yield* takePart();
      yield* carryHere();
      return;
    }
    let events: ParseEvent[];
    let groups: StreamPartGroups | undefined;
    if (r?.groups) {
      events = [];
      const at = { ...start };
      const last = p.last;
      groups = {
        kind: 'groups',
        ...decodeStreamGroups(r.groups, start),
        events: () => {
          // The part's bytes, read again here (their buffer is used again for a later part, which is
          // not sent before the next part is asked for).
          const again = new StreamTextReader();
          const out: ParseEvent[] = [];
          for (const b of bytes)
            for (let i = 0; i < b.length; i += 65536) again.push(b.subarray(i, i + 65536), out);
          if (last) again.end(out);
          shiftEvents(out, at);
          return out;
        },
      };
      if (spare.length < perWorker * pool!.size) spare.push(r.bytes.buffer as ArrayBuffer);
      if (opts.stats) opts.stats.partsOnWorkers++;
    } else if (r) {
      events = [];
      decodeStreamEvents(r.events, start, events);
      if (spare.length < perWorker * pool!.size) spare.push(r.bytes.buffer as ArrayBuffer);
      if (opts.stats) opts.stats.partsOnWorkers++;
    } else {
      events = p.events!;
      shiftEvents(events, start);
      if (opts.stats) opts.stats.partsHere++;
    }
    start.line += r ? r.lines : p.lines!;
    for (const b of bytes) start.offset += b.length;
    if (groups) yield groups;
    else if (events.length) yield events;
  }
  try {
    try {
      for await (const chunk of input) {
        let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        read += buf.length;
        if (reader) {
          if (useWorkers && !pool && read > after) pool = acquirePool(workers);
          if (pool?.failed) useWorkers = false;
          const nl = useWorkers && pool?.started ? buf.lastIndexOf(0x0a) : -1;
          if (nl < 0) {
            yield* here(buf);
            continue;
          }
          // Hand over to the parts after a line break where this reader is at a boundary.
          yield* here(buf.subarray(0, nl + 1));
          buf = buf.subarray(nl + 1);
          if (!reader.atBoundary) {
            yield* here(buf);
            continue;
          }
          start.line = reader.nextLine;
          start.offset = reader.nextOffset;
          reader = null;
        }
        if (buf.length > 0) {
          carry.push(buf);
          carryLen += buf.length;
        }
        while (carryLen >= partBytes && !reader) {
          if (
            onWorkers >= perWorker * pool!.size &&
            (parts[0]!.settled || parts.length - onWorkers >= hereMax)
          ) {
            // The workers have enough to do: give out what is read, or wait for it when a part read
            // here is already waiting its turn; otherwise read the next part here.
            yield* takePart();
            continue;
          }
          const cut = lastLineBreak();
          if (cut < 0) {
            if (carryLen > maxHeld) {
              // A line longer than a few parts: what comes before it, then the rest, is read here.
              while (parts.length) yield* takePart();
              if (!reader) readHere();
              yield* carryHere();
            }
            break;
          }
          send(cut + 1, false);
        }
        while (parts.length && parts[0]!.settled) yield* takePart();
      }
    } catch (e) {
      // Reading the input failed: the events of what was read are still given, then the error.
      while (parts.length) yield* takePart();
      if (!reader) readHere();
      yield* carryHere();
      throw e;
    }
    if (!reader && carryLen > 0) send(carryLen, true);
    while (parts.length) yield* takePart();
    if (reader) {
      const out: ParseEvent[] = [];
      reader.end(out);
      if (out.length) yield out;
    }
  } finally {
    // Waited for: the workers' memory is given back before the caller's last database write.
    if (pool) await releasePool(pool);
  }
}
