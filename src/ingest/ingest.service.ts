import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BaselineWriter, type BaselineContext } from '../baseline/index.ts';
import { AppError } from '../util/errors.ts';
import { detectFormat, DETECT_HEAD_BYTES, FORMAT_NAMES, PARSERS } from './formats.ts';
import { parseNmapXmlBatches } from './nmap/index.ts';
import type { FormatName, ParseEvent, ParseIssue, ParseOptions } from './observation.ts';
import { parseStreamPartsParallel } from './stream/index.ts';
import { parseNetflowBatches } from './netflow/index.ts';

// Parsers that also hand out their events one array per input chunk, for the formats of
// million-event imports: one promise per event would cost as much as parsing it.
const BATCH_PARSERS: Partial<
  Record<FormatName, (input: AsyncIterable<Buffer>, opts: ParseOptions) => AsyncIterable<ParseEvent[]>>
> = {
  'nmap-xml': parseNmapXmlBatches,
  netflow: parseNetflowBatches,
};

/** A problem in the input, located. */
export interface IngestIssue extends ParseIssue {
  /** The input's name (file name or HEC source), when known. */
  file?: string;
}

/** What one import did. */
export interface IngestSummary {
  format: FormatName | null;
  file: string | null;
  /** Input records read (hosts, lines, events), whatever they produced. */
  records: number;
  /** Observations recorded into the baseline (strong, weak and negative). */
  observations: number;
  /** Rows the import created. */
  new_services: number;
  /** Existing rows whose record changed (last seen, count, state…). */
  updated_services: number;
  /** Containers raised (first sightings, reopened listeners). */
  containers: number;
  /** True when nothing alerted because this was a learning run. */
  learning: boolean;
  /** The first issues (at most `maxIssues`). */
  issues: IngestIssue[];
  /** Every issue, counted. */
  issues_total: number;
  /** Bytes read from the input. */
  bytes: number;
}

export interface IngestOptions {
  /** The input's format; detected from its first bytes when absent. */
  format?: FormatName;
  /** Shown in issues. */
  file?: string;
  /** Reporting host for host listings (ss, netstat, osquery). */
  host?: string;
  /** Learning run (no containers). Default: when the baseline is empty at the start. */
  learning?: boolean;
  /** Time for records that carry none (e.g. the file's modification time). Default: now. */
  observedAt?: Date;
  /** Largest input accepted, in bytes; more is refused with HTTP 413. */
  maxBytes?: number;
  /** How many issues are listed (all are counted). Default 100. */
  maxIssues?: number;
  /** Observations merged per transaction. Default 1,000,000 (and at most 10,000 distinct services). */
  batchSize?: number;
}

// Distinct services merged per transaction for nmap XML, where nearly every service of a big scan is
// new. Each batch's upsert is planned and run inside the embedded store's WebAssembly memory, which
// keeps every page it has touched: with the writer's 10,000, a 150 MB file took the server to about
// 324 MB resident; with 5,000 to 290 MB, 2,500 to 273 MB and 1,000 to 264 MB, at the same speed.
const NMAP_XML_BATCH_KEYS = 2_000;

/** Collects parse events into a baseline writer and a summary; shared by file imports and HEC. */
export class IngestSink {
  readonly writer: BaselineWriter;
  readonly summary: IngestSummary;
  readonly #maxIssues: number;

  constructor(ctx: BaselineContext, opts: Omit<IngestOptions, 'format'> & { format: FormatName | null }) {
    this.writer = new BaselineWriter(ctx, {
      ...(opts.learning !== undefined ? { learning: opts.learning } : {}),
      ...(opts.observedAt ? { defaultSeenAt: opts.observedAt } : {}),
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      ...(opts.format === 'nmap-xml' ? { batchKeys: NMAP_XML_BATCH_KEYS } : {}),
    });
    this.#maxIssues = opts.maxIssues ?? 100;
    this.summary = {
      format: opts.format,
      file: opts.file ?? null,
      records: 0,
      observations: 0,
      new_services: 0,
      updated_services: 0,
      containers: 0,
      learning: false,
      issues: [],
      issues_total: 0,
      bytes: 0,
    };
  }

