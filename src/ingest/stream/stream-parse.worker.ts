// A worker thread of the parallel Stream reader (stream-parse.pool.ts): reads one part of an input (a
// run of whole lines) as if it were a whole input, and hands back its events encoded, the number of
// lines read, whether it ended at a boundary, and the part's bytes (for the main thread to re-read
// when it did not). Loaded through tsx's CommonJS hook (no top-level await, no import.meta).
import { parentPort } from 'node:worker_threads';
import type { ParseEvent } from '../observation.ts';
import {
  groupsTransferList,
  StreamEventsEncoder,
  StreamEventsGrouper,
  transferList,
  type PartRequest,
  type PartResult,
} from './stream-events.codec.ts';
import { StreamTextReader } from './stream-tcp.parser.ts';

const SLICE = 64 * 1024;

function readPart(req: PartRequest): PartResult {
  if (req.group) {
    // Grouped by service, the events themselves are not sent (the main thread reads the part's bytes
    // again in the rare case it wants them); a part the groups cannot say is read again as events.
    const r = readPartAs(req, true);
    if (r.groups) return r;
  }
  return readPartAs(req, false);
}

function readPartAs(req: PartRequest, group: boolean): PartResult {
  const reader = new StreamTextReader();
  const encoder = new StreamEventsEncoder();
  const grouper = group ? new StreamEventsGrouper() : null;
  const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
  const events: ParseEvent[] = [];
  // 64 KB at a time, as the single-threaded reader does: each slice's objects die young.
  for (let i = 0; i < bytes.length; i += SLICE) {
    reader.push(bytes.subarray(i, Math.min(bytes.length, i + SLICE)), events);
    if (grouper) grouper.add(events);
    else encoder.add(events);
    events.length = 0;
  }
  if (req.last) {
    reader.end(events);
    if (grouper) grouper.add(events);
    else encoder.add(events);
  }
  return {
    id: req.id,
    events: encoder.finish(),
    lines: reader.nextLine - 1,
    boundary: reader.atBoundary,
    bytes: req.bytes,
    ...(grouper ? { groups: grouper.finish() } : {}),
  };
}

const port = parentPort;
if (!port) throw new Error('stream-parse.worker runs as a worker thread');
port.on('message', (req: PartRequest) => {
  let res: PartResult | { id: number; error: string };
  try {
    const t0 = performance.now();
    res = readPart(req);
    (res as unknown as { ms: number }).ms = performance.now() - t0;
  } catch (e) {
    res = { id: req.id, error: (e as Error).stack ?? String(e) };
  }
  port.postMessage(
    res,
    'events' in res
      ? [
          ...transferList(res.events),
          ...(res.groups ? groupsTransferList(res.groups) : []),
          res.bytes.buffer as ArrayBuffer,
        ]
      : [],
  );
});
port.postMessage({ ready: true });
