import type { BaselineContext } from '../baseline/index.ts';
import { PARSERS } from './formats.ts';
import { IngestSink, type IngestSummary } from './ingest.service.ts';
import type { FormatName } from './observation.ts';
import { jsonValues, streamEventToEvents } from './stream/index.ts';

/** Splunk HEC's status codes and texts (and the HTTP status each goes with). */
export const HEC = {
  success: { text: 'Success', code: 0, status: 200 },
  tokenDisabled: { text: 'Token disabled', code: 1, status: 403 },
  tokenRequired: { text: 'Token is required', code: 2, status: 401 },
  invalidAuthorization: { text: 'Invalid authorization', code: 3, status: 401 },
  invalidToken: { text: 'Invalid token', code: 4, status: 403 },
  noData: { text: 'No data', code: 5, status: 400 },
  invalidDataFormat: { text: 'Invalid data format', code: 6, status: 400 },
  incorrectIndex: { text: 'Incorrect index', code: 7, status: 400 },
  internalError: { text: 'Internal server error', code: 8, status: 500 },
  serverBusy: { text: 'Server is busy', code: 9, status: 503 },
  channelMissing: { text: 'Data channel is missing', code: 10, status: 400 },
  invalidChannel: { text: 'Invalid data channel', code: 11, status: 400 },
  eventRequired: { text: 'Event field is required', code: 12, status: 400 },
  eventBlank: { text: 'Event field cannot be blank', code: 13, status: 400 },
  ackDisabled: { text: 'ACK is disabled', code: 14, status: 400 },
  indexedFields: { text: 'Error in handling indexed fields', code: 15, status: 400 },
  queryStringAuth: { text: 'Query string authorization is not enabled', code: 16, status: 400 },
  healthy: { text: 'HEC is healthy', code: 17, status: 200 },
} as const;

export type HecStatus = (typeof HEC)[keyof typeof HEC];

/** The answer to one HEC request: HTTP status, Splunk's JSON body, and what was done. */
export interface HecResult {
  status: number;
  body: { text: string; code: number; 'invalid-event-number'?: number };
  summary: IngestSummary;
  /** Events whose sourcetype Portcullis does not read (counted, not recorded). */
  ignored: number;
  ignoredSourcetypes: string[];
}

/**
 * The format that reads events of a Splunk sourcetype, or null when Portcullis does not read it.
 * `stream:tcp` is read event by event; others are handed to the format's parser.
 */