  async start(): Promise<void> {
    await this.writer.start();
  }

  issue(issue: ParseIssue, file = this.summary.file): void {
    this.summary.issues_total++;
    if (this.summary.issues.length < this.#maxIssues)
      this.summary.issues.push(file ? { ...issue, file } : { ...issue });
  }

  /** Takes one parse event. */
  async event(e: ParseEvent, file?: string | null): Promise<void> {
    if (this.take(e, file)) await this.writer.flush();
  }

  /**
   * Takes one parse event without waiting (no promise per event on the hot path); returns true when
   * the writer's batch is full and must be flushed before the next event. `start` must have run.
   */
  take(e: ParseEvent, file?: string | null): boolean {
    if (e.kind === 'record') {
      this.summary.records++;
      return false;
    }
    if (e.kind === 'issue') {
      this.issue(e.issue, file ?? this.summary.file);
      return false;
    }
    const problem = this.writer.push(e.observation);
    if (problem) {
      const o = e.observation;
      this.issue(
        {
          message: `observation refused: ${problem}`,
          ...(o.line !== undefined ? { line: o.line } : {}),
          ...(o.offset !== undefined ? { offset: o.offset } : {}),
        },
        file ?? this.summary.file,
      );
    }
    return this.writer.full;
  }

  /** Writes what is pending and completes the summary. */
  async finish(): Promise<IngestSummary> {
    await this.writer.flush();
    const w = this.writer.summary;
    this.summary.observations = w.observations;
    this.summary.new_services = w.new_services;
    this.summary.updated_services = w.updated_services;
    this.summary.containers = w.containers;
    this.summary.learning = w.learning;
    for (const msg of w.errors) this.issue({ message: msg });
    w.errors.length = 0;
    return this.summary;
  }
}

/** Reads the first bytes of an input (for format detection) and gives back the whole input. */
async function peek(
  input: AsyncIterable<Buffer | string>,
  bytes: number,
): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = input[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < bytes) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
    first.push(b);
    len += b.length;
  }
  const head = Buffer.concat(first, len);
  async function* rest(): AsyncGenerator<Buffer> {
    for (const b of first) yield b;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
    }
  }
  return { head, rest: rest() };
}

async function* counted(
  input: AsyncIterable<Buffer>,
  summary: IngestSummary,
  maxBytes: number | undefined,
): AsyncGenerator<Buffer> {
  for await (const b of input) {
    summary.bytes += b.length;
    if (maxBytes !== undefined && summary.bytes > maxBytes)
      throw new AppError(
        'input_too_large',
        `input larger than the limit of ${maxBytes} bytes (PORTCULLIS_IMPORT_MAX_BYTES); what was read before is kept`,
        {
          status: 413,
        },
      );
    yield b;
  }
}

/** True when `head` starts with gzip's magic bytes (RFC 1952). */
function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The decompressed bytes of a gzip input (several concatenated members too, as `gzip -d` reads them).
 * A corrupt or truncated stream ends the input where it broke: the error is handed to `onError` so
 * the import keeps what came before and reports the problem with the compressed byte offset.
 */
async function* gunzipped(
  input: AsyncIterable<Buffer>,
  onError: (message: string, compressedOffset: number) => void,
): AsyncGenerator<Buffer> {
  let compressed = 0;
  async function* counting(): AsyncGenerator<Buffer> {
    for await (const b of input) {
      compressed += b.length;
      yield b;
    }
  }
  const gunzip = createGunzip();
  // The pipeline's own outcome is seen by the loop below: a failure on either side destroys gunzip
  // with that error, and an early stop of the reader ends the pipeline.
  pipeline(Readable.from(counting()), gunzip).catch(() => {});
  try {
    for await (const out of gunzip as AsyncIterable<Buffer>) yield out;
  } catch (e) {
    // zlib's errors carry Z_* codes; anything else (the input failing) is not the archive's fault.
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !code.startsWith('Z_')) throw e;
    const reason = (e as Error).message === 'unexpected end of file' ? 'truncated' : (e as Error).message;
    onError(`gzip input is damaged (${reason}); the records before that point are kept`, compressed);
  }
}

/**
 * Imports one input into the baseline: detects its format from the first bytes (unless given),
 * streams it through the format's parser, and records the observations in batches (constant memory
 * on gigabyte inputs). Bad records become located issues and never stop the import; an input whose
 * format is unknown, or that is empty, is refused with a 400 error. When reading the input fails
 * half-way, what was read is still recorded before the error is rethrown.
 */
export async function ingestStream(
  ctx: BaselineContext,
  input: AsyncIterable<Buffer | string>,
  opts: IngestOptions = {},
): Promise<IngestSummary> {
  let { head, rest } = await peek(input, DETECT_HEAD_BYTES);
  const where = opts.file ? `${opts.file}: ` : '';
  let gzipProblem: ParseIssue | null = null;
  if (isGzip(head)) {
    const inflated = gunzipped(rest, (message, offset) => {
      gzipProblem = { message, offset };
    });
    ({ head, rest } = await peek(inflated, DETECT_HEAD_BYTES));
    if (head.length === 0 && gzipProblem)
      throw new AppError('bad_gzip', `${where}${(gzipProblem as ParseIssue).message}`, { status: 400 });
  }
  if (head.length === 0 || head.toString('utf8').trim() === '')
    throw new AppError('no_data', `${where}the input is empty`, { status: 400 });
  let format = opts.format ?? null;
  if (!format) {
    format = detectFormat(head);
    if (!format)
      throw new AppError(
        'unknown_format',
        `${where}cannot tell the format of this input from its first ${Math.min(head.length, DETECT_HEAD_BYTES)} bytes; name it with --format (one of ${FORMAT_NAMES.join(', ')})`,
        { status: 400 },
      );
  }
  const parser = PARSERS[format];
  if (!parser)
    throw new AppError(
      'unsupported_format',
      `${where}format ${format} is not supported by this server (supported: ${Object.keys(PARSERS).join(', ')})`,
      {
        status: 400,
      },
    );
  const sink = new IngestSink(ctx, { ...opts, format });
  await sink.start();
  const parseOpts = { ...(opts.file ? { file: opts.file } : {}), ...(opts.host ? { host: opts.host } : {}) };
  try {
    const input = counted(rest, sink.summary, opts.maxBytes);
    const batches = BATCH_PARSERS[format];
    if (format === 'stream') {
      // Big Stream inputs are parsed on worker threads and this one together (JSON.parse of each event
      // is most of an import's time); this thread keeps the baseline writer and the database. A part
      // read on a worker comes with its observations checked and grouped by service there, so it is
      // queued here with no work per event (one by one, as events, when it would fill the batch).
      for await (const part of parseStreamPartsParallel(input)) {
        if (Array.isArray(part)) {
          for (const e of part) if (sink.take(e)) await sink.writer.flush();
        } else if (sink.writer.pushGrouped(part.groups)) {
          sink.summary.records += part.records;
          for (const issue of part.issues) sink.issue(issue);
          if (sink.writer.full) await sink.writer.flush();
        } else {
          for (const e of part.events()) if (sink.take(e)) await sink.writer.flush();
        }
      }
    } else if (batches) {
      for await (const batch of batches(input, parseOpts)) {
        for (const e of batch) if (sink.take(e)) await sink.writer.flush();
      }
    } else {
      for await (const e of parser(input, parseOpts)) {
        if (sink.take(e)) await sink.writer.flush();
      }
    }
  } catch (e) {
    await sink.finish().catch(() => {});
    throw e;
  }
  if (gzipProblem) sink.issue(gzipProblem);
  return sink.finish();
}

/** True when `name` is a format Portcullis knows. */
export function isFormatName(name: string): name is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(name);
}