export function formatOfSourcetype(sourcetype: string | undefined): FormatName | null {
  if (!sourcetype) return null;
  const s = sourcetype.toLowerCase();
  if (s === 'stream:tcp') return 'stream';
  if (/^(zeek|bro)[:_]conn(:json)?$/.test(s) || s === 'corelight_conn') return 'zeek-conn';
  if (/^(zeek|bro)[:_]known_services(:json)?$/.test(s) || s === 'corelight_known_services')
    return 'zeek-known-services';
  if (/^osquery(:results|:result|_results)?$/.test(s)) return 'osquery';
  if (s === 'masscan' || s === 'masscan:json') return 'masscan-json';
  if (s === 'nmap:xml' || s === 'nmap') return 'nmap-xml';
  if (s === 'nmap:grep' || s === 'nmap:gnmap') return 'nmap-grep';
  if (s === 'nmap:normal' || s === 'nmap:text') return 'nmap-normal';
  if (s === 'netcat' || s === 'nc') return 'netcat';
  if (s === 'ss' || s === 'netstat' || s === 'linux:netstat') return 'ss';
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const MAX_GROUPED_BYTES = 64 * 1024 * 1024;

/**
 * Reads an HEC `/services/collector/event` body: one or many concatenated JSON envelopes
 * `{"time", "host", "source", "sourcetype", "index", "event"}`. Stream `stream:tcp` events are
 * recorded one by one; events of other readable sourcetypes go through their format's parser;
 * others are counted and ignored. Like Splunk, the first malformed envelope stops the request with
 * its 0-based `invalid-event-number`; the envelopes before it are kept.
 */
export async function ingestHecEvents(
  ctx: BaselineContext,
  body: AsyncIterable<Buffer | string>,
  opts: { sourcetype?: string; host?: string; learning?: boolean } = {},
): Promise<HecResult> {
  const sink = new IngestSink(ctx, { format: null, file: 'hec', learning: opts.learning ?? false });
  await sink.start();
  let events = 0;
  let ignored = 0;
  const ignoredTypes = new Set<string>();
  const groups = new Map<
    string,
    { format: FormatName; host: string | undefined; lines: string[]; bytes: number }
  >();
  const formatsSeen = new Set<FormatName>();
  let failure: HecResult['body'] | undefined;
  let failureStatus = 200;
  const fail = (s: HecStatus, index: number) => {
    failure = { text: s.text, code: s.code, 'invalid-event-number': index };
    failureStatus = s.status;
  };

  for await (const item of jsonValues(body)) {
    if (failure) continue; // keep reading so the client gets our answer; nothing more is recorded
    events++;
    if (item.kind === 'error') {
      sink.issue({
        message: `event ${item.index}: ${item.message}`,
        line: item.line,
        offset: item.offset,
        pointer: `/${item.index}`,
      });
      fail(HEC.invalidDataFormat, item.index);
      continue;
    }
    const env = item.value;
    if (!isObject(env)) {
      fail(HEC.invalidDataFormat, item.index);
      continue;
    }
    if (!('event' in env)) {
      fail(HEC.eventRequired, item.index);
      continue;
    }
    if (
      env.event === null ||
      env.event === '' ||
      (isObject(env.event) && Object.keys(env.event).length === 0)
    ) {
      fail(HEC.eventBlank, item.index);
      continue;
    }
    sink.summary.records++;
    const sourcetype =
      typeof env.sourcetype === 'string' && env.sourcetype ? env.sourcetype : opts.sourcetype;
    const format = formatOfSourcetype(sourcetype);
    if (format === 'stream') {
      formatsSeen.add('stream');
      const where = { line: item.line, offset: item.offset, pointer: `/${item.index}` };
      const evs = streamEventToEvents({ ...env, sourcetype: 'stream:tcp' }, where);
      for (const e of evs) await sink.event(e, 'hec');
      continue;
    }
    if (!format || !PARSERS[format]) {
      ignored++;
      if (ignoredTypes.size < 20) ignoredTypes.add(sourcetype ?? '(none)');
      continue;
    }
    formatsSeen.add(format);
    const host = typeof env.host === 'string' && env.host ? env.host : opts.host;
    const key = `${format}\u0000${host ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { format, host, lines: [], bytes: 0 }));
    const line = typeof env.event === 'string' ? env.event : JSON.stringify(env.event);
    g.lines.push(line);
    g.bytes += line.length;
    if (g.bytes > MAX_GROUPED_BYTES) await flushGroup(g);
  }

  async function flushGroup(g: {
    format: FormatName;
    host: string | undefined;
    lines: string[];
    bytes: number;
  }): Promise<void> {
    const parser = PARSERS[g.format]!;
    const text = g.lines.join('\n') + '\n';
    g.lines = [];
    g.bytes = 0;
    async function* one(): AsyncGenerator<string> {
      yield text;
    }
    for await (const e of parser(one(), { file: `hec:${g.format}`, ...(g.host ? { host: g.host } : {}) })) {
      // Records were counted per envelope already.
      if (e.kind !== 'record') await sink.event(e, `hec:${g.format}`);
    }
  }
  for (const g of groups.values()) if (g.lines.length) await flushGroup(g);
  if (formatsSeen.size === 1) sink.summary.format = [...formatsSeen][0]!;
  const summary = await sink.finish();
  if (ignored) {
    sink.issue({
      message: `${ignored} event(s) of sourcetype ${[...ignoredTypes].join(', ')} ignored: Portcullis reads stream:tcp, zeek:conn:json, osquery:results, and the formats of portcullis ingest`,
    });
  }
  if (!failure && events === 0)
    return {
      status: HEC.noData.status,
      body: { text: HEC.noData.text, code: HEC.noData.code },
      summary,
      ignored,
      ignoredSourcetypes: [...ignoredTypes],
    };
  return {
    status: failure ? failureStatus : 200,
    body: failure ?? { text: HEC.success.text, code: HEC.success.code },
    summary,
    ignored,
    ignoredSourcetypes: [...ignoredTypes],
  };
}
